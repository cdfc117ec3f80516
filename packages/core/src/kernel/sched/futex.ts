const MIN_SPIN_NS = 2_000;
const START_SPIN_NS = 50_000;
const MAX_SPIN_NS = 100_000;
const FAST_SPINS = 1024;
/** Short parks in a row, the budget growing each time, after which spinning backs off. */
const BACK_OFF_AFTER = 3;

/**
 * How a process's thread waits when it blocks, as stored in its record (`P.WAIT`): `ADAPTIVE`
 * spins for a budget that follows how long wake-ups take, `SPIN` always spins the whole bounded
 * window (100 µs) before parking, `PARK` parks at once (no CPU burnt while waiting).
 */
export const WaitCode = { ADAPTIVE: 0, SPIN: 1, PARK: 2 } as const;

/**
 * Blocking on a futex word in machine memory for worker CPUs: spin for a while (a spinning
 * peer answers in well under a microsecond), then park with `Atomics.wait`. Waking a parked
 * thread costs tens of microseconds, so the spin budget is a time, about what a wake-up costs
 * (competitive spinning). It adapts: a park that ended soon after the budget ran out means
 * spinning a little longer would have paid, so the budget grows; a park that lasted far longer
 * means the peer was simply idle, so it shrinks. With a single core there is no one to spin
 * for, so it never spins.
 */
export class FutexWaiter {
  #spinNs = 0; // a small integer from birth (a Smi field: no heap number per store)
  readonly #fixed: boolean;
  #shortParks = 0;
  /** Times this waiter parked (one per wait that reached `Atomics.wait`). */
  parks = 0;
  /** Word of the waiter's memory that mirrors {@link FutexWaiter.parks} (a process's statistics word `PS.PARKS`), or -1. */
  parksWord = -1;

  /**
   * `cores`: the host's core count (with one core there is no one to spin for); `mode`: a
   * {@link WaitCode} (`SPIN` keeps the budget at its bound, `PARK` never spins).
   */
  constructor(cores: number, mode: number = WaitCode.ADAPTIVE) {
    this.#fixed = mode !== WaitCode.ADAPTIVE;
    this.#spinNs = cores <= 1 || mode === WaitCode.PARK ? 0 : mode === WaitCode.SPIN ? MAX_SPIN_NS : START_SPIN_NS;
  }

  /**
   * Waits until `i32[word] !== 0` or `timeoutMs` passes. `parked` is the word the waker reads
   * to decide whether `Atomics.notify` is needed (this waiter's own: 1 while it is parked).
   * Returns true if woken, false on timeout. {@link FutexWaiter.waitChange} with `seen` 0.
   */
  wait(i32: Int32Array, word: number, parked: number, timeoutMs: number): boolean {
    return this.waitChange(i32, word, 0, parked, timeoutMs);
  }

  #countPark(i32: Int32Array): void {
    this.parks++;
    if (this.parksWord >= 0) i32[this.parksWord] = this.parks | 0;
  }

  /** True when this waiter spins before it parks (more than one core, and not `PARK`). */
  get spins(): boolean {
    return this.#spinNs > 0;
  }

  /** The spin budget now, in ns (0 = parks at once). */
  get spinNs(): number {
    return this.#spinNs;
  }

  /**
   * Waits until `i32[word] !== seen` (a sequence word that wakers bump, shared by any number of
   * waiters) or `timeoutMs` passes, with the same adaptive spin as {@link FutexWaiter.wait}.
   * `parked` counts the waiters parked in `Atomics.wait` (the waker notifies only when it is
   * non-zero; a waiter's own word reads 1 while it is parked). Returns true if the word
   * changed, false on timeout.
   */
  waitChange(i32: Int32Array, word: number, seen: number, parked: number, timeoutMs: number, pending = -1): boolean {
    const spinNs = this.#spinNs;
    if (spinNs > 0) {
      for (let i = 0; i < FAST_SPINS; i++) {
        if (Atomics.load(i32, word) !== seen) {
          // Answered fast: let the budget drift down slowly, so a peer that always answers fast
          // does not keep a long spin reserved (integers only: a fraction would box a number).
          if (!this.#fixed && this.#spinNs > MIN_SPIN_NS) this.#spinNs -= this.#spinNs >> 8;
          return true;
        }
      }
    } else if (Atomics.load(i32, word) !== seen) return true;
    const start = performance.now();
    if (spinNs > 0) {
      const spinEnd = start + spinNs / 1e6;
      for (let i = 1; ; i++) {
        if (Atomics.load(i32, word) !== seen) {
          this.#shortParks = 0;
          return true;
        }
        // Reading the clock costs more than a load: look at it every 64 spins.
        if ((i & 63) === 0 && performance.now() >= spinEnd) break;
      }
    }
    const deadline = timeoutMs === Infinity ? Infinity : start + timeoutMs;
    const parkedAt = performance.now();
    this.#countPark(i32);
    Atomics.add(i32, parked, 1);
    try {
      for (;;) {
        if (Atomics.load(i32, word) !== seen) {
          this.#adapt((performance.now() - parkedAt) * 1e6);
          return true;
        }
        const left = deadline === Infinity ? undefined : deadline - performance.now();
        if (left !== undefined && left <= 0) return false;
        // A waker that finds the pending flag set skips its notify (see wakeAllFutex): clear
        // it before each wait, then the wait's own compare sees any bump made before that.
        if (pending >= 0) Atomics.store(i32, pending, 0);
        Atomics.wait(i32, word, seen, left);
      }
    } finally {
      Atomics.sub(i32, parked, 1);
    }
  }

  /**
   * After a park: a short one (the peer answered about a wake-up's time later) means spinning
   * that long would have avoided it — and avoids two CPUs parking in lockstep, each paying a
   * wake-up per message — so the budget grows to cover it; a long one means the peer was idle.
   * But short parks again and again although the budget grew each time mean the answer only
   * comes once this thread stops spinning: the peer waits for this very core (more runnable
   * threads than cores, as on a loaded 2-core machine), so spinning only delays it — the budget
   * drops to its floor instead.
   */
  #adapt(parkedNs: number): void {
    if (this.#spinNs === 0 || this.#fixed) return;
    if (parkedNs > MAX_SPIN_NS) {
      this.#shortParks = 0;
      this.#spinNs = Math.max(MIN_SPIN_NS, (this.#spinNs * 0.75) | 0);
    } else if (++this.#shortParks >= BACK_OFF_AFTER) {
      this.#shortParks = 0;
      this.#spinNs = MIN_SPIN_NS;
    } else this.#spinNs = Math.min(MAX_SPIN_NS, Math.max((this.#spinNs * 1.5) | 0, Math.min(MAX_SPIN_NS, parkedNs * 1.25) | 0));
  }
}

/** Wakes a waiter of {@link FutexWaiter.wait}: sets the word and notifies only if it parked. */
export function wakeFutex(i32: Int32Array, word: number, parked: number): void {
  Atomics.store(i32, word, 1);
  notifyParked(i32, word, parked);
}

/** The notify half of {@link wakeFutex}, for a waker that set the word earlier (under a lock): only if the waiter parked. */
export function notifyParked(i32: Int32Array, word: number, parked: number): void {
  if (Atomics.load(i32, parked) !== 0) Atomics.notify(i32, word);
}

/**
 * Wakes every waiter of {@link FutexWaiter.waitChange} (and `Atomics.waitAsync` waiters) on a
 * sequence word: bumps it and notifies only if a waiter parked. One call wakes them all.
 */
export function wakeAllFutex(i32: Int32Array, word: number, parked: number, pending = -1): void {
  Atomics.add(i32, word, 1);
  if (Atomics.load(i32, parked) === 0) return;
  // With a pending word (`pending` ≥ 0): one notify per parking. A waker that set the flag woke
  // every thread parked then; until one of them (or a new waiter) clears it to park again, the
  // parked are already on their way, and notifying again would cost each message a futex call
  // for the whole wake-up latency of the woken (tens of µs). Safe because a waiter clears the
  // flag *before* its wait compares the word: a bump that saw the flag set is seen by that
  // compare.
  if (pending >= 0 && (Atomics.load(i32, pending) !== 0 || Atomics.exchange(i32, pending, 1) !== 0)) return;
  Atomics.notify(i32, word);
}
