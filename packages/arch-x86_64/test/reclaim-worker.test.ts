import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PagePerm, PhysicalMemory } from '@veridian/core';
import { createX86Mmu } from '../src/index.js';
import { attachSharedState } from '../src/shared-state.js';

// Node 20 workers do not inherit tsx from the parent: bootstrap it by hand (see TOOLCHAIN.md).
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
import(workerData.tsxApi).then(({ tsImport }) => tsImport(workerData.entry, workerData.entry));
`;

function startWorker(data: Record<string, unknown>): Worker {
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;
  const entry = new URL('./fixtures/reclaim-worker.ts', import.meta.url).href;
  return new Worker(BOOTSTRAP, { eval: true, workerData: { ...data, tsxApi, entry }, execArgv: ['--conditions=@veridian/source'] });
}

function next(worker: Worker): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

const PAGE = 4096;
/** Rounds a recycled frame stays poisoned before it goes back to the allocator. */
const HOLD_ROUNDS = 100;

describe('deferred table freeing across worker threads', () => {
  it('a CPU translating in another thread never reads a table that was recycled under it', async () => {
    // More frames than the limbo holds: a walk stalled for a while (descheduled, compiling)
    // holds back up to LIMBO_CAPACITY tables, and then the writer waits for it instead.
    const phys = PhysicalMemory.create({ frames: 1200 });
    const mmu = createX86Mmu(phys, { cpus: 2 });
    const space = mmu.createAddressSpace();
    // A PML4 slot of its own, so every unmap unlinks a PDPT, a PD and a PT.
    const va = 0x80_0000_0000;
    const payload = [phys.allocFrame(), phys.allocFrame(), phys.allocFrame(), phys.allocFrame()];
    // A recycled table is filled with entries pointing at `poison`, which points at itself:
    // a walk that reads one ends on the poison frame whatever level it was at.
    const poison = phys.allocFrame();
    const u32 = phys.u32;
    const poisonEntry = (poison * PAGE) | 0x7;
    const fill = (frame: number) => {
      const w = phys.frameOffset(frame) / 4;
      for (let i = 0; i < 1024; i += 2) {
        u32[w + i] = poisonEntry;
        u32[w + i + 1] = 0;
      }
    };
    fill(poison);
    const signal = new SharedArrayBuffer(4);
    const worker = startWorker({
      buffer: phys.buffer,
      controlOffset: phys.controlOffset,
      sharedState: mmu.sharedState,
      root: space.root,
      asid: space.asid,
      va,
      allowed: payload.map((f) => f * PAGE),
      poison,
      signal,
    });
    try {
      await next(worker);
      const done = next(worker);
      const frame = new Int32Array(1);
      const out = new Int32Array(1);
      const reused: number[] = [];
      const reclaim = attachSharedState(phys, mmu.sharedState).reclaim;
      const baseline = phys.freeFrames;
      let rounds = 0;
      for (const deadline = Date.now() + 1500; Date.now() < deadline; rounds++) {
        frame[0] = payload[rounds % payload.length]!;
        space.mapFrames(va, frame, 0, 1, PagePerm.READ);
        space.unmapFrames(va, 1, out);
        // Whatever the allocator hands out next — the tables just freed, unless a walk holds
        // them — is poisoned and kept out of use for a while, so a walk that stalled on a
        // stale link (descheduled, compiling) finds poison rather than the next round's tables.
        for (let i = 0; i < 3; i++) reused.push(phys.allocFrame());
        for (let i = reused.length - 3; i < reused.length; i++) fill(reused[i]!);
        if (reused.length >= 3 * HOLD_ROUNDS) phys.freeFrameList(reused.splice(0, 3));
      }
      phys.freeFrameList(reused);
      Atomics.store(new Int32Array(signal), 0, 1);
      const result = await done;
      expect(result).toMatchObject({ kind: 'done', poisoned: 0, wrong: 0 });
      expect(result.ok as number).toBeGreaterThan(0);
      expect(result.faults as number).toBeGreaterThan(0);
      expect(rounds).toBeGreaterThan(100);
      // No walk is left: whatever still waits goes with the next collect, and nothing leaked.
      reclaim.collect();
      expect(reclaim.pending).toBe(0);
      expect(phys.freeFrames).toBe(baseline);
    } finally {
      await worker.terminate();
    }
  });
});
