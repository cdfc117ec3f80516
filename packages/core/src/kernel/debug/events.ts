import type { IpcErrorCode } from '../../contracts/errors.js';

/**
 * What an IPC operation did, as the policy hooks, the audit trail and the message trace see
 * it: the one typed event union the syscall layer produces.
 *
 * - `send` / `call`: a sender's message entered an endpoint (delivered, queued, or refused);
 * - `receive`: a message landed in a receiver (`src` the sender, `dst` the receiver);
 * - `reply`: a server's reply was delivered to its caller (or refused);
 * - `reply-error`: a server failed a call with an error code;
 * - `async-send` / `async-receive`: a message entered an async channel (or was refused or
 *   dropped by its overflow policy: `ChannelFull`), a receiver took one (`endpoint` is the
 *   channel's id; `dst` of a send is 0: no receiver is chosen at a send);
 * - `publish` / `topic-receive`: a message was published to a topic, a subscriber took one
 *   (`endpoint` is the topic's id; no flow ids: one publish reaches many subscribers).
 *
 * An operation that blocked (its first event says `ok`: queued, or delivered and awaiting the
 * reply) and then ended without its peer — its timeout ran out, it or its server was killed, its
 * endpoint closed — is recorded a second time with that result (`Timeout`, `ProcessNotFound`,
 * `ChannelClosed`), so every blocked operation's outcome is in the trail.
 */
export type KernelEventKind = 'send' | 'call' | 'receive' | 'reply' | 'reply-error' | 'async-send' | 'async-receive' | 'publish' | 'topic-receive';

/** One kernel event. */
export interface KernelEvent {
  readonly kind: KernelEventKind;
  /** Monotonic time in nanoseconds (the kernel clock of CPU 0, worker CPUs aligned to it). */
  readonly ts: number;
  /** CPU whose kernel entry produced the event. */
  readonly cpu: number;
  /** Sending process (pid). */
  readonly src: number;
  /** Receiving process (pid), or 0 when not known yet (queued, or refused before a receiver was chosen). */
  readonly dst: number;
  /** Endpoint id (0 for a reply to a call whose endpoint is gone); for the async and topic kinds the channel's or topic's id. */
  readonly endpoint: number;
  /** Message type. */
  readonly type: number;
  /** Payload bytes. */
  readonly size: number;
  /** Capabilities passed. */
  readonly caps: number;
  /** `ok`, or the error the operation failed with. */
  readonly result: 'ok' | IpcErrorCode;
  /** Flow id linking a message's send to its receive (0 = none). */
  readonly flow: number;
  /** Flow id linking a call to its reply (0 = none). */
  readonly callFlow: number;
  /** Nanoseconds from send to this receive (one-way messages) or from call to this reply; `null` otherwise. */
  readonly latency: number | null;
}

/** Kind codes as stored in ring records. */
export const KIND_CODE = { send: 1, call: 2, receive: 3, reply: 4, 'reply-error': 5, 'async-send': 6, 'async-receive': 7, publish: 8, 'topic-receive': 9 } as const satisfies Record<KernelEventKind, number>;

/** True for the kind codes of async channels and topics (their `endpoint` is a ring id, which may equal an endpoint's). */
export function isRingKind(code: number): boolean {
  return code >= KIND_CODE['async-send'];
}

/** Kind of a stored code. */
export const KIND_OF: readonly (KernelEventKind | undefined)[] = [undefined, 'send', 'call', 'receive', 'reply', 'reply-error', 'async-send', 'async-receive', 'publish', 'topic-receive'];
