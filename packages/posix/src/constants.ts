/**
 * POSIX constants with Linux's values (so numbers written for Linux mean the same here).
 * @module
 */

/** Open for reading only. */
export const O_RDONLY = 0;
/** Open for writing only. */
export const O_WRONLY = 1;
/** Open for reading and writing. */
export const O_RDWR = 2;
/** Mask of the access mode bits of `oflag` / `F_GETFL`. */
export const O_ACCMODE = 3;
/** `mq_open`: create the queue if it does not exist. */
export const O_CREAT = 0o100;
/** `mq_open` with `O_CREAT`: fail with `EEXIST` if the queue exists. */
export const O_EXCL = 0o200;
/** `shm_open`: truncate an existing object to size 0 (needs `O_RDWR`). */
export const O_TRUNC = 0o1000;
/** Non-blocking: operations that would wait fail with `EAGAIN`. */
export const O_NONBLOCK = 0o4000;
/** Close-on-exec: the descriptor is not passed to processes started by the spawn helpers. */
export const O_CLOEXEC = 0o2000000;

/** `fcntl`: duplicate to the lowest free descriptor ≥ arg. */
export const F_DUPFD = 0;
/** `fcntl`: read the descriptor flags (`FD_CLOEXEC`). */
export const F_GETFD = 1;
/** `fcntl`: set the descriptor flags (`FD_CLOEXEC`). */
export const F_SETFD = 2;
/** `fcntl`: read the file status flags and access mode. */
export const F_GETFL = 3;
/** `fcntl`: set the file status flags (only `O_NONBLOCK` can change). */
export const F_SETFL = 4;
/** `fcntl`: as `F_DUPFD`, with `FD_CLOEXEC` set on the new descriptor. */
export const F_DUPFD_CLOEXEC = 1030;
/** The close-on-exec descriptor flag. */
export const FD_CLOEXEC = 1;

/** Bytes a pipe write is guaranteed atomic up to. */
export const PIPE_BUF = 4096;
/** Most descriptors a process may hold at once (the default; `createPosix(proc, { openMax })`). */
export const OPEN_MAX = 1024;
/** Longest queue or shared-memory object name, in bytes, without the leading slash. */
export const NAME_MAX = 255;
/** Message priorities are 0 … MQ_PRIO_MAX − 1. */
export const MQ_PRIO_MAX = 32768;

/** `poll` events. */
export const POLLIN = 0x001;
export const POLLPRI = 0x002;
export const POLLOUT = 0x004;
export const POLLERR = 0x008;
export const POLLHUP = 0x010;
export const POLLNVAL = 0x020;
export const POLLRDNORM = 0x040;
export const POLLWRNORM = 0x100;

/** Local (Unix-domain) sockets. */
export const AF_UNIX = 1;
/** Alias of `AF_UNIX`. */
export const AF_LOCAL = 1;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_SEQPACKET = 5;
/** `socketpair` type flag: both descriptors get `O_NONBLOCK`. */
export const SOCK_NONBLOCK = O_NONBLOCK;
/** `socketpair` type flag: both descriptors get `FD_CLOEXEC`. */
export const SOCK_CLOEXEC = O_CLOEXEC;
export const SOL_SOCKET = 1;
/** Ancillary data type: the data is an array of descriptors to pass. */
export const SCM_RIGHTS = 1;

/** `recv` flags. */
export const MSG_PEEK = 0x2;
export const MSG_CTRUNC = 0x8;
export const MSG_TRUNC = 0x20;
export const MSG_DONTWAIT = 0x40;
export const MSG_EOR = 0x80;
export const MSG_WAITALL = 0x100;
export const MSG_NOSIGNAL = 0x4000;
export const MSG_CMSG_CLOEXEC = 0x40000000;

/** `sigev_notify` values for `mq_notify`. */
export const SIGEV_SIGNAL = 0;
export const SIGEV_NONE = 1;
export const SIGEV_THREAD = 2;

/** `mmap` / `mprotect` protections. */
export const PROT_NONE = 0;
export const PROT_READ = 0x1;
export const PROT_WRITE = 0x2;
/** Not supported (`mmap` and `mprotect` fail with `EOPNOTSUPP`, Linux's number for `ENOTSUP`). */
export const PROT_EXEC = 0x4;
/** `mmap` flags: exactly one of `MAP_SHARED` (writes reach the object) and `MAP_PRIVATE` (copy-on-write). */
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
/** Not supported (`mmap` fails with `EINVAL`): the address is always the system's choice. */
export const MAP_FIXED = 0x10;
/** `mmap` flag (with `MAP_SHARED` or `MAP_PRIVATE`, `fildes` −1, `off` 0): fresh zero-filled memory, no object. */
export const MAP_ANONYMOUS = 0x20;
/** Synonym of {@link MAP_ANONYMOUS}. */
export const MAP_ANON = MAP_ANONYMOUS;
/** `msync` flags: at most one of `MS_ASYNC` and `MS_SYNC`, optionally `MS_INVALIDATE` (all no-ops: mappings are the memory itself). */
export const MS_ASYNC = 0x1;
export const MS_INVALIDATE = 0x2;
export const MS_SYNC = 0x4;
/** Bytes per page: `mmap` offsets and `munmap` / `mprotect` addresses are multiples of it. */
export const PAGE_SIZE = 4096;
