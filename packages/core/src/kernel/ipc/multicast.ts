import type { MessageBuffer } from '../../contracts/message.js';
import { Overflow, R, RS, RST, SB } from '../records/layout.js';
import type { RingTable, SubscriberTable } from '../records/tables.js';
import { Push, type AsyncRings, type Outgoing } from './async.js';
import { INFO_HEAVY } from './ring-slot.js';

/** A subscription read found nothing new. */
export const EMPTY = -1;

/** A subscription read without the lock found a message with capabilities (it is left for a read under the lock, which mints them). */
export const NEEDS_LOCK = -2;

/**
 * The lock-free data path of topics: one ring of slots, written once per message, and a
 * cursor per subscriber (no copy per subscriber). A publisher claims a position (a fetch-and-add
 * on the head for a lossy topic; a CAS gated by the slowest subscriber for a blocking one),
 * writes the slot and publishes it by storing `pos + 1` in the slot's sequence word — a
 * seqlock: a subscriber copies the slot, then checks the sequence again, so a slot overwritten
 * under it is noticed, never delivered torn. Waking subscribers is one bump of the topic's
 * notification word and one `Atomics.notify` for all of them, and only when one waits.
 */
export class Multicast {
  readonly #i32: Int32Array;
  readonly #rings: AsyncRings;
  readonly #t: RingTable;
  readonly #subs: SubscriberTable;

  constructor(i32: Int32Array, rings: AsyncRings, subs: SubscriberTable) {
    this.#i32 = i32;
    this.#rings = rings;
    this.#t = rings.t;
    this.#subs = subs;
  }

  /** Publishes `m` on topic ring `r`. Returns {@link Push.OK}, or {@link Push.FULL} when a blocking topic's slowest subscriber is a ring behind. */
  publish(r: number, m: Outgoing, senderPid: number): number {
    const i32 = this.#i32;
    const t = this.#t;
    const cap = t.get(r, R.CAP);
    const mask = cap - 1;
    let pos: number;
    let retries = 0;
    if (t.get(r, R.POLICY) !== Overflow.BLOCK) pos = Atomics.add(i32, t.word(r, R.HEAD), 1);
    else {
      for (;;) {
        pos = Atomics.load(i32, t.word(r, R.HEAD));
        if (((pos - Atomics.load(i32, t.word(r, R.GATE))) | 0) >= cap) {
          // The cached gate says full: look at the subscribers' cursors themselves.
          const gate = this.minCursor(r, pos);
          Atomics.store(i32, t.word(r, R.GATE), gate);
          if (((pos - gate) | 0) >= cap) {
            Atomics.add(i32, t.stat(r, RST.FULL), 1);
            if (retries) Atomics.add(i32, t.stat(r, RST.RETRIES), retries);
            return Push.FULL;
          }
        }
        if (Atomics.compareExchange(i32, t.word(r, R.HEAD), pos, (pos + 1) | 0) === pos) break;
        retries++;
      }
    }
    const sl = t.slot(r, pos & mask);
    Atomics.store(i32, t.slotWord(sl, RS.SEQ), 0);
    this.#rings.slots.write(sl, m, senderPid);
    Atomics.store(i32, t.slotWord(sl, RS.SEQ), (pos + 1) | 0);
    this.#rings.count(r, 1, m.size, retries);
    this.#rings.published(r);
    return Push.OK;
  }

  /** The least cursor of topic `r`'s subscribers, relative to `pos` (`pos` itself when there are none). */
  minCursor(r: number, pos: number): number {
    const i32 = this.#i32;
    const t = this.#t;
    let min = pos;
    for (let i = 0; i < R.MAX_SUBS; i++) {
      const s = Atomics.load(i32, t.word(r, R.SUBS + i));
      if (s === 0) continue;
      const c = Atomics.load(i32, this.#subs.word(s - 1, SB.CURSOR));
      if (((c - min) | 0) < 0) min = c;
    }
    return min;
  }

  /**
   * Reads the next message of subscriber `s` (of topic ring `r`) into `buf`. Returns the number
   * of messages it missed before this one (0 normally; a lossy topic overwrote them), or
   * {@link EMPTY}. Snapshots of capabilities land in `caps`; without `caps` (a read outside the
   * kernel lock) a message that carries capabilities is not read: {@link NEEDS_LOCK}.
   */
  receive(r: number, s: number, buf: MessageBuffer, caps?: Int32Array): number {
    const i32 = this.#i32;
    const t = this.#t;
    const cap = t.get(r, R.CAP);
    const mask = cap - 1;
    const subs = this.#subs;
    let missed = 0;
    for (;;) {
      const cursor = subs.get(s, SB.CURSOR);
      const sl = t.slot(r, cursor & mask);
      const seq = Atomics.load(i32, t.slotWord(sl, RS.SEQ));
      if (seq === ((cursor + 1) | 0)) {
        // A torn read of the info word only sends the caller to the locked read, which re-reads.
        if (caps === undefined && (t.getSlot(sl, RS.INFO) & INFO_HEAVY) !== 0) return NEEDS_LOCK;
        this.#rings.slots.read(sl, buf, caps);
        if (Atomics.load(i32, t.slotWord(sl, RS.SEQ)) === seq) {
          Atomics.store(i32, subs.word(s, SB.CURSOR), (cursor + 1) | 0);
          const total = missed + subs.get(s, SB.PENDING);
          if (total) {
            subs.set(s, SB.PENDING, 0);
            subs.set(s, SB.MISSED, (subs.get(s, SB.MISSED) + total) | 0);
          }
          if (t.get(r, R.POLICY) === Overflow.BLOCK) this.#rings.freed(r);
          return total;
        }
      }
      const head = Atomics.load(i32, t.word(r, R.HEAD));
      const behind = (head - cursor) | 0;
      if (behind <= cap) {
        // Nothing new (or its publisher is still writing it): the count waits for the next message.
        if (missed) subs.set(s, SB.PENDING, (subs.get(s, SB.PENDING) + missed) | 0);
        return EMPTY;
      }
      // Lapped: the oldest message still in the ring is at head - cap.
      missed += behind - cap;
      Atomics.store(i32, subs.word(s, SB.CURSOR), (head - cap) | 0);
      Atomics.add(i32, t.word(r, R.DROPS), behind - cap);
    }
  }
}
