import type { MessageBuffer } from '../../contracts/message.js';
import type { KernelContext } from '../context.js';
import { CPU_RING_EPOCH, H, Overflow, R, RS, RST } from '../records/layout.js';
import type { RingTable } from '../records/tables.js';
import { wakeAllFutex } from '../sched/futex.js';
import { INFO_BUFFER, INFO_HEAVY, type Outgoing, RingSlots, bytesOf } from './ring-slot.js';

export { Outgoing } from './ring-slot.js';

/** Results of a lock-free push. */
export const Push = {
  /** In the ring. */
  OK: 0,
  /** Full: not taken (reject and block policies). */
  FULL: 1,
  /** Full: the new message was dropped (drop-newest). */
  DROPPED: 2,
  /** Not tried: making room means discarding a message that holds a buffer (retry under the kernel lock). */
  LOCKED: 3,
} as const;

/** Results of a take. */
export const Take = {
  /** Nothing ready. */
  EMPTY: 0,
  /** Taken. */
  OK: 1,
  /** Not taken: the message at the tail carries capabilities or a buffer, which only a take under the kernel lock may claim. */
  LOCKED: 2,
} as const;

/**
 * Sequence words of channel slots are Vyukov's doubled — free for position `pos`: `pos × 2`;
 * holding the message of `pos`: `pos × 2 + 1`; freed for the next lap: `(pos + capacity) × 2`
 * — so that a ring of one slot, where `pos + 1` is both "published" and "free for the next
 * position" in the original scheme, is unambiguous. Arithmetic wraps modulo 2^32.
 *
 * The lock-free data path of asynchronous channels: a bounded multi-producer multi-consumer
 * queue of fixed slots in machine memory (Vyukov's: every slot carries a sequence number;
 * a producer claims position `pos` by a compare-and-swap on the head once the slot's sequence
 * equals `pos`, writes the slot and publishes it by storing `pos + 1`; a consumer claims it by a
 * CAS on the tail once the sequence is `pos + 1`, reads it and frees it by storing
 * `pos + capacity`). No kernel lock is taken; nothing is allocated. Waking a waiting consumer
 * (or a producer blocked on a full ring) costs a load of the waiter count when nobody waits.
 *
 * Each operation is bracketed by this CPU's ring epoch (odd inside) while other CPUs exist, so
 * a released ring record is not reused under an operation still running on it (objects/ring.ts).
 */
export class AsyncRings {
  readonly #k: KernelContext;
  readonly #i32: Int32Array;
  readonly #epoch: number;
  /** The slot codec (shared with the multicast path). */
  readonly slots: RingSlots;
  readonly t: RingTable;

  constructor(k: KernelContext) {
    this.#k = k;
    this.#i32 = k.i32;
    this.#epoch = k.mm.cpuState(k.cpu) + CPU_RING_EPOCH;
    this.t = k.rings.t;
    this.slots = new RingSlots(k.mm, this.t);
  }

  /** Enters a lock-free ring operation (RCU read side). */
  enter(): void {
    if (this.#i32[H.SHARED] !== 0) Atomics.add(this.#i32, this.#epoch, 1);
  }

  /** Leaves it. */
  leave(): void {
    if ((this.#i32[this.#epoch]! & 1) !== 0) Atomics.add(this.#i32, this.#epoch, 1);
  }

  /** True when ring `r` is closed. */
  closed(r: number): boolean {
    return Atomics.load(this.#i32, this.t.word(r, R.CLOSED)) !== 0;
  }

  /**
   * Pushes `m` into channel ring `r` from `senderPid` under the ring's policy (drop-oldest
   * makes room by discarding the oldest message). Returns a {@link Push} result.
   */
  push(r: number, m: Outgoing, senderPid: number, locked = false): number {
    const i32 = this.#i32;
    const t = this.t;
    const cap = t.get(r, R.CAP);
    const mask = cap - 1;
    let retries = 0;
    if (i32[H.SHARED] === 0) {
      // One CPU (one thread; another CPU only starts from this thread, between operations): the
      // same protocol with plain loads and stores.
      const pos = t.get(r, R.HEAD);
      const sl = t.slot(r, pos & mask);
      if (t.getSlot(sl, RS.SEQ) === pos << 1) {
        t.set(r, R.HEAD, (pos + 1) | 0);
        this.slots.write(sl, m, senderPid);
        t.setSlot(sl, RS.SEQ, (pos << 1) | 1);
        this.#count(r, 1, bytesOf(m), 0);
        if (t.get(r, R.WAITERS) !== 0) this.#published(r);
        return Push.OK;
      }
    }
    for (;;) {
      const pos = Atomics.load(i32, t.word(r, R.HEAD));
      const sl = t.slot(r, pos & mask);
      const dif = (Atomics.load(i32, t.slotWord(sl, RS.SEQ)) - (pos << 1)) | 0;
      if (dif === 0) {
        if (Atomics.compareExchange(i32, t.word(r, R.HEAD), pos, (pos + 1) | 0) === pos) {
          this.slots.write(sl, m, senderPid);
          Atomics.store(i32, t.slotWord(sl, RS.SEQ), (pos << 1) | 1);
          this.#count(r, 1, bytesOf(m), retries);
          this.#published(r);
          return Push.OK;
        }
        retries++;
      } else if (dif < 0) {
        // Full.
        Atomics.add(i32, t.stat(r, RST.FULL), 1);
        const policy = t.get(r, R.POLICY);
        if (policy === Overflow.DROP_OLDEST) {
          const taken = this.pop(r, null, undefined, locked);
          if (taken === Take.LOCKED) return Push.LOCKED;
          if (taken === Take.OK) Atomics.add(i32, t.word(r, R.DROPS), 1);
          continue;
        }
        if (retries) Atomics.add(i32, t.stat(r, RST.RETRIES), retries);
        if (policy === Overflow.DROP_NEWEST) {
          Atomics.add(i32, t.word(r, R.DROPS), 1);
          return Push.DROPPED;
        }
        return Push.FULL;
      } else retries++;
    }
  }

  /**
   * Takes the oldest message of channel ring `r` into `buf` (or discards it when `buf` is
   * null). Returns a {@link Take} result. Capability snapshots land in `caps` (the caller mints
   * them). Lock-free; a message carrying capabilities or a buffer is only claimed when `locked`
   * (the caller holds the kernel lock): then a buffer's receiver `dst` is checked before the
   * claim (`OutOfMemory` leaves the message in the ring), its descriptor lands in
   * {@link AsyncRings.lastDesc}, and a discarded one is freed.
   */
  pop(r: number, buf: MessageBuffer | null, caps?: Int32Array, locked = false, dst = -1): number {
    const i32 = this.#i32;
    const t = this.t;
    const cap = t.get(r, R.CAP);
    const mask = cap - 1;
    let retries = 0;
    if (i32[H.SHARED] === 0) {
      // One CPU: plain loads and stores (see push).
      const pos = t.get(r, R.TAIL);
      const sl = t.slot(r, pos & mask);
      if (t.getSlot(sl, RS.SEQ) !== ((pos << 1) | 1)) return Take.EMPTY;
      const desc = (t.getSlot(sl, RS.INFO) & INFO_HEAVY) === 0 ? 0 : this.#claimable(sl, locked, dst);
      if (desc < 0) return Take.LOCKED;
      t.set(r, R.TAIL, (pos + 1) | 0);
      if (buf !== null) this.slots.read(sl, buf, caps);
      if (desc !== 0) this.#took(buf, desc);
      t.setSlot(sl, RS.SEQ, (pos + cap) << 1);
      if (t.get(r, R.SPACE_WAITERS) !== 0) this.#freed(r);
      return Take.OK;
    }
    for (;;) {
      const pos = Atomics.load(i32, t.word(r, R.TAIL));
      const sl = t.slot(r, pos & mask);
      const dif = (Atomics.load(i32, t.slotWord(sl, RS.SEQ)) - ((pos << 1) | 1)) | 0;
      if (dif === 0) {
        // Published: its words are stable until it is claimed (a claim by another CPU fails our CAS).
        const desc = (t.getSlot(sl, RS.INFO) & INFO_HEAVY) === 0 ? 0 : this.#claimable(sl, locked, dst);
        if (desc < 0) {
          if (retries) Atomics.add(i32, t.stat(r, RST.RETRIES), retries);
          return Take.LOCKED;
        }
        if (Atomics.compareExchange(i32, t.word(r, R.TAIL), pos, (pos + 1) | 0) === pos) {
          if (buf !== null) this.slots.read(sl, buf, caps);
          if (desc !== 0) this.#took(buf, desc);
          Atomics.store(i32, t.slotWord(sl, RS.SEQ), (pos + cap) << 1);
          if (retries) Atomics.add(i32, t.stat(r, RST.RETRIES), retries);
          this.#freed(r);
          return Take.OK;
        }
        retries++;
      } else if (dif < 0) {
        if (retries) Atomics.add(i32, t.stat(r, RST.RETRIES), retries);
        return Take.EMPTY;
      } else retries++;
    }
  }

  /** Descriptor frame of the buffer the last locked {@link AsyncRings.pop} into a buffer took (0: none); the caller delivers it. */
  lastDesc = 0;

  /**
   * Whether the published slot at word `sl`, which carries capabilities or a buffer, may be
   * claimed now: −1 when the caller lacks the lock; else its descriptor frame (0: none), the
   * receiver checked for it.
   */
  #claimable(sl: number, locked: boolean, dst: number): number {
    if (!locked) return -1;
    const t = this.t;
    if ((t.getSlot(sl, RS.INFO) & INFO_BUFFER) === 0) return 0;
    const desc = t.getSlot(sl, RS.DESC);
    if (dst >= 0) this.#k.asyncBuffers.checkReceiver(desc, dst);
    return desc;
  }

  /** A claimed slot held buffer descriptor `desc`: the caller delivers it (`buf` given), or its frames are freed (discarded). */
  #took(buf: MessageBuffer | null, desc: number): void {
    if (buf) this.lastDesc = desc;
    else this.#k.asyncBuffers.discard(desc);
  }

  /** Ring `r` is released: the buffers of the messages still in it are freed (lock held; nothing else takes from it now). */
  discardAll(r: number): void {
    const t = this.t;
    const cap = t.get(r, R.CAP);
    const head = t.get(r, R.HEAD);
    for (let pos = t.get(r, R.TAIL); pos !== head; pos = (pos + 1) | 0) {
      const sl = t.slot(r, pos & (cap - 1));
      if (t.getSlot(sl, RS.SEQ) !== ((pos << 1) | 1) || (t.getSlot(sl, RS.INFO) & INFO_BUFFER) === 0) continue;
      this.#k.asyncBuffers.discard(t.getSlot(sl, RS.DESC));
      t.setSlot(sl, RS.INFO, t.getSlot(sl, RS.INFO) & ~INFO_BUFFER);
    }
  }

  /** True when channel ring `r` has a free slot at its head now (reads only). */
  hasRoom(r: number): boolean {
    const i32 = this.#i32;
    const t = this.t;
    const pos = Atomics.load(i32, t.word(r, R.HEAD));
    const sl = t.slot(r, pos & (t.get(r, R.CAP) - 1));
    return Atomics.load(i32, t.slotWord(sl, RS.SEQ)) === pos << 1;
  }

  /** Free slots of channel ring `r` now, as far as the head and tail say (a hint: reads only; a take in flight counts as done). */
  room(r: number): number {
    const i32 = this.#i32;
    const t = this.t;
    return t.get(r, R.CAP) - ((Atomics.load(i32, t.word(r, R.HEAD)) - Atomics.load(i32, t.word(r, R.TAIL))) | 0);
  }

  /** True when channel ring `r` has a message ready at its tail. */
  ready(r: number): boolean {
    const i32 = this.#i32;
    const t = this.t;
    const pos = Atomics.load(i32, t.word(r, R.TAIL));
    const sl = t.slot(r, pos & (t.get(r, R.CAP) - 1));
    return Atomics.load(i32, t.slotWord(sl, RS.SEQ)) === ((pos << 1) | 1);
  }

  #count(r: number, msgs: number, bytes: number, retries: number): void {
    const i32 = this.#i32;
    const t = this.t;
    if (i32[H.SHARED] === 0) {
      // One CPU: nobody else writes the counters.
      t.set(r, R.MSGS, (t.get(r, R.MSGS) + msgs) | 0);
      t.set(r, R.BYTES, (t.get(r, R.BYTES) + bytes) | 0);
      return;
    }
    Atomics.add(i32, t.word(r, R.MSGS), msgs);
    Atomics.add(i32, t.word(r, R.BYTES), bytes);
    if (retries) Atomics.add(i32, t.stat(r, RST.RETRIES), retries);
  }

  /** After a publish: wake the consumers that wait (one notify for all), if any. */
  #published(r: number): void {
    const i32 = this.#i32;
    const t = this.t;
    if (Atomics.load(i32, t.word(r, R.WAITERS)) === 0) return;
    wakeAllFutex(i32, t.word(r, R.NOTIFY), t.word(r, R.PARKED), t.word(r, R.NOTIFY_PENDING));
    this.#k.hub.wake(this.t.word(r, R.NOTIFY));
  }

  /** After a take: wake the producers blocked on a full ring, if any. */
  #freed(r: number): void {
    const i32 = this.#i32;
    const t = this.t;
    if (Atomics.load(i32, t.word(r, R.SPACE_WAITERS)) === 0) return;
    wakeAllFutex(i32, t.word(r, R.SPACE), t.word(r, R.SPACE_PARKED), t.word(r, R.SPACE_PENDING));
    this.#k.hub.wake(this.t.word(r, R.SPACE));
  }

  /** Wakes the waiters of ring `r` after a publish by the multicast path (same protocol). */
  published(r: number): void {
    this.#published(r);
  }

  /** Wakes blocked publishers of ring `r` after a subscriber advanced (same protocol). */
  freed(r: number): void {
    this.#freed(r);
  }

  /** Adds to ring `r`'s message and byte counters (the multicast path). */
  count(r: number, msgs: number, bytes: number, retries: number): void {
    this.#count(r, msgs, bytes, retries);
  }
}
