import type { KernelContext } from '../context.js';
import { R } from '../records/layout.js';

/** A waiting operation of this CPU: `retry` returns true once it has settled (it is then dropped). */
export interface AsyncWaiter {
  retry(): boolean;
}

interface Watch {
  readonly waiters: AsyncWaiter[];
  readonly waitersWord: number;
  readonly parkedWord: number;
  /** Cleared before each arming (see `wakeAllFutex`, sched/futex.ts). */
  readonly pendingWord: number;
  armed: boolean;
  scheduled: boolean;
}

/**
 * The promise side of waiting on a ring, for the CPU whose thread runs an event loop (CPU 0):
 * the waiters of one ring word (a ring's notification word, or its space word) share one
 * `Atomics.waitAsync` on it, and count in the ring's waiter and parked words, so a producer
 * on any CPU bumps the word and notifies once for all of them. A producer on this CPU also
 * schedules a re-check directly (a microtask), without a trip through the event loop.
 */
export class AsyncHub {
  readonly #k: KernelContext;
  readonly #watches = new Map<number, Watch>();

  constructor(k: KernelContext) {
    this.#k = k;
  }

  /**
   * Registers `w` on `word` (with its waiter and parked count words) and tries it at once: a
   * message that arrived between the caller's last try and now is not missed.
   */
  watch(word: number, waitersWord: number, parkedWord: number, pendingWord: number, w: AsyncWaiter): void {
    let e = this.#watches.get(word);
    if (!e) {
      e = { waiters: [], waitersWord, parkedWord, pendingWord, armed: false, scheduled: false };
      this.#watches.set(word, e);
    }
    e.waiters.push(w);
    const i32 = this.#k.i32;
    Atomics.add(i32, waitersWord, 1);
    Atomics.add(i32, parkedWord, 1);
    this.#check(word, e);
  }

  /** Drops `w` (a timeout or an abort) without settling it. */
  cancel(word: number, w: AsyncWaiter): void {
    const e = this.#watches.get(word);
    if (!e) return;
    const i = e.waiters.indexOf(w);
    if (i < 0) return;
    e.waiters.splice(i, 1);
    this.#dec(e);
    if (e.waiters.length === 0) this.#watches.delete(word);
  }

  /** A producer (or close) on this CPU changed `word`: re-check its waiters soon. */
  wake(word: number): void {
    const e = this.#watches.get(word);
    if (!e || e.scheduled) return;
    e.scheduled = true;
    queueMicrotask(() => {
      e.scheduled = false;
      if (this.#watches.get(word) === e) this.#check(word, e);
    });
  }

  /** Re-checks every waiter of ring `r` (its notification and space words). */
  wakeRing(r: number): void {
    if (this.#watches.size === 0) return;
    const t = this.#k.rings.t;
    this.wake(t.word(r, R.NOTIFY));
    this.wake(t.word(r, R.SPACE));
  }

  /** Number of words watched (tests). */
  get size(): number {
    return this.#watches.size;
  }

  #dec(e: Watch): void {
    decrementToZero(this.#k.i32, e.waitersWord);
    decrementToZero(this.#k.i32, e.parkedWord);
  }

  #check(word: number, e: Watch): void {
    const i32 = this.#k.i32;
    const seen = Atomics.load(i32, word);
    const ws = e.waiters;
    for (let i = 0; i < ws.length; ) {
      let done: boolean;
      try {
        done = ws[i]!.retry();
      } catch {
        done = true;
      }
      if (done) {
        ws.splice(i, 1);
        this.#dec(e);
      } else i++;
    }
    if (ws.length === 0) {
      this.#watches.delete(word);
      return;
    }
    if (e.armed) return;
    e.armed = true;
    const again = (): void => {
      e.armed = false;
      if (this.#watches.get(word) === e) this.#check(word, e);
    };
    // Cleared before the wait compares the word (a waker that saw it set skipped its notify).
    Atomics.store(i32, e.pendingWord, 0);
    const pending = this.#k.platform.waitAsync(i32, word, seen);
    if (pending) void pending.then(again);
    else queueMicrotask(again);
  }
}

/**
 * Decrements a waiter count, never below zero: a waiter that settles after its ring was released
 * and re-created (the record zeroed) must not leave a negative count in the next incarnation.
 */
function decrementToZero(i32: Int32Array, word: number): void {
  for (;;) {
    const v = Atomics.load(i32, word);
    if (v <= 0 || Atomics.compareExchange(i32, word, v, v - 1) === v) return;
  }
}
