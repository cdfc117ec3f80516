/** Shared-memory layouts of the baseline workers, shared by the worker and the thread that starts it. */

/** `spin-rt-64b` (Int32 words, each on its own cache line; then the 64-byte request and reply areas). */
export const SPIN = { REQ: 0, REP: 16, STOP: 32, REQ_BYTE: 192, REP_BYTE: 256, BYTES: 320 } as const;

/**
 * `wake-floor`: Int32 [WORD] the futex word, [READY] sample index + 1 once the waiter is about
 * to park; BigInt64 at STAMP_BYTE the waker's clock; Float64 from OUT_BYTE one latency per sample.
 */
export const WAKE = { WORD: 0, READY: 16, STAMP_BYTE: 128, OUT_BYTE: 192 } as const;
export const wakeBytes = (samples: number) => WAKE.OUT_BYTE + 8 * samples;
