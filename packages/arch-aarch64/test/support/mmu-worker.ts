// A second CPU on its own thread: attaches to the machine memory and the MMU shared state,
// then translates as fast as it can while the main thread changes the tables.
import { workerData } from 'node:worker_threads';
import { AccessKind, PageFault, PhysicalMemory } from '@veridian/core';
import { aarch64 } from '../../src/index.ts';
import { C } from './worker-protocol.ts';

const { buffer, controlOffset, sharedState, root, asid, control, pageA, pageB, paA, paB } = workerData as {
  buffer: SharedArrayBuffer;
  controlOffset: number;
  sharedState: number;
  root: number;
  asid: number;
  control: SharedArrayBuffer;
  pageA: number;
  pageB: number;
  paA: number;
  paB: number;
};
const ctl = new Int32Array(control);
const phys = PhysicalMemory.attach(buffer, controlOffset);
const mmu = aarch64.createMmu(phys, { sharedState });
const space = mmu.attachAddressSpace(root, asid);

function reasonOf(e: unknown): string {
  if (e instanceof PageFault) return e.reason;
  throw e;
}

let i = 0;
let writtenRound = -1;
while (Atomics.load(ctl, C.STOP) === 0) {
  i++;
  // Page A: must translate until the main thread unmaps it, then never again.
  const unmapped = Atomics.load(ctl, C.A_UNMAPPED) === 1;
  try {
    const pa = space.translate(pageA + (i & 0xfff), AccessKind.Read);
    if (pa !== paA + (i & 0xfff)) Atomics.add(ctl, C.WRONG_A, 1);
    if (unmapped) Atomics.add(ctl, C.STALE, 1);
  } catch (e) {
    // Not present is right only once the unmap has begun.
    if (reasonOf(e) !== 'not-present' || Atomics.load(ctl, C.A_UNMAPPING) !== 1) Atomics.add(ctl, C.WRONG_A, 1);
  }
  // Page B, phase 1 (round 0): the main thread flips its rights; every write lands on the
  // right frame or faults with a permission fault. Phase 2: one write per round, racing the
  // main thread's re-protects, so a dirty update lost by them would stay lost.
  const round = Atomics.load(ctl, C.ROUND);
  if (round === 0 || round !== writtenRound) {
    try {
      const pa = space.translate(pageB + (i & 0xff8), AccessKind.Write);
      if (pa !== paB + (i & 0xff8)) Atomics.add(ctl, C.WRONG_B, 1);
      Atomics.add(ctl, C.B_WRITES, 1);
      writtenRound = round;
      Atomics.store(ctl, C.WRITTEN_ROUND, round);
    } catch (e) {
      const r = reasonOf(e);
      if (r !== 'permission' && !(r === 'not-present' && Atomics.load(ctl, C.B_REMAPPING) === 1)) Atomics.add(ctl, C.WRONG_B, 1);
    }
  }
  Atomics.store(ctl, C.ITERATIONS, i);
}
Atomics.store(ctl, C.HITS, mmu.tlbStats.hits);
