/**
 * A fair spinlock on one Int32 word of shared memory: a ticket lock. The high 16 bits of the
 * word are the next ticket to hand out, the low 16 bits the ticket being served; 0 is free.
 * Waiters are served in the order they arrived (a test-and-set lock lets one CPU win again
 * and again under contention). Kernel critical sections are a few hundred nanoseconds, so
 * waiters spin, backing off with short `Atomics.wait` naps after a while.
 *
 * A thread must never be terminated while it holds or waits for a ticket (its ticket would
 * never be served); the kernel's worker CPUs follow a protocol for that (see
 * `ARCHITECTURE.md`, "Killing a worker CPU").
 */
const TICKET = 0x10000;
const SERVING_MASK = 0xffff;
const SPINS_BEFORE_NAP = 2000;

/** Takes the ticket lock at `i32[index]`. Returns the number of spins it waited (0 = uncontended). */
export function lockWord(i32: Int32Array, index: number): number {
  const word = Atomics.add(i32, index, TICKET);
  const ticket = (word >>> 16) & SERVING_MASK;
  if ((word & SERVING_MASK) === ticket) return 0;
  let spins = 0;
  for (let since = 0; ; since++) {
    const now = Atomics.load(i32, index);
    if ((now & SERVING_MASK) === ticket) return spins + since;
    if (since > SPINS_BEFORE_NAP) {
      // The holder is probably descheduled: nap briefly instead of burning the core.
      Atomics.wait(i32, index, now, 0.05);
      spins += since;
      since = 0;
    }
  }
}

/** Releases a lock taken with {@link lockWord}: serves the next ticket (`reset`: back to 0 when none waits). */
export function unlockWord(i32: Int32Array, index: number, reset = false): void {
  // Add 1 to the serving half without carrying into the ticket half. `reset`: with no one
  // waiting, the word goes back to 0 instead (a free lock then reads the same however often it
  // was taken, as a lock inside a kernel record must; the next locker's ticket 0 is served at once).
  for (;;) {
    const word = Atomics.load(i32, index);
    const serving = (word + 1) & SERVING_MASK;
    const next = reset && serving === ((word >>> 16) & SERVING_MASK) ? 0 : (word & ~SERVING_MASK) | serving;
    if (Atomics.compareExchange(i32, index, word, next) === word) return;
  }
}

/** True when the ticket lock at `i32[index]` is held (or has waiters). */
export function isLocked(i32: Int32Array, index: number): boolean {
  const word = Atomics.load(i32, index);
  return ((word >>> 16) & SERVING_MASK) !== (word & SERVING_MASK);
}
