import { byteCount, bytesView, copyInto, Rights } from '@veridian/core';

import { AF_UNIX, MSG_WAITALL, SCM_RIGHTS, SOCK_CLOEXEC, SOCK_NONBLOCK, SOCK_SEQPACKET, SOCK_STREAM, SOL_SOCKET } from './constants.js';
import { define, lengthOf, type Drive } from './driver.js';
import { PosixError } from './error.js';
import type { FdTable } from './fd-table.js';
import { recvSteps, sendSteps } from './io.js';
import type { Posix } from './posix.js';
import type { MsgHdr, Steps } from './types.js';
import { Kind, Op, ReqFlag } from './wire.js';

/*
 * Local sockets: `socketpair` (`AF_UNIX`, `SOCK_STREAM` / `SOCK_SEQPACKET`), `send`, `recv`,
 * and `sendmsg` / `recvmsg` with `SCM_RIGHTS` descriptor passing (bytes through io.ts; the
 * pair lives in the object server, pipe-server.ts).
 */

const R = Rights.READ;
const W = Rights.WRITE;

declare module './posix.js' {
  interface Posix {
    /**
     * `socketpair(domain, type, protocol)`: a connected pair of local sockets, `[a, b]`.
     * `domain` `AF_UNIX`; `type` `SOCK_STREAM` or `SOCK_SEQPACKET`, optionally with
     * `SOCK_NONBLOCK` / `SOCK_CLOEXEC`; `protocol` 0. Errors: `EAFNOSUPPORT`, `EPROTOTYPE`
     * (other types, e.g. `SOCK_DGRAM`), `EPROTONOSUPPORT` (protocol ≠ 0), `EMFILE`, `ENFILE`.
     */
    socketpair(domain: number, type: number, protocol?: number): Promise<[number, number]>;
    /** {@link Posix.socketpair} on a worker CPU. */
    socketpairSync(domain: number, type: number, protocol?: number): [number, number];
    /**
     * `send(socket, buffer, length, flags)`: as `write` on a socket; a `SOCK_SEQPACKET` message
     * goes whole or not at all (`EMSGSIZE` if it can never fit). Flags: `MSG_DONTWAIT`,
     * `MSG_NOSIGNAL` (no signals exist: accepted), `MSG_EOR`. Errors: `EBADF`, `ENOTSOCK`,
     * `EAGAIN`, `EPIPE` (peer closed), `EMSGSIZE`, `EOPNOTSUPP` (other flags).
     */
    send(socket: number, buffer: Uint8Array, length?: number, flags?: number): Promise<number>;
    /** {@link Posix.send} on a worker CPU. */
    sendSync(socket: number, buffer: Uint8Array, length?: number, flags?: number): number;
    /**
     * `recv(socket, buffer, length, flags)`: as `read` on a socket; 0 once the peer has closed
     * and nothing is left. `SOCK_SEQPACKET`: one message per call, the rest of a longer one is
     * discarded. Flags: `MSG_PEEK`, `MSG_DONTWAIT`, `MSG_WAITALL` (stream sockets). Errors:
     * `EBADF`, `ENOTSOCK`, `EAGAIN`, `EOPNOTSUPP` (other flags).
     */
    recv(socket: number, buffer: Uint8Array, length?: number, flags?: number): Promise<number>;
    /** {@link Posix.recv} on a worker CPU. */
    recvSync(socket: number, buffer: Uint8Array, length?: number, flags?: number): number;
    /**
     * `sendmsg(socket, message, flags)`: sends the bytes of `message.msg_iov` and, with a
     * `SOL_SOCKET`/`SCM_RIGHTS` control message, descriptors: the receiver gets new descriptors
     * for the same open file descriptions (the capabilities behind them travel in the message);
     * the sender's stay open. Errors: as `send`, and `EBADF` (a passed descriptor is not open),
     * `EINVAL` (another control message, or more than 63 descriptors).
     */
    sendmsg(socket: number, message: MsgHdr, flags?: number): Promise<number>;
    /** {@link Posix.sendmsg} on a worker CPU. */
    sendmsgSync(socket: number, message: MsgHdr, flags?: number): number;
    /**
     * `recvmsg(socket, message, flags)`: reads into `message.msg_iov` (scattered in order);
     * descriptors that came with the data are installed (lowest free first; `MSG_CMSG_CLOEXEC`
     * sets `FD_CLOEXEC` on them) and listed in `message.msg_control` as one `SCM_RIGHTS` entry;
     * `message.msg_flags` gets `MSG_TRUNC` (a longer `SOCK_SEQPACKET` message was cut) and
     * `MSG_CTRUNC` (descriptors did not fit in the table and were closed). A stream read stops
     * at data that carries descriptors, so they arrive with the bytes they were sent with.
     * Errors: as `recv`.
     */
    recvmsg(socket: number, message: MsgHdr, flags?: number): Promise<number>;
    /** {@link Posix.recvmsg} on a worker CPU. */
    recvmsgSync(socket: number, message: MsgHdr, flags?: number): number;
  }
}

function* socketpairSteps(t: FdTable, domain: number, type: number, protocol: number): Steps<[number, number]> {
  if (domain !== AF_UNIX) throw new PosixError('EAFNOSUPPORT', 'socketpair');
  const base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (base !== SOCK_STREAM && base !== SOCK_SEQPACKET) throw new PosixError('EPROTOTYPE', 'socketpair');
  if (protocol !== 0) throw new PosixError('EPROTONOSUPPORT', 'socketpair');
  if (t.free() < 2) throw new PosixError('EMFILE', 'socketpair');
  const reply = yield { op: Op.SOCKETPAIR, flags: type & SOCK_NONBLOCK ? ReqFlag.NONBLOCK : 0, arg: base };
  const cloexec = (type & SOCK_CLOEXEC) !== 0;
  const a = t.install({ cap: reply.caps[0]!, kind: Kind.SOCKET, mode: R | W, sockType: base, refs: 0 }, cloexec, 'socketpair');
  const b = t.install({ cap: reply.caps[1]!, kind: Kind.SOCKET, mode: R | W, sockType: base, refs: 0 }, cloexec, 'socketpair');
  return [a, b];
}

function* sendmsgSteps(t: FdTable, socket: number, message: MsgHdr, flags: number): Steps<number> {
  const fds: number[] = [];
  for (const c of message.msg_control ?? []) {
    if (c.cmsg_level !== SOL_SOCKET || c.cmsg_type !== SCM_RIGHTS) throw new PosixError('EINVAL', 'sendmsg');
    fds.push(...c.cmsg_data);
  }
  const buf = concat(iovOf(message, 'sendmsg'));
  return yield* sendSteps(t, socket, buf, byteCount(buf), flags, fds, 'sendmsg');
}

function* recvmsgSteps(t: FdTable, socket: number, message: MsgHdr, flags: number): Steps<number> {
  const iov = iovOf(message, 'recvmsg');
  const total = iov.reduce((n, b) => n + byteCount(b), 0);
  const buf = new Uint8Array(total);
  const n = yield* recvSteps(t, socket, buf, total, flags & ~MSG_WAITALL, 'recvmsg', message);
  let off = 0;
  for (const b of iov) {
    if (off >= n) break;
    const k = Math.min(byteCount(b), n - off);
    copyInto(b, buf.subarray(off, off + k));
    off += k;
  }
  return n;
}

/** `message.msg_iov`, read once into a plain array of checked byte arrays (any other element: `EFAULT`, before any request). */
function iovOf(message: MsgHdr, syscall: string): Uint8Array[] {
  const iov = Array.from(message.msg_iov);
  for (const b of iov) if (byteCount(b) < 0) throw new PosixError('EFAULT', syscall, { detail: 'msg_iov holds something that is not a Uint8Array' });
  return iov;
}
function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, b) => n + byteCount(b), 0));
  let o = 0;
  for (const b of parts) {
    const k = byteCount(b);
    out.set(bytesView(b, 0, k), o);
    o += k;
  }
  return out;
}

/** Adds the socket methods to `Posix.prototype` (called once by posix.ts). @internal */
export function installSocket(proto: Posix, drive: Drive): void {
  define(proto, {
    socketpair(domain: number, type: number, protocol = 0) { return drive.async(this, 'socketpair', (t) => socketpairSteps(t, domain, type, protocol)); },
    socketpairSync(domain: number, type: number, protocol = 0) { return drive.sync(this, 'socketpair', (t) => socketpairSteps(t, domain, type, protocol)); },
    send(socket: number, buffer: Uint8Array, length: number = lengthOf(buffer), flags = 0) { return drive.async(this, 'send', (t) => sendSteps(t, socket, buffer, length, flags, [], 'send')); },
    sendSync(socket: number, buffer: Uint8Array, length: number = lengthOf(buffer), flags = 0) { return drive.sync(this, 'send', (t) => sendSteps(t, socket, buffer, length, flags, [], 'send')); },
    recv(socket: number, buffer: Uint8Array, length: number = lengthOf(buffer), flags = 0) { return drive.async(this, 'recv', (t) => recvSteps(t, socket, buffer, length, flags, 'recv')); },
    recvSync(socket: number, buffer: Uint8Array, length: number = lengthOf(buffer), flags = 0) { return drive.sync(this, 'recv', (t) => recvSteps(t, socket, buffer, length, flags, 'recv')); },
    sendmsg(socket: number, message: MsgHdr, flags = 0) { return drive.async(this, 'sendmsg', (t) => sendmsgSteps(t, socket, message, flags)); },
    sendmsgSync(socket: number, message: MsgHdr, flags = 0) { return drive.sync(this, 'sendmsg', (t) => sendmsgSteps(t, socket, message, flags)); },
    recvmsg(socket: number, message: MsgHdr, flags = 0) { return drive.async(this, 'recvmsg', (t) => recvmsgSteps(t, socket, message, flags)); },
    recvmsgSync(socket: number, message: MsgHdr, flags = 0) { return drive.sync(this, 'recvmsg', (t) => recvmsgSteps(t, socket, message, flags)); },
  });
}
