import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { PagePerm, PhysicalMemory } from '@veridian/core';
import { createAarch64Mmu } from '../src/index.ts';
import { C } from './support/worker-protocol.ts';

// Workers cannot load .ts by themselves: register tsx and resolve workspace packages through
// their `@veridian/source` condition, as the thread running the tests does.
const BOOT = `
const { workerData } = require('node:worker_threads');
(async () => {
  (await import(workerData.tsx)).register();
  require('node:module').register(workerData.sourceHook);
  await import(workerData.entry);
})().catch((e) => { console.error(e); process.exitCode = 1; });
`;
const SOURCE_HOOK =
  'data:text/javascript,export async function resolve(s, c, n) { return n(s, { ...c, conditions: [...c.conditions, "@veridian/source"] }); }';

const { READ, WRITE } = PagePerm;
const RANGE = Int32Array.from({ length: 24 }, (_, i) => 40 + i);
const OUT = new Int32Array(RANGE.length);

async function until(ready: () => boolean, what: string): Promise<void> {
  for (let polls = 0; polls < 50_000; polls++) {
    if (ready()) return;
    await new Promise((r) => setTimeout(r, 1));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe('worker-thread CPU sharing the MMU', () => {
  it('never uses a stale translation or loses a dirty state while the tables change under it', async () => {
    const phys = PhysicalMemory.create({ frames: 64 });
    const mmu = createAarch64Mmu(phys);
    const space = mmu.createAddressSpace();
    const pageA = 0x40_0000;
    const pageB = 0x7f_0000_5000; // not in the same direct-mapped TLB slot as A
    const paA = 0x9000;
    const paB = 0xa000;
    space.map(pageA, paA, 4096, READ);
    space.map(pageB, paB, 4096, READ);
    const control = new SharedArrayBuffer(C.WORDS * 4);
    const ctl = new Int32Array(control);
    const worker = new Worker(BOOT, {
      eval: true,
      workerData: {
        tsx: import.meta.resolve('tsx/esm/api'),
        sourceHook: SOURCE_HOOK,
        entry: new URL('./support/mmu-worker.ts', import.meta.url).href,
        buffer: phys.buffer,
        controlOffset: phys.controlOffset,
        sharedState: mmu.sharedState,
        root: space.root,
        asid: space.asid,
        control,
        pageA,
        pageB,
        paA,
        paB,
      },
    });
    let failure: unknown;
    let lostDirty = 0;
    worker.on('error', (e) => (failure = e));
    const exited = new Promise<number>((resolve) => worker.on('exit', resolve));
    try {
      await until(() => failure !== undefined || Atomics.load(ctl, C.ITERATIONS) > 1000, 'the worker to start translating');
      // Phase 1: flip B between read-only and read-write, with unrelated map/unmap
      // traffic, while the worker writes to B whenever it may.
      for (let k = 0; k < 100_000 && (k < 5_000 || Atomics.load(ctl, C.B_WRITES) < 100); k++) {
        space.protect(pageB, 4096, k & 1 ? READ | WRITE : READ);
        space.map(0x1000, 0xb000, 4096, READ);
        space.unmap(0x1000, 4096);
        // Range traffic in a fresh 512 GiB slot: three tables linked, unlinked and retired
        // per round while the worker walks (its walks must hold them back, never see them reused).
        space.mapFrames(0x100_0000_0000 + (k & 7) * 0x20_0000, RANGE, 0, RANGE.length, READ | WRITE);
        space.unmapFrames(0x100_0000_0000 + (k & 7) * 0x20_0000, RANGE.length, OUT);
      }
      // Phase 2: map B clean and re-protect it while the worker's one write of the round
      // (the dirty update) races with the re-encoding; once that write completed, B must
      // read back dirty.
      Atomics.store(ctl, C.B_REMAPPING, 1);
      space.unmap(pageB, 4096);
      for (let round = 1; round <= 300; round++) {
        space.map(pageB, paB, 4096, READ | WRITE);
        Atomics.store(ctl, C.ROUND, round);
        // Re-protect (same rights) until the worker's one write of this round completed.
        for (let spins = 0; Atomics.load(ctl, C.WRITTEN_ROUND) !== round; spins++) {
          if (spins > 20_000_000) throw new Error(`no write by the worker in round ${round}`);
          space.protect(pageB, 4096, READ | WRITE);
        }
        if (!space.lookup(pageB)!.dirty) lostDirty++;
        space.unmap(pageB, 4096);
      }
      Atomics.store(ctl, C.A_UNMAPPING, 1);
      space.unmap(pageA, 4096);
      Atomics.store(ctl, C.A_UNMAPPED, 1);
      const seen = Atomics.load(ctl, C.ITERATIONS);
      await until(() => failure !== undefined || Atomics.load(ctl, C.ITERATIONS) > seen + 1000, 'the worker to run past the unmap');
    } finally {
      Atomics.store(ctl, C.STOP, 1);
    }
    expect(await exited).toBe(0);
    // With the worker gone, nothing holds a retired table back.
    mmu.reclaim.collect();
    expect(mmu.reclaim.pending).toBe(0);
    expect(failure).toBeUndefined();
    expect(Atomics.load(ctl, C.STALE)).toBe(0);
    expect(Atomics.load(ctl, C.WRONG_A)).toBe(0);
    expect(Atomics.load(ctl, C.WRONG_B)).toBe(0);
    expect(Atomics.load(ctl, C.B_WRITES)).toBeGreaterThan(0);
    expect(Atomics.load(ctl, C.HITS)).toBeGreaterThan(0);
    // Every completed write left B dirty, through every protect that followed it.
    expect(lostDirty).toBe(0);
    expect(space.lookup(pageA)).toBeUndefined();
  }, 60_000);
});
