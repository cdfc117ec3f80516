/** Word indices of the control block shared with `mmu-worker.ts`. */
export const C = {
  STOP: 0,
  /** Set by the main thread before it unmaps page A. */
  A_UNMAPPING: 1,
  /** Set by the main thread once the unmap of page A has returned. */
  A_UNMAPPED: 2,
  ITERATIONS: 3,
  /** Translations of A that succeeded although they started after the unmap returned. */
  STALE: 4,
  /** Wrong answers for A (wrong frame, or a fault before the unmap began). */
  WRONG_A: 5,
  /** Wrong answers for B (wrong frame, or a fault other than permission / not-present). */
  WRONG_B: 6,
  /** Writes to B that completed. */
  B_WRITES: 7,
  /** Round number the main thread published after mapping B afresh (clean). */
  ROUND: 8,
  /** Highest round in which a write to B completed. */
  WRITTEN_ROUND: 9,
  /** Set by the main thread before phase 2 starts unmapping and remapping B. */
  B_REMAPPING: 10,
  HITS: 11,
  WORDS: 12,
} as const;
