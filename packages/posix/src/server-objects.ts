import { Rights, type CapHandle, type Process } from '@veridian/core';
import { SOCK_SEQPACKET } from './constants.js';
import type { ERRNO } from './errno.js';
import { Kind } from './wire.js';

/*
 * The objects the object server (`posixd`) holds: descriptions, pipes and socket pairs (byte
 * channels), message queues, their waiters and timers, and the interface the server's parts
 * share (ServerCore).
 */

/** Access modes of a description (the bits of the rights READ and WRITE; kept in the description, not on the capability). */
export const R = Rights.READ;
export const W = Rights.WRITE;
/** Largest payload a reply carries (a large message) less room for a header. */
export const MAX_CHUNK = (1 << 20) - 4096;

export type Obj = PipeObj | SockObj | MqObj | ShmObj;

/**
 * What POSIX calls the open file description, as far as it is more than a reference to an
 * object: its file status flags (`O_NONBLOCK`). Every server description made from it —
 * `SCM_RIGHTS`, inheritance — shares the one record, so `F_SETFL` through any of them is seen
 * through all ("the same open file description").
 */
export interface OpenFile {
  status: number;
}

export interface Desc {
  id: number;
  handle: CapHandle;
  obj: Obj;
  side: 0 | 1;
  mode: number;
  owner: number;
  file: OpenFile;
}

/** A description in flight (SCM_RIGHTS, inheritance): it holds a reference to its object, and shares its open file description. */
export interface InFlight {
  obj: Obj;
  side: 0 | 1;
  mode: number;
  file: OpenFile;
}

export interface Seg {
  data: Uint8Array;
  off: number;
  fds: InFlight[] | undefined;
}

export interface Timer {
  deadline: number;
  fire(): void;
}

export interface ReadWaiter {
  pid: number;
  count: number;
  peek: boolean;
  msg: boolean;
}

export interface WriteWaiter {
  pid: number;
  data: Uint8Array;
  off: number;
  atomic: boolean;
  fds: InFlight[] | undefined;
}

export class Chan {
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

export class PipeObj {
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

export class SockObj {
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

export interface MqMsg {
  data: Uint8Array;
  prio: number;
}

export interface MqRecvWaiter {
  pid: number;
  timer: Timer | undefined;
}

export interface MqSendWaiter {
  pid: number;
  msg: MqMsg;
  timer: Timer | undefined;
}

export class MqObj {
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

/**
 * A POSIX shared memory object (shm-server.ts): its size and, once sized, the shared region
 * whose capability the server holds. `count` is its references — descriptions, and
 * descriptions in flight (`SCM_RIGHTS`, inheritance); it goes when it has no name and none.
 */
export class ShmObj {
  readonly kind = Kind.SHM;
  count = 0;
  /** The server's capability to the region (none until the first size > 0; then it stays, resized in place). */
  region: CapHandle | undefined = undefined;
  size = 0;
  /** Bumped when the region is made (a client with an older generation asks for it). */
  gen = 1;
  constructor(
    readonly id: number,
    public name: string | undefined,
    readonly mode: number,
  ) {}
  refs(): number {
    return this.count;
  }
}

/** The byte channels of an object (none for a queue or a shared memory object). */
export function chansOf(o: Obj): Chan[] {
  return o instanceof PipeObj ? [o.ch] : o instanceof SockObj ? o.ch : [];
}

export interface Poller {
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

/** What the parts of the object server (pipe-server.ts, mq-server.ts, poll-server.ts) use of its core (server.ts). @internal */
export interface ServerCore {
  readonly proc: Process;
  readonly options: ServerOptions;
  now(): number;
  /** Live descriptions by endpoint id. */
  readonly descs: Map<number, Desc>;
  /** Objects whose waiters may move (settled after each request). */
  readonly dirty: Set<Obj>;
  reply(pid: number, status: number, arg?: number, data?: Uint8Array, caps?: CapHandle[]): boolean;
  ok(pid: number, n: number, arg?: number): boolean;
  fail(pid: number, code: keyof typeof ERRNO): boolean;
  addRef(obj: Obj, side: 0 | 1, mode: number): void;
  releaseAll(fds: InFlight[] | undefined): void;
  newDesc(obj: Obj, side: 0 | 1, mode: number, owner: number, file: OpenFile): { desc: Desc; cap: CapHandle };
  retire(desc: Desc): void;
  closeDesc(desc: Desc): void;
  destroy(obj: Obj): void;
  replyWithDescs(pid: number, fds: InFlight[], arg: number, extra: number[], payload: Uint8Array): boolean;
  timer(deadline: number, fire: () => void): Timer;
  cancel(t: Timer): void;
}

/** An empty payload. */
export const EMPTY = new Uint8Array(0);

/** Kind, access rights and socket type of a description, in one word. */
export function infoWord(d: { obj: Obj; mode: number }): number {
  return d.obj.kind | (d.mode << 8) | ((d.obj instanceof SockObj ? d.obj.type : 0) << 16);
}
