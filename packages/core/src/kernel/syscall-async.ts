import { IpcError } from '../contracts/errors.js';
import { Rights } from '../contracts/rights.js';
import type { KernelContext } from './context.js';
import { H, M, ObsFlag, Overflow, R, RingKind, RST, S, SB } from './records/layout.js';
import { Rings, type RingSpec } from './objects/ring.js';
import { Push, type Outgoing } from './ipc/async.js';
import { bytesOf } from './ipc/ring-slot.js';

/** Counters of one async channel or topic (u32, they wrap). */
export interface RingStats {
  /** Registry id of the ring (generation × 65536 + index). */
  readonly id: number;
  readonly kind: 'channel' | 'topic';
  /** Messages sent or published. */
  readonly messages: number;
  /** Payload bytes sent or published. */
  readonly bytes: number;
  /** Messages dropped by the overflow policy (channels), or missed by lapped subscribers (lossy topics). */
  readonly drops: number;
  /** Times a sender found the ring full. */
  readonly fullEvents: number;
  /** Compare-and-swap retries (contention between CPUs). */
  readonly casRetries: number;
  /** Messages in the ring now (channels). */
  readonly queued: number;
  readonly capacity: number;
  readonly closed: boolean;
  /** Topics: subscribers now. */
  readonly subscribers: number;
}

/**
 * The kernel entries of async channels and topics: create, close, subscribe, unsubscribe, and
 * the capability snapshot and mint of the messages that carry capabilities. Each takes the big
 * kernel lock once, checks (may throw, writes nothing), then commits. Sends and receives
 * themselves never come here (ipc/async.ts, ipc/multicast.ts).
 */
export class AsyncSyscalls {
  readonly #k: KernelContext;

  constructor(k: KernelContext) {
    this.#k = k;
  }

  #locked<T>(p: number, pid: number, fn: () => T): T {
    const k = this.#k;
    k.lock();
    try {
      k.processes.checkCaller(p, pid);
      return fn();
    } finally {
      k.unlock();
    }
  }

  /** Creates a channel or topic ring owned by `p`; returns a handle with every right. */
  create(p: number, pid: number, spec: RingSpec): number {
    return this.#locked(p, pid, () => {
      this.#k.rings.checkCreate(p, spec);
      return this.#k.rings.create(p, spec);
    });
  }

  /**
   * Resolves `handle` (a channel or topic capability of `p` with `rights`): returns the ring
   * index and writes the slot reference, its tag and the generation into `out[0..2]` (the
   * cache the lock-free path checks against).
   */
  resolve(p: number, pid: number, handle: number, kind: number, rights: number, out: Int32Array): number {
    return this.#locked(p, pid, () => {
      const k = this.#k;
      const r = k.rings.resolve(p, handle, Rings.objectKind(kind), rights);
      const s = k.rings.lastSlot;
      out[0] = s;
      out[1] = k.slots.get(s, S.TAG);
      out[2] = k.slots.gen(s) | 0;
      return r;
    });
  }

  /** Closes the ring behind `handle` (any right on it): receivers drain, then see `ChannelClosed`. */
  close(p: number, pid: number, handle: number, kind: number): void {
    this.#locked(p, pid, () => {
      const k = this.#k;
      k.rings.close(k.rings.resolve(p, handle, Rings.objectKind(kind), Rights.NONE));
    });
  }

  /** Subscribes `p` to the topic behind `handle` (needs RECEIVE); returns the subscriber record and writes its generation to `out[0]`. */
  subscribe(p: number, pid: number, handle: number, out: Int32Array): number {
    return this.#locked(p, pid, () => {
      const k = this.#k;
      const r = k.rings.resolve(p, handle, Rings.objectKind(RingKind.TOPIC), Rights.RECEIVE);
      if (k.rings.t.get(r, R.CLOSED) !== 0) throw new IpcError('ChannelClosed', 'topic closed');
      k.topics.checkSubscribe(r);
      const s = k.topics.subscribe(p, r);
      out[0] = k.topics.subs.gen(s) | 0;
      return s;
    });
  }

  /** Ends subscription `s` of `p` (generation `gen`); a subscription already ended is left alone. */
  unsubscribe(p: number, pid: number, s: number, gen: number): void {
    this.#locked(p, pid, () => {
      const k = this.#k;
      if (k.topics.live(s, gen) && k.topics.subs.get(s, SB.OWNER) === p) k.topics.unsubscribe(s);
    });
  }

  /** Snapshots the capabilities `handles` of `p` for a message (live, with SHARE) into `out`. Writes nothing else. */
  snapshotCaps(p: number, pid: number, handles: Uint32Array, n: number, out: Int32Array): void {
    this.#locked(p, pid, () => {
      for (let i = 0; i < n; i++) this.#k.messages.snapshotCap(p, handles[i]!, out, i * M.CAP_WORDS);
    });
  }

  /**
   * Lock held by the caller ({@link AsyncSyscalls.withRoom}): mints `n` snapshots into `p`'s
   * space, writing the handles to `handles`.
   */
  mint(p: number, snaps: Int32Array, n: number, handles: Uint32Array): void {
    for (let i = 0; i < n; i++) handles[i] = this.#k.messages.mint(p, snaps, i * M.CAP_WORDS);
  }

  /**
   * Runs `take` under the lock once `p` has room for four capabilities (`OutOfMemory` before
   * anything is taken otherwise), so a message carrying capabilities is taken and minted as one
   * step.
   */
  withRoom<T>(p: number, pid: number, take: () => T): T {
    return this.#locked(p, pid, () => {
      if (this.#k.caps.freeSlots(p) < 4) throw new IpcError('OutOfMemory', "receiver's capability space has no room for a message's capabilities");
      return take();
    });
  }

  /**
   * Pushes `m` into the channel behind `handle` (needs SEND) under the kernel lock: a message
   * with a buffer (checked, staged, pushed, and carried — or, when the ring does not take it,
   * undone — as one step), or one whose push must discard a message holding a buffer. Returns
   * a {@link Push} result (never `LOCKED`).
   */
  pushLocked(p: number, pid: number, handle: number, m: Outgoing): number {
    return this.#locked(p, pid, () => {
      const k = this.#k;
      const r = this.#openForSend(p, handle, RingKind.CHANNEL);
      return this.#policed(p, pid, r, m, () => (m.buffer === null ? k.async.push(r, m, pid, true) : this.#pushBuffer(p, pid, r, m)));
    });
  }

  /**
   * Publishes `m` to the topic behind `handle` (needs SEND) under the kernel lock: the path of a
   * topic with a security policy. Returns a {@link Push} result.
   */
  publishLocked(p: number, pid: number, handle: number, m: Outgoing): number {
    return this.#locked(p, pid, () => {
      const k = this.#k;
      const r = this.#openForSend(p, handle, RingKind.TOPIC);
      return this.#policed(p, pid, r, m, () => k.multicast.publish(r, m, pid));
    });
  }

  /** The ring of `kind` behind `handle` of `p`, with SEND and open (`ChannelClosed` once closed). Lock held. */
  #openForSend(p: number, handle: number, kind: number): number {
    const k = this.#k;
    const r = k.rings.resolve(p, handle, Rings.objectKind(kind), Rights.SEND);
    if (k.rings.t.get(r, R.CLOSED) !== 0) throw new IpcError('ChannelClosed', kind === RingKind.TOPIC ? 'topic closed' : 'channel closed');
    return r;
  }

  /**
   * Runs `push` under ring `r`'s security policy, if it has one: the filter and the rate limit
   * are checked first (`Filtered`, `RateLimited`: nothing sent), the sender's bucket is debited
   * only when the message entered the ring. Lock held.
   */
  #policed(p: number, pid: number, r: number, m: Outgoing, push: () => number): number {
    const k = this.#k;
    if ((Atomics.load(k.i32, H.OBS_FLAGS) & ObsFlag.POLICY) === 0) return push();
    k.policies.check(p, pid, k.policies.ringKey(r), m.type, bytesOf(m), k.obs.now());
    let res: number = Push.FULL;
    try {
      res = push();
    } finally {
      if (res === Push.OK) k.policies.commit();
      else k.policies.cancel();
    }
    return res;
  }

  /** A message with a buffer: checked, staged, pushed, and carried — or undone when the ring does not take it. Lock held. */
  #pushBuffer(p: number, pid: number, r: number, m: Outgoing): number {
    const k = this.#k;
    const b = k.asyncBuffers;
    const buffer = m.buffer!;
    const mode = b.check(p, buffer, m.transfer);
    // A full ring that will not make room refuses before anything is staged (a blocked sender
    // retries this in a loop: no page-table work each time).
    const policy = k.rings.t.get(r, R.POLICY);
    if ((policy === Overflow.REJECT || policy === Overflow.BLOCK) && !k.async.hasRoom(r)) {
      Atomics.add(k.i32, k.rings.t.stat(r, RST.FULL), 1);
      return Push.FULL;
    }
    const f = b.stage(p, buffer, mode);
    m.desc = f;
    let res: number = Push.FULL;
    try {
      res = k.async.push(r, m, pid, true);
    } finally {
      m.desc = 0;
      if (res === Push.OK) {
        b.carry(p, f);
        // Receivers of this ring go straight to the locked take (the slot itself also says so).
        Atomics.store(k.i32, k.rings.t.word(r, R.HAS_CAPS), 1);
      } else b.cancel(p, f);
    }
    return res;
  }

  /** Counters of ring `r`. */
  stats(r: number): RingStats {
    const t = this.#k.rings.t;
    const u = (f: number) => t.get(r, f) >>> 0;
    const kind = t.get(r, R.KIND) === RingKind.TOPIC ? 'topic' : 'channel';
    return {
      id: t.getU(r, R.GEN) * 0x10000 + r,
      kind,
      messages: u(R.MSGS),
      bytes: u(R.BYTES),
      drops: u(R.DROPS),
      fullEvents: this.#k.i32[t.stat(r, RST.FULL)]! >>> 0,
      casRetries: this.#k.i32[t.stat(r, RST.RETRIES)]! >>> 0,
      queued: kind === 'channel' ? (t.get(r, R.HEAD) - t.get(r, R.TAIL)) >>> 0 : 0,
      capacity: t.get(r, R.CAP),
      closed: t.get(r, R.CLOSED) !== 0,
      subscribers: kind === 'topic' ? t.get(r, R.NSUBS) : 0,
    };
  }

  /** Counters of every open ring. */
  allStats(): RingStats[] {
    const t = this.#k.rings.t;
    const out: RingStats[] = [];
    for (let r = 0; r < t.count; r++) if (t.registry(r) !== 0) out.push(this.stats(r));
    return out;
  }
}
