/** Shared-memory layouts of the baseline workers, shared by the worker and the thread that starts it. */

/** `spin-rt-64b` (Int32 words, each on its own cache line; then the 64-byte request and reply areas). */
export const SPIN = { REQ: 0, REP: 16, STOP: 32, REQ_BYTE: 192, REP_BYTE: 256, BYTES: 320 } as const;

/**
 * `wake-floor`: Int32 [WORD] the futex word, [READY] sample index + 1 once the waiter is about
 * to park; BigInt64 at STAMP_BYTE the waker's clock; Float64 from OUT_BYTE one latency per sample.
 */
export const WAKE = { WORD: 0, READY: 16, STAMP_BYTE: 128, OUT_BYTE: 192 } as const;
export const wakeBytes = (samples: number) => WAKE.OUT_BYTE + 8 * samples;

/**
 * `spin-stream-64b`: Int32 [STOP] set when the measurement is over; then `CAP` slots of
 * `SLOT_WORDS` words from word `SLOT0` (an aligned 128-byte pair of cache lines each, as a kernel ring slot): a
 * sequence word (Vyukov's, doubled: `2·pos` free, `2·pos + 1` full), a type word, and the 64
 * payload bytes from word `DATA` of the slot.
 */
export const RING = { STOP: 0, SLOT0: 32, SLOT_WORDS: 32, DATA: 8, CAP: 256 } as const;
export const ringBytes = () => (RING.SLOT0 + RING.CAP * RING.SLOT_WORDS) * 4;
