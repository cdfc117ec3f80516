import { availableParallelism } from 'node:os';

/**
 * Blocking on a futex word in machine memory for worker CPUs: spin briefly (a spinning peer
 * answers in well under a microsecond), then park with `Atomics.wait`. The spin budget
 * adapts: it grows while spinning pays off and shrinks when it does not, and with a single
 * core there is no one to spin for, so it never spins.
 */
export class FutexWaiter {
  #budget: number;
  readonly #max: number;

  constructor() {
    const cores = availableParallelism();
    this.#max = cores > 1 ? 200_000 : 0;
    this.#budget = cores > 1 ? 20_000 : 0;
  }

  /** Current spin budget in iterations. */
  get spinBudget(): number {
    return this.#budget;
  }

  /**
   * Waits until `i32[word] !== 0` or `timeoutMs` passes. `parked` is the word the waker reads
   * to decide whether `Atomics.notify` is needed. Returns true if woken, false on timeout.
   */
  wait(i32: Int32Array, word: number, parked: number, timeoutMs: number): boolean {
    const budget = this.#budget;
    for (let i = 0; i < budget; i++) {
      if (Atomics.load(i32, word) !== 0) {
        if (this.#budget < this.#max) this.#budget += this.#budget >> 3;
        return true;
      }
    }
    if (this.#budget > 1000) this.#budget -= this.#budget >> 4;
    const deadline = timeoutMs === Infinity ? Infinity : performance.now() + timeoutMs;
    Atomics.store(i32, parked, 1);
    try {
      for (;;) {
        if (Atomics.load(i32, word) !== 0) return true;
        const left = deadline === Infinity ? undefined : deadline - performance.now();
        if (left !== undefined && left <= 0) return false;
        Atomics.wait(i32, word, 0, left);
      }
    } finally {
      Atomics.store(i32, parked, 0);
    }
  }
}

/** Wakes a waiter of {@link FutexWaiter.wait}: sets the word and notifies only if it parked. */
export function wakeFutex(i32: Int32Array, word: number, parked: number): void {
  Atomics.store(i32, word, 1);
  if (Atomics.load(i32, parked) !== 0) Atomics.notify(i32, word);
}
