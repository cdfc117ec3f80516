import { IpcError, Rights, messageCaps, type CapHandle, type MessageBuffer, type Process } from '@veridian/core';
import { O_NONBLOCK } from './constants.js';
import { ERRNO } from './errno.js';
import { setStatus } from './flags-server.js';
import { MqServer } from './mq-server.js';
import { ChannelServer } from './pipe-server.js';
import { PollServer } from './poll-server.js';
import { EMPTY, MqObj, PipeObj, R, ShmObj, SockObj, W, chansOf, infoWord, type Desc, type InFlight, type Obj, type OpenFile, type ServerCore, type ServerOptions, type Timer } from './server-objects.js';
import { ShmServer } from './shm-server.js';
import { Op, ReqFlag, readWord, replyType, words } from './wire.js';

/*
 * The object server: one process per kernel (`posixd`, CPU 0) that holds every pipe, message
 * queue and socket pair, their buffers and their waiters. Each open file description is an
 * endpoint of this process that nobody receives on: the descriptor's capability (SEND|SHARE to
 * that endpoint) is the proof a caller presents with each request on the server's one
 * endpoint; the server inspects the copy it received (which description: object, end, access
 * mode) and drops it. Closing a description revokes its endpoint, so every copy of the
 * capability dies with it, and the endpoint is reused for the next description.
 *
 * This file is the core (descriptions, references, replies, timers, the request loop); the
 * objects are server-objects.ts, their operations pipe-server.ts (pipes and socket pairs),
 * mq-server.ts, poll-server.ts and shm-server.ts.
 */

export type { ServerOptions } from './server-objects.js';

const utf8 = new TextDecoder();

/** @internal The object server's state and loop; runs as process `posixd` on CPU 0. */
export class ObjectServer implements ServerCore {
  /** Live descriptions by endpoint id. */
  readonly descs = new Map<number, Desc>();
  readonly #pool: CapHandle[] = [];
  readonly #timers = new Set<Timer>();
  /** Objects whose waiters may move (settled after each request). */
  readonly dirty = new Set<Obj>();
  /** Descriptions a process started by a spawn helper inherits (taken by its ATTACH). */
  readonly inherit = new Map<number, Array<{ fd: number; f: InFlight }>>();
  /** Pids allowed to send RELEASE (the reapers the host spawns). */
  readonly reapers = new Set<number>();
  #ep: CapHandle = 0;
  #proc: Process | undefined;
  readonly #chans = new ChannelServer(this);
  readonly #mq = new MqServer(this);
  readonly #polls = new PollServer(this);
  /** Shared memory objects (shm-server.ts). */
  readonly shm = new ShmServer(this);

  constructor(
    readonly now: () => number,
    readonly options: ServerOptions,
  ) {}

  get proc(): Process {
    return this.#proc!;
  }

  /** Counts for tests and leak checks. */
  counts(): { descriptions: number; queues: number; pooledEndpoints: number; waiters: number; shmObjects: number } {
    let waiters = this.#polls.count();
    const seen = new Set<Obj>();
    for (const d of this.descs.values()) seen.add(d.obj);
    for (const o of seen) {
      if (o instanceof MqObj) waiters += o.recvQ.length + o.sendQ.length;
      else for (const c of chansOf(o)) waiters += c.readQ.length + c.writeQ.length;
    }
    return { descriptions: this.descs.size, queues: this.#mq.count(), pooledEndpoints: this.#pool.length, waiters, shmObjects: this.shm.count() };
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

  // ------------------------------------------------------------------ plumbing (ServerCore)

  reply(pid: number, status: number, arg = 0, data: Uint8Array = EMPTY, caps?: CapHandle[]): boolean {
    try {
      this.proc.reply(pid, caps && caps.length ? { type: replyType(status, arg), data, caps } : { type: replyType(status, arg), data });
      return true;
    } catch (e) {
      if (e instanceof IpcError && (e.code === 'ProcessNotFound' || e.code === 'InvalidState')) return false;
      throw e;
    }
  }

  ok(pid: number, n: number, arg = 0): boolean {
    return this.reply(pid, 0, arg, n === 0 ? EMPTY : words(n));
  }

  fail(pid: number, code: keyof typeof ERRNO): boolean {
    return this.reply(pid, ERRNO[code]);
  }

  /** Resolves the capabilities of a request to descriptions, dropping the server's copies. */
  #presented(m: MessageBuffer): Array<Desc | undefined> {
    const caps = messageCaps(m);
    const out: Array<Desc | undefined> = [];
    for (let i = 0; i < caps.length; i++) {
      const h = caps[i]!;
      try {
        const c = this.proc.inspect(h);
        const d = this.descs.get(c.resource);
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

  addRef(obj: Obj, side: 0 | 1, mode: number): void {
    if (obj instanceof PipeObj) {
      if (mode & R) obj.readers++;
      if (mode & W) obj.writers++;
    } else if (obj instanceof SockObj) obj.side[side]!++;
    else obj.count++;
  }

  dropRef(obj: Obj, side: 0 | 1, mode: number): void {
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
        for (const s of segs) this.releaseAll(s.fds);
      }
    } else obj.count--;
    this.dirty.add(obj);
    if (obj.refs() === 0) this.destroy(obj);
  }

  destroy(obj: Obj): void {
    if (obj instanceof MqObj) {
      if (obj.unlinked) obj.byPrio.clear();
      return;
    }
    if (obj instanceof ShmObj) return this.shm.maybeFree(obj);
    for (const c of chansOf(obj)) {
      const segs = c.segs;
      c.segs = [];
      c.bytes = 0;
      for (const s of segs) this.releaseAll(s.fds);
      for (const w of c.writeQ) this.releaseAll(w.fds);
      c.writeQ = [];
    }
  }

  releaseAll(fds: InFlight[] | undefined): void {
    if (fds) for (const f of fds) this.dropRef(f.obj, f.side, f.mode);
  }

  /** A new description of `obj` (the reference is the caller's to have taken); returns it and the capability to hand out. */
  newDesc(obj: Obj, side: 0 | 1, mode: number, owner: number, file: OpenFile): { desc: Desc; cap: CapHandle } {
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
    const desc: Desc = { id, handle, obj, side, mode, owner, file };
    this.descs.set(id, desc);
    return { desc, cap: proc.derive(handle, Rights.SEND | Rights.SHARE) };
  }

  /** Forgets a description without touching its object's references; its capabilities die. */
  retire(desc: Desc): void {
    this.descs.delete(desc.id);
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

  closeDesc(desc: Desc): void {
    const obj = desc.obj;
    if (obj instanceof MqObj && obj.notify?.desc === desc) obj.notify = null;
    this.retire(desc);
    this.dropRef(obj, desc.side, desc.mode);
  }

  /** Replies with new descriptions for `fds` (each already holding its reference); on failure nothing changes hands. */
  replyWithDescs(pid: number, fds: InFlight[], arg: number, extra: number[], payload: Uint8Array): boolean {
    const made = fds.map((f) => this.newDesc(f.obj, f.side, f.mode, pid, f.file));
    const info: number[] = [fds.length];
    fds.forEach((f, i) => info.push(infoWord(f), f.file.status, extra[i] ?? 0));
    const head = words(...info);
    const data = new Uint8Array(head.length + payload.length);
    data.set(head);
    data.set(payload, head.length);
    const ok = this.reply(
      pid,
      0,
      arg,
      data,
      made.map((x) => x.cap),
    );
    for (const x of made) {
      this.proc.close(x.cap);
      if (!ok) this.retire(x.desc);
    }
    return ok;
  }

  timer(deadline: number, fire: () => void): Timer {
    const t = { deadline, fire };
    this.#timers.add(t);
    return t;
  }

  cancel(t: Timer): void {
    this.#timers.delete(t);
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
    const arg = m.type >>> 16;
    const descs = this.#presented(m);
    // O_NONBLOCK lives with the open file description: read here, in the same request (MSG_DONTWAIT comes as the flag).
    const flags = ((m.type >>> 8) & 0xff) | (descs[0] !== undefined && descs[0].file.status & O_NONBLOCK ? ReqFlag.NONBLOCK : 0);
    const payload = m.large ?? m.bytes.slice(0, m.length);
    try {
      switch (op) {
        case Op.PIPE:
          return this.#chans.pipe(pid, flags & ReqFlag.NONBLOCK ? O_NONBLOCK : 0);
        case Op.SOCKETPAIR:
          return this.#chans.socketpair(pid, arg, flags & ReqFlag.NONBLOCK ? O_NONBLOCK : 0);
        case Op.CLOSE: {
          const d = descs[0];
          if (!d) return void this.fail(pid, 'EBADF');
          this.closeDesc(d);
          return void this.ok(pid, 0);
        }
        case Op.READ:
        case Op.RECVMSG:
          return this.#chans.read(pid, descs[0], readWord(payload, 0), flags, op === Op.RECVMSG);
        case Op.WRITE:
          return this.#chans.write(pid, descs[0], payload, flags, undefined);
        case Op.SENDMSG:
          return this.#chans.write(pid, descs[0], payload.subarray(4), flags, descs.slice(1));
        case Op.FCNTL_FL: {
          const d = descs[0];
          if (!d) return void this.fail(pid, 'EBADF');
          return void this.reply(pid, 0, setStatus(d, (m.type >>> 8) & 0xff, arg));
        }
        case Op.MQ_OPEN:
          return this.#mq.open(pid, payload);
        case Op.MQ_UNLINK:
          return this.#mq.unlink(pid, utf8.decode(payload));
        case Op.MQ_SEND:
          return this.#mq.send(pid, descs[0], payload, flags, arg);
        case Op.MQ_RECEIVE:
          return this.#mq.receive(pid, descs[0], payload, flags);
        case Op.MQ_GETATTR:
          return this.#mq.getattr(pid, descs[0]);
        case Op.MQ_NOTIFY:
          return this.#mq.notify(pid, descs[0], payload);
        case Op.POLL:
          return this.#polls.poll(pid, descs, payload);
        case Op.ATTACH: {
          const list = this.inherit.get(pid) ?? [];
          this.inherit.delete(pid);
          if (!this.replyWithDescs(
            pid,
            list.map((x) => x.f),
            0,
            list.map((x) => x.fd),
            EMPTY,
          ))
            for (const x of list) this.dropRef(x.f.obj, x.f.side, x.f.mode);
          return;
        }
        case Op.RELEASE: {
          if (!this.reapers.has(pid)) return void this.fail(pid, 'EPERM');
          this.reapers.delete(pid);
          this.release(readWord(payload, 0));
          return void this.ok(pid, 0);
        }
        case Op.FSTAT: {
          const d = descs[0];
          if (!d) return void this.fail(pid, 'EBADF');
          return void this.reply(pid, 0, 0, words(infoWord(d)));
        }
        default:
          if (!this.shm.handle(pid, op, payload, descs[0])) this.fail(pid, 'ENOSYS');
          return;
      }
    } catch (e) {
      if (!(e instanceof IpcError)) throw e;
      // Out of endpoints or capability slots for new descriptions: the system-wide file table is full.
      this.fail(pid, e.code === 'OutOfMemory' ? 'ENFILE' : e.code === 'InvalidArgument' ? 'EINVAL' : 'ENFILE');
    }
  }

  /** True when `pid` owns a description or has descriptors to inherit (its exit must release them). */
  holds(pid: number): boolean {
    if (this.inherit.has(pid)) return true;
    for (const d of this.descs.values()) if (d.owner === pid) return true;
    return false;
  }

  /** Drops every description owned by `pid` (a process that exited), and what it was to inherit. */
  release(pid: number): void {
    for (const d of [...this.descs.values()]) if (d.owner === pid) this.closeDesc(d);
    for (const x of this.inherit.get(pid) ?? []) this.dropRef(x.f.obj, x.f.side, x.f.mode);
    this.inherit.delete(pid);
  }

  /** Takes a reference for a child's inherited descriptor (called by the host's spawn helper). */
  inheritFrom(parent: Process, cap: CapHandle): InFlight | undefined {
    let c;
    try {
      c = parent.inspect(cap);
    } catch {
      return undefined;
    }
    const d = this.descs.get(c.resource);
    if (!d) return undefined;
    this.addRef(d.obj, d.side, d.mode);
    return { obj: d.obj, side: d.side, mode: d.mode, file: d.file };
  }

  #settle(): void {
    if (this.dirty.size === 0) return;
    for (let round = 0; this.dirty.size > 0 && round < 64; round++) {
      const objs = [...this.dirty];
      this.dirty.clear();
      for (const o of objs) {
        if (o instanceof MqObj) this.#mq.pump(o);
        else {
          for (const c of chansOf(o)) {
            let again = true;
            for (let i = 0; again && i < 1_000_000; i++) again = this.#chans.pump(c);
          }
        }
      }
      this.dirty.clear();
    }
    this.#polls.again();
  }
}
