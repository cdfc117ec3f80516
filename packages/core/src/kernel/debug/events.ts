import type { IpcErrorCode } from '../../contracts/errors.js';

/**
 * What an IPC operation did, as the policy hooks, the audit trail and the message trace see
 * it: the one typed event union the syscall layer produces.
 *
 * - `send` / `call`: a sender's message entered an endpoint (delivered, queued, or refused);
 * - `receive`: a message landed in a receiver (`src` the sender, `dst` the receiver);
 * - `reply`: a server's reply was delivered to its caller (or refused);
 * - `reply-error`: a server failed a call with an error code.
 */
export type KernelEventKind = 'send' | 'call' | 'receive' | 'reply' | 'reply-error';

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
  /** Endpoint id, or 0 for a reply to a call whose endpoint is gone. */
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
export const KIND_CODE = { send: 1, call: 2, receive: 3, reply: 4, 'reply-error': 5 } as const satisfies Record<KernelEventKind, number>;

/** Kind of a stored code. */
export const KIND_OF: readonly (KernelEventKind | undefined)[] = [undefined, 'send', 'call', 'receive', 'reply', 'reply-error'];
