import { IpcError } from '../../contracts/errors.js';
import { ObjectKind } from '../../contracts/capability.js';
import { hasRights } from '../../contracts/rights.js';
import { NONE, P, S } from '../records/layout.js';
import type { MachineMemory } from '../records/machine-memory.js';
import { ProcessTable, SlotTable } from '../records/tables.js';
import type { TokenSource } from './token-source.js';

/**
 * Per-process capability spaces in machine memory. A handle is `tag << b | slot` (a u32, `b`
 * the bits needed for the configured number of slots); the slot keeps the tag it was filled
 * with, so a handle to a slot that was emptied and refilled no longer resolves. Free slots are
 * reused least recently freed first, so tags advance slowly, and a slot whose tag would wrap
 * is retired instead of reused: a stale handle never names a new capability. Validation is a
 * handful of array reads; insert and remove are O(1) (a free list and a used list per
 * process), emptying a space is O(its capabilities).
 */
export class CapabilitySpace {
  readonly #procs: ProcessTable;
  readonly #slots: SlotTable;
  readonly #tokens: TokenSource;
  readonly #nslots: number;
  readonly #bits: number;
  readonly #mask: number;
  readonly #maxTag: number;

  /** Told when a capability naming a shared region is added (+1) or removed (−1): regions count their capabilities. */
  onRegionCaps: ((region: number, delta: number) => void) | undefined;

  constructor(mm: MachineMemory, tokens: TokenSource) {
    this.#procs = new ProcessTable(mm);
    this.#slots = new SlotTable(mm);
    this.#tokens = tokens;
    this.#nslots = mm.nslots;
    this.#bits = mm.slotIndexBits;
    this.#mask = (1 << this.#bits) - 1;
    this.#maxTag = 2 ** (32 - this.#bits) - 1;
  }

  /**
   * Returns the slot reference `handle` names in process `p`, after checking kind and rights,
   * or throws `InvalidCapability` / `PermissionDenied`. Object liveness is the caller's check.
   */
  resolve(p: number, handle: number, kind: ObjectKind, rights: number): number {
    const s = this.find(p, handle);
    if (s < 0 || this.#slots.get(s, S.KIND) !== kind) throw new IpcError('InvalidCapability', `handle ${describe(handle)} names no ${kindName(kind)} capability`);
    if (!hasRights(this.#slots.get(s, S.RIGHTS), rights)) throw new IpcError('PermissionDenied', `capability lacks rights 0x${rights.toString(16)}`);
    return s;
  }

  /** Slot reference for `handle` in process `p`, or -1. Never throws, whatever `handle` is (hot path). */
  find(p: number, handle: number): number {
    // A u32 only: anything else (NaN, fractions, strings, negatives) names nothing.
    if (handle >>> 0 !== handle) return -1;
    const index = handle & this.#mask;
    const tag = handle >>> this.#bits;
    if (tag === 0 || index >= this.#nslots) return -1;
    const s = this.#slots.ref(p, index);
    return this.#slots.get(s, S.TAG) === tag ? s : -1;
  }

  /** Number of empty (reusable) slots in process `p`'s space. O(1). */
  freeSlots(p: number): number {
    return this.#procs.get(p, P.CS_FREE);
  }

  /** Installs a capability in process `p`; returns its handle. Throws `OutOfMemory` when the space is full. O(1). */
  insert(p: number, kind: number, obj: number, gen: number, rights: number): number {
    const procs = this.#procs;
    const slots = this.#slots;
    const index = procs.get(p, P.CS_FREE_HEAD);
    if (index === NONE) throw new IpcError('OutOfMemory', 'capability space full');
    const s = slots.ref(p, index);
    const next = slots.get(s, S.NEXT);
    procs.set(p, P.CS_FREE_HEAD, next);
    if (next === NONE) procs.set(p, P.CS_FREE_TAIL, NONE);
    procs.set(p, P.CS_FREE, procs.get(p, P.CS_FREE) - 1);
    const tag = slots.get(s, S.NEXTTAG);
    // The last tag retires the slot once it empties (NEXTTAG 0), so no handle ever aliases.
    slots.set(s, S.NEXTTAG, tag >= this.#maxTag ? 0 : tag + 1);
    slots.set(s, S.TAG, tag);
    slots.set(s, S.KIND, kind);
    slots.set(s, S.OBJ, obj);
    slots.setGen(s, gen);
    slots.set(s, S.RIGHTS, rights);
    slots.set(s, S.TOKLO, this.#tokens.next32() | 0);
    slots.set(s, S.TOKHI, this.#tokens.next32() | 0);
    // Into the used list, at its head.
    const used = procs.get(p, P.CS_USED_HEAD);
    slots.set(s, S.NEXT, used);
    slots.set(s, S.PREV, NONE);
    if (used !== NONE) slots.set(slots.ref(p, used), S.PREV, index);
    procs.set(p, P.CS_USED_HEAD, index);
    procs.set(p, P.CS_SEQ, procs.get(p, P.CS_SEQ) + 1);
    if (kind === ObjectKind.Region) this.onRegionCaps?.(obj, 1);
    return ((tag << this.#bits) | index) >>> 0;
  }

  /** Empties slot `s` (a reference from {@link CapabilitySpace.find}) of process `p`. O(1). */
  remove(p: number, s: number): void {
    const procs = this.#procs;
    const slots = this.#slots;
    const index = (s - slots.ref(p, 0)) / S.SIZE;
    const prev = slots.get(s, S.PREV);
    const next = slots.get(s, S.NEXT);
    if (prev !== NONE) slots.set(slots.ref(p, prev), S.NEXT, next);
    else procs.set(p, P.CS_USED_HEAD, next);
    if (next !== NONE) slots.set(slots.ref(p, next), S.PREV, prev);
    const kind = slots.get(s, S.KIND);
    const obj = slots.get(s, S.OBJ);
    slots.set(s, S.TAG, 0);
    slots.set(s, S.KIND, 0);
    slots.set(s, S.OBJ, 0);
    slots.set(s, S.GEN, 0);
    slots.set(s, S.RIGHTS, 0);
    slots.set(s, S.PREV, NONE);
    slots.set(s, S.NEXT, NONE);
    procs.set(p, P.CS_SEQ, procs.get(p, P.CS_SEQ) + 1);
    if (slots.get(s, S.NEXTTAG) !== 0) {
      // To the back of the free list: least recently freed is reused first (a retired slot never is).
      const tail = procs.get(p, P.CS_FREE_TAIL);
      if (tail === NONE) procs.set(p, P.CS_FREE_HEAD, index);
      else slots.set(slots.ref(p, tail), S.NEXT, index);
      procs.set(p, P.CS_FREE_TAIL, index);
      procs.set(p, P.CS_FREE, procs.get(p, P.CS_FREE) + 1);
    }
    if (kind === ObjectKind.Region) this.onRegionCaps?.(obj, -1);
  }

  /** Empties every slot of process `p`. O(its capabilities). */
  clear(p: number): void {
    for (let head = this.#procs.get(p, P.CS_USED_HEAD); head !== NONE; head = this.#procs.get(p, P.CS_USED_HEAD)) {
      this.remove(p, this.#slots.ref(p, head));
    }
  }

  /** Slot references of the capabilities of process `p`, most recently filled first (no allocation per step). */
  *refs(p: number): Generator<number> {
    for (let i = this.#procs.get(p, P.CS_USED_HEAD); i !== NONE; ) {
      const s = this.#slots.ref(p, i);
      i = this.#slots.get(s, S.NEXT);
      yield s;
    }
  }

  /** Number of occupied slots in all spaces (for stats; walks the used lists). */
  usedSlots(): number {
    let n = 0;
    for (let p = 0; p < this.#procs.count; p++) {
      for (let i = this.#procs.get(p, P.CS_USED_HEAD); i !== NONE; i = this.#slots.get(this.#slots.ref(p, i), S.NEXT)) n++;
    }
    return n;
  }

  /** The 64-bit token of slot `s`. */
  token(s: number): bigint {
    return (BigInt(this.#slots.get(s, S.TOKHI) >>> 0) << 32n) | BigInt(this.#slots.get(s, S.TOKLO) >>> 0);
  }
}

function describe(handle: unknown): string {
  return typeof handle === 'number' && handle >>> 0 === handle ? `0x${handle.toString(16)}` : String(handle);
}

/** Human name of an object kind. */
export function kindName(kind: number): string {
  return ['?', 'endpoint', 'channel', 'process', 'region', 'ring', 'topic'][kind] ?? 'unknown';
}
