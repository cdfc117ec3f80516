import type { KernelContext } from '../context.js';
import { H, P, PState } from '../records/layout.js';
import { wakeFutex } from './futex.js';

/**
 * Callbacks from the shared kernel logic to the CPU it runs on: how to make a process of this
 * CPU runnable, and whether a server of this CPU serves passively.
 */
export interface CpuPort {
  /**
   * A process owned by this CPU became ready (called with the kernel lock held). `switchTo`
   * says how soon it should run: {@link Switch.NONE} in priority order, {@link Switch.DIRECT}
   * next (a call to a waiting server), {@link Switch.BACK} next unless a higher-priority
   * process is ready (a reply to a caller).
   */
  readyLocal(p: number, switchTo: number): void;
  /** True when server `r` of this CPU, waiting on endpoint `e`, serves calls passively. */
  isPassive(r: number, e: number): boolean;
}

/** How a wake-up affects who runs next on the woken process's CPU. */
export const Switch = { NONE: 0, DIRECT: 1, BACK: 2 } as const;

/**
 * Wake-ups across CPUs. A process of this CPU is made ready through the port; one of CPU 0
 * woken from another CPU goes through CPU 0's wake ring — entries carry the process id (with
 * its generation) and the sequence number of the operation that woke, so an entry left by a
 * process that was killed meanwhile is never applied to the next process of the same record
 * — and its doorbell; a worker's process is woken through its futex word.
 */
export class Wake {
  readonly #k: KernelContext;
  readonly #i32: Int32Array;
  readonly #base: number;
  readonly #cap: number;

  constructor(k: KernelContext) {
    this.#k = k;
    this.#i32 = k.mm.i32;
    this.#base = k.mm.wakeBase;
    this.#cap = k.mm.wakeCap;
  }

  /** Makes process `p` ready with `status` and tells its CPU. Lock held. */
  wake(p: number, status: number, switchTo: number = Switch.NONE): void {
    const k = this.#k;
    const procs = k.procs;
    procs.set(p, P.RESULT, status);
    const cpu = procs.get(p, P.CPU);
    // A worker CPU runs nothing else: its process is running as soon as it sees the futex, so
    // the waker records that (the worker itself writes no state after a wake-up).
    procs.setState(p, cpu === 0 ? PState.READY : PState.RUNNING);
    if (cpu === k.cpu && k.port) k.port.readyLocal(p, switchTo);
    else if (cpu === 0) this.#ring(p);
    else wakeFutex(this.#i32, procs.word(p, P.FUTEX), procs.word(p, P.PARKED));
  }

  #ring(p: number): void {
    const i32 = this.#i32;
    const head = i32[H.WAKE_HEAD]!;
    const tail = i32[H.WAKE_TAIL]!;
    if (tail - head >= this.#cap) {
      // Full (many stale entries of killed processes): CPU 0 will look at all its processes.
      i32[H.WAKE_OVERFLOW] = 1;
    } else {
      const at = this.#base + (tail % this.#cap) * 2;
      const pid = this.#k.procs.pid(p);
      i32[at] = pid % 0x100000000 | 0;
      i32[at + 1] = this.#k.procs.get(p, P.SEQ);
      i32[H.WAKE_TAIL] = tail + 1;
    }
    Atomics.add(i32, H.DOORBELL, 1);
    Atomics.notify(i32, H.DOORBELL);
  }

  /**
   * CPU 0: takes every entry of the wake ring and calls `ready(p)` for each that still names a
   * live process of CPU 0 blocked in the same operation; stale entries are dropped. After an
   * overflow, `ready` is called for every ready process of CPU 0 instead. Lock held.
   */
  drain(ready: (p: number) => void): void {
    const i32 = this.#i32;
    const procs = this.#k.procs;
    let head = i32[H.WAKE_HEAD]!;
    const tail = i32[H.WAKE_TAIL]!;
    for (; head !== tail; head++) {
      const at = this.#base + (head % this.#cap) * 2;
      const pidLo = i32[at]! >>> 0;
      const seq = i32[at + 1]!;
      const p = pidLo & 0xffff;
      if (p >= procs.count || !procs.live(p) || procs.pid(p) % 0x100000000 !== pidLo || procs.get(p, P.SEQ) !== seq) continue;
      if (procs.get(p, P.CPU) === 0 && procs.state(p) === PState.READY) ready(p);
    }
    // Rebase both counters so they never grow past what an Int32 holds.
    i32[H.WAKE_HEAD] = 0;
    i32[H.WAKE_TAIL] = 0;
    if (i32[H.WAKE_OVERFLOW] !== 0) {
      i32[H.WAKE_OVERFLOW] = 0;
      for (let p = 0; p < procs.count; p++) if (procs.live(p) && procs.get(p, P.CPU) === 0 && procs.state(p) === PState.READY) ready(p);
    }
  }
}
