import { IpcError, type IpcErrorCode } from '../contracts/errors.js';

/**
 * The error a method declared with `error E` returns. A server handler throws one (or the
 * protocol's generated subclass) to send `value` back; the client's promise rejects with the
 * generated subclass carrying the same `value`.
 */
export class ApplicationError<E = unknown> extends Error {
  /** The `E` value the server returned (an enum member or an integer). */
  readonly value: E;

  /** `context` says where the error came from, e.g. `demo.fs/File.read` (it goes into the message). */
  constructor(value: E, context?: string, options?: { cause?: unknown }) {
    const shown = typeof value === 'bigint' ? `${value}n` : String(value);
    super(context === undefined ? `application error ${shown}` : `${context} returned error ${shown}`, options);
    this.name = new.target.name;
    this.value = value;
  }
}

/**
 * Why a server answered with a framework error instead of a response: the numbers travel in
 * the reply payload (a u32) and are part of the wire contract. Never renumber, only append.
 */
export const FrameworkErrorReason = {
  /** The request's message type names no method of the protocol. */
  UnknownMethod: 1,
  /** The request payload or its capabilities failed to decode. */
  InvalidRequest: 2,
  /** The handler threw something other than an application error, or its result failed to encode. */
  InternalError: 3,
} as const;

/** One of the {@link FrameworkErrorReason} numbers. */
export type FrameworkErrorReason = (typeof FrameworkErrorReason)[keyof typeof FrameworkErrorReason];

const REASON_NAMES: Readonly<Record<number, keyof typeof FrameworkErrorReason>> = {
  1: 'UnknownMethod',
  2: 'InvalidRequest',
  3: 'InternalError',
};

// A framework failure is still an IpcError (every IPC failure is), with the closest stable code.
const REASON_CODES: Readonly<Record<number, IpcErrorCode>> = {
  1: 'NotFound',
  2: 'InvalidArgument',
  3: 'InvalidState',
};

/** A call failed in the stub machinery on the server side (not in the application). */
export class FrameworkError extends IpcError {
  /** The reason number the server sent (see {@link FrameworkErrorReason}). */
  readonly reason: number;

  constructor(reason: number, method: string) {
    super(REASON_CODES[reason] ?? 'InvalidState', `${method}: server reported ${REASON_NAMES[reason] ?? `framework error ${reason}`}`);
    this.name = 'FrameworkError';
    this.reason = reason;
  }
}
