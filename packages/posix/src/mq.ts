import { byteCount, bytesView, copyInto, Rights } from '@veridian/core';

import { MQ_PRIO_MAX, NAME_MAX, O_ACCMODE, O_CLOEXEC, O_CREAT, O_NONBLOCK, O_RDONLY, O_WRONLY, SIGEV_NONE, SIGEV_THREAD } from './constants.js';
import { define, lengthOf, type Drive } from './driver.js';
import { PosixError } from './error.js';
import type { FdTable } from './fd-table.js';
import { WRITE_CHUNK } from './io.js';
import { registerNotify } from './mq-server.js';
import type { Posix } from './posix.js';
import { relative } from './time.js';
import type { Description, MqAttr, SigEvent, Steps, Timespec } from './types.js';
import { Kind, Op, ReqFlag, readWord, timed, words } from './wire.js';

/*
 * POSIX message queues: `mq_open`, `mq_close`, `mq_unlink`, `mq_send` / `mq_timedsend`,
 * `mq_receive` / `mq_timedreceive`, `mq_getattr` / `mq_setattr`, `mq_notify`. The queues live in
 * the object server (mq-server.ts).
 */

const R = Rights.READ;
const W = Rights.WRITE;
const utf8 = new TextEncoder();

declare module './posix.js' {
  interface Posix {
    /**
     * `mq_open(name, oflag, mode, attr)`: opens (with `O_CREAT`, creates) the message queue
     * `name` (`/` then 1–255 bytes without `/`; visible to every process of the kernel); returns
     * its descriptor. `oflag`: `O_RDONLY` / `O_WRONLY` / `O_RDWR`, `O_CREAT`, `O_EXCL`,
     * `O_NONBLOCK`, `O_CLOEXEC`. `mode` is accepted and ignored (there are no users).
     * `attr` (only with `O_CREAT`, for a new queue): `mq_maxmsg` (1–65536, default 10),
     * `mq_msgsize` (1–1 MiB − 4 KiB, default 8192). Errors: `EEXIST` (`O_CREAT|O_EXCL`, exists),
     * `ENOENT` (no `O_CREAT`, does not exist), `EINVAL` (bad name, bad access mode, attributes
     * ≤ 0 or over the limits), `ENAMETOOLONG`, `EMFILE`, `ENFILE`.
     */
    mq_open(name: string, oflag: number, mode?: number, attr?: Partial<Pick<MqAttr, 'mq_maxmsg' | 'mq_msgsize'>> | null): Promise<number>;
    /** {@link Posix.mq_open} on a worker CPU. */
    mq_openSync(name: string, oflag: number, mode?: number, attr?: Partial<Pick<MqAttr, 'mq_maxmsg' | 'mq_msgsize'>> | null): number;
    /** `mq_close(mqdes)`: closes the descriptor; removes this process's notification request made through it. Errors: `EBADF`. */
    mq_close(mqdes: number): Promise<void>;
    /** {@link Posix.mq_close} on a worker CPU. */
    mq_closeSync(mqdes: number): void;
    /**
     * `mq_unlink(name)`: removes the name; the queue lives on until its last descriptor closes, and
     * a later `mq_open(name)` without `O_CREAT` fails with `ENOENT`. Errors: `ENOENT`, `EINVAL`,
     * `ENAMETOOLONG`.
     */
    mq_unlink(name: string): Promise<void>;
    /** {@link Posix.mq_unlink} on a worker CPU. */
    mq_unlinkSync(name: string): void;
    /**
     * `mq_send(mqdes, msg_ptr, msg_len, msg_prio)`: adds a message of `msg_len` bytes (default
     * `msg_ptr.length`) with priority `msg_prio` (0–32767) after the others of its priority and
     * before lower ones; a full queue waits, or `EAGAIN` with `O_NONBLOCK`. Errors: `EBADF` (not
     * open for writing), `EMSGSIZE` (over `mq_msgsize`), `EINVAL` (priority), `EAGAIN`, `EFAULT`.
     */
    mq_send(mqdes: number, msg_ptr: Uint8Array, msg_len?: number, msg_prio?: number): Promise<void>;
    /** {@link Posix.mq_send} on a worker CPU. */
    mq_sendSync(mqdes: number, msg_ptr: Uint8Array, msg_len?: number, msg_prio?: number): void;
    /**
     * `mq_timedsend(mqdes, msg_ptr, msg_len, msg_prio, abs_timeout)`: as `mq_send`, but a wait ends
     * with `ETIMEDOUT` at `abs_timeout` (`CLOCK_REALTIME`); `EINVAL` for a `tv_nsec` outside
     * 0 … 999 999 999 when the call would wait (not checked when the message fits at once).
     */
    mq_timedsend(mqdes: number, msg_ptr: Uint8Array, msg_len: number, msg_prio: number, abs_timeout: Timespec): Promise<void>;
    /** {@link Posix.mq_timedsend} on a worker CPU. */
    mq_timedsendSync(mqdes: number, msg_ptr: Uint8Array, msg_len: number, msg_prio: number, abs_timeout: Timespec): void;
    /**
     * `mq_receive(mqdes, msg_ptr, msg_len, msg_prio)`: takes the oldest message of the highest
     * priority into `msg_ptr`; resolves with its length and stores its priority in
     * `msg_prio.value` if given. An empty queue waits, or `EAGAIN` with `O_NONBLOCK`. Errors:
     * `EBADF` (not open for reading), `EMSGSIZE` (`msg_len` < `mq_msgsize`), `EAGAIN`, `EFAULT`.
     */
    mq_receive(mqdes: number, msg_ptr: Uint8Array, msg_len?: number, msg_prio?: { value: number }): Promise<number>;
    /** {@link Posix.mq_receive} on a worker CPU. */
    mq_receiveSync(mqdes: number, msg_ptr: Uint8Array, msg_len?: number, msg_prio?: { value: number }): number;
    /**
     * `mq_timedreceive(mqdes, msg_ptr, msg_len, msg_prio, abs_timeout)`: as `mq_receive`, but a
     * wait ends with `ETIMEDOUT` at `abs_timeout`; never fails with a timeout when a message is
     * there; `EINVAL` for a bad `tv_nsec` only when it would wait.
     */
    mq_timedreceive(mqdes: number, msg_ptr: Uint8Array, msg_len: number, msg_prio: { value: number } | null | undefined, abs_timeout: Timespec): Promise<number>;
    /** {@link Posix.mq_timedreceive} on a worker CPU. */
    mq_timedreceiveSync(mqdes: number, msg_ptr: Uint8Array, msg_len: number, msg_prio: { value: number } | null | undefined, abs_timeout: Timespec): number;
    /** `mq_getattr(mqdes)`: the queue's attributes and this description's `mq_flags`. Errors: `EBADF`. */
    mq_getattr(mqdes: number): Promise<MqAttr>;
    /** {@link Posix.mq_getattr} on a worker CPU. */
    mq_getattrSync(mqdes: number): MqAttr;
    /**
     * `mq_setattr(mqdes, mqstat, omqstat)`: sets `mq_flags` (`O_NONBLOCK`; the other members are
     * ignored); resolves with the attributes before the call (also stored in `omqstat` if given).
     * Errors: `EBADF`.
     */
    mq_setattr(mqdes: number, mqstat: Pick<MqAttr, 'mq_flags'>, omqstat?: MqAttr): Promise<MqAttr>;
    /** {@link Posix.mq_setattr} on a worker CPU. */
    mq_setattrSync(mqdes: number, mqstat: Pick<MqAttr, 'mq_flags'>, omqstat?: MqAttr): MqAttr;
    /**
     * `mq_notify(mqdes, notification)`: registers this process to be told when the queue goes
     * from empty to non-empty while no receiver waits (`SIGEV_THREAD`: `sigev_notify_function`
     * is called with `sigev_value`, on CPU 0 only; `SIGEV_NONE`: nothing is delivered); the
     * registration is removed when it fires. `null` removes this process's registration. Errors:
     * `EBADF`, `EBUSY` (a process is registered already), `EINVAL` (`SIGEV_SIGNAL` — there are no
     * signals — or `SIGEV_THREAD` on a worker CPU).
     */
    mq_notify(mqdes: number, notification: SigEvent | null): Promise<void>;
    /** {@link Posix.mq_notify} on a worker CPU (`SIGEV_NONE` or `null`). */
    mq_notifySync(mqdes: number, notification: SigEvent | null): void;
  }
}

function* mqOpenSteps(t: FdTable, name: string, oflag: number, _mode: number | undefined, attr: Partial<Pick<MqAttr, 'mq_maxmsg' | 'mq_msgsize'>> | null | undefined): Steps<number> {
  const bytes = checkName(name, 'mq_open');
  if ((oflag & O_ACCMODE) === O_ACCMODE) throw new PosixError('EINVAL', 'mq_open');
  if (t.free() < 1) throw new PosixError('EMFILE', 'mq_open');
  const has = (oflag & O_CREAT) !== 0 && attr != null;
  const maxmsg = has ? attr!.mq_maxmsg : 0;
  const msgsize = has ? attr!.mq_msgsize : 0;
  if (has && (!Number.isInteger(maxmsg) || !Number.isInteger(msgsize))) throw new PosixError('EINVAL', 'mq_open');
  const head = words(oflag, has ? 1 : 0, has ? Math.max(0, Math.min(maxmsg!, 0x7fffffff)) : 0, has ? Math.max(0, Math.min(msgsize!, 0x7fffffff)) : 0);
  const data = new Uint8Array(head.length + bytes.length);
  data.set(head);
  data.set(bytes, head.length);
  const reply = yield { op: Op.MQ_OPEN, data };
  const acc = oflag & O_ACCMODE;
  const d: Description = { cap: reply.caps[0]!, kind: Kind.MQ, mode: acc === O_RDONLY ? R : acc === O_WRONLY ? W : R | W, sockType: 0, refs: 0 };
  return t.install(d, (oflag & O_CLOEXEC) !== 0, 'mq_open');
}

function* mqCloseSteps(t: FdTable, mqdes: number): Steps<void> {
  if (mqDesc(t, mqdes, 'mq_close', 0)) yield* t.close(mqdes);
}

function* mqUnlinkSteps(name: string): Steps<void> {
  yield { op: Op.MQ_UNLINK, data: checkName(name, 'mq_unlink') };
}

function mqDesc(t: FdTable, mqdes: number, syscall: string, mode: number): Description {
  const e = Number.isInteger(mqdes) && mqdes >= 0 ? t.get(mqdes) : undefined;
  if (!e || e.d.kind !== Kind.MQ || (e.d.mode & mode) !== mode) throw new PosixError('EBADF', syscall);
  return e.d;
}

/** What a timed call without a timespec checks (a bad one: `EINVAL` when it would wait), never "untimed". */
const NO_TIMESPEC = Object.freeze({}) as Timespec;

function* mqSendSteps(t: FdTable, mqdes: number, msg: Uint8Array, len: number, prio: number, abs: Timespec | null, syscall: string): Steps<void> {
  const d = mqDesc(t, mqdes, syscall, W);
  if (!Number.isInteger(len) || len < 0 || len > byteCount(msg)) throw new PosixError('EFAULT', syscall);
  if (!Number.isInteger(prio) || prio < 0 || prio >= MQ_PRIO_MAX) throw new PosixError('EINVAL', syscall);
  if (len > WRITE_CHUNK - 8) throw new PosixError('EMSGSIZE', syscall);
  const body = bytesView(msg, 0, len);
  // O_NONBLOCK: the server reads it from the open file description, in this same request.
  if (abs !== null) yield { op: Op.MQ_SEND, flags: ReqFlag.TIMED, arg: prio, data: timed(relative(abs), body), caps: [d.cap] };
  else yield { op: Op.MQ_SEND, arg: prio, data: body, caps: [d.cap] };
}

function* mqReceiveSteps(t: FdTable, mqdes: number, buf: Uint8Array, len: number, prio: { value: number } | undefined, abs: Timespec | null, syscall: string): Steps<number> {
  const d = mqDesc(t, mqdes, syscall, R);
  if (!Number.isInteger(len) || len < 0 || len > byteCount(buf)) throw new PosixError('EFAULT', syscall);
  const reply = abs !== null ? yield { op: Op.MQ_RECEIVE, flags: ReqFlag.TIMED, data: timed(relative(abs), words(len)), caps: [d.cap] } : yield { op: Op.MQ_RECEIVE, data: words(len), caps: [d.cap] };
  copyInto(buf, reply.data);
  if (prio) prio.value = reply.arg;
  return reply.data.length;
}

function* mqGetattrSteps(t: FdTable, mqdes: number, syscall: string): Steps<MqAttr> {
  const d = mqDesc(t, mqdes, syscall, 0);
  const reply = yield { op: Op.MQ_GETATTR, caps: [d.cap] };
  return { mq_flags: readWord(reply.data, 3) & O_NONBLOCK, mq_maxmsg: readWord(reply.data, 0), mq_msgsize: readWord(reply.data, 1), mq_curmsgs: readWord(reply.data, 2) };
}

function* mqSetattrSteps(t: FdTable, mqdes: number, mqstat: Pick<MqAttr, 'mq_flags'>, omqstat: MqAttr | undefined): Steps<MqAttr> {
  const old = yield* mqGetattrSteps(t, mqdes, 'mq_setattr');
  const d = mqDesc(t, mqdes, 'mq_setattr', 0);
  t.status(d, 1, mqstat.mq_flags & O_NONBLOCK, 'mq_setattr');
  if (omqstat) Object.assign(omqstat, old);
  return old;
}

function* mqNotifySteps(t: FdTable, mqdes: number, n: SigEvent | null): Steps<void> {
  const d = mqDesc(t, mqdes, 'mq_notify', 0);
  if (n === null) {
    yield { op: Op.MQ_NOTIFY, data: words(0, 0), caps: [d.cap] };
    return;
  }
  let id = 0;
  if (n.sigev_notify === SIGEV_THREAD) {
    const fn = n.sigev_notify_function;
    if (typeof fn !== 'function' || t.proc.cpu !== 0) throw new PosixError('EINVAL', 'mq_notify', { detail: 'SIGEV_THREAD needs a function and CPU 0' });
    const value = n.sigev_value;
    id = registerNotify(() => fn(value));
  } else if (n.sigev_notify !== SIGEV_NONE) throw new PosixError('EINVAL', 'mq_notify', { detail: 'no signals: SIGEV_NONE or SIGEV_THREAD' });
  yield { op: Op.MQ_NOTIFY, data: words(1, id), caps: [d.cap] };
}
/** Checks a queue name; returns its UTF-8 bytes. */
function checkName(name: string, syscall: string): Uint8Array {
  if (typeof name !== 'string' || name[0] !== '/' || name.length < 2 || name.indexOf('/', 1) >= 0) throw new PosixError('EINVAL', syscall, { detail: 'a queue name is / then 1–255 bytes without /' });
  const b = utf8.encode(name);
  if (b.length - 1 > NAME_MAX) throw new PosixError('ENAMETOOLONG', syscall);
  return b;
}

/** Adds the message queue methods to `Posix.prototype` (called once by posix.ts). @internal */
export function installMq(proto: Posix, drive: Drive): void {
  define(proto, {
    mq_open(name: string, oflag: number, mode?: number, attr?: Partial<Pick<MqAttr, 'mq_maxmsg' | 'mq_msgsize'>> | null) { return drive.async(this, 'mq_open', (t) => mqOpenSteps(t, name, oflag, mode, attr)); },
    mq_openSync(name: string, oflag: number, mode?: number, attr?: Partial<Pick<MqAttr, 'mq_maxmsg' | 'mq_msgsize'>> | null) { return drive.sync(this, 'mq_open', (t) => mqOpenSteps(t, name, oflag, mode, attr)); },
    mq_close(mqdes: number) { return drive.async(this, 'mq_close', (t) => mqCloseSteps(t, mqdes)); },
    mq_closeSync(mqdes: number) { drive.sync(this, 'mq_close', (t) => mqCloseSteps(t, mqdes)); },
    mq_unlink(name: string) { return drive.async(this, 'mq_unlink', () => mqUnlinkSteps(name)); },
    mq_unlinkSync(name: string) { drive.sync(this, 'mq_unlink', () => mqUnlinkSteps(name)); },
    mq_send(mqdes: number, msg_ptr: Uint8Array, msg_len: number = lengthOf(msg_ptr), msg_prio = 0) { return drive.async(this, 'mq_send', (t) => mqSendSteps(t, mqdes, msg_ptr, msg_len, msg_prio, null, 'mq_send')); },
    mq_sendSync(mqdes: number, msg_ptr: Uint8Array, msg_len: number = lengthOf(msg_ptr), msg_prio = 0) { drive.sync(this, 'mq_send', (t) => mqSendSteps(t, mqdes, msg_ptr, msg_len, msg_prio, null, 'mq_send')); },
    mq_timedsend(mqdes: number, msg_ptr: Uint8Array, msg_len: number, msg_prio: number, abs_timeout: Timespec) { return drive.async(this, 'mq_timedsend', (t) => mqSendSteps(t, mqdes, msg_ptr, msg_len, msg_prio, abs_timeout ?? NO_TIMESPEC, 'mq_timedsend')); },
    mq_timedsendSync(mqdes: number, msg_ptr: Uint8Array, msg_len: number, msg_prio: number, abs_timeout: Timespec) { drive.sync(this, 'mq_timedsend', (t) => mqSendSteps(t, mqdes, msg_ptr, msg_len, msg_prio, abs_timeout ?? NO_TIMESPEC, 'mq_timedsend')); },
    mq_receive(mqdes: number, msg_ptr: Uint8Array, msg_len: number = lengthOf(msg_ptr), msg_prio?: { value: number }) { return drive.async(this, 'mq_receive', (t) => mqReceiveSteps(t, mqdes, msg_ptr, msg_len, msg_prio, null, 'mq_receive')); },
    mq_receiveSync(mqdes: number, msg_ptr: Uint8Array, msg_len: number = lengthOf(msg_ptr), msg_prio?: { value: number }) { return drive.sync(this, 'mq_receive', (t) => mqReceiveSteps(t, mqdes, msg_ptr, msg_len, msg_prio, null, 'mq_receive')); },
    mq_timedreceive(mqdes: number, msg_ptr: Uint8Array, msg_len: number, msg_prio: { value: number } | null | undefined, abs_timeout: Timespec) { return drive.async(this, 'mq_timedreceive', (t) => mqReceiveSteps(t, mqdes, msg_ptr, msg_len, msg_prio ?? undefined, abs_timeout ?? NO_TIMESPEC, 'mq_timedreceive')); },
    mq_timedreceiveSync(mqdes: number, msg_ptr: Uint8Array, msg_len: number, msg_prio: { value: number } | null | undefined, abs_timeout: Timespec) { return drive.sync(this, 'mq_timedreceive', (t) => mqReceiveSteps(t, mqdes, msg_ptr, msg_len, msg_prio ?? undefined, abs_timeout ?? NO_TIMESPEC, 'mq_timedreceive')); },
    mq_getattr(mqdes: number) { return drive.async(this, 'mq_getattr', (t) => mqGetattrSteps(t, mqdes, 'mq_getattr')); },
    mq_getattrSync(mqdes: number) { return drive.sync(this, 'mq_getattr', (t) => mqGetattrSteps(t, mqdes, 'mq_getattr')); },
    mq_setattr(mqdes: number, mqstat: Pick<MqAttr, 'mq_flags'>, omqstat?: MqAttr) { return drive.async(this, 'mq_setattr', (t) => mqSetattrSteps(t, mqdes, mqstat, omqstat)); },
    mq_setattrSync(mqdes: number, mqstat: Pick<MqAttr, 'mq_flags'>, omqstat?: MqAttr) { return drive.sync(this, 'mq_setattr', (t) => mqSetattrSteps(t, mqdes, mqstat, omqstat)); },
    mq_notify(mqdes: number, notification: SigEvent | null) { return drive.async(this, 'mq_notify', (t) => mqNotifySteps(t, mqdes, notification)); },
    mq_notifySync(mqdes: number, notification: SigEvent | null) { drive.sync(this, 'mq_notify', (t) => mqNotifySteps(t, mqdes, notification)); },
  });
}
