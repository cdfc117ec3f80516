/**
 * Message-type and reply-status numbers the generated stubs put on the wire. They are part
 * of the VIDL wire contract (the codegen package's IDL.md, "Transport"): never renumber,
 * only append.
 */

/**
 * Status of a reply, carried in the low 8 bits of the reply message's `type` (a request's
 * `type` is the low 32 bits of the method ordinal; a reply needs no method number because a
 * call has exactly one reply).
 */
export const ReplyStatus = {
  /** The payload is the encoded response. */
  Ok: 0,
  /** The payload is the encoded `error E` value. */
  ApplicationError: 1,
  /** The payload is a u32 {@link FrameworkErrorReason}. */
  FrameworkError: 2,
} as const;

/** One of the {@link ReplyStatus} numbers. */
export type ReplyStatus = (typeof ReplyStatus)[keyof typeof ReplyStatus];

/** Mask of the status in a reply's `type`. */
export const REPLY_STATUS_MASK = 0xff;

/**
 * Flag in a reply's `type`: the server holds queued events for the caller, who then fetches
 * them with {@link FrameworkMessageType.TakeEvent} before the call's promise settles.
 */
export const REPLY_EVENTS_PENDING = 0x100;

/**
 * Request message types from this value up are reserved for the stub framework; the VIDL
 * checker rejects a method whose ordinal's low 32 bits fall in the range.
 */
export const RESERVED_MESSAGE_TYPE_MIN = 0xffff_ff00;

/** Framework messages between a generated client and server (all in the reserved range). */
export const FrameworkMessageType = {
  /** Reply type of `TakeEvent`/`WaitEvent` when no event is queued (empty payload). */
  NoEvent: 0xffff_ff00,
  /** Call: start queueing events for the calling process (empty payload, empty `Ok` reply). Idempotent. */
  Subscribe: 0xffff_ff01,
  /** Call: stop queueing events for the calling process and drop its queue. */
  Unsubscribe: 0xffff_ff02,
  /** Call: take the oldest queued event; the reply's `type` is the event's message type and its payload the event, or `NoEvent`. */
  TakeEvent: 0xffff_ff03,
  /** Call: like `TakeEvent`, but when nothing is queued the server answers only once an event arrives (a long poll). */
  WaitEvent: 0xffff_ff04,
} as const;

/** Most events a server queues per subscriber; beyond it the oldest is dropped. */
export const EVENT_QUEUE_LIMIT = 256;
