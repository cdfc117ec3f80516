import { IPC_ERROR_NUMBERS } from '../contracts/errors.js';
import type { CpuPort, KernelCore } from './kernel-core.js';
import { KILLED } from './kernel-core.js';
import type { CpuRuntime } from './main-cpu.js';
import { P, PState } from './layout.js';

/**
 * A worker-thread CPU running one process. Blocking is real: the thread spins briefly on
 * its process's futex word, then parks in `Atomics.wait` until another CPU wakes it.
 */
export class WorkerCpu implements CpuPort, CpuRuntime {
  readonly core: KernelCore;
  readonly synchronous = true;

  constructor(core: KernelCore) {
    this.core = core;
    core.port = this;
  }

  readyLocal(): void {
    // The only process of this CPU is the one running; it notices its own wake-up itself.
  }

  blockAsync(): never {
    throw new Error('worker CPUs block synchronously');
  }

  blockSync(p: number, timeoutNs: number): number {
    const core = this.core;
    const i32 = core.i32;
    const b = core.mm.proc(p);
    const seq = i32[b + P.SEQ]!;
    const woken = core.futex.wait(i32, b + P.FUTEX, b + P.PARKED, timeoutNs > 0 ? timeoutNs / 1e6 : Infinity);
    if (!woken) {
      core.lock();
      try {
        core.cancelIfBlocked(p, seq, IPC_ERROR_NUMBERS.Timeout);
      } finally {
        core.unlock();
      }
    }
    if (i32[b + P.KILL] !== 0) {
      core.lock();
      try {
        core.cancelIfBlocked(p, seq, KILLED);
      } finally {
        core.unlock();
      }
      return KILLED;
    }
    i32[b + P.STATE] = PState.RUNNING;
    return i32[b + P.RESULT]!;
  }

  yield(): Promise<void> {
    return Promise.resolve();
  }

  sleep(_p: number, ns: number): Promise<void> {
    const cell = new Int32Array(new SharedArrayBuffer(4));
    Atomics.wait(cell, 0, 0, ns / 1e6);
    return Promise.resolve();
  }
}
