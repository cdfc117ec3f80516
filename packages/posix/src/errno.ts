import type { IpcErrorCode } from '@veridian/core';

/** POSIX errno values (Linux numbering) used by the translation layer. */
export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  ESRCH: 3,
  EINTR: 4,
  ENXIO: 6,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  EINVAL: 22,
  ENFILE: 23,
  EMFILE: 24,
  EFBIG: 27,
  ENOSPC: 28,
  EPIPE: 32,
  ENAMETOOLONG: 36,
  ENOSYS: 38,
  EOVERFLOW: 75,
  ENOTSOCK: 88,
  EMSGSIZE: 90,
  EPROTOTYPE: 91,
  EPROTONOSUPPORT: 93,
  EOPNOTSUPP: 95,
  EAFNOSUPPORT: 97,
  ECONNRESET: 104,
  ENOTCONN: 107,
  ETIMEDOUT: 110,
  ECONNREFUSED: 111,
} as const;

/** A POSIX errno name. */
export type ErrnoName = keyof typeof ERRNO;

/**
 * The one table mapping each native IPC error to the errno a POSIX caller sees.
 *
 * | IpcError | errno | why |
 * | --- | --- | --- |
 * | ChannelFull | EAGAIN | the queue is full; retry later (as a full pipe or mqueue with O_NONBLOCK) |
 * | ChannelClosed | EPIPE | the other end is gone (write to a pipe with no reader) |
 * | InvalidCapability | EBADF | the descriptor names nothing valid |
 * | PermissionDenied | EACCES | the descriptor lacks the right |
 * | MessageTooLarge | EMSGSIZE | as `mq_send` with a message over `mq_msgsize` |
 * | Timeout | ETIMEDOUT | as `mq_timedsend` / `mq_timedreceive` |
 * | ProcessNotFound | ESRCH | no such process |
 * | OutOfMemory | ENOMEM | |
 * | InvalidArgument | EINVAL | |
 * | InvalidState | EINVAL | the call is not valid now |
 * | AccessFault | EFAULT | bad address |
 * | RateLimited | EAGAIN | try again later |
 * | Filtered | EPERM | policy refused the message |
 * | AlreadyExists | EEXIST | as `O_CREAT | O_EXCL` on an existing name |
 * | NotFound | ENOENT | no such name |
 */
export const ERRNO_OF_IPC_ERROR: Readonly<Record<IpcErrorCode, ErrnoName>> = Object.freeze({
  ChannelFull: 'EAGAIN',
  ChannelClosed: 'EPIPE',
  InvalidCapability: 'EBADF',
  PermissionDenied: 'EACCES',
  MessageTooLarge: 'EMSGSIZE',
  Timeout: 'ETIMEDOUT',
  ProcessNotFound: 'ESRCH',
  OutOfMemory: 'ENOMEM',
  InvalidArgument: 'EINVAL',
  InvalidState: 'EINVAL',
  AccessFault: 'EFAULT',
  RateLimited: 'EAGAIN',
  Filtered: 'EPERM',
  AlreadyExists: 'EEXIST',
  NotFound: 'ENOENT',
});

/** The errno number for an IPC error code. */
export function errnoOf(code: IpcErrorCode): number {
  return ERRNO[ERRNO_OF_IPC_ERROR[code]];
}
