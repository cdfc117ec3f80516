import { ObjectKind } from '../contracts/capability.js';
import { MessageFlags, type MessageBuffer } from '../contracts/message.js';
import type { FastPathAbi } from '../contracts/fast-path.js';
import type { KernelContext } from './context.js';
import { P, S } from './records/layout.js';

// The slot fields and the kind validate reads, as module constants: V8 folds an immutable
// binding of the module itself to its value, where an imported object's field costs a cell
// load, a hole check, a map check and a field load on every call.
const SLOT_WORDS = S.SIZE;
const TAG = S.TAG;
const KIND = S.KIND;
const OBJ = S.OBJ;
const GEN = S.GEN;
const RIGHTS = S.RIGHTS;
const ENDPOINT = ObjectKind.Endpoint;
/** The initial value of the view fields, so each is born with the type it keeps (see below). */
const NO_WORDS = new Int32Array(0);

/**
 * The lock-free reads a process does on its own: validating one of its capabilities (the
 * registry-lookup hot path: a slot and one registry word, no exception, no allocation) and
 * reading a delivered message out of its frame (only it touches its frame and its delivered
 * large message while it runs).
 *
 * The fields validate reads start out as a small integer or an `Int32Array` (not `undefined`,
 * which a bare field declaration would give them): V8 then keeps them as untagged integers and
 * a known map, so the optimised validate loads them with no Smi or map check. Its two views
 * (this process's slots, the registry table) spare it adding a base to every index.
 */
export class ProcessValidator {
  readonly #k: KernelContext;
  readonly #p: number;
  readonly #i32: Int32Array;
  /** This process's capability slots (slot `i` at word `i × S.SIZE`). */
  readonly #mine: Int32Array = NO_WORDS;
  /** The dense registry table (word `e`: endpoint `e`'s open generation, 0 while closed). */
  readonly #registry: Int32Array = NO_WORDS;
  readonly #nslots: number = 0;
  readonly #bits: number = 0;
  readonly #mask: number = 0;
  readonly #fp: FastPathAbi;
  readonly #frame: Uint32Array;
  readonly #senderHi: number;

  constructor(k: KernelContext, p: number) {
    const mm = k.mm;
    this.#k = k;
    this.#p = p;
    this.#i32 = mm.i32;
    const slots = mm.slot(p, 0);
    this.#mine = mm.i32.subarray(slots, slots + mm.nslots * SLOT_WORDS);
    this.#registry = mm.i32.subarray(mm.regBase, mm.regBase + mm.nep);
    this.#nslots = mm.nslots;
    this.#bits = mm.slotIndexBits;
    this.#mask = (1 << this.#bits) - 1;
    this.#fp = k.arch.fastPath;
    this.#frame = mm.frame(p);
    this.#senderHi = k.procs.word(p, P.SENDER_HI);
  }

  /** O(1) check that `handle` names a live endpoint capability with `rights`; never throws. */
  validate(handle: number, rights: number): boolean {
    // The same checks as the kernel's capability lookup, inlined: this is the hot path.
    if (handle >>> 0 !== handle) return false;
    const index = handle & this.#mask;
    const tag = handle >>> this.#bits;
    if (index >= this.#nslots || tag === 0) return false;
    const w = this.#mine;
    // `| 0` on each index: they are small integers, and saying so spares V8 an overflow check.
    const s = (index * SLOT_WORDS) | 0;
    if (w[s + TAG] !== tag || w[(s + KIND) | 0] !== ENDPOINT || (w[(s + RIGHTS) | 0]! & rights) !== rights) return false;
    // One word of the registry table: the endpoint's open generation (0 while closed). Both
    // are u32 words; comparing their int32 views compares the same bits.
    const word = this.#registry[w[(s + OBJ) | 0]!]!;
    return word !== 0 && word === w[(s + GEN) | 0];
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
    this.#k.large.readInto(this.#p, buf);
  }
}
