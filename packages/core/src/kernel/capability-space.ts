import { IpcError } from '../contracts/errors.js';
import type { ObjectKind } from '../contracts/capability.js';
import { hasRights } from '../contracts/rights.js';
import { HANDLE_INDEX_BITS, HANDLE_INDEX_MASK, MAX_TAG, S } from './layout.js';
import type { MachineMemory } from './machine-memory.js';
import type { TokenSource } from './token-source.js';

/** Generation value written into slots whose object was closed (generations start at 1). */
export const CLOSED_GEN = 0;

/**
 * Per-process capability spaces in machine memory. A handle is `tag << 12 | slot`; the slot
 * keeps the tag it was filled with, so a handle to a slot that was emptied and refilled no
 * longer resolves. Validation is a handful of array reads: O(1), no hashing.
 */
export class CapabilitySpace {
  readonly #mm: MachineMemory;
  readonly #i32: Int32Array;
  readonly #tokens: TokenSource;

  constructor(mm: MachineMemory, tokens: TokenSource) {
    this.#mm = mm;
    this.#i32 = mm.i32;
    this.#tokens = tokens;
  }

  /**
   * Returns the Int32 index of the slot `handle` names in process `p`, after checking kind and
   * rights, or throws `InvalidCapability` / `PermissionDenied`. Object liveness is the caller's
   * check (it knows the object table).
   */
  resolve(p: number, handle: number, kind: ObjectKind, rights: number): number {
    const s = this.find(p, handle);
    if (s < 0 || this.#i32[s + S.KIND] !== kind) throw new IpcError('InvalidCapability', `handle 0x${(handle >>> 0).toString(16)} names no ${kindName(kind)} capability`);
    if (!hasRights(this.#i32[s + S.RIGHTS]!, rights)) throw new IpcError('PermissionDenied', `capability lacks rights 0x${rights.toString(16)}`);
    return s;
  }

  /** Slot index for `handle` in process `p`, or -1. Never throws (hot path). */
  find(p: number, handle: number): number {
    const index = handle & HANDLE_INDEX_MASK;
    const tag = handle >>> HANDLE_INDEX_BITS;
    if (tag === 0 || index >= this.#mm.nslots) return -1;
    const s = this.#mm.slot(p, index);
    return this.#i32[s + S.TAG] === tag ? s : -1;
  }

  /** Number of empty slots in process `p`'s space. */
  freeSlots(p: number): number {
    let n = 0;
    for (let i = 0; i < this.#mm.nslots; i++) if (this.#i32[this.#mm.slot(p, i) + S.TAG] === 0) n++;
    return n;
  }

  /** Int32 index of the slot {@link CapabilitySpace.insert} would fill next in process `p`, or -1 when full. */
  nextFree(p: number): number {
    for (let i = 0; i < this.#mm.nslots; i++) {
      const s = this.#mm.slot(p, i);
      if (this.#i32[s + S.TAG] === 0) return s;
    }
    return -1;
  }

  /** Installs a capability in process `p`; returns its handle. Throws `OutOfMemory` when the space is full. */
  insert(p: number, kind: number, obj: number, gen: number, rights: number): number {
    const i32 = this.#i32;
    for (let i = 0; i < this.#mm.nslots; i++) {
      const s = this.#mm.slot(p, i);
      if (i32[s + S.TAG] !== 0) continue;
      const tag = i32[s + S.NEXTTAG]!;
      i32[s + S.NEXTTAG] = tag >= MAX_TAG ? 1 : tag + 1;
      i32[s + S.TAG] = tag;
      i32[s + S.KIND] = kind;
      i32[s + S.OBJ] = obj;
      i32[s + S.GEN] = gen;
      i32[s + S.RIGHTS] = rights;
      i32[s + S.TOKLO] = this.#tokens.next32() | 0;
      i32[s + S.TOKHI] = this.#tokens.next32() | 0;
      return ((tag << HANDLE_INDEX_BITS) | i) >>> 0;
    }
    throw new IpcError('OutOfMemory', 'capability space full');
  }

  /** Empties the slot at Int32 index `s`. */
  remove(s: number): void {
    this.#i32[s + S.TAG] = 0;
    this.#i32[s + S.KIND] = 0;
    this.#i32[s + S.RIGHTS] = 0;
  }

  /** Empties every slot of process `p`. */
  clear(p: number): void {
    for (let i = 0; i < this.#mm.nslots; i++) {
      const s = this.#mm.slot(p, i);
      if (this.#i32[s + S.TAG] !== 0) this.remove(s);
    }
  }

  /** Marks every capability to object (`kind`, `obj`, `gen`) in every space as closed. */
  markClosed(kind: number, obj: number, gen: number): void {
    const i32 = this.#i32;
    const total = this.#mm.nproc * this.#mm.nslots;
    for (let k = 0; k < total; k++) {
      const s = this.#mm.slotBase + k * S.SIZE;
      if (i32[s + S.TAG] !== 0 && i32[s + S.KIND] === kind && i32[s + S.OBJ] === obj && i32[s + S.GEN] === gen) i32[s + S.GEN] = CLOSED_GEN;
    }
  }

  /** Number of occupied slots in all spaces. */
  usedSlots(): number {
    let n = 0;
    const total = this.#mm.nproc * this.#mm.nslots;
    for (let k = 0; k < total; k++) if (this.#i32[this.#mm.slotBase + k * S.SIZE + S.TAG] !== 0) n++;
    return n;
  }

  /** The 64-bit token of the slot at Int32 index `s`. */
  token(s: number): bigint {
    return (BigInt(this.#i32[s + S.TOKHI]! >>> 0) << 32n) | BigInt(this.#i32[s + S.TOKLO]! >>> 0);
  }
}

function kindName(kind: number): string {
  return ['?', 'endpoint', 'channel', 'process', 'region', 'ring', 'topic'][kind] ?? 'unknown';
}
