import { byteCount, bytesView, copyInto, MAX_LARGE_DATA, Rights } from '@veridian/core';
import { MSG_CMSG_CLOEXEC, MSG_CTRUNC, MSG_DONTWAIT, MSG_EOR, MSG_NOSIGNAL, MSG_PEEK, MSG_WAITALL, SCM_RIGHTS, SOCK_SEQPACKET, SOCK_STREAM, SOL_SOCKET } from './constants.js';
import { PosixError } from './error.js';
import type { FdTable } from './fd-table.js';
import type { MsgHdr, Reply, Steps } from './types.js';
import { Kind, Op, ReqFlag, readWord, words } from './wire.js';

/*
 * Reading and writing bytes: the one engine behind `read`/`write` (pipes and sockets) and
 * `recv`/`send`/`recvmsg`/`sendmsg` (sockets). Long transfers go as several requests of at most
 * a large message each; descriptors passed with `sendmsg` ride with the first.
 */

const R = Rights.READ;
const W = Rights.WRITE;
/** Bytes per request of a read (a reply is at most a 1 MiB large message, with a small header). */
const READ_CHUNK = MAX_LARGE_DATA - 4096;
/** Bytes per request of a write. */
export const WRITE_CHUNK = MAX_LARGE_DATA;
/** Most descriptors one `poll` or `sendmsg` carries (capabilities per large message, less one). */
export const MAX_CAPS_PER_CALL = 63;

/** The bytes of `read`/`recv`/`recvmsg` on `fd` (`msg`: a `recvmsg`, whose descriptors are installed). */
export function* recvSteps(t: FdTable, fd: number, buf: Uint8Array, nbyte: number, flags: number, syscall: string, msg?: MsgHdr): Steps<number> {
  const e = t.entry(fd, syscall);
  const sock = syscall === 'recv' || syscall === 'recvmsg';
  if (sock && e.d.kind !== Kind.SOCKET) throw new PosixError('ENOTSOCK', syscall);
  if (e.d.kind === Kind.MQ || e.d.kind === Kind.SHM || !(e.d.mode & R)) throw new PosixError('EBADF', syscall);
  if (!Number.isInteger(nbyte) || nbyte < 0 || nbyte > byteCount(buf)) throw new PosixError('EFAULT', syscall);
  if (flags & ~(MSG_PEEK | MSG_DONTWAIT | MSG_WAITALL | MSG_CMSG_CLOEXEC)) throw new PosixError('EOPNOTSUPP', syscall);
  // MSG_DONTWAIT here; O_NONBLOCK the server reads from the open file description in the same request.
  const rf = (flags & MSG_DONTWAIT ? ReqFlag.NONBLOCK : 0) | (flags & MSG_PEEK ? ReqFlag.PEEK : 0);
  const waitAll = (flags & MSG_WAITALL) !== 0 && !(flags & MSG_PEEK) && e.d.sockType === SOCK_STREAM && sock;
  let got = 0;
  do {
    const want = Math.min(nbyte - got, READ_CHUNK);
    let reply: Reply;
    try {
      reply = yield { op: msg ? Op.RECVMSG : Op.READ, flags: rf, data: words(want), caps: [e.d.cap] };
    } catch (err) {
      if (got > 0) return got;
      throw err;
    }
    let data = reply.data;
    if (msg) {
      const adopted = t.adopt(reply, 0, (flags & MSG_CMSG_CLOEXEC) !== 0, syscall, false);
      for (const cap of adopted.dropped) yield* t.closeCap(cap);
      data = data.subarray(adopted.end * 4);
      msg.msg_flags = reply.arg | (adopted.dropped.length ? MSG_CTRUNC : 0);
      msg.msg_control = adopted.fds.length ? [{ cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS, cmsg_data: adopted.fds }] : [];
    }
    copyInto(buf, data, got);
    got += data.length;
    if (data.length === 0) break;
  } while (waitAll && got < nbyte);
  return got;
}

/** The bytes of `write`/`send`/`sendmsg` on `fd`, with `passFds` passed along. */
export function* sendSteps(t: FdTable, fd: number, buf: Uint8Array, nbyte: number, flags: number, passFds: number[], syscall: string): Steps<number> {
  const e = t.entry(fd, syscall);
  const sock = syscall === 'send' || syscall === 'sendmsg';
  if (sock && e.d.kind !== Kind.SOCKET) throw new PosixError('ENOTSOCK', syscall);
  if (e.d.kind === Kind.MQ || e.d.kind === Kind.SHM || !(e.d.mode & W)) throw new PosixError('EBADF', syscall);
  if (!Number.isInteger(nbyte) || nbyte < 0 || nbyte > byteCount(buf)) throw new PosixError('EFAULT', syscall);
  if (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL | MSG_EOR)) throw new PosixError('EOPNOTSUPP', syscall);
  const passed = passFds.map((f) => t.entry(f, syscall).d);
  if (passed.length > MAX_CAPS_PER_CALL) throw new PosixError('EINVAL', syscall, { detail: `at most ${MAX_CAPS_PER_CALL} descriptors per message` });
  const nb = (flags & MSG_DONTWAIT) !== 0;
  const packet = e.d.sockType === SOCK_SEQPACKET;
  if (packet && nbyte > WRITE_CHUNK - 4) throw new PosixError('EMSGSIZE', syscall);
  let done = 0;
  do {
    const withFds = done === 0 && (passed.length > 0 || syscall === 'sendmsg');
    const room = withFds ? WRITE_CHUNK - 4 : WRITE_CHUNK;
    const k = packet ? nbyte : Math.min(nbyte - done, room);
    let data = bytesView(buf, done, done + k);
    if (withFds) {
      const head = words(passed.length);
      const b = new Uint8Array(head.length + k);
      b.set(head);
      b.set(data, head.length);
      data = b;
    }
    let reply: Reply;
    try {
      reply = yield { op: withFds ? Op.SENDMSG : Op.WRITE, flags: nb ? ReqFlag.NONBLOCK : 0, data, caps: withFds ? [e.d.cap, ...passed.map((d) => d.cap)] : [e.d.cap] };
    } catch (err) {
      if (done > 0) return done;
      throw err;
    }
    const n = reply.data.length ? readWord(reply.data, 0) : 0;
    done += n;
    if (n < k) break;
  } while (done < nbyte);
  return done;
}
