import { IpcError, Rights, messageCaps, type CapHandle, type MessageBuffer, type Process } from '@veridian/core';
import { ERRNO } from './errno.js';
import { MQ_PRIO_MAX, MSG_TRUNC, O_ACCMODE, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_WRONLY, PIPE_BUF, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLRDNORM, POLLWRNORM, SOCK_SEQPACKET } from './constants.js';
import { ShmServer } from './shm-server.js';
import { BAD_TIMESPEC, FOREVER, Kind, Op, ReqFlag, readTimeout, readWord, replyType, words } from './wire.js';

/*
 * The object server: one process per kernel (`posixd`, CPU 0) that holds every pipe, message
 * queue and socket pair, their buffers and their waiters. Each open file description is an
 * endpoint of this process that nobody receives on: the descriptor's capability (SEND|SHARE to
 * that endpoint) is the proof a caller presents with each request on the server's one
 * endpoint; the server inspects the copy it received (which description: object, end, access
 * mode) and drops it. Closing a description revokes its endpoint, so every copy of the
 * capability dies with it, and the endpoint is reused for the next description.
 */

/** Access modes of a description (the bits of the rights READ and WRITE; kept in the description, not on the capability). */
const R = Rights.READ;
const W = Rights.WRITE;
/** Largest payload a reply carries (a large message) less room for a header. */
const MAX_CHUNK = (1 << 20) - 4096;
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

type Obj = PipeObj | SockObj | MqObj;

interface Desc {
  id: number;
  handle: CapHandle;
  obj: Obj;
  side: 0 | 1;
  mode: number;
  owner: number;
}

/** A description in flight (SCM_RIGHTS, inheritance): it holds a reference to its object. */
interface InFlight {
  obj: Obj;
  side: 0 | 1;
  mode: number;
  status: number;
}

interface Seg {
  data: Uint8Array;
  off: number;
  fds: InFlight[] | undefined;
}

interface Timer {
  deadline: number;
  fire(): void;
}

interface ReadWaiter {
  pid: number;
  count: number;
  peek: boolean;
  msg: boolean;
}

interface WriteWaiter {
  pid: number;
  data: Uint8Array;
  off: number;
  atomic: boolean;
  fds: InFlight[] | undefined;
}

class Chan {
  owner!: Obj;
  segs: Seg[] = [];
  bytes = 0;
  readQ: ReadWaiter[] = [];
  writeQ: WriteWaiter[] = [];
  constructor(
    readonly capacity: number,
    readonly packet: boolean,
    readonly readers: () => number,
    readonly writers: () => number,
  ) {}
  get free(): number {
    return this.capacity - this.bytes;
  }
}

class PipeObj {
  readonly kind = Kind.PIPE;
  readers = 0;
  writers = 0;
  readonly ch: Chan;
  constructor(capacity: number) {
    this.ch = new Chan(
      capacity,
      false,
      () => this.readers,
      () => this.writers,
    );
    this.ch.owner = this;
  }
  refs(): number {
    return this.readers + this.writers;
  }
}

class SockObj {
  readonly kind = Kind.SOCKET;
  readonly side = [0, 0];
  /** ch[s] carries what side s writes to side 1 − s. */
  readonly ch: [Chan, Chan];
  constructor(
    capacity: number,
    readonly type: number,
  ) {
    const packet = type === SOCK_SEQPACKET;
    this.ch = [new Chan(capacity, packet, () => this.side[1]!, () => this.side[0]!), new Chan(capacity, packet, () => this.side[0]!, () => this.side[1]!)];
    this.ch[0].owner = this;
    this.ch[1].owner = this;
  }
  refs(): number {
    return this.side[0]! + this.side[1]!;
  }
}

interface MqMsg {
  data: Uint8Array;
  prio: number;
}

interface MqRecvWaiter {
  pid: number;
  timer: Timer | undefined;
}

interface MqSendWaiter {
  pid: number;
  msg: MqMsg;
  timer: Timer | undefined;
}

class MqObj {
  readonly kind = Kind.MQ;
  /** Non-empty priority levels, highest first. */
  levels: number[] = [];
  byPrio = new Map<number, { items: MqMsg[]; head: number }>();
  cur = 0;
  count = 0;
  unlinked = false;
  notify: { desc: Desc; id: number } | null = null;
  recvQ: MqRecvWaiter[] = [];
  sendQ: MqSendWaiter[] = [];
  constructor(
    readonly name: string,
    readonly maxmsg: number,
    readonly msgsize: number,
  ) {}
  refs(): number {
    return this.count;
  }
  push(m: MqMsg): void {
    let q = this.byPrio.get(m.prio);
    if (!q) {
      q = { items: [], head: 0 };
      this.byPrio.set(m.prio, q);
      let i = 0;
      while (i < this.levels.length && this.levels[i]! > m.prio) i++;
      this.levels.splice(i, 0, m.prio);
    }
    q.items.push(m);
    this.cur++;
  }
  peek(): MqMsg | undefined {
    if (this.cur === 0) return undefined;
    const q = this.byPrio.get(this.levels[0]!)!;
    return q.items[q.head];
  }
  shift(): void {
    const prio = this.levels[0]!;
    const q = this.byPrio.get(prio)!;
    q.items[q.head++] = undefined as unknown as MqMsg;
    if (q.head === q.items.length) {
      this.byPrio.delete(prio);
      this.levels.shift();
    } else if (q.head > 1024 && q.head * 2 > q.items.length) {
      q.items = q.items.slice(q.head);
      q.head = 0;
    }
    this.cur--;
  }
}

interface Poller {
  pid: number;
  entries: Array<{ desc: Desc | undefined; events: number }>;
  timer: Timer | undefined;
}

/** Options of the object server. */
export interface ServerOptions {
  /** Bytes a pipe holds before writers wait (default 65536, as Linux). */
  pipeCapacity: number;
  /** Bytes each direction of a socket pair holds (default 212992, as Linux's default socket buffer). */
  socketCapacity: number;
}

const utf8 = new TextDecoder();

/** @internal The object server's state and loop; runs as process `posixd` on CPU 0. */
export class ObjectServer {
  readonly #descs = new Map<number, Desc>();
  readonly #pool: CapHandle[] = [];
  readonly #queues = new Map<string, MqObj>();
  readonly #timers = new Set<Timer>();
  readonly #pollers: Poller[] = [];
  readonly #dirty = new Set<Obj>();
  /** Descriptions a process started by a spawn helper inherits (taken by its ATTACH). */
  readonly inherit = new Map<number, Array<{ fd: number; f: InFlight }>>();
  /** Pids allowed to send RELEASE (the reapers the host spawns). */
  readonly reapers = new Set<number>();
  #ep: CapHandle = 0;
  #proc: Process | undefined;
  /** Shared memory objects (shm-server.ts). */
  readonly shm = new ShmServer(() => this.proc, (pid, status, data, caps) => this.#reply(pid, status, 0, data, caps), (pid, code) => this.#fail(pid, code));

  constructor(
    readonly now: () => number,
    readonly options: ServerOptions,
  ) {}

  get proc(): Process {
    return this.#proc!;
  }

  /** Counts for tests and leak checks. */
  counts(): { descriptions: number; queues: number; pooledEndpoints: number; waiters: number; shmObjects: number } {
    let waiters = this.#pollers.length;
    const seen = new Set<Obj>();
    for (const d of this.#descs.values()) seen.add(d.obj);
    for (const o of seen) {
      if (o instanceof MqObj) waiters += o.recvQ.length + o.sendQ.length;
      else for (const c of o instanceof PipeObj ? [o.ch] : o.ch) waiters += c.readQ.length + c.writeQ.length;
    }
    return { descriptions: this.#descs.size, queues: this.#queues.size, pooledEndpoints: this.#pool.length, waiters, shmObjects: this.shm.count() };
  }

  async run(proc: Process, endpointName: string): Promise<void> {
    this.#proc = proc;
    this.#ep = proc.createEndpoint({ name: endpointName, capacity: 4096 });
    for (;;) {
      let m: MessageBuffer;
      try {
        const t = this.#nextDeadline();
        m = await proc.receive(this.#ep, t === Infinity ? undefined : { timeout: Math.min(Math.max(0, Math.ceil(t - this.now())), 2 ** 31 - 1) * 1 });
      } catch (e) {
        if (e instanceof IpcError && e.code === 'Timeout') {
          this.#expire();
          this.#settle();
          continue;
        }
        if (e instanceof IpcError && e.code === 'ChannelClosed') return;
        throw e;
      }
      this.#handle(m);
      this.#expire();
      this.#settle();
    }
  }

  // ------------------------------------------------------------------ plumbing

  #reply(pid: number, status: number, arg = 0, data: Uint8Array = EMPTY, caps?: CapHandle[]): boolean {
    try {
      this.proc.reply(pid, caps && caps.length ? { type: replyType(status, arg), data, caps } : { type: replyType(status, arg), data });
      return true;
    } catch (e) {
      if (e instanceof IpcError && (e.code === 'ProcessNotFound' || e.code === 'InvalidState')) return false;
      throw e;
    }
  }

  #ok(pid: number, n: number, arg = 0): boolean {
    return this.#reply(pid, 0, arg, n === 0 ? EMPTY : words(n));
  }

  #fail(pid: number, code: keyof typeof ERRNO): boolean {
    return this.#reply(pid, ERRNO[code]);
  }

  /** Resolves the capabilities of a request to descriptions, dropping the server's copies. */
  #presented(m: MessageBuffer): Array<Desc | undefined> {
    const caps = messageCaps(m);
    const out: Array<Desc | undefined> = [];
    for (let i = 0; i < caps.length; i++) {
      const h = caps[i]!;
      try {
        const c = this.proc.inspect(h);
        const d = this.#descs.get(c.resource);
        out.push(d);
      } catch {
        out.push(undefined);
      }
      try {
        this.proc.close(h);
      } catch {
        /* already gone */
      }
    }
    return out;
  }

  #addRef(obj: Obj, side: 0 | 1, mode: number): void {
    if (obj instanceof PipeObj) {
      if (mode & R) obj.readers++;
      if (mode & W) obj.writers++;
    } else if (obj instanceof SockObj) obj.side[side]!++;
    else obj.count++;
  }

  #dropRef(obj: Obj, side: 0 | 1, mode: number): void {
    if (obj instanceof PipeObj) {
      if (mode & R) obj.readers--;
      if (mode & W) obj.writers--;
    } else if (obj instanceof SockObj) {
      if (--obj.side[side]! === 0) {
        // Nobody can read what was sent to this side any more: drop it (and the descriptors in it).
        const inc = obj.ch[(1 - side) as 0 | 1];
        const segs = inc.segs;
        inc.segs = [];
        inc.bytes = 0;
        for (const s of segs) this.#releaseAll(s.fds);
      }
    } else obj.count--;
    this.#dirty.add(obj);
    if (obj.refs() === 0) this.#destroy(obj);
  }

  #destroy(obj: Obj): void {
    if (obj instanceof MqObj) {
      if (obj.unlinked) obj.byPrio.clear();
      return;
    }
    for (const c of obj instanceof PipeObj ? [obj.ch] : obj.ch) {
      const segs = c.segs;
      c.segs = [];
      c.bytes = 0;
      for (const s of segs) this.#releaseAll(s.fds);
      for (const w of c.writeQ) this.#releaseAll(w.fds);
      c.writeQ = [];
    }
  }

  #releaseAll(fds: InFlight[] | undefined): void {
    if (fds) for (const f of fds) this.#dropRef(f.obj, f.side, f.mode);
  }

  /** A new description of `obj` (the reference is the caller's to have taken); returns it and the capability to hand out. */
  #newDesc(obj: Obj, side: 0 | 1, mode: number, owner: number): { desc: Desc; cap: CapHandle } {
    const proc = this.proc;
    let handle: CapHandle | undefined;
    let id = 0;
    while (handle === undefined) {
      const h = this.#pool.pop();
      if (h === undefined) {
        handle = proc.createEndpoint({ capacity: 1 });
        id = proc.inspect(handle).resource;
        break;
      }
      try {
        id = proc.inspect(h).resource;
        handle = h;
      } catch {
        /* retired endpoint (generation exhausted): take another */
      }
    }
    const desc: Desc = { id, handle, obj, side, mode, owner };
    this.#descs.set(id, desc);
    return { desc, cap: proc.derive(handle, Rights.SEND | Rights.SHARE) };
  }

  /** Forgets a description without touching its object's references; its capabilities die. */
  #retire(desc: Desc): void {
    this.#descs.delete(desc.id);
    try {
      this.proc.revoke(desc.handle);
      this.#pool.push(desc.handle);
    } catch {
      try {
        this.proc.close(desc.handle);
      } catch {
        /* gone */
      }
    }
  }

  #closeDesc(desc: Desc): void {
    const obj = desc.obj;
    if (obj instanceof MqObj && obj.notify?.desc === desc) obj.notify = null;
    this.#retire(desc);
    this.#dropRef(obj, desc.side, desc.mode);
  }

  /** Replies with new descriptions for `fds` (each already holding its reference); on failure nothing changes hands. */
  #replyWithDescs(pid: number, fds: InFlight[], arg: number, extra: number[], payload: Uint8Array): boolean {
    const made = fds.map((f) => this.#newDesc(f.obj, f.side, f.mode, pid));
    const info: number[] = [fds.length];
    fds.forEach((f, i) => info.push(infoWord(f), f.status, extra[i] ?? 0));
    const head = words(...info);
    const data = new Uint8Array(head.length + payload.length);
    data.set(head);
    data.set(payload, head.length);
    const ok = this.#reply(
      pid,
      0,
      arg,
      data,
      made.map((x) => x.cap),
    );
    for (const x of made) {
      this.proc.close(x.cap);
      if (!ok) this.#retire(x.desc);
    }
    return ok;
  }

  #timer(deadline: number, fire: () => void): Timer {
    const t = { deadline, fire };
    this.#timers.add(t);
    return t;
  }

  #nextDeadline(): number {
    let t = Infinity;
    for (const x of this.#timers) if (x.deadline < t) t = x.deadline;
    return t;
  }

  #expire(): void {
    if (this.#timers.size === 0) return;
    const now = this.now();
    for (const t of [...this.#timers])
      if (t.deadline <= now) {
        this.#timers.delete(t);
        t.fire();
      }
  }

  // ------------------------------------------------------------------ requests

  #handle(m: MessageBuffer): void {
    const pid = m.sender;
    const op = m.type & 0xff;
    const flags = (m.type >>> 8) & 0xff;
    const arg = m.type >>> 16;
    const descs = this.#presented(m);
    const payload = m.large ?? m.bytes.slice(0, m.length);
    try {
      switch (op) {
        case Op.PIPE:
          return this.#pipe(pid);
        case Op.SOCKETPAIR:
          return this.#socketpair(pid, arg);
        case Op.CLOSE: {
          const d = descs[0];
          if (!d) return void this.#fail(pid, 'EBADF');
          this.#closeDesc(d);
          return void this.#ok(pid, 0);
        }
        case Op.READ:
        case Op.RECVMSG:
          return this.#readOp(pid, descs[0], readWord(payload, 0), flags, op === Op.RECVMSG);
        case Op.WRITE:
          return this.#writeOp(pid, descs[0], payload, flags, undefined, []);
        case Op.SENDMSG: {
          const n = readWord(payload, 0);
          const status = Array.from({ length: n }, (_, i) => readWord(payload, 1 + i));
          return this.#writeOp(pid, descs[0], payload.subarray(4 + 4 * n), flags, descs.slice(1), status);
        }
        case Op.MQ_OPEN:
          return this.#mqOpen(pid, payload);
        case Op.MQ_UNLINK: {
          const name = utf8.decode(payload);
          const q = this.#queues.get(name);
          if (!q) return void this.#fail(pid, 'ENOENT');
          this.#queues.delete(name);
          q.unlinked = true;
          if (q.refs() === 0) this.#destroy(q);
          return void this.#ok(pid, 0);
        }
        case Op.MQ_SEND:
          return this.#mqSend(pid, descs[0], payload, flags, arg);
        case Op.MQ_RECEIVE:
          return this.#mqReceive(pid, descs[0], payload, flags);
        case Op.MQ_GETATTR: {
          const d = descs[0];
          if (!d || !(d.obj instanceof MqObj)) return void this.#fail(pid, 'EBADF');
          return void this.#reply(pid, 0, 0, words(d.obj.maxmsg, d.obj.msgsize, d.obj.cur));
        }
        case Op.MQ_NOTIFY:
          return this.#mqNotify(pid, descs[0], payload);
        case Op.POLL:
          return this.#poll(pid, descs, payload);
        case Op.ATTACH: {
          const list = this.inherit.get(pid) ?? [];
          this.inherit.delete(pid);
          if (!this.#replyWithDescs(
            pid,
            list.map((x) => x.f),
            0,
            list.map((x) => x.fd),
            EMPTY,
          ))
            for (const x of list) this.#dropRef(x.f.obj, x.f.side, x.f.mode);
          return;
        }
        case Op.RELEASE: {
          if (!this.reapers.has(pid)) return void this.#fail(pid, 'EPERM');
          this.reapers.delete(pid);
          this.release(readWord(payload, 0));
          return void this.#ok(pid, 0);
        }
        case Op.FSTAT: {
          const d = descs[0];
          if (!d) return void this.#fail(pid, 'EBADF');
          return void this.#reply(pid, 0, 0, words(infoWord(d)));
        }
        default:
          if (!this.shm.handle(pid, op, payload)) this.#fail(pid, 'ENOSYS');
          return;
      }
    } catch (e) {
      if (!(e instanceof IpcError)) throw e;
      // Out of endpoints or capability slots for new descriptions: the system-wide file table is full.
      this.#fail(pid, e.code === 'OutOfMemory' ? 'ENFILE' : e.code === 'InvalidArgument' ? 'EINVAL' : 'ENFILE');
    }
  }

  /** Drops every description owned by `pid` (a process that exited), and what it was to inherit. */
  release(pid: number): void {
    this.shm.release(pid);
    for (const d of [...this.#descs.values()]) if (d.owner === pid) this.#closeDesc(d);
    for (const x of this.inherit.get(pid) ?? []) this.#dropRef(x.f.obj, x.f.side, x.f.mode);
    this.inherit.delete(pid);
  }

  /** Takes a reference for a child's inherited descriptor (called by the host's spawn helper). */
  inheritFrom(parent: Process, cap: CapHandle, status: number): InFlight | undefined {
    let c;
    try {
      c = parent.inspect(cap);
    } catch {
      return undefined;
    }
    const d = this.#descs.get(c.resource);
    if (!d) return undefined;
    this.#addRef(d.obj, d.side, d.mode);
    return { obj: d.obj, side: d.side, mode: d.mode, status };
  }

  #pipe(pid: number): void {
    const obj = new PipeObj(this.options.pipeCapacity);
    const r = this.#newDesc(obj, 0, R, pid);
    let w;
    try {
      w = this.#newDesc(obj, 0, W, pid);
    } catch (e) {
      this.proc.close(r.cap);
      this.#retire(r.desc);
      throw e;
    }
    obj.readers = 1;
    obj.writers = 1;
    const ok = this.#reply(pid, 0, 0, EMPTY, [r.cap, w.cap]);
    this.proc.close(r.cap);
    this.proc.close(w.cap);
    if (!ok) {
      this.#retire(r.desc);
      this.#retire(w.desc);
    }
  }

  #socketpair(pid: number, type: number): void {
    const obj = new SockObj(this.options.socketCapacity, type);
    const a = this.#newDesc(obj, 0, R | W, pid);
    let b;
    try {
      b = this.#newDesc(obj, 1, R | W, pid);
    } catch (e) {
      this.proc.close(a.cap);
      this.#retire(a.desc);
      throw e;
    }
    obj.side[0] = 1;
    obj.side[1] = 1;
    const ok = this.#reply(pid, 0, 0, EMPTY, [a.cap, b.cap]);
    this.proc.close(a.cap);
    this.proc.close(b.cap);
    if (!ok) {
      this.#retire(a.desc);
      this.#retire(b.desc);
    }
  }

  // ------------------------------------------------------------------ byte channels

  #readOp(pid: number, d: Desc | undefined, count: number, flags: number, msg: boolean): void {
    if (!d || !(d.mode & R) || d.obj instanceof MqObj) return void this.#fail(pid, 'EBADF');
    const ch = d.obj instanceof PipeObj ? d.obj.ch : d.obj.ch[(1 - d.side) as 0 | 1];
    count = Math.min(count, MAX_CHUNK);
    const peek = (flags & ReqFlag.PEEK) !== 0;
    if (ch.segs.length > 0) return void this.#deliver(ch, { pid, count, peek, msg });
    if (count === 0 && !ch.packet) return void this.#ok(pid, 0);
    if (ch.writers() === 0) return void this.#eof(pid, msg);
    if (flags & ReqFlag.NONBLOCK) return void this.#fail(pid, 'EAGAIN');
    ch.readQ.push({ pid, count, peek, msg });
  }

  #eof(pid: number, msg: boolean): boolean {
    return msg ? this.#replyWithDescs(pid, [], 0, [], EMPTY) : this.#reply(pid, 0);
  }

  /** Gives `r` what it may read now; consumes it only if the reply arrived. */
  #deliver(ch: Chan, r: ReadWaiter): boolean {
    let out: Uint8Array;
    let fds: InFlight[] | undefined;
    let used = 0;
    let arg = 0;
    if (ch.packet) {
      const s = ch.segs[0]!;
      const len = s.data.length;
      out = s.data.subarray(0, Math.min(len, r.count));
      if (r.count < len) arg = MSG_TRUNC;
      fds = s.fds;
    } else {
      const parts: Uint8Array[] = [];
      let n = 0;
      for (const s of ch.segs) {
        if (n >= r.count) break;
        if (s.fds && n > 0) break;
        if (s.fds) fds = s.fds;
        const take = Math.min(s.data.length - s.off, r.count - n);
        parts.push(s.data.subarray(s.off, s.off + take));
        n += take;
      }
      used = n;
      if (parts.length === 1) out = parts[0]!;
      else {
        out = new Uint8Array(n);
        let o = 0;
        for (const p of parts) {
          out.set(p, o);
          o += p.length;
        }
      }
    }
    const give = r.msg && !r.peek && fds ? fds : [];
    const ok = r.msg ? this.#replyWithDescs(r.pid, give, arg, [], out) : this.#reply(r.pid, 0, arg, out);
    if (!ok || r.peek) return ok;
    // Consume.
    if (ch.packet) {
      const s = ch.segs.shift()!;
      ch.bytes -= s.data.length;
      if (!r.msg) this.#releaseAll(s.fds);
    } else {
      const s0 = ch.segs[0]!;
      if (s0.fds) {
        if (!r.msg) this.#releaseAll(s0.fds);
        s0.fds = undefined;
      }
      let left = used;
      while (left > 0) {
        const s = ch.segs[0]!;
        const take = Math.min(s.data.length - s.off, left);
        s.off += take;
        left -= take;
        ch.bytes -= take;
        if (s.off === s.data.length) ch.segs.shift();
      }
    }
    this.#dirty.add(ch.owner);
    return true;
  }

  #append(ch: Chan, data: Uint8Array, fds: InFlight[] | undefined): void {
    ch.segs.push({ data, off: 0, fds });
    ch.bytes += data.length;
  }

  #writeOp(pid: number, d: Desc | undefined, data: Uint8Array, flags: number, passed: Array<Desc | undefined> | undefined, status: number[]): void {
    if (!d || !(d.mode & W) || d.obj instanceof MqObj) return void this.#fail(pid, 'EBADF');
    const obj = d.obj;
    const ch = obj instanceof PipeObj ? obj.ch : obj.ch[d.side];
    let fds: InFlight[] | undefined;
    if (passed && passed.length) {
      if (passed.some((p) => p === undefined)) return void this.#fail(pid, 'EBADF');
      fds = passed.map((p, i) => ({ obj: p!.obj, side: p!.side, mode: p!.mode, status: status[i] ?? 0 }));
    }
    const n = data.length;
    if (ch.readers() === 0) return void this.#fail(pid, 'EPIPE');
    const nb = (flags & ReqFlag.NONBLOCK) !== 0;
    const take = () => {
      if (fds) for (const f of fds) this.#addRef(f.obj, f.side, f.mode);
    };
    if (ch.packet) {
      if (n > ch.capacity) return void this.#fail(pid, 'EMSGSIZE');
      if (ch.writeQ.length === 0 && ch.free >= n) {
        take();
        this.#append(ch, data, fds);
        this.#dirty.add(obj);
        return void this.#ok(pid, n);
      }
      if (nb) return void this.#fail(pid, 'EAGAIN');
      take();
      ch.writeQ.push({ pid, data, off: 0, atomic: true, fds });
      return;
    }
    if (n === 0) return void this.#ok(pid, 0);
    const atomic = n <= PIPE_BUF;
    if (nb) {
      if (ch.writeQ.length === 0 && (atomic ? ch.free >= n : ch.free > 0)) {
        const k = atomic ? n : Math.min(ch.free, n);
        take();
        this.#append(ch, data.subarray(0, k), fds);
        this.#dirty.add(obj);
        return void this.#ok(pid, k);
      }
      return void this.#fail(pid, 'EAGAIN');
    }
    take();
    ch.writeQ.push({ pid, data, off: 0, atomic, fds });
    this.#dirty.add(obj);
  }

  /** Moves waiting writers' bytes in and answers waiting readers, until neither can go on. */
  #pumpChan(ch: Chan): boolean {
    let progress = false;
    while (ch.writeQ.length) {
      const w = ch.writeQ[0]!;
      if (ch.readers() === 0) {
        ch.writeQ.shift();
        if (w.off === 0) this.#releaseAll(w.fds);
        if (w.off > 0) this.#ok(w.pid, w.off);
        else this.#fail(w.pid, 'EPIPE');
        progress = true;
        continue;
      }
      const rem = w.data.length - w.off;
      if (w.atomic) {
        if (ch.free < rem) break;
        this.#append(ch, w.off === 0 ? w.data : w.data.subarray(w.off), w.fds);
        w.off += rem;
      } else {
        const k = Math.min(ch.free, rem);
        if (k === 0) break;
        this.#append(ch, w.data.subarray(w.off, w.off + k), w.off === 0 ? w.fds : undefined);
        w.off += k;
      }
      progress = true;
      if (w.off < w.data.length) break;
      ch.writeQ.shift();
      this.#ok(w.pid, w.data.length);
    }
    while (ch.readQ.length) {
      const r = ch.readQ[0]!;
      if (ch.segs.length > 0) {
        ch.readQ.shift();
        this.#deliver(ch, r);
        progress = true;
      } else if (ch.writers() === 0) {
        ch.readQ.shift();
        this.#eof(r.pid, r.msg);
        progress = true;
      } else break;
    }
    return progress;
  }

  #settle(): void {
    if (this.#dirty.size === 0) return;
    for (let round = 0; this.#dirty.size > 0 && round < 64; round++) {
      const objs = [...this.#dirty];
      this.#dirty.clear();
      for (const o of objs) {
        if (o instanceof MqObj) this.#pumpMq(o);
        else {
          const chans = o instanceof PipeObj ? [o.ch] : o.ch;
          for (const c of chans) {
            let again = true;
            for (let i = 0; again && i < 1_000_000; i++) again = this.#pumpChan(c);
          }
        }
      }
      this.#dirty.clear();
    }
    this.#pollAgain();
  }

  // ------------------------------------------------------------------ message queues

  #mqOpen(pid: number, p: Uint8Array): void {
    const oflag = readWord(p, 0);
    const hasAttr = readWord(p, 1) !== 0;
    const maxmsg = readWord(p, 2) | 0;
    const msgsize = readWord(p, 3) | 0;
    const name = utf8.decode(p.subarray(16));
    const acc = oflag & O_ACCMODE;
    if (acc !== O_RDONLY && acc !== O_WRONLY && acc !== O_RDWR) return void this.#fail(pid, 'EINVAL');
    const mode = acc === O_RDONLY ? R : acc === O_WRONLY ? W : R | W;
    let q = this.#queues.get(name);
    if (q) {
      if (oflag & O_CREAT && oflag & O_EXCL) return void this.#fail(pid, 'EEXIST');
    } else {
      if (!(oflag & O_CREAT)) return void this.#fail(pid, 'ENOENT');
      if (hasAttr && (maxmsg <= 0 || msgsize <= 0 || maxmsg > MQ_MAXMSG_LIMIT || msgsize > MQ_MSGSIZE_LIMIT)) return void this.#fail(pid, 'EINVAL');
      q = new MqObj(name, hasAttr ? maxmsg : MQ_DEFAULT_MAXMSG, hasAttr ? msgsize : MQ_DEFAULT_MSGSIZE);
      this.#queues.set(name, q);
    }
    const x = this.#newDesc(q, 0, mode, pid);
    q.count++;
    const ok = this.#reply(pid, 0, 0, words(q.maxmsg, q.msgsize), [x.cap]);
    this.proc.close(x.cap);
    if (!ok) this.#closeDesc(x.desc);
  }

  #timeout(flags: number, p: Uint8Array): number {
    return flags & ReqFlag.TIMED ? readTimeout(p) : FOREVER;
  }

  #mqSend(pid: number, d: Desc | undefined, p: Uint8Array, flags: number, prio: number): void {
    if (!d || !(d.obj instanceof MqObj) || !(d.mode & W)) return void this.#fail(pid, 'EBADF');
    const q = d.obj;
    const timeout = this.#timeout(flags, p);
    const data = flags & ReqFlag.TIMED ? p.subarray(8) : p;
    if (data.length > q.msgsize) return void this.#fail(pid, 'EMSGSIZE');
    if (prio >= MQ_PRIO_MAX) return void this.#fail(pid, 'EINVAL');
    const msg = { data, prio };
    if (q.cur < q.maxmsg && q.sendQ.length === 0) {
      this.#enqueue(q, msg);
      return void this.#ok(pid, 0);
    }
    if (flags & ReqFlag.NONBLOCK) return void this.#fail(pid, 'EAGAIN');
    if (timeout === BAD_TIMESPEC) return void this.#fail(pid, 'EINVAL');
    if (timeout !== FOREVER && timeout <= 0) return void this.#fail(pid, 'ETIMEDOUT');
    const w: MqSendWaiter = { pid, msg, timer: undefined };
    if (timeout !== FOREVER)
      w.timer = this.#timer(this.now() + timeout, () => {
        const i = q.sendQ.indexOf(w);
        if (i >= 0) {
          q.sendQ.splice(i, 1);
          this.#fail(pid, 'ETIMEDOUT');
        }
      });
    q.sendQ.push(w);
  }

  /** Puts a message in (or straight into a waiting receiver); notifies on empty → non-empty with nobody waiting. */
  #enqueue(q: MqObj, msg: MqMsg): void {
    while (q.recvQ.length) {
      const r = q.recvQ.shift()!;
      if (r.timer) this.#timers.delete(r.timer);
      if (this.#reply(r.pid, 0, msg.prio, msg.data)) return;
    }
    const wasEmpty = q.cur === 0;
    q.push(msg);
    this.#dirty.add(q);
    if (wasEmpty && q.notify) {
      const { id } = q.notify;
      q.notify = null;
      const fn = notifyCallbacks.get(id);
      notifyCallbacks.delete(id);
      if (fn) setImmediate(fn);
    }
  }

  #mqReceive(pid: number, d: Desc | undefined, p: Uint8Array, flags: number): void {
    if (!d || !(d.obj instanceof MqObj) || !(d.mode & R)) return void this.#fail(pid, 'EBADF');
    const q = d.obj;
    const timeout = this.#timeout(flags, p);
    const len = readWord(p, flags & ReqFlag.TIMED ? 2 : 0);
    if (len < q.msgsize) return void this.#fail(pid, 'EMSGSIZE');
    const head = q.peek();
    if (head) {
      if (this.#reply(pid, 0, head.prio, head.data)) {
        q.shift();
        this.#dirty.add(q);
      }
      return;
    }
    if (flags & ReqFlag.NONBLOCK) return void this.#fail(pid, 'EAGAIN');
    if (timeout === BAD_TIMESPEC) return void this.#fail(pid, 'EINVAL');
    if (timeout !== FOREVER && timeout <= 0) return void this.#fail(pid, 'ETIMEDOUT');
    const w: MqRecvWaiter = { pid, timer: undefined };
    if (timeout !== FOREVER)
      w.timer = this.#timer(this.now() + timeout, () => {
        const i = q.recvQ.indexOf(w);
        if (i >= 0) {
          q.recvQ.splice(i, 1);
          this.#fail(pid, 'ETIMEDOUT');
        }
      });
    q.recvQ.push(w);
  }

  #pumpMq(q: MqObj): void {
    for (;;) {
      let moved = false;
      while (q.recvQ.length && q.cur > 0) {
        const r = q.recvQ.shift()!;
        if (r.timer) this.#timers.delete(r.timer);
        const m = q.peek()!;
        if (this.#reply(r.pid, 0, m.prio, m.data)) q.shift();
        moved = true;
      }
      while (q.sendQ.length && q.cur < q.maxmsg) {
        const s = q.sendQ.shift()!;
        if (s.timer) this.#timers.delete(s.timer);
        if (this.#ok(s.pid, 0)) this.#enqueue(q, s.msg);
        moved = true;
      }
      if (!moved) break;
    }
    if (q.refs() === 0 && q.unlinked) this.#destroy(q);
  }

  #mqNotify(pid: number, d: Desc | undefined, p: Uint8Array): void {
    if (!d || !(d.obj instanceof MqObj)) return void this.#fail(pid, 'EBADF');
    const q = d.obj;
    const register = readWord(p, 0) !== 0;
    const id = readWord(p, 1);
    if (!register) {
      if (q.notify && q.notify.desc.owner === pid) {
        notifyCallbacks.delete(q.notify.id);
        q.notify = null;
      }
      return void this.#ok(pid, 0);
    }
    if (q.notify && this.#descs.get(q.notify.desc.id) === q.notify.desc) {
      notifyCallbacks.delete(id);
      return void this.#fail(pid, 'EBUSY');
    }
    q.notify = { desc: d, id };
    this.#ok(pid, 0);
  }

  // ------------------------------------------------------------------ poll

  #revents(d: Desc | undefined, events: number): number {
    if (!d || this.#descs.get(d.id) !== d) return POLLNVAL;
    const o = d.obj;
    let r = 0;
    if (o instanceof PipeObj) {
      if (d.mode & R) {
        if (o.ch.bytes > 0) r |= POLLIN | POLLRDNORM;
        if (o.writers === 0) r |= POLLHUP;
      } else if (o.readers === 0) r |= POLLERR;
      else if (o.ch.free >= Math.min(PIPE_BUF, o.ch.capacity)) r |= POLLOUT | POLLWRNORM;
    } else if (o instanceof SockObj) {
      const inc = o.ch[(1 - d.side) as 0 | 1];
      const out = o.ch[d.side];
      const peerGone = o.side[1 - d.side] === 0;
      if (inc.segs.length > 0 || peerGone) r |= POLLIN | POLLRDNORM;
      if (peerGone) r |= POLLHUP;
      else if (out.free >= Math.min(PIPE_BUF, out.capacity)) r |= POLLOUT | POLLWRNORM;
    } else {
      if (d.mode & R && o.cur > 0) r |= POLLIN | POLLRDNORM;
      if (d.mode & W && o.cur < o.maxmsg) r |= POLLOUT | POLLWRNORM;
    }
    return r & (events | POLLHUP | POLLERR | POLLNVAL);
  }

  #poll(pid: number, descs: Array<Desc | undefined>, p: Uint8Array): void {
    const timeout = readWord(p, 0) | 0;
    const entries = descs.map((desc, i) => ({ desc, events: readWord(p, 1 + i) }));
    const poller: Poller = { pid, entries, timer: undefined };
    if (this.#answerPoll(poller)) return;
    if (timeout === 0) return void this.#replyPoll(poller);
    if (timeout > 0)
      poller.timer = this.#timer(this.now() + timeout * 1e6, () => {
        const i = this.#pollers.indexOf(poller);
        if (i >= 0) {
          this.#pollers.splice(i, 1);
          this.#replyPoll(poller);
        }
      });
    this.#pollers.push(poller);
  }

  /** Replies if any entry is ready; true if it replied. */
  #answerPoll(poller: Poller): boolean {
    for (const e of poller.entries) if (this.#revents(e.desc, e.events) !== 0) return this.#replyPoll(poller), true;
    return false;
  }

  #replyPoll(poller: Poller): void {
    if (poller.timer) this.#timers.delete(poller.timer);
    this.#reply(poller.pid, 0, 0, words(...poller.entries.map((e) => this.#revents(e.desc, e.events))));
  }

  #pollAgain(): void {
    for (let i = 0; i < this.#pollers.length; ) {
      if (this.#answerPoll(this.#pollers[i]!)) this.#pollers.splice(i, 1);
      else i++;
    }
  }
}

const EMPTY = new Uint8Array(0);

/** Kind, access rights and socket type of a description, in one word. */
function infoWord(d: { obj: Obj; mode: number }): number {
  return d.obj.kind | (d.mode << 8) | ((d.obj instanceof SockObj ? d.obj.type : 0) << 16);
}
