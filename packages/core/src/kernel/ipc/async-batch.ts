import type { MessageBuffer } from '../../contracts/message.js';
import { H, R, RS, RST } from '../records/layout.js';
import type { RingTable } from '../records/tables.js';
import { type AsyncRings, Take } from './async.js';
import { INFO_HEAVY, type Outgoing, type RingSlots } from './ring-slot.js';

/**
 * The batch operations of asynchronous channels: a run of messages claimed with one
 * compare-and-swap of the head (send) or of the tail (receive), their sequence words stored one
 * by one, and one wake-up check per run instead of one per message — on a ring shared by two
 * CPUs the wake-up check reads a line the peer writes while it waits, so per message it costs a
 * cache-line transfer. Same protocol as {@link AsyncRings.push} and {@link AsyncRings.pop}
 * (Vyukov's sequence words, doubled); lock-free, allocation-free; the caller brackets each call
 * with the ring epoch.
 */
export class AsyncBatch {
  readonly #rings: AsyncRings;
  readonly #i32: Int32Array;
  readonly #slots: RingSlots;
  readonly t: RingTable;

  constructor(rings: AsyncRings, i32: Int32Array) {
    this.#rings = rings;
    this.#i32 = i32;
    this.#slots = rings.slots;
    this.t = rings.t;
  }

  /**
   * Pushes `n` messages of `batch` (from index `from`) with one claim of the head when that
   * many slots are free; fewer when the ring has less room. Returns how many were pushed (all
   * of them, or as many as fit: the policy applies to the rest, by the caller).
   */
  push(r: number, batch: readonly Outgoing[], from: number, n: number, senderPid: number): number {
    if (n <= 0) return 0;
    const i32 = this.#i32;
    const t = this.t;
    const cap = t.get(r, R.CAP);
    const mask = cap - 1;
    let retries = 0;
    const local = i32[H.SHARED] === 0;
    for (;;) {
      const pos = Atomics.load(i32, t.word(r, R.HEAD));
      let k = 0;
      if (local) {
        // One CPU: plain loads and stores (see push).
        while (k < n && k < cap && t.getSlot(t.slot(r, (pos + k) & mask), RS.SEQ) === (pos + k) << 1) k++;
        if (k === 0) return 0;
        t.set(r, R.HEAD, (pos + k) | 0);
        let bytes = 0;
        for (let j = 0; j < k; j++) {
          const m = batch[from + j]!;
          const sl = t.slot(r, (pos + j) & mask);
          this.#slots.write(sl, m, senderPid);
          bytes += m.size;
          t.setSlot(sl, RS.SEQ, ((pos + j) << 1) | 1);
        }
        this.#rings.count(r, k, bytes, 0);
        if (t.get(r, R.WAITERS) !== 0) this.#rings.published(r);
        return k;
      }
      // Slots free for positions pos, pos+1, …: their sequence equals their position. The first
      // one's sequence, read once, also says why there are none: full (behind), or the head
      // moved on under us (ahead: another producer claimed it — a retry).
      const dif = (Atomics.load(i32, t.slotWord(t.slot(r, pos & mask), RS.SEQ)) - (pos << 1)) | 0;
      if (dif !== 0) {
        if (dif < 0) {
          if (retries) Atomics.add(i32, t.stat(r, RST.RETRIES), retries);
          return 0;
        }
        retries++;
        continue;
      }
      k = 1;
      while (k < n && k < cap && Atomics.load(i32, t.slotWord(t.slot(r, (pos + k) & mask), RS.SEQ)) === (pos + k) << 1) k++;
      if (Atomics.compareExchange(i32, t.word(r, R.HEAD), pos, (pos + k) | 0) !== pos) {
        retries++;
        continue;
      }
      let bytes = 0;
      for (let j = 0; j < k; j++) {
        const m = batch[from + j]!;
        this.#slots.write(t.slot(r, (pos + j) & mask), m, senderPid);
        bytes += m.size;
      }
      // Published after all of them are written: each sequence store is a full barrier that
      // waits for the writes before it to reach the other CPU's cache, so storing one per slot
      // as it is written pays each slot's cache misses one after another; written first, the
      // misses overlap. The slots are ours (claimed), and consumers take them in order anyway.
      for (let j = 0; j < k; j++) Atomics.store(i32, t.slotWord(t.slot(r, (pos + j) & mask), RS.SEQ), ((pos + j) << 1) | 1);
      this.#rings.count(r, k, bytes, retries);
      this.#rings.published(r);
      return k;
    }
  }

  /**
   * Takes up to `n` plain messages (no capabilities, no buffer) from channel ring `r` into
   * `out` (from index `from`) with one claim of the tail; returns how many (0 when the ring is
   * empty or its oldest message needs the kernel lock: the caller's per-message path decides).
   */
  take(r: number, out: readonly MessageBuffer[], from: number, n: number): number {
    const i32 = this.#i32;
    const t = this.t;
    const rings = this.#rings;
    if (i32[H.SHARED] === 0) {
      // One CPU: the per-message take already uses plain loads and stores.
      let k = 0;
      while (k < n && rings.pop(r, out[from + k]!) === Take.OK) k++;
      return k;
    }
    const cap = t.get(r, R.CAP);
    const mask = cap - 1;
    let retries = 0;
    for (;;) {
      const pos = Atomics.load(i32, t.word(r, R.TAIL));
      let k = 0;
      while (k < n && k < cap) {
        const sl = t.slot(r, (pos + k) & mask);
        if (Atomics.load(i32, t.slotWord(sl, RS.SEQ)) !== (((pos + k) << 1) | 1) || (t.getSlot(sl, RS.INFO) & INFO_HEAVY) !== 0) break;
        k++;
      }
      if (k === 0) {
        // Nothing plain at the tail — unless another consumer took it and moved the tail on
        // under us (its slot then reads ahead of this position): look again.
        if (Atomics.load(i32, t.word(r, R.TAIL)) !== pos) {
          retries++;
          continue;
        }
        if (retries) Atomics.add(i32, t.stat(r, RST.RETRIES), retries);
        return 0;
      }
      if (Atomics.compareExchange(i32, t.word(r, R.TAIL), pos, (pos + k) | 0) !== pos) {
        retries++;
        continue;
      }
      // Claimed: the slots' words are ours until their sequences say free.
      for (let j = 0; j < k; j++) this.#slots.read(t.slot(r, (pos + j) & mask), out[from + j]!);
      // Freed after all are read (as a push publishes: one barrier's wait for all the reads' misses).
      for (let j = 0; j < k; j++) Atomics.store(i32, t.slotWord(t.slot(r, (pos + j) & mask), RS.SEQ), (pos + j + cap) << 1);
      if (retries) Atomics.add(i32, t.stat(r, RST.RETRIES), retries);
      rings.freed(r);
      return k;
    }
  }
}
