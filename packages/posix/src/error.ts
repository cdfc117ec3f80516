import { IpcError } from '@veridian/core';
import { ERRNO, ERRNO_OF_IPC_ERROR, type ErrnoName } from './errno.js';

const MESSAGES: Partial<Record<ErrnoName, string>> = {
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  ESRCH: 'no such process',
  EINTR: 'interrupted system call',
  ENXIO: 'no such device or address',
  EBADF: 'bad file descriptor',
  EAGAIN: 'resource temporarily unavailable',
  ENOMEM: 'not enough memory',
  EACCES: 'permission denied',
  EFAULT: 'bad address',
  EBUSY: 'resource busy or locked',
  EEXIST: 'file already exists',
  ENODEV: 'no such device',
  EINVAL: 'invalid argument',
  ENFILE: 'file table overflow',
  EMFILE: 'too many open files',
  EFBIG: 'file too large',
  ENOSPC: 'no space left on device',
  EPIPE: 'broken pipe',
  ENAMETOOLONG: 'name too long',
  ENOSYS: 'function not implemented',
  EOVERFLOW: 'value too large for defined data type',
  EMSGSIZE: 'message too long',
  ENOTSOCK: 'socket operation on non-socket',
  EPROTOTYPE: 'protocol wrong type for socket',
  EPROTONOSUPPORT: 'protocol not supported',
  EOPNOTSUPP: 'operation not supported on socket',
  EAFNOSUPPORT: 'address family not supported',
  ECONNRESET: 'connection reset by peer',
  ENOTCONN: 'socket is not connected',
  ETIMEDOUT: 'connection timed out',
  ECONNREFUSED: 'connection refused',
};

/**
 * A failed POSIX call, shaped like Node's `SystemError`: `code` is the errno name
 * (`'EAGAIN'`), `errno` Linux's number for it (11), `syscall` the function that failed
 * (`'read'`). A failure that came from the native IPC layer keeps the `IpcError` as `cause`.
 *
 * @example
 * ```ts
 * try { await px.read(fd, buf); } catch (e) {
 *   if (e instanceof PosixError && e.code === 'EAGAIN') { … }
 * }
 * ```
 */
export class PosixError extends Error {
  /** The errno name, e.g. `'EAGAIN'`. */
  readonly code: ErrnoName;
  /** Linux's errno number for {@link PosixError.code}. */
  readonly errno: number;
  /** The POSIX function that failed, e.g. `'read'`. */
  readonly syscall: string;

  constructor(code: ErrnoName, syscall: string, options?: { cause?: unknown; detail?: string }) {
    super(`${code}: ${MESSAGES[code] ?? 'error'}, ${syscall}${options?.detail ? ` (${options.detail})` : ''}`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PosixError';
    this.code = code;
    this.errno = ERRNO[code];
    this.syscall = syscall;
  }

  /** The `PosixError` for an `IpcError` (through {@link ERRNO_OF_IPC_ERROR}); other errors are returned unchanged. */
  static from(err: unknown, syscall: string): unknown {
    if (err instanceof PosixError) return err;
    if (err instanceof IpcError) return new PosixError(ERRNO_OF_IPC_ERROR[err.code], syscall, { cause: err });
    return err;
  }
}

/** The errno name for a Linux errno number (undefined if not one of {@link ERRNO}). */
export function errnoName(errno: number): ErrnoName | undefined {
  for (const [name, n] of Object.entries(ERRNO)) if (n === errno) return name as ErrnoName;
  return undefined;
}
