import type { CapHandle } from '../contracts/capability.js';
import { IpcError } from '../contracts/errors.js';
import { createMessageBuffer, type MessageBuffer, type SmallMessage } from '../contracts/message.js';
import { Rights } from '../contracts/rights.js';
import { checkInt, checkMessageBuffer, checkOptions, rejected } from './args.js';
import { RingHandle, type AsyncOwner, type AsyncWaitOptions } from './async-handle.js';
import { Outgoing, Push, Take } from './ipc/async.js';
import { AsyncKind } from './debug/async-events.js';
import { H, M, Overflow, R, RingKind } from './records/layout.js';
import type { RingStats } from './syscall-async.js';

/** What an async channel does with a message sent while it is full. */
export type OverflowPolicy = 'reject' | 'drop-oldest' | 'drop-newest' | 'block';

/** Options of {@link Process.createChannel} (the VeridianOS `ChannelType.Asynchronous { bufferSize, overflowPolicy }`). */
export interface ChannelOptions {
  /** `'async'`: a lock-free ring of fixed slots. */
  type: 'async';
  /** Slots: a power of two up to `KernelOptions.ringSlots` (default 64). */
  bufferSize?: number;
  /**
   * When full: `'reject'` (default: `sendAsync` rejects with `ChannelFull`), `'drop-oldest'`
   * (the oldest queued message is discarded), `'drop-newest'` (the new message is discarded),
   * `'block'` (the sender waits for space).
   */
  overflow?: OverflowPolicy;
}

const POLICIES: Readonly<Record<OverflowPolicy, number>> = { reject: Overflow.REJECT, 'drop-oldest': Overflow.DROP_OLDEST, 'drop-newest': Overflow.DROP_NEWEST, block: Overflow.BLOCK };

/** Checks a ring size: a power of two in [1, max]. */
export function checkBufferSize(v: unknown, max: number): number {
  const n = v === undefined ? Math.min(64, max) : checkInt(v, 'bufferSize', 1, max);
  if ((n & (n - 1)) !== 0) throw new IpcError('InvalidArgument', `bufferSize must be a power of two, got ${n}`);
  return n;
}

/** Checks {@link ChannelOptions}; returns the ring spec. @internal */
export function channelSpec(options: unknown, maxSlots: number): { kind: number; capacity: number; policy: number } {
  const o = checkOptions<ChannelOptions>(options, 'channel options');
  if (o.type !== 'async') throw new IpcError('InvalidArgument', `channel type must be 'async', got ${String(o.type)}`);
  const overflow = o.overflow ?? 'reject';
  if (typeof overflow !== 'string' || !Object.hasOwn(POLICIES, overflow)) throw new IpcError('InvalidArgument', `overflow must be one of ${Object.keys(POLICIES).join(', ')}, got ${String(overflow)}`);
  return { kind: RingKind.CHANNEL, capacity: checkBufferSize(o.bufferSize, maxSlots), policy: POLICIES[overflow] };
}

/**
 * An asynchronous channel: a bounded lock-free ring of fixed slots in machine memory, safe for
 * any number of producers and consumers on any CPUs. Sending and receiving never take the
 * kernel lock (only a message carrying capabilities does, to check and mint them); they check
 * the capability on every call, so a revoked or closed channel is seen by the next operation.
 * Messages are small (≤ 64 bytes, ≤ 4 capabilities). Received messages land in a buffer the
 * channel reuses: read it before the next receive.
 *
 * @example
 * ```ts
 * kernel.spawn({ name: 'stream' }, async (proc) => {
 *   const ch = proc.channel(proc.createChannel({ type: 'async', bufferSize: 256, overflow: 'block' }));
 *   await ch.sendAsync({ type: 1, data: new TextEncoder().encode('tick') });
 *   ch.close();
 *   for await (const m of ch) console.log(m.type, m.bytes.subarray(0, m.length));
 * });
 * ```
 */
export class AsyncChannel extends RingHandle implements AsyncIterable<MessageBuffer> {
  readonly #buf: MessageBuffer = createMessageBuffer();
  readonly #snaps = new Int32Array(4 * M.CAP_WORDS);
  readonly #batch: Outgoing[] = [];
  readonly #policy: number;
  readonly #i32: Int32Array;
  readonly #tryReceive = (): MessageBuffer | undefined => (this.#take(this.#buf) ? this.#buf : undefined);
  /** Spin probe of a blocked receive: a message at the tail (loads only). */
  readonly #ready = (): boolean => this.o.k.async.ready(this.r);
  /**
   * Spin probe of a blocked send: room for an eighth of the ring. A sender that took each slot
   * the moment the consumer freed it would run the ring in lockstep with the consumer, both
   * CPUs trading the same slot's cache lines for every message; waiting (a bounded spin) for
   * a run of free slots lets each side work on lines the other has left. After the spin the
   * sender takes whatever room there is, so nothing waits on it.
   */
  readonly #roomy = (): boolean => this.o.k.async.room(this.r) >= this.#runRoom;
  readonly #runRoom: number;

  /** @internal use {@link Process.channel} */
  constructor(o: AsyncOwner, handle: CapHandle) {
    super(o, handle, RingKind.CHANNEL);
    this.#policy = o.k.rings.t.get(this.r, R.POLICY);
    this.#runRoom = Math.max(1, o.k.rings.t.get(this.r, R.CAP) >> 3);
    this.#i32 = o.k.i32;
  }

  /**
   * Sends without ever blocking: true when the message is in the ring (under `drop-oldest`,
   * after discarding the oldest), false when it was not taken (full under `reject` or `block`,
   * or discarded under `drop-newest`). Throws `ChannelClosed`, `PermissionDenied`, … .
   */
  trySend(message: SmallMessage): boolean {
    return this.#push(this.outgoing(message, undefined, true)) === Push.OK;
  }

  /**
   * Pushes `m` under the ring's policy; returns a {@link Push} result (never `LOCKED`). Lock-free,
   * but for a message with a buffer, or one whose push must discard a message holding one: those
   * go through the kernel lock (`AsyncSyscalls.pushLocked`).
   */
  #push(m: Outgoing): number {
    const flags = this.#i32[H.OBS_FLAGS]!;
    if (flags === 0) return this.#push0(m, false);
    const k = this.o.k;
    // A channel with a security policy sends under the lock (its bucket is kernel state).
    const policed = this.policed(flags);
    const ev = k.asyncEvents;
    if (!ev.on) return this.#push0(m, policed);
    ev.stamp(m, true);
    let res: number;
    try {
      res = this.#push0(m, policed);
    } catch (e) {
      ev.sent(AsyncKind.SEND, this.o.pid, this.r, m, e);
      throw e;
    }
    // A send that waits for room is one event, when it completes.
    if (res !== Push.FULL || this.#policy !== Overflow.BLOCK) ev.sent(AsyncKind.SEND, this.o.pid, this.r, m, res === Push.OK ? undefined : FULL);
    return res;
  }

  #push0(m: Outgoing, policed: boolean): number {
    const { o } = this;
    if (m.buffer === null && !policed) {
      const a = o.k.async;
      let res: number;
      a.enter();
      try {
        this.check(Rights.SEND);
        if (a.closed(this.r)) throw new IpcError('ChannelClosed', 'channel closed');
        res = a.push(this.r, m, o.pid);
      } finally {
        a.leave();
      }
      if (res !== Push.LOCKED) return res;
    }
    return o.sys.pushLocked(o.p, o.pid, this.handle, m);
  }

  /**
   * Sends a message. Resolves at once when it is in the ring (or the policy dropped a message);
   * when full, `reject` rejects with `ChannelFull` and `block` waits for space (`timeout`,
   * `signal`). Allocates nothing when it does not wait.
   */
  sendAsync(message: SmallMessage, options?: AsyncWaitOptions): Promise<void> {
    try {
      if (this.#sendNow(message)) return RESOLVED;
    } catch (e) {
      return rejected(e);
    }
    return this.waitAsync(R.SPACE, R.SPACE_WAITERS, R.SPACE_PARKED, () => (this.#sendNow(message) ? true : undefined), options).then(NOTHING, (e: unknown) => this.gaveUp(AsyncKind.SEND, message, e));
  }

  /** Worker CPUs: {@link AsyncChannel.sendAsync} that blocks the thread instead (spin, then park). */
  sendSync(message: SmallMessage, options?: AsyncWaitOptions): void {
    this.requireSync();
    if (this.#sendNow(message)) return;
    try {
      this.waitSync(R.SPACE, R.SPACE_WAITERS, R.SPACE_PARKED, () => (this.#sendNow(message) ? true : undefined), options, this.#roomy);
    } catch (e) {
      this.gaveUp(AsyncKind.SEND, message, e);
    }
  }

  /** True when sent (or dropped by the policy); false when a `block` ring is full; throws `ChannelFull` for `reject`. */
  #sendNow(message: SmallMessage): boolean {
    if (this.#push(this.outgoing(message, undefined, true)) !== Push.FULL) return true;
    if (this.#policy === Overflow.REJECT) throw new IpcError('ChannelFull', 'async channel full');
    return false;
  }

  /**
   * Sends `messages` in order with as few claims of the ring as their number allows (one per
   * run of free slots); never blocks. Returns how many are in the ring: all of them unless it
   * filled up (the rest were not taken — or, under `drop-newest`, were discarded). A message
   * refused by the channel's security policy ends the batch too; its error (`RateLimited`,
   * `Filtered`) is thrown when it is the first.
   */
  sendBatch(messages: readonly SmallMessage[]): number {
    if (!Array.isArray(messages)) throw new IpcError('InvalidArgument', 'messages must be an array');
    const batch = this.#batch;
    while (batch.length < messages.length && batch.length < 1024) batch.push(new Outgoing());
    let sent = 0;
    const a = this.o.k.async;
    if (this.o.k.i32[H.OBS_FLAGS] !== 0) {
      // Observed or policed: one message (one event, one policy check) at a time. A refusal
      // after the first message ends the batch; on the first it is thrown.
      try {
        while (sent < messages.length && this.#push(this.outgoing(messages[sent], batch[0], true)) === Push.OK) sent++;
      } catch (e) {
        if (sent === 0) throw e;
      }
      return sent;
    }
    for (let from = 0; from < messages.length; ) {
      const run = Math.min(batch.length, messages.length - from);
      // A run of messages without buffers goes lock-free; a message with one goes on its own.
      let n = 0;
      while (n < run && this.outgoing(messages[from + n], batch[n]!, true).buffer === null) n++;
      let pushed = 0;
      let res: number = Push.OK;
      a.enter();
      try {
        this.check(Rights.SEND);
        if (a.closed(this.r)) throw new IpcError('ChannelClosed', 'channel closed');
        while (pushed < n) {
          const k = this.o.k.asyncBatch.push(this.r, batch, pushed, n - pushed, this.o.pid);
          if (k > 0) {
            pushed += k;
            continue;
          }
          // Full: the policy decides, one message at a time.
          res = a.push(this.r, batch[pushed]!, this.o.pid);
          if (res !== Push.OK) break;
          pushed++;
        }
      } finally {
        a.leave();
      }
      sent += pushed;
      from += pushed;
      if (res === Push.LOCKED) {
        // Room needs a message with a buffer discarded: under the lock (outside the ring epoch).
        if (this.#push(batch[pushed]!) !== Push.OK) break;
        sent++;
        from++;
        continue;
      }
      if (pushed < n) break;
      if (n < run) {
        if (this.#push(batch[n]!) !== Push.OK) break;
        sent++;
        from++;
      }
    }
    return sent;
  }

  /** Receives without blocking: the channel's reused buffer, or `null` when empty. Throws `ChannelClosed` once closed and drained. */
  tryReceive(): MessageBuffer | null {
    return this.#take(this.#buf) ? this.#buf : null;
  }

  /**
   * Receives into each buffer of `out` in turn until the ring is empty; returns how many were
   * filled (0 when empty). Throws `ChannelClosed` only when closed, drained, and nothing was
   * taken.
   */
  receiveBatch(out: MessageBuffer[]): number {
    if (!Array.isArray(out)) throw new IpcError('InvalidArgument', 'out must be an array of message buffers');
    for (let i = 0; i < out.length; i++) checkMessageBuffer(out[i], 'out', i);
    let n = 0;
    // Plain messages, nobody observing: one ring epoch and one capability check for the run.
    if (this.#i32[H.OBS_FLAGS] === 0 && !this.hasCaps) n = this.#takeRun(out);
    try {
      while (n < out.length && this.#take(out[n]!)) n++;
    } catch (e) {
      if (n === 0) throw e;
    }
    return n;
  }

  /**
   * Takes messages into `out` from the front while they are plain (no capabilities, no buffer),
   * inside one ring epoch after one capability check; returns how many. Stops at the first
   * message that needs the lock, or when the ring is empty: the caller's per-message path
   * decides what happens next (a locked take, `ChannelClosed`).
   */
  #takeRun(out: MessageBuffer[]): number {
    const a = this.o.k.async;
    let n = 0;
    a.enter();
    try {
      this.check(Rights.RECEIVE);
      n = this.o.k.asyncBatch.take(this.r, out, 0, out.length);
    } finally {
      a.leave();
    }
    return n;
  }

  /** Waits for the next message (`timeout`, `signal`); woken across CPUs. Rejects with `ChannelClosed` once closed and drained. */
  receiveAsync(options?: AsyncWaitOptions): Promise<MessageBuffer> {
    return this.waitAsync(R.NOTIFY, R.WAITERS, R.PARKED, this.#tryReceive, options);
  }

  /** Worker CPUs: {@link AsyncChannel.receiveAsync} that blocks the thread (adaptive spin, then futex park). */
  receiveSync(options?: AsyncWaitOptions): MessageBuffer {
    return this.waitSync(R.NOTIFY, R.WAITERS, R.PARKED, this.#tryReceive, options, this.#ready);
  }

  /** `for await (const m of channel)`: every message until the channel is closed and drained. */
  [Symbol.asyncIterator](): AsyncIterator<MessageBuffer> {
    return this.iterate(() => this.receiveAsync());
  }

  /** Closes the channel (any capability to it): sends fail with `ChannelClosed`; receivers drain what was sent, then see `ChannelClosed`. */
  close(): void {
    this.o.sys.close(this.o.p, this.o.pid, this.handle, RingKind.CHANNEL);
  }

  /** The channel's counters (messages, bytes, drops, full events, CAS retries). */
  stats(): RingStats {
    return this.o.sys.stats(this.r);
  }

  /** Takes one message into `buf`: true if one was taken; throws once closed and drained. */
  #take(buf: MessageBuffer): boolean {
    if (this.#i32[H.OBS_FLAGS] === 0) return this.#take0(buf);
    const ev = this.o.k.asyncEvents;
    if (!ev.on) return this.#take0(buf);
    let taken: boolean;
    try {
      taken = this.#take0(buf);
    } catch (e) {
      ev.refused(AsyncKind.RECEIVE, this.o.pid, this.r, e);
      throw e;
    }
    if (taken) ev.taken(AsyncKind.RECEIVE, this.o.pid, this.r, buf);
    return taken;
  }

  #take0(buf: MessageBuffer): boolean {
    const a = this.o.k.async;
    if (this.hasCaps) return this.#takeWithCaps(buf);
    let taken: number;
    a.enter();
    try {
      this.check(Rights.RECEIVE);
      taken = a.pop(this.r, buf);
      if (taken === Take.EMPTY && a.closed(this.r) && !a.ready(this.r)) throw new IpcError('ChannelClosed', 'channel closed');
    } finally {
      a.leave();
    }
    // A message with capabilities or a buffer (sent before this receiver saw the ring's flag).
    return taken === Take.LOCKED ? this.#takeWithCaps(buf) : taken === Take.OK;
  }

  /** A ring that has carried capabilities: take and mint under the lock, with room checked first. */
  #takeWithCaps(buf: MessageBuffer): boolean {
    const { o } = this;
    const a = o.k.async;
    a.enter();
    try {
      this.check(Rights.RECEIVE);
    } finally {
      a.leave();
    }
    return o.sys.withRoom(o.p, o.pid, () => {
      // The buffer's receiver is checked before the claim: OutOfMemory leaves the message queued.
      if (a.pop(this.r, buf, this.#snaps, true, o.p) === Take.EMPTY) {
        if (a.closed(this.r)) throw new IpcError('ChannelClosed', 'channel closed');
        return false;
      }
      const desc = a.lastDesc;
      a.lastDesc = 0;
      if (desc !== 0) {
        try {
          buf.buffer = o.k.asyncBuffers.deliver(o.p, desc);
        } catch (e) {
          // Not expected after the check; never leak the frames.
          o.k.asyncBuffers.discard(desc);
          throw e;
        }
      }
      o.sys.mint(o.p, this.#snaps, buf.capCount, buf.caps);
      return true;
    });
  }
}

const FULL = new IpcError('ChannelFull', 'async channel full (its overflow policy refused or dropped the message)');

const RESOLVED: Promise<void> = Promise.resolve();
const NOTHING = (): void => undefined;

