/**
 * Fixed layout of kernel objects in machine memory. Every record is a run of Int32 words;
 * the constants name the words. Keeping the layout in one place lets every CPU (worker
 * thread) read the same records without any serialization.
 */

/**
 * Header words (from Int32 index 0). Words other CPUs write on the hot path each sit on a
 * cache line of their own (16 words = 64 bytes), so CPUs do not steal each other's lines for
 * nothing (false sharing); line 0 holds read-mostly configuration.
 */
export const H = {
  MAGIC: 0,
  NPROC: 1,
  NEP: 2,
  NSLOTS: 3,
  NCPU: 4,
  PHYS_CTL: 5,
  MMU_SHARED: 6,
  PROC_BASE: 7,
  EP_BASE: 8,
  SLOT_BASE: 9,
  FRAME_BASE: 10,
  WAKE_BASE: 11,
  WAKE_CAP: 12,
  REG_WORDS: 13,
  MEMORY_BYTES: 14,
  /** Number of worker CPUs attached (non-zero switches locking on). */
  SHARED: 15,
  /** Big kernel lock word (0 free, 1 held), alone on its line. */
  LOCK: 16,
  /** Main CPU doorbell: bumped when another CPU queues a wake-up for a main-CPU process. */
  DOORBELL: 32,
  WAKE_HEAD: 33,
  WAKE_TAIL: 34,
  /** Global FIFO ticket for queue ordering. */
  TICKET: 48,
  /** Next CPU index to hand out. */
  NEXT_CPU: 49,
  /** Start of the endpoint registry table (read at attach time only). */
  REG_BASE: 50,
  SIZE: 64,
} as const;

/** Int32 words per cache line; record regions start on a line. */
export const LINE_WORDS = 16;

export const MAGIC = 0x56524449; // 'VRDI'

/**
 * Process record words: three cache lines. Line 0 holds what other CPUs read and write when
 * they queue, deliver to or wake this process; line 1 holds only the futex word this process
 * spins on while blocked (and its parked flag), so a waker's other writes do not bounce the
 * line under a spinning reader; line 2 holds cold fields.
 */
export const P = {
  GEN: 0,
  STATE: 1,
  PRIO: 2,
  EFF: 3,
  CPU: 4,
  WAIT_EP: 5,
  NEXT: 6,
  PREV: 7,
  TICKET: 8,
  REPLY_SERVER: 9,
  RESULT: 10,
  OP: 11,
  KILL: 12,
  SERVING: 13,
  SEQ: 14,
  EXIT: 15,
  FUTEX: 16,
  PARKED: 17,
  ASID: 32,
  ROOT: 33,
  IPCBUF: 34,
  NAME: 35, // 8 words, 32 bytes UTF-8
  /** Endpoint a caller's pending call came through (for the rules of its reply). */
  CALL_EP: 43,
  SIZE: 48,
} as const;

/** Process states. */
export const PState = {
  FREE: 0,
  READY: 1,
  RUNNING: 2,
  /** Queued on an endpoint as a caller or sender. */
  BLOCKED_SEND: 3,
  BLOCKED_RECV: 4,
  BLOCKED_REPLY: 5,
  SLEEPING: 6,
  /** Retired: generation exhausted, the slot is never reused. */
  RETIRED: 7,
} as const;

/** Pending operation of a process queued as a sender. */
export const Op = { NONE: 0, CALL: 1, SEND: 2 } as const;

/**
 * Endpoint record words. The endpoint's generation and state are not here but in the dense
 * registry table (one word per endpoint, see {@link Registry}), so resolving ids touches 4
 * bytes per endpoint instead of a whole record; words 0–1 are unused.
 */
export const E = {
  /** {@link EndpointFlag} bits. */
  FLAGS: 0,
  OWNER: 2,
  CAPACITY: 3,
  QHEAD: 4,
  QTAIL: 5,
  QLEN: 6,
  RHEAD: 7,
  RTAIL: 8,
  /** Default call timeout in ns: low 32 bits (TIMEOUT_HI holds the rest). */
  TIMEOUT_LO: 9,
  NAME: 10, // 8 words
  MSGS: 18,
  TIMEOUT_HI: 19,
  /** Two cache lines, so endpoints never share one. */
  SIZE: 32,
} as const;

export const EState = { FREE: 0, OPEN: 1, RETIRED: 2 } as const;

/** Endpoint flags. */
export const EndpointFlag = {
  /** Only register (small) messages: a large message to or through it is `MessageTooLarge`. */
  REGISTER_ONLY: 0x1,
} as const;

/** A registry word is `generation << 2 | state` ({@link EState}). */
export const Registry = {
  GEN_SHIFT: 2,
  STATE_MASK: 3,
  /** The word of an open endpoint of generation `gen`. */
  open(gen: number): number {
    return (gen << 2) | EState.OPEN;
  },
} as const;

/** Capability slot words. */
export const S = {
  /** 0 = empty; otherwise the tag a handle must carry to name this slot. */
  TAG: 0,
  KIND: 1,
  OBJ: 2,
  GEN: 3,
  RIGHTS: 4,
  TOKLO: 5,
  TOKHI: 6,
  /** Next tag to use when the slot is filled again (persists while empty). */
  NEXTTAG: 7,
  SIZE: 8,
} as const;

/** Handles carry a 12-bit slot index and a 20-bit tag, so a stale handle never names a reused slot. */
export const HANDLE_INDEX_BITS = 12;
export const HANDLE_INDEX_MASK = (1 << HANDLE_INDEX_BITS) - 1;
export const MAX_TAG = (1 << 20) - 1;
/** Generations are u16; a slot whose generation would wrap is retired. */
export const MAX_GEN = 0xffff;
/** Register words per process frame (32 registers × 2 halves). */
export const REG_WORDS = 64;
export const NONE = -1;
