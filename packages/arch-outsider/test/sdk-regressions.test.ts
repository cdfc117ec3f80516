/**
 * What the author of Outsider-64 found the SDK assuming that the backend contract leaves to the
 * arch (or documenting wrongly); each test failed before the fix and guards it now. The backend
 * itself passes the whole conformance suite (test/conformance.test.ts).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKernel, IpcError, type Arch, type Process } from '@veridian/core';
import { describe, expect, it } from 'vitest';
import { outsider64, outsiderVariant } from '../src/index.ts';

describe('SDK findings of an outside backend, fixed', () => {
  it('F1: more process records than the MMU has ASIDs is refused at createKernel (ASIDs are held for a process\'s life)', async () => {
    // A 6-bit ASID (MIPS R3000-sized) gives 63 address spaces: 64 process records are refused up
    // front with InvalidArgument (Mmu.maxAddressSpaces), not by the 64th spawn; 63 all work.
    expect(() => createKernel({ arch: outsiderVariant({ asidBits: 6 }), processes: 64 })).toThrow(/must not exceed the 63 address spaces/);
    const kernel = createKernel({ arch: outsiderVariant({ asidBits: 6 }), processes: 63, frames: 2048 });
    const handles = Array.from({ length: 63 }, (_, i) => kernel.spawn({ name: `p${i}` }, (p: Process) => p.yield()));
    const exits = await Promise.all(handles.map((h) => h.exited));
    await kernel.shutdown();
    expect(exits.every((e) => e.reason === 'returned')).toBe(true);
  });

  it("F2: an MMU that raises the documented 'access-flag' fault is repaired by the kernel (AddressSpace.setAccessed)", async () => {
    // FaultReason 'access-flag' (core/src/contracts/mmu.ts:55): "the leaf's accessed flag is clear
    // and the hardware does not set it: software must". The kernel's fault handler
    // (core/src/kernel/vm/fault.ts:53–62) handles not-present, lazy and permission only, and the
    // AddressSpace contract has no operation that sets an accessed flag, so every first access of
    // a process to its own memory is an AccessFault on such a CPU (ARMv8.0 without FEAT_HAFDBS,
    // software-refilled MIPS).
    const kernel = createKernel({ arch: outsiderVariant({ softwareAccessFlag: true }) });
    let got: number | undefined;
    const crashes: string[] = [];
    kernel.on('error', ({ error }) => crashes.push(String((error as Error).message)));
    const h = kernel.spawn({ name: 'touch' }, (p: Process) => {
      const va = p.memory.map(4096);
      p.memory.write(va, Uint8Array.of(7));
      got = p.memory.read(va, 1)[0];
    });
    const exit = await h.exited;
    await kernel.shutdown();
    expect(crashes, 'before the fix: "AccessFault: access-flag fault on write of 0x10000000 (user)"').toEqual([]);
    expect(exit.reason).not.toBe('crashed');
    expect(got).toBe(7);
  });

  it('F2b: a moved buffer, mapped lazily in the receiver, is readable there with a software access flag', async () => {
    const kernel = createKernel({ arch: outsiderVariant({ softwareAccessFlag: true }), frames: 512 });
    let got: number[] = [];
    kernel.spawn({ name: 'sink' }, async (p: Process) => {
      const ep = p.createEndpoint({ name: 'sink' });
      const m = await p.receive(ep);
      got = [...p.memory.read(m.buffer!.va, 4)];
      p.reply(m.sender, { type: 0, data: new Uint8Array(0) });
    });
    await kernel.whenNamed('sink');
    const src = kernel.spawn({ name: 'src' }, async (p: Process) => {
      const va = p.memory.map(2 * 4096);
      p.memory.write(va, Uint8Array.of(9, 8, 7, 6));
      await p.call(p.connect('sink'), { type: 1, data: new Uint8Array(0), buffer: p.memory.buffer(va, 2 * 4096), transfer: 'move' });
    });
    const exit = await src.exited;
    await kernel.shutdown();
    expect(exit.reason).toBe('returned');
    expect(got).toEqual([9, 8, 7, 6]);
  });

  it('F3: createKernel refuses an arch whose smallest page is not 4 KiB', () => {
    // docs/backends.md §2: "smallest first; the smallest must be 4096" — core's FRAME_SIZE is a
    // constant (core/src/memory/physical-memory.ts:5), but createKernel only checks that
    // `arch.createMmu` is a function (core/src/kernel/kernel-options.ts:31). A 16 KiB-granule CPU
    // is accepted and fails later, at the first 4 KiB map of some process.
    const arch: Arch = Object.freeze({ ...outsider64, pageSizes: Object.freeze([16384, 32 << 20]) });
    let error: unknown;
    try {
      const k = createKernel({ arch });
      void k.shutdown();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IpcError);
    expect((error as IpcError).code).toBe('InvalidArgument');
  });

  it('F4: an Arch without addressSpace is InvalidArgument at createKernel, not a TypeError', () => {
    // core/src/contracts/arch.ts:58–70, "Write a backend", omits the required `addressSpace`;
    // createKernel then reads `arch.addressSpace.userTop` (core/src/kernel/kernel.ts:115) and
    // throws a TypeError instead of the InvalidArgument every other bad option gets.
    const { addressSpace: _omitted, ...rest } = outsider64;
    let error: unknown;
    try {
      const k = createKernel({ arch: rest as unknown as Arch });
      void k.shutdown();
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IpcError);
    expect((error as IpcError).code).toBe('InvalidArgument');
  });

  it('F5: the core README worker example (main.js) parses on the Node.js version it supports (≥ 20)', () => {
    // packages/core/README.md, "A server on a worker CPU": `await using kernel = …` in plain
    // JavaScript is a SyntaxError before Node 24, while "engines" says node >= 20.
    const readme = readFileSync(new URL('../../core/README.md', import.meta.url), 'utf8');
    const block = /\/\/ main\.js\n([\s\S]*?)```/.exec(readme);
    expect(block, 'the README has a main.js example').not.toBeNull();
    const dir = mkdtempSync(join(tmpdir(), 'outsider-readme-'));
    try {
      const file = join(dir, 'main.mjs');
      writeFileSync(file, `import { createKernel } from '@veridian/core';\nconst x86_64 = {};\n${block![1]}`);
      let parsed = true;
      try {
        execFileSync(process.execPath, ['--check', file], { stdio: 'pipe' });
      } catch {
        parsed = false;
      }
      expect(parsed, `node ${process.version} --check on the README's main.js`).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('F6: a wrong Arch.exportName is a worker crash that names the export', async () => {
    // createKernel and spawnWorker never check that `arch.moduleUrl` exports `arch.exportName`
    // (core/src/kernel/kernel-options.ts:31, kernel.ts:200); the worker reads
    // `archModule[data.archExport] as Arch` unchecked, outside its try (core/src/kernel/worker-main.ts:24–26, no check that the export exists or that its name matches CPU 0's arch),
    // so the TypeError never reaches the exit report. Expected: InvalidArgument up front, or an
    // exit report naming the missing export.
    const kernel = createKernel({ arch: Object.freeze({ ...outsider64, exportName: 'outsider46' }) });
    kernel.on('error', () => {});
    let message = '';
    try {
      const h = kernel.spawnWorker(new URL('./fixtures/idle-worker.ts', import.meta.url), { name: 'w' });
      const exit = await h.exited;
      const err = (exit as { error?: unknown }).error;
      message = err instanceof Error ? err.message : typeof err === 'string' ? err : '';
    } catch (e) {
      message = e instanceof IpcError && e.code === 'InvalidArgument' ? `refused: ${e.message}` : String(e);
    } finally {
      await kernel.shutdown();
    }
    expect(message).toMatch(/outsider46/);
  }, 20_000);

  it('F7: mmu.golden-entries fails a backend whose lookup reports the wrong rights', () => {
    // testkit/src/cases/mmu.ts:321 compares pa, size, markers, global, accessed and dirty of
    // `lookup` with the golden vector, but not `perms`, although every vector names them. A backend
    // reporting every page as RWXU (test/fixtures/broken-lookup.conformance.ts) passes the case.
    const pkg = new URL('..', import.meta.url).pathname;
    const report = join(mkdtempSync(join(tmpdir(), 'outsider-broken-')), 'r.json');
    try {
      execFileSync(process.execPath, [join(pkg, 'node_modules/vitest/vitest.mjs'), 'run', '--config', 'test/fixtures/vitest.broken.config.ts', '--reporter=json', `--outputFile=${report}`], { cwd: pkg, stdio: 'pipe' });
    } catch {
      // a failing case makes vitest exit non-zero: that is what we want to see
    }
    const r = JSON.parse(readFileSync(report, 'utf8')) as { testResults: Array<{ assertionResults: Array<{ title: string; status: string }> }> };
    const status = r.testResults.flatMap((f) => f.assertionResults).find((t) => t.title === 'mmu.golden-entries')?.status;
    expect(status, 'mmu.golden-entries on a backend whose lookup lies about perms').toBe('failed');
  }, 60_000);
});

