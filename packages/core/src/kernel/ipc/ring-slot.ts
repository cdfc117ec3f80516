import { MAX_SMALL_CAPS, type MessageBuffer } from '../../contracts/message.js';
import type { SharedBuffer } from '../../contracts/shared-buffer.js';
import type { MachineMemory } from '../records/machine-memory.js';
import { M, RS, RSC } from '../records/layout.js';
import type { RingTable } from '../records/tables.js';
import type { MessageFields } from '../args.js';
import { byteCount } from '../../contracts/user-bytes.js';

/**
 * The slot image of async channels and topics (one codec for both): info word, type, sender,
 * buffer descriptor, send time and flow id, 64 payload bytes, capability snapshots.
 */
/** Payload bytes of `m`: its inline data and its buffer. */
export function bytesOf(m: Outgoing): number {
  return m.buffer === null ? m.size : m.size + m.buffer.length;
}

/** Slot info bit: the slot holds a buffer descriptor (word {@link RS.DESC}). */
export const INFO_BUFFER = 1 << 10;
/** First info bit of the send time's high word. */
/** Slot info bit: the message was stamped (send time and flow id in {@link RS.TS_LO}, {@link RS.FLOW} and the bits above). */
const INFO_STAMPED = 1 << 11;
/** First info bit of the send time's high word (mod 2^20). */
const INFO_TS_SHIFT = 12;
const TWO32 = 0x100000000;

/** Slot info bits that make a take need the kernel lock (capabilities to mint, a buffer to map). */
export const INFO_HEAVY = (0x7 << 7) | INFO_BUFFER;

/**
 * The message a lock-free operation carries, decoded once from the user's message: type,
 * payload, capability snapshots (taken under the lock only when there are any).
 */
export class Outgoing implements MessageFields {
  type = 0;
  data: Uint8Array = new Uint8Array(0);
  /** `data.length`, read once when the message was checked (the slot write and the counters reuse it). */
  size = 0;
  capCount = 0;
  /** The capability handles as read from the message (the first `capCount`). */
  readonly handles = new Uint32Array(MAX_SMALL_CAPS);
  /** Their snapshots (kind, object, generation, rights), taken under the lock. */
  readonly caps = new Int32Array(MAX_SMALL_CAPS * M.CAP_WORDS);
  /** Send time (ns on the kernel's time line) and trace flow id, when observed (else 0). */
  ts = 0;
  flow = 0;
  /** The buffer the message carries (`null`: none), its transfer as given, and — once staged — its descriptor frame. */
  buffer: SharedBuffer | null = null;
  transfer: unknown = undefined;
  desc = 0;
}

/** Writes and reads ring slots (the lock-free paths own the sequence words). Allocation-free after each slot's first read. */
export class RingSlots {
  readonly #mm: MachineMemory;
  readonly #u8: Uint8Array;
  readonly #slot0: number;
  readonly #cap0: number;
  readonly #i32: Int32Array;
  readonly #views: (Uint8Array | undefined)[] = [];
  readonly t: RingTable;

  constructor(mm: MachineMemory, t: RingTable) {
    this.#mm = mm;
    this.#u8 = new Uint8Array(mm.buffer);
    this.#slot0 = mm.ringSlotBase;
    this.#cap0 = mm.ringCapBase;
    this.#i32 = mm.i32;
    this.t = t;
  }

  /** Writes a message into the slot at word `sl` (its sequence is the caller's). */
  write(sl: number, m: Outgoing, senderPid: number): void {
    const t = this.t;
    const data = m.data;
    const n = m.size;
    // Only a stamped (observed) message writes its send time and flow id: the send time's high
    // word (mod 2^20) rides in the info word's free bits, so a latency over 2^52 ns would wrap,
    // not one over 4.3 s. The descriptor word is written only with a buffer (the bit says so).
    const info = n | (m.capCount << 7);
    if (m.ts !== 0) {
      const hi = Math.floor(m.ts / TWO32);
      t.setSlot(sl, RS.INFO, info | INFO_STAMPED | (hi << INFO_TS_SHIFT) | (m.desc !== 0 ? INFO_BUFFER : 0));
      t.setSlot(sl, RS.TS_LO, (m.ts - hi * TWO32) | 0);
      t.setSlot(sl, RS.FLOW, m.flow);
    } else t.setSlot(sl, RS.INFO, m.desc !== 0 ? info | INFO_BUFFER : info);
    if (m.desc !== 0) t.setSlot(sl, RS.DESC, m.desc);
    t.setSlot(sl, RS.TYPE, m.type | 0);
    t.setSlot(sl, RS.SENDER_LO, senderPid | 0);
    t.setSlot(sl, RS.SENDER_HI, senderPid > 0xffffffff ? Math.floor(senderPid / TWO32) : 0);
    // `n` is the length checked when the message was read; the array may have changed since
    // (resized or detached by user code that ran in between: a getter of a later message of a
    // batch). The slot then gets its first `n` bytes as they are now, zeros past their end —
    // never more than it was checked for.
    if (byteCount(data) === n) {
      if (n > 0) this.#u8.set(data, t.slotWord(sl, RS.DATA) * 4);
    } else this.#writeChanged(data, n, t.slotWord(sl, RS.DATA) * 4);
    const nc = m.capCount * M.CAP_WORDS;
    if (nc > 0) {
      const c = this.#caps(sl);
      for (let i = 0; i < nc; i++) this.#i32[c + i] = m.caps[i]!;
    }
  }

  #writeChanged(data: Uint8Array, n: number, at: number): void {
    const have = Math.min(n, byteCount(data));
    for (let i = 0; i < have; i++) this.#u8[at + i] = data[i]!;
    this.#u8.fill(0, at + have, at + n);
  }

  /** Reads the slot at word `sl` into `buf` (capability snapshots into `caps`). No allocation. */
  read(sl: number, buf: MessageBuffer, caps?: Int32Array): void {
    const t = this.t;
    const info = t.getSlot(sl, RS.INFO);
    const n = info & 0x7f;
    const nc = (info >>> 7) & 0x7;
    buf.type = t.getSlot(sl, RS.TYPE) >>> 0;
    buf.sender = (t.getSlot(sl, RS.SENDER_HI) >>> 0) * 0x100000000 + (t.getSlot(sl, RS.SENDER_LO) >>> 0);
    buf.flags = 0;
    buf.capCount = nc;
    buf.large = null;
    buf.largeCaps = null;
    buf.buffer = null;
    const bytes = buf.bytes;
    // One copy of the slot's 64 bytes (element loads from shared memory cost far more than a
    // set), then the tail past the length is cleared in the receiver's own memory.
    bytes.set(this.#view(sl));
    if (n < 64) bytes.fill(0, n);
    buf.length = n;
    if (nc > 0 && caps) {
      const c = this.#caps(sl);
      for (let i = 0; i < nc * M.CAP_WORDS; i++) caps[i] = this.#i32[c + i]!;
    }
    if ((info & INFO_STAMPED) !== 0) this.#stamped(sl, info);
    else if (this.lastSent !== 0) this.lastFlow = this.lastSent = 0;
  }

  #stamped(sl: number, info: number): void {
    this.lastFlow = this.t.getSlot(sl, RS.FLOW) >>> 0;
    this.lastSent = (info >>> INFO_TS_SHIFT) * TWO32 + (this.t.getSlot(sl, RS.TS_LO) >>> 0);
  }

  /** Flow id and send time (ns; its high word mod 2^20) of the last message {@link RingSlots.read} read while observing (0 otherwise). */
  lastFlow = 0;
  lastSent = 0;

  /** Word index of the capability record ({@link RSC}) of the slot at word `sl`. */
  #caps(sl: number): number {
    return this.#cap0 + ((sl - this.#slot0) / RS.SIZE) * RSC.SIZE + RSC.CAPS;
  }

  /** The 64 payload bytes of the slot at word `sl` (a view made once per slot, so reading allocates nothing after the first time). */
  #view(sl: number): Uint8Array {
    const i = (sl - this.#slot0) / RS.SIZE;
    return (this.#views[i] ??= new Uint8Array(this.#mm.buffer, this.t.slotWord(sl, RS.DATA) * 4, 64));
  }

}
