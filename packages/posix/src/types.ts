import type { CapHandle } from '@veridian/core';
import type { ShmFile } from './shm.js';
import type { Kind } from './wire.js';

/*
 * The types of the POSIX layer's client side: the structures of the public calls (`mq_attr`,
 * `timespec`, `sigevent`, `pollfd`, `msghdr`) and the internal request/reply shapes every call
 * module speaks (a call is a generator of requests to the object server, see driver.ts).
 */

/** `mq_attr`. */
export interface MqAttr {
  /** `O_NONBLOCK` or 0. */
  mq_flags: number;
  /** Most messages the queue holds. */
  mq_maxmsg: number;
  /** Largest message, in bytes. */
  mq_msgsize: number;
  /** Messages in the queue now. */
  mq_curmsgs: number;
}

/** `struct timespec`: an absolute time on `CLOCK_REALTIME` (as `Date.now()`). */
export interface Timespec {
  tv_sec: number;
  tv_nsec: number;
}

/** `struct sigevent`, for {@link Posix.mq_notify}. */
export interface SigEvent {
  /** `SIGEV_NONE` (register, deliver nothing) or `SIGEV_THREAD` (call `sigev_notify_function`; CPU 0 only). */
  sigev_notify: number;
  sigev_notify_function?: (value: unknown) => void;
  sigev_value?: unknown;
}

/** `struct pollfd`; `revents` is written by {@link Posix.poll}. */
export interface PollFd {
  fd: number;
  events: number;
  revents?: number;
}

/** `struct cmsghdr` with its data: for `SCM_RIGHTS`, the descriptors. */
export interface Cmsg {
  cmsg_level: number;
  cmsg_type: number;
  cmsg_data: number[];
}

/** `struct msghdr` (without a name: socket pairs are connected). */
export interface MsgHdr {
  /** Buffers to gather from (`sendmsg`) or scatter into (`recvmsg`). */
  msg_iov: Uint8Array[];
  /** Ancillary data: in for `sendmsg`, written by `recvmsg`. */
  msg_control?: Cmsg[];
  /** Written by `recvmsg`: `MSG_TRUNC`, `MSG_CTRUNC`. */
  msg_flags?: number;
}

/** Options of {@link createPosix}. */
export interface PosixOptions {
  /** Size of the descriptor table (default {@link OPEN_MAX}). */
  openMax?: number;
}

/** @internal */
export interface Description {
  cap: CapHandle;
  kind: Kind;
  /** READ and/or WRITE rights. */
  mode: number;
  sockType: number;
  /** Descriptors of this table that point at it. */
  refs: number;
  /** A shared memory object's state (kind SHM). */
  shm?: ShmFile;
}

/** @internal */
export interface Req {
  op: number;
  flags?: number;
  arg?: number;
  data?: Uint8Array;
  caps?: CapHandle[];
}

/** A reply, read out of the (reused) message buffer. */
export interface Reply {
  arg: number;
  data: Uint8Array;
  caps: CapHandle[];
}

/** @internal */
export type Steps<T> = Generator<Req, T, Reply>;
