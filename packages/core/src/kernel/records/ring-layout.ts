/** Layouts of the ring records (async channels and topics), their slots and the subscriber records. */

export const R = {
  /** Next position producers claim. */
  HEAD: 0,
  /** Channel: next position consumers take. */
  TAIL: 16,
  /** Notification word (a line of its own: producers read WAITERS on every publish): bumped after a publish when {@link R.WAITERS} is non-zero. */
  NOTIFY: 80,
  /** Consumers waiting (spinning or parked) for a message: publishers bump NOTIFY. */
  WAITERS: 81,
  /** Consumers parked in `Atomics.wait`/`waitAsync` on NOTIFY: publishers notify. */
  PARKED: 82,
  /**
   * Non-zero once a publisher notified the parked consumers; a consumer clears it before it
   * parks. While it is set, further publishers bump NOTIFY but skip `Atomics.notify` (the
   * parked were woken already and have not parked again). See `sched/futex.ts`.
   */
  NOTIFY_PENDING: 83,
  /** Space word: bumped after a take when {@link R.SPACE_WAITERS} is non-zero. */
  SPACE: 32,
  SPACE_WAITERS: 33,
  SPACE_PARKED: 34,
  /** As {@link R.NOTIFY_PENDING}, for the space word. */
  SPACE_PENDING: 36,
  /** Topic (block policy): the least subscriber cursor a publisher last saw (a cache). */
  GATE: 35,
  /** Generation while open (as the registry word); the next incarnation's first while free (u32). */
  GEN: 48,
  /** First generation of the current (or last) incarnation. */
  START: 49,
  /** Generation the last incarnation had when it was released. */
  CLOSED_AT: 50,
  /** {@link RingKind}. */
  KIND: 51,
  /** {@link Overflow} policy. */
  POLICY: 52,
  /** Capacity in slots (a power of two ≤ the ring slots). */
  CAP: 53,
  /** Non-zero once closed: sends fail, receivers drain then see `ChannelClosed`. */
  CLOSED: 54,
  OWNER: 55,
  /** Links in the owner's ring list (index + 1; 0 = none). */
  ONEXT: 56,
  OPREV: 57,
  /** Next free ring record (index + 1; 0 = none). */
  FREE_NEXT: 58,
  /** Non-zero once a message with capabilities was sent: receivers take the lock to mint them. */
  HAS_CAPS: 59,
  /** Counters (u32, wrap): messages, payload bytes, dropped messages (state: each is a message in or out; the contention statistics are in {@link RST}). */
  MSGS: 64,
  BYTES: 65,
  DROPS: 66,
  /** Topic: subscribers now. */
  NSUBS: 69,
  /** Topic: subscriber table (subscriber index + 1 per entry; 0 = empty). */
  SUBS: 96,
  MAX_SUBS: 32,
  SIZE: 128,
} as const;

/** What a ring record is. */
export const RingKind = { FREE: 0, CHANNEL: 1, TOPIC: 2 } as const;

/** Overflow policies of a ring (`R.POLICY`). Topics use REJECT… as "lossy" and BLOCK. */
export const Overflow = { REJECT: 0, DROP_OLDEST: 1, DROP_NEWEST: 2, BLOCK: 3, LOSSY: 4 } as const;

/**
 * Ring slot words: a small message in place, in one aligned 128-byte pair of cache lines (the
 * pair a core's adjacent-line prefetcher fetches together: a 64-byte message streamed between
 * two CPUs costs ~0.6× what it does in 192-byte slots here). `SEQ` is the slot's sequence
 * (Vyukov's bounded MPMC queue for channels; a seqlock for topics). The capability snapshots
 * of a message that carries some are in the slot's {@link RSC} record, a table beside the
 * slots, so plain messages never touch a third line.
 */
export const RS = {
  SEQ: 0,
  /** Payload length | capability count << 7 (the info word's low bits). */
  INFO: 1,
  TYPE: 2,
  /** Sender pid, low and high 32 bits. */
  SENDER_LO: 3,
  SENDER_HI: 4,
  /** Frame of the descriptor of the buffer the message carries (the info word says whether it does). */
  DESC: 5,
  /** Send time's low word and trace flow id of an observed message (0 when not observed). */
  TS_LO: 6,
  FLOW: 7,
  /** 64 bytes of payload. */
  DATA: 8,
  SIZE: 32,
} as const;

/** A ring slot's capability record (same index as its slot, in the table after the slots): four snapshots (kind, object, generation, rights). */
export const RSC = {
  CAPS: 0,
  SIZE: 16,
} as const;

/** Subscriber record words: one cache line, written by its subscriber only (but for the kernel under the lock). */
export const SB = {
  /** Next position this subscriber reads. */
  CURSOR: 0,
  /** Generation while subscribed (u32, bumped on release; 0 never used). */
  GEN: 1,
  /** Topic ring index + 1 (0 = free). */
  TOPIC: 2,
  OWNER: 3,
  /** Next in the owner's subscription list / the free list (index + 1; 0 = none). */
  NEXT: 4,
  PREV: 5,
  /** Messages this subscriber missed (lossy topics), in total. */
  MISSED: 6,
  /** Missed messages not yet reported (reported with the next message received). */
  PENDING: 7,
  SIZE: 16,
} as const;

/**
 * Per-ring statistics words, outside the ring records (in the statistics area after the
 * per-process ones): contention counts, not kernel state, so a state snapshot leaves them out —
 * a send refused by a full ring changes nothing but them. Reset when the record is reused.
 */
export const RST = {
  /** Times a sender found the ring full (u32, wraps). */
  FULL: 0,
  /** Compare-and-swap retries (u32, wraps). */
  RETRIES: 1,
  SIZE: 2,
} as const;
