import { IpcError } from '../../contracts/errors.js';
import { MAX_LARGE_CAPS, MAX_LARGE_DATA, type MessageBuffer } from '../../contracts/message.js';
import { FRAME_SIZE } from '../../memory/physical-memory.js';
import type { KernelContext } from '../context.js';
import { M, P } from '../records/layout.js';
import type { SharedBuffer } from '../../contracts/shared-buffer.js';
import { Mode } from './transfer.js';
import { byteCount } from '../../contracts/user-bytes.js';

/**
 * Descriptor of a large message: a kernel-owned frame (never mapped into any address space)
 * holding the payload length, the frame list, the capability snapshots taken when it was
 * staged, and — once delivered — the handles minted into the receiver.
 */
const D = { LENGTH: 0, FRAMES: 1, CAPS: 2, LIST: 4 } as const;
const MAX_FRAMES = MAX_LARGE_DATA / FRAME_SIZE;
/** Shared empty results (frozen views of length 0 cannot be written). */
const NO_BYTES = new Uint8Array(0);
const NO_CAPS = new Uint32Array(0);
const SNAPS = D.LIST + MAX_FRAMES;
const HANDLES = SNAPS + MAX_LARGE_CAPS * M.CAP_WORDS;

/**
 * Large messages (over 64 bytes or 4 capabilities, up to 1 MiB and 64 capabilities): staged
 * into machine-memory frames, moved to the receiver by handing over the descriptor (the
 * frames change owner; no payload byte is copied between processes), read out and freed by
 * the receiver. Every failure frees what was staged, in the reverse order it was taken, so the
 * frame allocator ends exactly as it was.
 */
export class LargeMessages {
  readonly #k: KernelContext;

  constructor(k: KernelContext) {
    this.#k = k;
  }

  /**
   * Checks what {@link LargeMessages.stage} needs; writes nothing. A buffer (`mode` ≠ 0) is
   * checked against `limit` bytes and the sender's memory (see `transfer.ts`).
   */
  checkStage(p: number, length: number, handles: ArrayLike<number>, ncaps: number, snaps: Int32Array, bva = 0, blen = 0, mode: number = Mode.NONE, limit = 0): void {
    const k = this.#k;
    if (length > MAX_LARGE_DATA) throw new IpcError('MessageTooLarge', `${length} bytes exceed the ${MAX_LARGE_DATA}-byte large-message limit`);
    if (ncaps > MAX_LARGE_CAPS) throw new IpcError('MessageTooLarge', `${ncaps} capabilities exceed the ${MAX_LARGE_CAPS}-capability limit`);
    if (k.procs.get(p, P.LARGE_OUT) !== 0) throw new IpcError('InvalidState', 'a large message is already staged');
    for (let i = 0; i < ncaps; i++) k.messages.snapshotCap(p, handles[i]!, snaps, i * M.CAP_WORDS);
    const need = Math.ceil(length / FRAME_SIZE) + 1 + (mode === Mode.NONE ? 0 : k.transfers.check(p, bva, blen, mode, limit));
    if (k.mm.phys.freeFrames < need) throw new IpcError('OutOfMemory', `need ${need} frames, ${k.mm.phys.freeFrames} free`);
  }

  /**
   * Takes the descriptor and payload frames for a checked message of `length` bytes and
   * records it as `p`'s outgoing large message; the payload is copied in by
   * {@link LargeMessages.fill}, outside the lock. Lock held.
   */
  stage(p: number, length: number, capCount: number, snaps: Int32Array, bva = 0, blen = 0, mode: number = Mode.NONE): void {
    const k = this.#k;
    const phys = k.mm.phys;
    const i32 = k.i32;
    const n = Math.ceil(length / FRAME_SIZE);
    // A Move of a received buffer handed over whole reuses the descriptor frame of its pending
    // range (whose message words are free since delivery): no frame taken, none freed.
    const reuse = mode === Mode.MOVE ? k.transfers.handedFrame() : 0;
    if (phys.freeFrames < n + (reuse === 0 ? 1 : 0)) throw new IpcError('OutOfMemory', `need ${n + 1} frames, ${phys.freeFrames} free`);
    // Not zeroed: every descriptor word read is written below (or by `move`), and a payload
    // frame is only read up to the length written into it.
    const desc = reuse !== 0 ? reuse : phys.allocFrame(undefined, false);
    const d = this.#desc(desc);
    let taken = 0;
    try {
      for (; taken < n; taken++) i32[d + D.LIST + taken] = phys.allocFrame(undefined, false);
    } catch (e) {
      // Another CPU raced us to the last frames: give them back, last taken first.
      while (taken > 0) phys.freeFrame(i32[d + D.LIST + --taken]!);
      if (reuse === 0) phys.freeFrame(desc);
      throw e;
    }
    if (reuse === 0) k.transfers.clear(d);
    i32[d + D.LENGTH] = length;
    i32[d + D.FRAMES] = n;
    i32[d + D.CAPS] = capCount;
    for (let w = 0; w < capCount * M.CAP_WORDS; w++) i32[d + SNAPS + w] = snaps[w]!;
    if (mode !== Mode.NONE) k.transfers.stage(p, d, bva, blen, mode);
    k.procs.set(p, P.LARGE_OUT, desc);
  }

  /** Checks that `dst` can take the buffer `src` staged (writes nothing; see `Transfers.checkReceiver`). */
  checkReceiver(src: number, dst: number): void {
    const f = this.#k.procs.get(src, P.LARGE_OUT);
    if (f !== 0) this.#k.transfers.checkReceiver(this.#desc(f), dst);
  }

  /** `p`'s send was queued: park its staged buffer (see `Transfers.park`). Lock held. */
  park(p: number): void {
    const f = this.#k.procs.get(p, P.LARGE_OUT);
    if (f !== 0) this.#k.transfers.park(p, this.#desc(f));
  }

  /** Copies `data` into the frames of `p`'s staged message (its own thread; no lock needed). */
  fill(p: number, data: Uint8Array): void {
    const k = this.#k;
    const d = this.#desc(k.procs.get(p, P.LARGE_OUT));
    const bytes = k.mm.phys.bytes;
    const n = k.i32[d + D.FRAMES]!;
    // The staged length, not `data`'s now: the frames are not zeroed when taken, so whatever
    // `data` lacks of it (an array resized since it was staged) is zeros, never an earlier
    // owner's bytes; and nothing past it is written.
    const length = k.i32[d + D.LENGTH]!;
    const have = Math.min(byteCount(data), length);
    for (let f = 0; f < n; f++) {
      const from = f * FRAME_SIZE;
      const end = Math.min(length, from + FRAME_SIZE);
      const at = k.mm.phys.frameOffset(k.i32[d + D.LIST + f]!);
      const copied = Math.max(from, Math.min(have, end));
      if (copied > from) bytes.set(data.subarray(from, copied), at);
      if (copied < end) bytes.fill(0, at + (copied - from), at + (end - from));
    }
  }

  /** Payload length of `p`'s staged message (0 when none). */
  outgoingLength(p: number): number {
    const f = this.#k.procs.get(p, P.LARGE_OUT);
    return f === 0 ? 0 : this.#k.i32[this.#desc(f) + D.LENGTH]!;
  }

  /** Payload length and capability count of `p`'s delivered, unread message (0 when none). */
  incoming(p: number, field: 'length' | 'caps'): number {
    const f = this.#k.procs.get(p, P.LARGE_IN);
    return f === 0 ? 0 : this.#k.i32[this.#desc(f) + (field === 'length' ? D.LENGTH : D.CAPS)]!;
  }

  /** Capability count of `p`'s staged message (0 when none). */
  outgoingCaps(p: number): number {
    const f = this.#k.procs.get(p, P.LARGE_OUT);
    return f === 0 ? 0 : this.#k.i32[this.#desc(f) + D.CAPS]!;
  }

  /**
   * Moves `src`'s staged message to `dst`: the descriptor changes owner and its capabilities
   * are minted into `dst` (room checked by the caller). Lock held.
   */
  move(src: number, dst: number): void {
    const k = this.#k;
    const f = k.procs.get(src, P.LARGE_OUT);
    const d = this.#desc(f);
    const n = k.i32[d + D.CAPS]!;
    for (let i = 0; i < n; i++) k.i32[d + HANDLES + i] = k.messages.mint(dst, k.i32, d + SNAPS + i * M.CAP_WORDS) | 0;
    k.transfers.carry(src, d);
    k.procs.set(src, P.LARGE_OUT, 0);
    k.procs.set(dst, P.LARGE_IN, f);
  }

  /**
   * Reads `p`'s delivered large message into `buf`: `large` a fresh payload array, `largeCaps`
   * the minted handles, `buffer` its buffer mapped into `p`'s memory, `length` and `capCount`.
   * The frames are then freed (under the lock). `InvalidState` when none was delivered;
   * `OutOfMemory` when the buffer finds no room in `p` (the message stays delivered and unread,
   * `buf` untouched).
   */
  readInto(p: number, buf: MessageBuffer): void {
    const k = this.#k;
    const f = k.procs.get(p, P.LARGE_IN);
    if (f === 0) throw new IpcError('InvalidState', 'no large message to receive');
    const d = this.#desc(f);
    const i32 = k.i32;
    const length = i32[d + D.LENGTH]!;
    const payload = length === 0 ? NO_BYTES : new Uint8Array(length);
    const bytes = k.mm.phys.bytes;
    for (let i = 0; i < i32[d + D.FRAMES]!; i++) {
      const at = k.mm.phys.frameOffset(i32[d + D.LIST + i]!);
      payload.set(bytes.subarray(at, at + Math.min(FRAME_SIZE, length - i * FRAME_SIZE)), i * FRAME_SIZE);
    }
    const n = i32[d + D.CAPS]!;
    const caps = n === 0 ? NO_CAPS : Uint32Array.from({ length: n }, (_, i) => i32[d + HANDLES + i]! >>> 0);
    let buffer: SharedBuffer | null;
    k.lock();
    try {
      buffer = k.transfers.deliver(p, d, f);
      this.dropIncoming(p);
    } finally {
      k.unlock();
    }
    buf.large = payload;
    buf.largeCaps = caps;
    buf.buffer = buffer;
    buf.length = length;
    buf.capCount = n;
  }

  /** Frees `p`'s staged outgoing message, if any (a failed or cancelled send, an exit). Lock held. */
  dropOutgoing(p: number): void {
    const f = this.#k.procs.get(p, P.LARGE_OUT);
    if (f === 0) return;
    this.#k.transfers.cancel(p, this.#desc(f));
    this.#k.procs.set(p, P.LARGE_OUT, 0);
    this.#free(f);
  }

  /** Frees `p`'s delivered, unread message, if any (an exit). Lock held. */
  dropIncoming(p: number): void {
    const f = this.#k.procs.get(p, P.LARGE_IN);
    if (f === 0) return;
    this.#k.transfers.cancel(p, this.#desc(f));
    this.#k.procs.set(p, P.LARGE_IN, 0);
    this.#free(f);
  }

  /** Frees a descriptor's frames, last taken first, then the descriptor. */
  #free(f: number): void {
    const k = this.#k;
    const d = this.#desc(f);
    const n = k.i32[d + D.FRAMES]!;
    for (let i = n - 1; i >= 0; i--) k.mm.phys.freeFrame(k.i32[d + D.LIST + i]!);
    // A descriptor whose buffer became the receiver's pending range belongs to that range now.
    if (!k.transfers.adopted(d)) k.mm.phys.freeFrame(f);
  }

  #desc(frame: number): number {
    return this.#k.mm.phys.frameOffset(frame) >> 2;
  }
}
