import { ObjectKind } from '../contracts/capability.js';
import { MessageFlags, type MessageBuffer } from '../contracts/message.js';
import type { FastPathAbi } from '../contracts/fast-path.js';
import type { KernelContext } from './context.js';
import { P, S } from './records/layout.js';

/**
 * The lock-free reads a process does on its own: validating one of its capabilities (the
 * registry-lookup hot path: a slot and one registry word, no exception, no allocation) and
 * reading a delivered message out of its frame (only it touches its frame and its delivered
 * large message while it runs).
 */
export class ProcessValidator {
  readonly #k: KernelContext;
  readonly #p: number;
  readonly #i32: Int32Array;
  readonly #u32: Uint32Array;
  readonly #slots: number;
  readonly #nslots: number;
  readonly #bits: number;
  readonly #mask: number;
  readonly #regBase: number;
  readonly #fp: FastPathAbi;
  readonly #frame: Uint32Array;
  readonly #senderHi: number;

  constructor(k: KernelContext, p: number) {
    this.#k = k;
    this.#p = p;
    this.#i32 = k.mm.i32;
    this.#u32 = k.mm.u32;
    this.#slots = k.mm.slot(p, 0);
    this.#nslots = k.mm.nslots;
    this.#bits = k.mm.slotIndexBits;
    this.#mask = (1 << this.#bits) - 1;
    this.#regBase = k.mm.regBase;
    this.#fp = k.arch.fastPath;
    this.#frame = k.mm.frame(p);
    this.#senderHi = k.procs.word(p, P.SENDER_HI);
  }

  /** O(1) check that `handle` names a live endpoint capability with `rights`; never throws. */
  validate(handle: number, rights: number): boolean {
    // The same checks as the kernel's capability lookup, inlined: this is the hot path.
    if (handle >>> 0 !== handle) return false;
    const index = handle & this.#mask;
    const tag = handle >>> this.#bits;
    if (index >= this.#nslots || tag === 0) return false;
    const i32 = this.#i32;
    const s = this.#slots + index * S.SIZE;
    if (i32[s + S.TAG] !== tag || i32[s + S.KIND] !== ObjectKind.Endpoint || (i32[s + S.RIGHTS]! & rights) !== rights) return false;
    // One word of the dense registry table: the endpoint's open generation.
    const word = this.#u32[this.#regBase + i32[s + S.OBJ]!]!;
    return word !== 0 && word === this.#u32[s + S.GEN];
  }

  /** Decodes the message delivered into this process's frame (and its large part) into `buf`. */
  receiveInto(buf: MessageBuffer): void {
    this.#fp.decode(this.#frame, buf);
    const hi = this.#i32[this.#senderHi]!;
    if (hi !== 0) buf.sender += hi * 0x100000000;
    this.largePart(buf);
  }

  /** Fills `buf.large`/`largeCaps` from the delivered large message if `buf` says LARGE, else clears them. */
  largePart(buf: MessageBuffer): void {
    if (!(buf.flags & MessageFlags.LARGE)) {
      buf.large = null;
      buf.largeCaps = null;
      buf.buffer = null;
      return;
    }
    const { payload, caps, buffer } = this.#k.large.read(this.#p);
    buf.large = payload;
    buf.largeCaps = caps;
    buf.buffer = buffer;
    buf.length = payload.length;
    buf.capCount = caps.length;
  }
}
