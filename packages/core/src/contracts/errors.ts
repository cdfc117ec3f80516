/**
 * Stable error codes of the VeridianOS IPC system. The string is the public, stable
 * identity of an error; the number is what travels in a register (the syscall return
 * register holds 0 for success or one of these numbers).
 */
export const IpcErrorCode = {
  /** A synchronous channel already has `capacity` callers waiting, or an async ring is full under the `reject` policy. */
  ChannelFull: 'ChannelFull',
  /** The channel or endpoint was closed (or its server exited) before or during the operation. */
  ChannelClosed: 'ChannelClosed',
  /** The capability handle names no live capability: forged, stale (revoked), freed, or of the wrong object type. */
  InvalidCapability: 'InvalidCapability',
  /** The capability is live but lacks the right the operation needs (SEND, RECEIVE, SHARE, GRANT, …). */
  PermissionDenied: 'PermissionDenied',
  /** The payload exceeds what the path allows (64 bytes / 4 capabilities on the register fast path). */
  MessageTooLarge: 'MessageTooLarge',
  /** The operation did not complete within its timeout; nothing of it is left behind. */
  Timeout: 'Timeout',
  /** The target process does not exist or has exited. */
  ProcessNotFound: 'ProcessNotFound',
  /** Machine memory has no free frame or record of the needed kind; state is unchanged. */
  OutOfMemory: 'OutOfMemory',
  /** An argument is malformed (bad priority, bad length, unknown flag, misaligned address, …). */
  InvalidArgument: 'InvalidArgument',
  /** The operation is not valid in the current state (e.g. replying when no call is pending, a second reply). */
  InvalidState: 'InvalidState',
  /** A memory access faulted (not mapped, wrong permission, non-canonical address). */
  AccessFault: 'AccessFault',
  /** The sender exceeded a rate limit on the channel. */
  RateLimited: 'RateLimited',
  /** A message filter on the channel rejected the message. */
  Filtered: 'Filtered',
  /** A name is already registered. */
  AlreadyExists: 'AlreadyExists',
  /** A name or object was looked up and not found. */
  NotFound: 'NotFound',
} as const;

/** One of the stable error code strings. */
export type IpcErrorCode = (typeof IpcErrorCode)[keyof typeof IpcErrorCode];

/**
 * Numeric form of each code, as carried in the syscall return register. These numbers are
 * part of the ABI: never renumber, only append.
 */
export const IPC_ERROR_NUMBERS: Readonly<Record<IpcErrorCode, number>> = Object.freeze({
  ChannelFull: 1,
  ChannelClosed: 2,
  InvalidCapability: 3,
  PermissionDenied: 4,
  MessageTooLarge: 5,
  Timeout: 6,
  ProcessNotFound: 7,
  OutOfMemory: 8,
  InvalidArgument: 9,
  InvalidState: 10,
  AccessFault: 11,
  RateLimited: 12,
  Filtered: 13,
  AlreadyExists: 14,
  NotFound: 15,
});

const CODE_BY_NUMBER: readonly (IpcErrorCode | undefined)[] = (() => {
  const table: (IpcErrorCode | undefined)[] = [];
  for (const [code, n] of Object.entries(IPC_ERROR_NUMBERS)) table[n] = code as IpcErrorCode;
  return table;
})();

/** Maps a register status number back to its code; `undefined` for 0 (success) or an unknown number. */
export function ipcErrorCodeOf(status: number): IpcErrorCode | undefined {
  return CODE_BY_NUMBER[status];
}

/** The error every failing IPC operation throws or rejects with. Check `code`, never the message text. */
export class IpcError extends Error {
  /** Stable identity of the failure. */
  readonly code: IpcErrorCode;

  constructor(code: IpcErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ? `${code}: ${message}` : code, options);
    this.name = 'IpcError';
    this.code = code;
  }

  /** Numeric form of `code` as carried in registers. */
  get errno(): number {
    return IPC_ERROR_NUMBERS[this.code];
  }

  /** Builds the error for a register status number (as returned by a syscall). */
  static fromStatus(status: number, message?: string): IpcError {
    return new IpcError(ipcErrorCodeOf(status) ?? IpcErrorCode.InvalidState, message ?? `status ${status}`);
  }
}

/** True when `e` is an {@link IpcError}, optionally with the given code. */
export function isIpcError(e: unknown, code?: IpcErrorCode): e is IpcError {
  return e instanceof IpcError && (code === undefined || e.code === code);
}
