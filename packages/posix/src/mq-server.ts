import { MQ_PRIO_MAX, O_ACCMODE, O_CREAT, O_EXCL, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY } from './constants.js';
import { MAX_CHUNK, MqObj, R, W, type Desc, type MqMsg, type MqRecvWaiter, type MqSendWaiter, type ServerCore } from './server-objects.js';
import { BAD_TIMESPEC, FOREVER, ReqFlag, readTimeout, readWord, words } from './wire.js';

/*
 * The object server's message queues: the named queues, `mq_open` / `mq_unlink`, sends and
 * receives (at once, or waiting with an optional timeout), `mq_getattr`, and `mq_notify`
 * (`SIGEV_THREAD` callbacks run on CPU 0, the server's realm).
 */

/** Limits of mq_maxmsg and mq_msgsize. */
export const MQ_MAXMSG_LIMIT = 65536;
export const MQ_MSGSIZE_LIMIT = MAX_CHUNK;
export const MQ_DEFAULT_MAXMSG = 10;
export const MQ_DEFAULT_MSGSIZE = 8192;

/** Callbacks of `SIGEV_THREAD` registrations made by processes on CPU 0 (the server's realm). */
export const notifyCallbacks = new Map<number, () => void>();
let nextNotifyId = 1;
/** Registers a `SIGEV_THREAD` callback; returns its id (for the request). */
export function registerNotify(fn: () => void): number {
  const id = nextNotifyId++;
  notifyCallbacks.set(id, fn);
  return id;
}

const utf8 = new TextDecoder();

/** @internal The message queues of the object server. */
export class MqServer {
  readonly #s: ServerCore;
  readonly #queues = new Map<string, MqObj>();

  constructor(core: ServerCore) {
    this.#s = core;
  }

  /** Named queues (for the server's counts). */
  count(): number {
    return this.#queues.size;
  }

  /** `mq_unlink`: removes the name; the queue lives on until its last description closes. */
  unlink(pid: number, name: string): void {
    const q = this.#queues.get(name);
    if (!q) return void this.#s.fail(pid, 'ENOENT');
    this.#queues.delete(name);
    q.unlinked = true;
    if (q.refs() === 0) this.#s.destroy(q);
    this.#s.ok(pid, 0);
  }

  /** `mq_getattr`: `mq_maxmsg`, `mq_msgsize`, `mq_curmsgs`, and the description's status flags (`mq_flags`). */
  getattr(pid: number, d: Desc | undefined): void {
    if (!d || !(d.obj instanceof MqObj)) return void this.#s.fail(pid, 'EBADF');
    this.#s.reply(pid, 0, 0, words(d.obj.maxmsg, d.obj.msgsize, d.obj.cur, d.file.status));
  }

  open(pid: number, p: Uint8Array): void {
    const oflag = readWord(p, 0);
    const hasAttr = readWord(p, 1) !== 0;
    const maxmsg = readWord(p, 2) | 0;
    const msgsize = readWord(p, 3) | 0;
    const name = utf8.decode(p.subarray(16));
    const acc = oflag & O_ACCMODE;
    if (acc !== O_RDONLY && acc !== O_WRONLY && acc !== O_RDWR) return void this.#s.fail(pid, 'EINVAL');
    const mode = acc === O_RDONLY ? R : acc === O_WRONLY ? W : R | W;
    let q = this.#queues.get(name);
    if (q) {
      if (oflag & O_CREAT && oflag & O_EXCL) return void this.#s.fail(pid, 'EEXIST');
    } else {
      if (!(oflag & O_CREAT)) return void this.#s.fail(pid, 'ENOENT');
      if (hasAttr && (maxmsg <= 0 || msgsize <= 0 || maxmsg > MQ_MAXMSG_LIMIT || msgsize > MQ_MSGSIZE_LIMIT)) return void this.#s.fail(pid, 'EINVAL');
      q = new MqObj(name, hasAttr ? maxmsg : MQ_DEFAULT_MAXMSG, hasAttr ? msgsize : MQ_DEFAULT_MSGSIZE);
      this.#queues.set(name, q);
    }
    const x = this.#s.newDesc(q, 0, mode, pid, { status: oflag & O_NONBLOCK });
    q.count++;
    const ok = this.#s.reply(pid, 0, 0, words(q.maxmsg, q.msgsize), [x.cap]);
    this.#s.proc.close(x.cap);
    if (!ok) this.#s.closeDesc(x.desc);
  }

  #timeout(flags: number, p: Uint8Array): number {
    return flags & ReqFlag.TIMED ? readTimeout(p) : FOREVER;
  }

  send(pid: number, d: Desc | undefined, p: Uint8Array, flags: number, prio: number): void {
    if (!d || !(d.obj instanceof MqObj) || !(d.mode & W)) return void this.#s.fail(pid, 'EBADF');
    const q = d.obj;
    const timeout = this.#timeout(flags, p);
    const data = flags & ReqFlag.TIMED ? p.subarray(8) : p;
    if (data.length > q.msgsize) return void this.#s.fail(pid, 'EMSGSIZE');
    if (prio >= MQ_PRIO_MAX) return void this.#s.fail(pid, 'EINVAL');
    const msg = { data, prio };
    if (q.cur < q.maxmsg && q.sendQ.length === 0) {
      this.#enqueue(q, msg);
      return void this.#s.ok(pid, 0);
    }
    if (flags & ReqFlag.NONBLOCK) return void this.#s.fail(pid, 'EAGAIN');
    if (timeout === BAD_TIMESPEC) return void this.#s.fail(pid, 'EINVAL');
    if (timeout !== FOREVER && timeout <= 0) return void this.#s.fail(pid, 'ETIMEDOUT');
    const w: MqSendWaiter = { pid, msg, timer: undefined };
    if (timeout !== FOREVER)
      w.timer = this.#s.timer(this.#s.now() + timeout, () => {
        const i = q.sendQ.indexOf(w);
        if (i >= 0) {
          q.sendQ.splice(i, 1);
          this.#s.fail(pid, 'ETIMEDOUT');
        }
      });
    q.sendQ.push(w);
  }

  /** Puts a message in (or straight into a waiting receiver); notifies on empty → non-empty with nobody waiting. */
  #enqueue(q: MqObj, msg: MqMsg): void {
    while (q.recvQ.length) {
      const r = q.recvQ.shift()!;
      if (r.timer) this.#s.cancel(r.timer);
      if (this.#s.reply(r.pid, 0, msg.prio, msg.data)) return;
    }
    const wasEmpty = q.cur === 0;
    q.push(msg);
    this.#s.dirty.add(q);
    if (wasEmpty && q.notify) {
      const { id } = q.notify;
      q.notify = null;
      const fn = notifyCallbacks.get(id);
      notifyCallbacks.delete(id);
      if (fn) setImmediate(fn);
    }
  }

  receive(pid: number, d: Desc | undefined, p: Uint8Array, flags: number): void {
    if (!d || !(d.obj instanceof MqObj) || !(d.mode & R)) return void this.#s.fail(pid, 'EBADF');
    const q = d.obj;
    const timeout = this.#timeout(flags, p);
    const len = readWord(p, flags & ReqFlag.TIMED ? 2 : 0);
    if (len < q.msgsize) return void this.#s.fail(pid, 'EMSGSIZE');
    const head = q.peek();
    if (head) {
      if (this.#s.reply(pid, 0, head.prio, head.data)) {
        q.shift();
        this.#s.dirty.add(q);
      }
      return;
    }
    if (flags & ReqFlag.NONBLOCK) return void this.#s.fail(pid, 'EAGAIN');
    if (timeout === BAD_TIMESPEC) return void this.#s.fail(pid, 'EINVAL');
    if (timeout !== FOREVER && timeout <= 0) return void this.#s.fail(pid, 'ETIMEDOUT');
    const w: MqRecvWaiter = { pid, timer: undefined };
    if (timeout !== FOREVER)
      w.timer = this.#s.timer(this.#s.now() + timeout, () => {
        const i = q.recvQ.indexOf(w);
        if (i >= 0) {
          q.recvQ.splice(i, 1);
          this.#s.fail(pid, 'ETIMEDOUT');
        }
      });
    q.recvQ.push(w);
  }

  pump(q: MqObj): void {
    for (;;) {
      let moved = false;
      while (q.recvQ.length && q.cur > 0) {
        const r = q.recvQ.shift()!;
        if (r.timer) this.#s.cancel(r.timer);
        const m = q.peek()!;
        if (this.#s.reply(r.pid, 0, m.prio, m.data)) q.shift();
        moved = true;
      }
      while (q.sendQ.length && q.cur < q.maxmsg) {
        const s = q.sendQ.shift()!;
        if (s.timer) this.#s.cancel(s.timer);
        if (this.#s.ok(s.pid, 0)) this.#enqueue(q, s.msg);
        moved = true;
      }
      if (!moved) break;
    }
    if (q.refs() === 0 && q.unlinked) this.#s.destroy(q);
  }

  notify(pid: number, d: Desc | undefined, p: Uint8Array): void {
    if (!d || !(d.obj instanceof MqObj)) return void this.#s.fail(pid, 'EBADF');
    const q = d.obj;
    const register = readWord(p, 0) !== 0;
    const id = readWord(p, 1);
    if (!register) {
      if (q.notify && q.notify.desc.owner === pid) {
        notifyCallbacks.delete(q.notify.id);
        q.notify = null;
      }
      return void this.#s.ok(pid, 0);
    }
    if (q.notify && this.#s.descs.get(q.notify.desc.id) === q.notify.desc) {
      notifyCallbacks.delete(id);
      return void this.#s.fail(pid, 'EBUSY');
    }
    q.notify = { desc: d, id };
    this.#s.ok(pid, 0);
  }
}
