// The two modes of the kernel's lock (kernel/sched/kernel-lock.ts): the big lock and the endpoint
// fast path's per-CPU marks. Two KernelLock objects over one machine memory stand for two CPUs.
import { describe, expect, it } from 'vitest';
import { Worker } from 'node:worker_threads';
import { KernelLock } from '../src/kernel/sched/kernel-lock.ts';
import { MachineMemory } from '../src/kernel/records/machine-memory.ts';
import { CpuState, H } from '../src/kernel/records/layout.ts';

function machine(): MachineMemory {
  const mm = MachineMemory.create({ frames: 64, processes: 4, endpoints: 4, capSlots: 8, cpus: 4 });
  mm.i32[H.SHARED] = 2; // two worker CPUs attached: locking is on
  return mm;
}

describe('KernelLock', () => {
  it('a CPU enters the fast path only while the big lock is free, and backs off (state SAFE again) while it is held', () => {
    const mm = machine();
    const a = new KernelLock(mm, 1);
    const b = new KernelLock(mm, 2);
    expect(b.enterFast()).toBe(true);
    expect(mm.i32[mm.cpuState(2)]).toBe(CpuState.FAST);
    expect(b.leaveFast()).toBe(true);
    b.safe();
    expect(mm.i32[mm.cpuState(2)]).toBe(CpuState.SAFE);

    a.lock();
    expect(mm.i32[mm.cpuState(1)]).toBe(CpuState.LOCKING);
    expect(b.enterFast()).toBe(false);
    expect(b.fast).toBe(false);
    expect(mm.i32[mm.cpuState(2)]).toBe(CpuState.SAFE);
    expect(a.unlock()).toBe(true);
    a.safe();
    expect(b.enterFast()).toBe(true);
    b.leaveFast();
    b.safe();
  });

  it('no fast path while the kernel option fastPath is false; entering twice is refused', () => {
    const mm = machine();
    const b = new KernelLock(mm, 2);
    mm.i32[H.FAST_OFF] = 1;
    expect(b.enterFast()).toBe(false);
    expect(mm.i32[mm.cpuState(2)]).toBe(CpuState.SAFE);
    mm.i32[H.FAST_OFF] = 0;
    expect(b.enterFast()).toBe(true);
    expect(() => b.enterFast()).toThrow(/twice/);
    expect(() => b.lock()).toThrow(/twice/);
    b.leaveFast();
    b.safe();
  });

  it('an endpoint lock word reads 0 again once free, and counts only waits', () => {
    const mm = machine();
    const b = new KernelLock(mm, 2);
    const word = mm.cpuState(3) + 8; // any spare word
    for (let i = 0; i < 5; i++) {
      b.lockEndpoint(word);
      expect(mm.i32[word]).not.toBe(0);
      b.unlockEndpoint(word);
      expect(mm.i32[word]).toBe(0);
    }
    expect(b.fastStats()).toEqual({ entries: 0, contended: 0 });
    b.countTaken();
    expect(b.fastStats().entries).toBe(1);
  });

  it('the big lock waits until a CPU inside the fast path has left it', async () => {
    const mm = machine();
    const a = new KernelLock(mm, 1);
    const state = mm.cpuState(2);
    mm.i32[state] = CpuState.FAST;
    // Another thread plays CPU 2: it leaves the fast path 50 ms from now.
    const w = new Worker(
      `const { workerData } = require('node:worker_threads');
       const i32 = new Int32Array(workerData.buf);
       Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
       i32[workerData.left] = 1;
       Atomics.store(i32, workerData.state, ${CpuState.SAFE});`,
      { eval: true, workerData: { buf: mm.i32.buffer, state, left: mm.cpuState(3) + 9 } },
    );
    const online = new Promise((r) => w.once('online', r));
    await online;
    a.lock();
    // Only once the other CPU wrote its flag and then left is the lock ours.
    expect(mm.i32[mm.cpuState(3) + 9]).toBe(1);
    expect(mm.i32[state]).toBe(CpuState.SAFE);
    a.unlock();
    a.safe();
    await w.terminate();
  });
});
