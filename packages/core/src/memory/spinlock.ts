/**
 * Takes a test-and-set spinlock on one Int32 word of shared memory (0 free, 1 held). Kernel critical sections are
 * a few hundred nanoseconds, so spinning (with `Atomics.wait` back-off after a while) beats
 * parking outright.
 */
export function lockWord(i32: Int32Array, index: number): void {
  if (Atomics.compareExchange(i32, index, 0, 1) === 0) return;
  let spins = 0;
  for (;;) {
    if (Atomics.load(i32, index) === 0 && Atomics.compareExchange(i32, index, 0, 1) === 0) return;
    if (++spins > 2000) {
      // Holder is probably descheduled: sleep briefly instead of burning the core.
      Atomics.wait(i32, index, 1, 0.05);
      spins = 0;
    }
  }
}

/** Releases a lock taken with {@link lockWord}. */
export function unlockWord(i32: Int32Array, index: number): void {
  Atomics.store(i32, index, 0);
}
