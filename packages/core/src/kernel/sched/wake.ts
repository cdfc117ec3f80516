import type { KernelContext } from '../context.js';
import { H, P, PARKED_FROM_FUTEX, PState } from '../records/layout.js';
import { notifyParked, wakeFutex } from './futex.js';

/** Futex wake-ups one critical section can defer; more are notified at once. */
const OWED_CAP = 32;

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
  /** How many servers of this CPU serve passively (0: no call can take the fast path here). */
  readonly passiveServers: number;
}

/** How a wake-up affects who runs next on the woken process's CPU. */
export const Switch = { NONE: 0, DIRECT: 1, BACK: 2 } as const;

/**
 * Wake-ups across CPUs. A process of this CPU is made ready through the port; one of CPU 0
 * woken from another CPU goes through CPU 0's wake ring — entries carry the process id (with
 * its generation) and the sequence number of the operation that woke, so an entry left by a
 * process that was killed meanwhile is never applied to the next process of the same record
 * — and its doorbell; a worker's process is woken through its futex word.
 *
 * Wake-ups are notified after the kernel lock is released, never under it: the woken thread
 * often runs at once on the waker's core (the scheduler prefers it), preempting the waker while
 * it still holds the lock, and then spins and naps on that lock for ~100 µs. So a wake-up with
 * the lock held sets its word at once (a spinning waiter sees it) and records the
 * `Atomics.notify` it owes; {@link Wake.flush} sends them when the lock is released.
 */
export class Wake {
  readonly #k: KernelContext;
  readonly #i32: Int32Array;
  readonly #base: number;
  readonly #cap: number;
  readonly #owedFutex = new Int32Array(OWED_CAP);
  #owedCount = 0;
  #owedBell = false;
  /** True when notifications wait for {@link Wake.flush} (the lock holder checks it on release). */
  owed = false;

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
    else this.#futex(procs.word(p, P.FUTEX));
  }

  #futex(word: number): void {
    const i32 = this.#i32;
    if (!this.#k.locked || this.#owedCount === OWED_CAP) {
      wakeFutex(i32, word, word + PARKED_FROM_FUTEX);
      return;
    }
    Atomics.store(i32, word, 1);
    this.#owedFutex[this.#owedCount++] = word;
    this.owed = true;
  }

  /**
   * Sends the notifications owed by the critical section that just ended (called right after
   * the kernel lock is released, before the CPU counts as safe to stop): a futex waiter only if
   * it parked, CPU 0's doorbell always.
   */
  flush(): void {
    const i32 = this.#i32;
    for (let i = 0; i < this.#owedCount; i++) {
      const word = this.#owedFutex[i]!;
      notifyParked(i32, word, word + PARKED_FROM_FUTEX);
    }
    this.#owedCount = 0;
    this.owed = false;
    if (this.#owedBell) {
      this.#owedBell = false;
      Atomics.notify(i32, H.DOORBELL);
    }
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
      i32[at] = pid | 0; // the low word (exact below 2^53; `%` would be fmod)
      i32[at + 1] = this.#k.procs.get(p, P.SEQ);
      i32[H.WAKE_TAIL] = tail + 1;
    }
    Atomics.add(i32, H.DOORBELL, 1);
    if (this.#k.locked) this.#owedBell = this.owed = true;
    else Atomics.notify(i32, H.DOORBELL);
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
      if (p >= procs.count || !procs.live(p) || procs.pid(p) >>> 0 !== pidLo || procs.get(p, P.SEQ) !== seq) continue;
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
