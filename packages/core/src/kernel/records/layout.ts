/**
 * Fixed layout of kernel objects in machine memory. Every record is a run of Int32 words;
 * the constants name the words. Keeping the layout in one place lets every CPU (worker
 * thread) read the same records without any serialization. Only the accessors in this
 * folder turn a record index and a field into a word index.
 */

/**
 * Header words (from Int32 index 0). Words other CPUs write on the hot path each sit on a
 * cache line of their own (16 words = 64 bytes), so CPUs do not steal each other's lines for
 * nothing (false sharing); line 0 and 1 hold read-mostly configuration.
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
  /** Entries (pid, sequence) the wake ring holds. */
  WAKE_CAP: 12,
  MEMORY_BYTES: 13,
  /** Number of worker CPUs attached (non-zero switches locking on). */
  SHARED: 14,
  /** Start of the endpoint registry table (one word per endpoint). */
  REG_BASE: 15,
  /** Start of the name hash buckets (endpoint index + 1, 0 = empty). */
  NAME_BASE: 16,
  /** Buckets - 1 (a power of two minus one). */
  NAME_MASK: 17,
  /** Free subscriber records, least recently freed first (index + 1; 0 = none). */
  SUBFREE_HEAD: 18,
  /** Bits of a capability handle that index the slot. */
  SLOT_INDEX_BITS: 19,
  /** Free process records, least recently freed first (linked through `P.NEXT`). */
  PFREE_HEAD: 20,
  PFREE_TAIL: 21,
  /** Free endpoint records, least recently freed first (linked through `E.FREE_NEXT`). */
  EFREE_HEAD: 22,
  EFREE_TAIL: 23,
  /** Start of the per-CPU lines (one line per CPU: its kernel-entry state word). */
  CPU_BASE: 24,
  /** Start of the ring records ({@link R}); their registry words, slots and the subscriber records follow. */
  RING_BASE: 25,
  /** Ring records (async channels and topics share the pool). */
  NRING: 26,
  /** Slots per ring (a power of two): the largest `bufferSize`. */
  RING_SLOTS: 27,
  /** Free ring records, least recently freed first (index + 1; 0 = none; linked through `R.FREE_NEXT`). */
  RFREE_HEAD: 28,
  RFREE_TAIL: 29,
  /** Subscriber records ({@link SB}). */
  NSUB: 30,
  SUBFREE_TAIL: 31,
  /** Big kernel lock (a ticket lock word), alone on its line with its counters. */
  LOCK: 32,
  /** Lock acquisitions (written by the holder). */
  LOCK_ACQUIRED: 33,
  /** Acquisitions that had to wait. */
  LOCK_CONTENDED: 34,
  /** Spins spent waiting, in total. */
  LOCK_SPINS: 35,
  /** Observability switches ({@link ObsFlag}): one load and a branch on the IPC paths when 0. */
  OBS_FLAGS: 36,
  /** Start of the observability region (policies, audit and trace rings; see `obs-region.ts`). */
  OBS_BASE: 37,
  /** Start of the frame reference counts (one word per physical frame; see `vm/frame-refs.ts`). */
  FREF_BASE: 38,
  /** First page of the window process memory is allocated in (`vm/va-map.ts`). */
  VM_BASE_PAGE: 39,
  /** Page above the window's last page (from the arch's user range). */
  VM_TOP_PAGE: 40,
  /** Largest buffer a message may carry, in bytes (the machine's limit; endpoints may set lower). */
  MAX_TRANSFER: 41,
  /** Shared-region records ({@link RG}): their start, count, and free list (index + 1; 0 = none, linked through `RG.FREE_NEXT`). */
  REGION_BASE: 42,
  NREGION: 43,
  GFREE_HEAD: 44,
  GFREE_TAIL: 45,
  /** Int32 index of the per-process statistics ({@link PS}): counters that are not kernel state. */
  STATS_BASE: 46,
  /** Non-zero: the kernel option `fastPath: false` (no CPU takes a fast path; read beside the lock word). */
  FAST_OFF: 47,
  /** Main CPU doorbell: bumped when another CPU queues a wake-up for a main-CPU process. */
  DOORBELL: 48,
  WAKE_HEAD: 49,
  WAKE_TAIL: 50,
  /** Set when the wake ring was full: CPU 0 then looks at every one of its processes. */
  WAKE_OVERFLOW: 51,
  SIZE: 64,
} as const;

/** Int32 words per cache line; record regions start on a line. */
export const LINE_WORDS = 16;

export const MAGIC = 0x56524449; // 'VRDI'

/** Bits of the header's {@link H.OBS_FLAGS} word. */
export const ObsFlag = {
  /** Some endpoint has a security policy (rate limit or filter). */
  POLICY: 0x1,
  /** The audit ring records every IPC operation. */
  AUDIT: 0x2,
  /** The message trace is on (`/sys/kernel/debug/ipc/trace`). */
  TRACE: 0x4,
} as const;

/** Kernel-entry state of a CPU (its word on the per-CPU line). */
export const CpuState = {
  /** Running user code or parked in a wait: holds no ticket, may be terminated. */
  SAFE: 0,
  /** Taking or holding a kernel lock: must not be terminated. */
  LOCKING: 1,
  /** Being terminated: may not take a lock any more. */
  DOOMED: 2,
  /**
   * Inside the endpoint fast path (holds or may take an endpoint's lock, never the big one):
   * must not be terminated; the big lock's holder waits until no CPU is in this state.
   */
  FAST: 3,
} as const;

/**
 * Process record words: four cache lines. Line 0 holds what other CPUs read and write when
 * they queue, deliver to or wake this process; line 1 holds only the futex word this process
 * spins on while blocked (and its parked flag), so a waker's other writes do not bounce the
 * line under a spinning reader; lines 2–3 hold cold fields.
 */
export const P = {
  // Line 0: what a call or reply between two CPUs touches (state, queues, reply links, result),
  // so a round trip moves as few cache lines as it can.
  /** Generation (u32): the high part of the pid. */
  GEN: 0,
  STATE: 1,
  /** Head of this process's reply-waiter list (callers awaiting its reply). */
  RHEAD: 2,
  EFF: 3,
  CPU: 4,
  /** Endpoint the process is queued on (sender or receiver), or passively serving. */
  WAIT_EP: 5,
  /** Wait-queue links (and the free-record list while free). */
  NEXT: 6,
  PREV: 7,
  /** Server whose reply this process awaits. */
  REPLY_SERVER: 8,
  /** Wake status (0 or an error number). */
  RESULT: 9,
  /** Links in the reply-waiter list of the server this process awaits. */
  RNEXT: 10,
  /** Non-zero: a kill was requested; the next kernel entry unwinds. */
  KILL: 11,
  /** Bumped on every blocking operation (timeouts and wake-ups name the one they belong to). */
  SEQ: 12,
  /** Endpoint a caller's pending call came through (for the rules of its reply). */
  CALL_EP: 13,
  /** High part (pid / 2^32) of the sender of the message last delivered to this process. */
  SENDER_HI: 14,
  RPREV: 15,
  // Line 1: the futex a worker spins on, and fields a round trip reads rarely or not at all.
  FUTEX: 16,
  PARKED: 17,
  PRIO: 18,
  /** {@link Op} of a queued sender. */
  OP: 19,
  /** Non-zero while a worker waits with a timeout (it will act again by itself). */
  TIMED: 20,
  ASID: 32,
  ROOT: 33,
  IPCBUF: 34,
  NAME: 35, // 8 words, 32 bytes UTF-8
  /** Head of the list of endpoints this process owns. */
  EHEAD: 46,
  /** Free capability slots, least recently freed first (slot indices). */
  CS_FREE_HEAD: 48,
  CS_FREE_TAIL: 49,
  CS_FREE: 50,
  /** Head of the list of occupied slots. */
  CS_USED_HEAD: 51,
  /** Bumped on every change to this process's capability space. */
  CS_SEQ: 52,
  /** Descriptor frame of a staged outgoing large message (0 = none). */
  LARGE_OUT: 53,
  /** Descriptor frame of a delivered, unread large message (0 = none). */
  LARGE_IN: 54,
  /** Head of the list of rings and topics this process owns (ring index + 1; 0 = none). */
  RING_HEAD: 55,
  /** Head of the list of this process's subscriptions (subscriber index + 1; 0 = none). */
  SUB_HEAD: 56,
  /** Frame holding this process's free virtual ranges (0 until it first maps memory; `vm/va-map.ts`). */
  VM: 57,
  /** Pages of process memory mapped (or lazily mapped) in this process. */
  VM_PAGES: 58,
  /** How this process's thread waits when it blocks ({@link WaitCode}: adaptive, spin or park). */
  WAIT: 59,
  /** Frame holding this process's records of resizable-region mappings (0 until it maps one; `vm/region-maps.ts`). */
  RMAP: 60,
  /** The kernel-owned message shadow ({@link M}): lines 4–8. */
  MSG: 64,
  SIZE: 144,
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
  /** Retired: generation exhausted, the record is never reused. */
  RETIRED: 7,
  /** A passive server running its handler on a caller's time. */
  PASSIVE: 8,
} as const;

/**
 * Shared-region record words. The frames are listed in list frames named by the region's
 * header frame (word 0: list count, then the list frames), 1024 frame numbers per list.
 */
export const RG = {
  /** Generation (u32), bumped when the region is freed: capabilities carry it. */
  GEN: 0,
  /** 1 while the region exists. */
  LIVE: 1,
  PAGES: 2,
  /** The region's own permissions (PagePerm READ / WRITE): no mapping gets more. */
  PERMS: 3,
  /** NUMA node its frames came from. */
  NODE: 4,
  /** Capabilities naming it, in every capability space; it is freed when this drops to 0. */
  CAPS: 5,
  /** Header frame (list of list frames). */
  HEAD: 6,
  FREE_NEXT: 7,
  /** {@link RegionFlag} bits. */
  FLAGS: 8,
  SIZE: 9,
} as const;

/** Bits of a region's {@link RG.FLAGS} word. */
export const RegionFlag = {
  /** Created resizable: its mappings are recorded (`vm/region-maps.ts`) so a resize reaches them. */
  RESIZABLE: 0x1,
} as const;

/** Pending operation of a process queued as a sender. */
export const Op = { NONE: 0, CALL: 1, SEND: 2 } as const;

/**
 * Endpoint record words. The endpoint's open generation is not here but in the dense registry
 * table (one word per endpoint, see `registry-word.ts`), so resolving ids touches 4 bytes per
 * endpoint instead of a whole record.
 */
export const E = {
  // Line 0: what a call, a receive and their reply read and write (queue heads, the lock).
  /** {@link EndpointFlag} bits. */
  FLAGS: 0,
  OWNER: 1,
  CAPACITY: 2,
  QHEAD: 3,
  QTAIL: 4,
  QLEN: 5,
  RHEAD: 6,
  RTAIL: 7,
  /** Default call timeout in ns: low 32 bits (TIMEOUT_HI holds the rest). */
  TIMEOUT_LO: 8,
  TIMEOUT_HI: 9,
  /** Messages delivered through the endpoint (on the queue heads' line, which a delivery writes anyway). */
  MSGS: 10,
  /** The endpoint's own ticket lock (0 when free): the endpoint fast path's, see `sched/kernel-lock.ts`. */
  LOCK: 11,
  /** Current generation while open; the next incarnation's first generation while free (u32). */
  GEN: 12,
  /** First generation of the current (or last) incarnation. */
  START: 13,
  /** A passive server running its handler for a call through this endpoint, or NONE. */
  PASSIVE: 14,
  /** Largest buffer a message through this endpoint may carry (0: the machine's limit). */
  MAX_TRANSFER: 15,
  // Line 1: cold.
  NAME: 16, // 8 words
  /** Links in the owner's endpoint list. */
  ONEXT: 24,
  OPREV: 25,
  /** Next endpoint in the same name bucket. */
  NNEXT: 26,
  /** Next free endpoint record. */
  FREE_NEXT: 27,
  /** Two cache lines, so endpoints never share one. */
  SIZE: 32,
} as const;

/** Endpoint flags. */
export const EndpointFlag = {
  /** Only register (small) messages: a large message to or through it is `MessageTooLarge`. */
  REGISTER_ONLY: 0x1,
} as const;

/** Capability slot words. */
export const S = {
  /** 0 = empty; otherwise the tag a handle must carry to name this slot. */
  TAG: 0,
  KIND: 1,
  OBJ: 2,
  /** The object's generation when minted (u32). */
  GEN: 3,
  RIGHTS: 4,
  TOKLO: 5,
  TOKHI: 6,
  /** Next tag to use when the slot is filled again (persists while empty; 0 = retired). */
  NEXTTAG: 7,
  /** Free-list or used-list link (slot index). */
  NEXT: 8,
  /** Used-list back link. */
  PREV: 9,
  SIZE: 10,
} as const;

/**
 * Kernel-owned message shadow of a process: the message words of a queued send (same layout
 * as a register frame, so the arch's decoder reads it), then the four capabilities it carries
 * as snapshots (kind, object, generation, rights), taken when the send was checked.
 */
export const M = {
  FRAME: 0,
  CAPS: 64,
  CAP_WORDS: 4,
  SIZE: 80,
} as const;

/** Word of a CPU's line: its ring-operation epoch (odd while a lock-free ring operation runs; see ipc/async.ts). */
export const CPU_RING_EPOCH = 1;
/** Words of a CPU's line: endpoint fast-path entries it made, and those that waited for an endpoint's lock (counters it alone writes). */
export const CPU_FAST_ENTRIES = 2;
export const CPU_FAST_CONTENDED = 3;

/**
 * Ring record words (async channels and topics): eight cache lines. Line 0 is the producers'
 * (the claim counter they CAS or fetch-add), line 1 the consumers' (the channel's take counter),
 * line 2 the space word blocked producers park on, line 3 read-mostly configuration, line 4
 * the counters, line 5 the notification word consumers park on, lines 6–7 a topic's subscriber
 * table.
 * Positions are u32 counters that wrap; only their differences are compared.
 */
/**
 * Per-process statistics words, outside the kernel records (a state snapshot leaves them out:
 * a thread parks on its own time, and two snapshots of an unchanged kernel must compare equal).
 */
export const PS = {
  /** Times this process's thread parked (`Atomics.wait`) in a blocking wait (u32, wraps). */
  PARKS: 0,
  SIZE: 1,
} as const;

export { Overflow, R, RingKind, RS, RSC, RST, SB } from './ring-layout.js';

/** Register words per process frame (32 registers × 2 halves). */
/** From a process's futex word to its parked flag (the waker reads it to decide on a notify). */
export const PARKED_FROM_FUTEX = P.PARKED - P.FUTEX;

export const REG_WORDS = 64;
export const NONE = -1;
/** Highest generation (u32) before a record is retired. */
export const MAX_GEN = 0xfffffffe;
