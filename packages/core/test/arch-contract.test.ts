// What the kernel checks of an Arch backend before it builds anything (found by an outside
// backend author: a broken backend met a TypeError, or a failure at a process's first page).
import { describe, expect, it } from 'vitest';
import { createKernel, IpcError, type Arch, type Mmu } from '@veridian/core';
import { testArch } from './support/test-arch.ts';

const here = (f: string) => new URL(`./support/${f}`, import.meta.url);

function refused(arch: unknown, part: RegExp): void {
  let err: unknown;
  try {
    createKernel({ arch: arch as Arch, frames: 64, processes: 4 });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(IpcError);
  expect((err as IpcError).code).toBe('InvalidArgument');
  expect((err as IpcError).message).toMatch(part);
}

describe('createKernel checks the Arch contract', () => {
  it('a missing or malformed part is InvalidArgument naming it, never a TypeError', () => {
    const { addressSpace: _as, ...noSpace } = testArch;
    refused(noSpace, /addressSpace/);
    refused({ ...testArch, addressSpace: { ...testArch.addressSpace, userTop: 1 << 30 } }, /userTop/);
    refused({ ...testArch, addressSpace: { ...testArch.addressSpace, vaBits: 99 } }, /vaBits/);
    refused({ ...testArch, name: '' }, /name/);
    refused({ ...testArch, pageSizes: [] }, /pageSizes/);
    refused({ ...testArch, pageSizes: [4096, 3000] }, /pageSizes/);
    refused({ ...testArch, fastPath: undefined }, /fastPath/);
    refused({ ...testArch, createMmu: 'no' }, /createMmu/);
    refused(null, /Arch/);
  });

  it('pages smaller or larger than the kernel frame are refused up front', () => {
    refused({ ...testArch, pageSizes: [16384, 2 ** 25] }, /4096/);
    refused({ ...testArch, pageSizes: [1024, 4096] }, /4096/);
  });

  it('more process records than the MMU has address spaces is refused at createKernel, not at the 64th spawn', async () => {
    const small = (spaces: number): Arch => ({
      ...testArch,
      createMmu: (phys, options) => {
        const mmu: Mmu = testArch.createMmu(phys, options);
        return Object.defineProperty(mmu, 'maxAddressSpaces', { value: spaces });
      },
    });
    expect(() => createKernel({ arch: small(8), processes: 16 })).toThrow(/processes \(16\) must not exceed the 8 address spaces/);
    // At the bound every record can be used.
    const k = createKernel({ arch: small(16), processes: 16, frames: 512 });
    const handles = Array.from({ length: 16 }, (_, i) => k.spawn({ name: `p${i}` }, (p) => p.yield()));
    await Promise.all(handles.map((h) => h.exited));
    expect(k.stats().processes).toBe(0);
  });
});

describe('a worker CPU loads the same backend', () => {
  it('an arch without moduleUrl/exportName is refused at spawnWorker, before a CPU is taken', () => {
    const k = createKernel({ arch: { ...testArch, exportName: '' }, frames: 256, processes: 4 });
    expect(() => k.spawnWorker(here('echo-worker.ts'), { name: 'w' })).toThrow(/moduleUrl and exportName/);
    expect(k.stats().processes).toBe(0);
  });

  it('a wrong export is a crash that says so, and the process is cleaned up', async () => {
    const k = createKernel({ arch: { ...testArch, exportName: 'noSuchArch' }, frames: 256, processes: 4 });
    const w = k.spawnWorker(here('echo-worker.ts'), { name: 'w' });
    const exit = await w.exited;
    expect(exit.reason).toBe('crashed');
    expect(String(exit.error)).toMatch(/no Arch export named "noSuchArch"/);
    expect(k.stats().processes).toBe(0);
  });

  it('an export that is another arch is refused by name', async () => {
    const k = createKernel({ arch: { ...testArch, name: 'not-the-test-arch' }, frames: 256, processes: 4 });
    const w = k.spawnWorker(here('echo-worker.ts'), { name: 'w' });
    const exit = await w.exited;
    expect(exit.reason).toBe('crashed');
    expect(String(exit.error)).toMatch(/CPU 0 runs "not-the-test-arch"/);
  });
});

describe('tableFramesBound', () => {
  it('counts, below the root, the tables a range covers plus one per level for a straddle', async () => {
    const { tableFramesBound } = await import('@veridian/core');
    // Three levels below the root, each counting the tables the range covers plus one straddle.
    expect(tableFramesBound(1, 4, 512)).toBe(2 + 2 + 2);
    expect(tableFramesBound(512, 4, 512)).toBe(2 + 2 + 2);
    expect(tableFramesBound(513, 4, 512)).toBe(3 + 2 + 2);
    expect(tableFramesBound(512 * 512 + 1, 4, 512)).toBe(514 + 3 + 2);
    expect(tableFramesBound(10, 1, 512)).toBe(0);
  });
});
