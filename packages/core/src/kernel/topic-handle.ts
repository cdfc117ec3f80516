import type { CapHandle } from '../contracts/capability.js';
import { IpcError } from '../contracts/errors.js';
import { createMessageBuffer, type MessageBuffer, type SmallMessage } from '../contracts/message.js';
import { Rights } from '../contracts/rights.js';
import { checkOptions } from './args.js';
import { checkBufferSize } from './async-channel.js';
import { RingHandle, type AsyncOwner, type AsyncWaitOptions } from './async-handle.js';
import { Push, type Outgoing } from './ipc/async.js';
import { AsyncKind } from './debug/async-events.js';
import { EMPTY, NEEDS_LOCK } from './ipc/multicast.js';
import { H, M, Overflow, R, RingKind } from './records/layout.js';
import type { RingStats } from './syscall-async.js';

/** Options of {@link Process.createTopic}. */
export interface TopicOptions {
  /** Slots of the topic's ring: a power of two up to `KernelOptions.ringSlots` (default 64). */
  bufferSize?: number;
  /**
   * A subscriber that falls a whole ring behind: `'skip'` (default: publishers never wait; the
   * subscriber skips to the oldest message still there and is told how many it missed, see
   * {@link Subscription.missed}) or `'block'` (publishers wait for the slowest subscriber).
   */
  slowSubscriber?: 'skip' | 'block';
}

/** Checks {@link TopicOptions}; returns the ring spec. @internal */
export function topicSpec(options: unknown, maxSlots: number): { kind: number; capacity: number; policy: number } {
  const o = checkOptions<TopicOptions>(options, 'topic options');
  const slow = o.slowSubscriber ?? 'skip';
  if (slow !== 'skip' && slow !== 'block') throw new IpcError('InvalidArgument', `slowSubscriber must be 'skip' or 'block', got ${String(slow)}`);
  return { kind: RingKind.TOPIC, capacity: checkBufferSize(o.bufferSize, maxSlots), policy: slow === 'block' ? Overflow.BLOCK : Overflow.LOSSY };
}

/**
 * A multicast topic: one ring written once per message and a cursor per subscriber, so
 * publishing costs the same with one subscriber or thirty-two and copies nothing per
 * subscriber; waking them is one notification for all. Publishing needs SEND on the topic's
 * capability, subscribing RECEIVE. Publishing never takes the kernel lock.
 *
 * @example
 * ```ts
 * const topic = proc.topic(proc.createTopic({ bufferSize: 128 }));
 * const sub = topic.subscribe();
 * topic.publish({ type: 7, data: new Uint8Array([1, 2, 3]) });
 * const m = await sub.receive(); // type 7; sub.missed === 0
 * ```
 */
export class Topic extends RingHandle {
  /** @internal use {@link Process.topic} */
  constructor(o: AsyncOwner, handle: CapHandle) {
    super(o, handle, RingKind.TOPIC);
  }

  /**
   * Publishes without blocking: true when published; false when a `block` topic's slowest
   * subscriber is a whole ring behind. Throws `ChannelClosed`, `PermissionDenied`, … .
   */
  publish(message: SmallMessage): boolean {
    const m = this.outgoing(message);
    const k = this.o.k;
    const flags = k.i32[H.OBS_FLAGS]!;
    if (flags === 0) return this.#publish(m, false);
    const policed = this.policed(flags);
    const ev = k.asyncEvents;
    if (!ev.on) return this.#publish(m, policed);
    ev.stamp(m, false);
    let ok: boolean;
    try {
      ok = this.#publish(m, policed);
    } catch (e) {
      ev.sent(AsyncKind.PUBLISH, this.o.pid, this.r, m, e);
      throw e;
    }
    // A refused publish is retried by the waiting variants: the one that succeeds is the event.
    if (ok) ev.sent(AsyncKind.PUBLISH, this.o.pid, this.r, m);
    return ok;
  }

  #publish(m: Outgoing, policed: boolean): boolean {
    // A topic with a security policy publishes under the lock (its bucket is kernel state).
    if (policed) return this.o.sys.publishLocked(this.o.p, this.o.pid, this.handle, m) === Push.OK;
    const a = this.o.k.async;
    a.enter();
    try {
      this.check(Rights.SEND);
      if (a.closed(this.r)) throw new IpcError('ChannelClosed', 'topic closed');
      return this.o.k.multicast.publish(this.r, m, this.o.pid) === Push.OK;
    } finally {
      a.leave();
    }
  }

  /** Publishes, waiting for the slowest subscriber of a `block` topic (`timeout`, `signal`). */
  publishAsync(message: SmallMessage, options?: AsyncWaitOptions): Promise<void> {
    return this.waitAsync(R.SPACE, R.SPACE_WAITERS, R.SPACE_PARKED, () => (this.publish(message) ? true : undefined), options).then(
      () => undefined,
      (e: unknown) => this.gaveUp(AsyncKind.PUBLISH, message, e),
    );
  }

  /** Worker CPUs: {@link Topic.publishAsync} that blocks the thread. */
  publishSync(message: SmallMessage, options?: AsyncWaitOptions): void {
    try {
      this.waitSync(R.SPACE, R.SPACE_WAITERS, R.SPACE_PARKED, () => (this.publish(message) ? true : undefined), options);
    } catch (e) {
      this.gaveUp(AsyncKind.PUBLISH, message, e);
    }
  }

  /** Subscribes this process (needs RECEIVE): the subscription sees every message published from now on, in order. It ends with the process. */
  subscribe(): Subscription {
    const out = new Int32Array(1);
    const s = this.o.sys.subscribe(this.o.p, this.o.pid, this.handle, out);
    return new Subscription(this.o, this.r, s, out[0]! >>> 0);
  }

  /** Closes the topic: publishing fails with `ChannelClosed`; subscribers drain, then see `ChannelClosed`. */
  close(): void {
    this.o.sys.close(this.o.p, this.o.pid, this.handle, RingKind.TOPIC);
  }

  /** The topic's counters (messages, bytes, drops = messages missed by lapped subscribers, full events, CAS retries). */
  stats(): RingStats {
    return this.o.sys.stats(this.r);
  }
}

/**
 * One process's subscription to a {@link Topic}: its own cursor into the topic's ring. Received
 * messages land in a buffer the subscription reuses (read it before the next receive).
 */
export class Subscription implements AsyncIterable<MessageBuffer> {
  readonly #o: AsyncOwner;
  readonly #r: number;
  readonly #s: number;
  readonly #gen: number;
  readonly #buf: MessageBuffer = createMessageBuffer();
  readonly #snaps = new Int32Array(4 * M.CAP_WORDS);
  readonly #waiter: SubscriptionWaits;
  #missed = 0;
  #missedTotal = 0;

  /** @internal use {@link Topic.subscribe} */
  constructor(o: AsyncOwner, r: number, s: number, gen: number) {
    this.#o = o;
    this.#r = r;
    this.#s = s;
    this.#gen = gen;
    this.#waiter = new SubscriptionWaits(o, r, () => this.#take());
  }

  /** Messages skipped just before the last message received (a `skip` topic overwrote them); 0 normally. */
  get missed(): number {
    return this.#missed;
  }

  /** Messages skipped over the subscription's life. */
  get missedTotal(): number {
    return this.#missedTotal;
  }

  /** The next message, or `null` when there is none yet. Throws `ChannelClosed` once the topic is closed and drained, or the subscription ended. */
  tryReceive(): MessageBuffer | null {
    return this.#take() ?? null;
  }

  /** Waits for the next message (`timeout`, `signal`). */
  receive(options?: AsyncWaitOptions): Promise<MessageBuffer> {
    return this.#waiter.async(options);
  }

  /** Worker CPUs: {@link Subscription.receive} that blocks the thread. */
  receiveSync(options?: AsyncWaitOptions): MessageBuffer {
    return this.#waiter.sync(options);
  }

  /** `for await (const m of subscription)`: every message until the topic closes or the subscription ends. */
  [Symbol.asyncIterator](): AsyncIterator<MessageBuffer> {
    return this.#waiter.iterator(() => this.receive());
  }

  /** Ends the subscription (idempotent). */
  unsubscribe(): void {
    this.#o.sys.unsubscribe(this.#o.p, this.#o.pid, this.#s, this.#gen);
  }

  #take(): MessageBuffer | undefined {
    const o = this.#o;
    const ev = o.k.asyncEvents;
    if (!ev.on) return this.#take0();
    let got: MessageBuffer | undefined;
    try {
      got = this.#take0();
    } catch (e) {
      ev.refused(AsyncKind.TOPIC_RECEIVE, o.pid, this.#r, e);
      throw e;
    }
    if (got) ev.taken(AsyncKind.TOPIC_RECEIVE, o.pid, this.#r, got);
    return got;
  }

  #take0(): MessageBuffer | undefined {
    const { k } = this.#o;
    const a = k.async;
    // A hint, read plainly: a slot with capabilities is left to the locked read anyway.
    const caps = k.i32[k.rings.t.word(this.#r, R.HAS_CAPS)] !== 0;
    if (caps) return this.#takeWithCaps();
    let got: number;
    a.enter();
    try {
      this.#check();
      got = k.multicast.receive(this.#r, this.#s, this.#buf);
    } finally {
      a.leave();
    }
    // Capabilities published before this subscriber saw the topic's flag: read and mint under the lock.
    return got === NEEDS_LOCK ? this.#takeWithCaps() : this.#got(got);
  }

  #takeWithCaps(): MessageBuffer | undefined {
    const o = this.#o;
    return o.sys.withRoom(o.p, o.pid, () => {
      this.#check();
      const got = this.#got(o.k.multicast.receive(this.#r, this.#s, this.#buf, this.#snaps));
      if (got) o.sys.mint(o.p, this.#snaps, got.capCount, got.caps);
      return got;
    });
  }

  #got(missed: number): MessageBuffer | undefined {
    if (missed === EMPTY) {
      if (this.#o.k.async.closed(this.#r)) throw new IpcError('ChannelClosed', 'topic closed');
      return undefined;
    }
    this.#missed = missed;
    this.#missedTotal += missed;
    return this.#buf;
  }

  /** The subscription is live and its topic open (two reads: the subscriber's generation, the topic's registry word). */
  #check(): void {
    const { k } = this.#o;
    if (!k.topics.live(this.#s, this.#gen) || k.rings.t.registry(this.#r) === 0) throw new IpcError('ChannelClosed', 'subscription ended');
  }
}

/** The waiting machinery of a subscription (the {@link RingHandle} wait helpers over its topic's ring). */
class SubscriptionWaits extends RingHandle {
  readonly #take: () => MessageBuffer | undefined;

  constructor(o: AsyncOwner, r: number, take: () => MessageBuffer | undefined) {
    super(o, undefined, RingKind.TOPIC, r);
    this.#take = take;
  }

  async(options: unknown): Promise<MessageBuffer> {
    return this.waitAsync(R.NOTIFY, R.WAITERS, R.PARKED, this.#take, options);
  }

  sync(options: unknown): MessageBuffer {
    return this.waitSync(R.NOTIFY, R.WAITERS, R.PARKED, this.#take, options);
  }

  iterator(next: () => Promise<MessageBuffer>): AsyncIterator<MessageBuffer> {
    return this.iterate(next);
  }
}
