import { E, P, PState, R, RS, RST, S, SB } from './layout.js';
import type { MachineMemory } from './machine-memory.js';
import { makeId } from './ids.js';
import { RegistryWord } from './registry-word.js';

/**
 * Typed accessors over the fixed-layout records: the only place that turns a record index and
 * a field constant into a word index. Small methods the JIT inlines; no allocation.
 */
export class ProcessTable {
  readonly #i32: Int32Array;
  readonly #u32: Uint32Array;
  readonly #base: number;
  readonly count: number;

  constructor(mm: MachineMemory) {
    this.#i32 = mm.i32;
    this.#u32 = mm.u32;
    this.#base = mm.procBase;
    this.count = mm.nproc;
  }

  /** Int32 index of field `f` of record `p`. */
  word(p: number, f: number): number {
    return this.#base + p * P.SIZE + f;
  }

  /**
   * Int32 index of record `p`'s first word, for the one hot path that reads and writes many
   * fields of a few records (`i32[base + P.X]`; ipc/endpoint-fastpath.ts says why).
   */
  base(p: number): number {
    return this.#base + p * P.SIZE;
  }

  get(p: number, f: number): number {
    return this.#i32[this.#base + p * P.SIZE + f]!;
  }

  set(p: number, f: number, v: number): void {
    this.#i32[this.#base + p * P.SIZE + f] = v;
  }

  /** Generation of record `p` (u32). */
  gen(p: number): number {
    return this.#u32[this.#base + p * P.SIZE + P.GEN]!;
  }

  setGen(p: number, gen: number): void {
    this.#u32[this.#base + p * P.SIZE + P.GEN] = gen;
  }

  /** Process id of record `p`. */
  pid(p: number): number {
    return makeId(this.gen(p), p);
  }

  state(p: number): number {
    return this.#i32[this.#base + p * P.SIZE + P.STATE]!;
  }

  setState(p: number, s: number): void {
    this.#i32[this.#base + p * P.SIZE + P.STATE] = s;
  }

  /** True when record `p` holds a process (not free, not retired). */
  live(p: number): boolean {
    const st = this.state(p);
    return st !== PState.FREE && st !== PState.RETIRED;
  }

  /** True when `p` waits in the kernel (queued, awaiting a reply, sleeping). */
  blocked(p: number): boolean {
    const st = this.state(p);
    return st === PState.BLOCKED_SEND || st === PState.BLOCKED_RECV || st === PState.BLOCKED_REPLY || st === PState.SLEEPING;
  }

  /** `i32` itself, for atomics on futex words. */
  get i32(): Int32Array {
    return this.#i32;
  }
}

/** Accessors over endpoint records and the registry table. */
export class EndpointTable {
  readonly #i32: Int32Array;
  readonly #u32: Uint32Array;
  readonly #base: number;
  readonly #reg: number;
  readonly count: number;

  constructor(mm: MachineMemory) {
    this.#i32 = mm.i32;
    this.#u32 = mm.u32;
    this.#base = mm.epBase;
    this.#reg = mm.regBase;
    this.count = mm.nep;
  }

  word(e: number, f: number): number {
    return this.#base + e * E.SIZE + f;
  }

  /** Int32 index of record `e`'s first word (see {@link ProcessTable.base}). */
  base(e: number): number {
    return this.#base + e * E.SIZE;
  }

  get(e: number, f: number): number {
    return this.#i32[this.#base + e * E.SIZE + f]!;
  }

  set(e: number, f: number, v: number): void {
    this.#i32[this.#base + e * E.SIZE + f] = v;
  }

  /** A u32 field (generations). */
  getU(e: number, f: number): number {
    return this.#u32[this.#base + e * E.SIZE + f]!;
  }

  setU(e: number, f: number, v: number): void {
    this.#u32[this.#base + e * E.SIZE + f] = v;
  }

  /** The registry word of endpoint `e` (see {@link RegistryWord}). */
  registry(e: number): number {
    return this.#u32[this.#reg + e]!;
  }

  setRegistry(e: number, word: number): void {
    this.#u32[this.#reg + e] = word;
  }

  /** The registry table itself, word `e` endpoint `e`'s (its length the endpoint count): for lock-free readers. */
  registryTable(): Uint32Array {
    return this.#u32.subarray(this.#reg, this.#reg + this.count);
  }

  /** True when endpoint `e` is open. */
  open(e: number): boolean {
    return RegistryWord.isOpen(this.registry(e));
  }

  /** The open generation of `e` (meaningful only while open). */
  gen(e: number): number {
    return this.getU(e, E.GEN);
  }

  /** Endpoint id of record `e` (its current generation). */
  id(e: number): number {
    return makeId(this.gen(e), e);
  }
}

/** Accessors over capability slots. */
export class SlotTable {
  readonly #i32: Int32Array;
  readonly #u32: Uint32Array;
  readonly #base: number;
  readonly perProcess: number;

  constructor(mm: MachineMemory) {
    this.#i32 = mm.i32;
    this.#u32 = mm.u32;
    this.#base = mm.slotBase;
    this.perProcess = mm.nslots;
  }

  /** Int32 index of slot `s` of process `p` (a slot reference used by the other methods). */
  ref(p: number, s: number): number {
    return this.#base + (p * this.perProcess + s) * S.SIZE;
  }

  get(ref: number, f: number): number {
    return this.#i32[ref + f]!;
  }

  set(ref: number, f: number, v: number): void {
    this.#i32[ref + f] = v;
  }

  /** The u32 generation a slot's capability was minted at. */
  gen(ref: number): number {
    return this.#u32[ref + S.GEN]!;
  }

  setGen(ref: number, gen: number): void {
    this.#u32[ref + S.GEN] = gen;
  }

  /** Copies slot words `ref` into `out[at…]` (for exact undo). */
  save(ref: number, out: Int32Array, at: number): void {
    for (let w = 0; w < S.SIZE; w++) out[at + w] = this.#i32[ref + w]!;
  }

  /** Restores slot words saved by {@link SlotTable.save}. */
  restore(ref: number, from: Int32Array, at: number): void {
    for (let w = 0; w < S.SIZE; w++) this.#i32[ref + w] = from[at + w]!;
  }
}


/**
 * Accessors over ring records, their registry words and their slots (a slot is named by its
 * reference, as capability slots are). Small methods the JIT inlines; no allocation.
 */
export class RingTable {
  readonly #i32: Int32Array;
  readonly #u32: Uint32Array;
  readonly #base: number;
  readonly #reg: number;
  readonly #slotBase: number;
  readonly #slotsPer: number;
  readonly count: number;

  constructor(mm: MachineMemory) {
    this.#i32 = mm.i32;
    this.#u32 = mm.u32;
    this.#base = mm.ringBase;
    this.#reg = mm.ringRegBase;
    this.#slotBase = mm.ringSlotBase;
    this.#slotsPer = mm.ringSlots;
    this.count = mm.nring;
    this.#stats = mm.ringStatsBase;
  }

  readonly #stats: number;

  /** Zeroes every word of ring record `r` and its statistics. */
  clear(r: number): void {
    this.#i32.fill(0, this.#base + r * R.SIZE, this.#base + (r + 1) * R.SIZE);
    this.#i32.fill(0, this.#stats + r * RST.SIZE, this.#stats + (r + 1) * RST.SIZE);
  }

  /** Int32 index of statistics word `f` ({@link RST}) of ring `r`. */
  stat(r: number, f: number): number {
    return this.#stats + r * RST.SIZE + f;
  }

  word(r: number, f: number): number {
    return this.#base + r * R.SIZE + f;
  }

  get(r: number, f: number): number {
    return this.#i32[this.#base + r * R.SIZE + f]!;
  }

  set(r: number, f: number, v: number): void {
    this.#i32[this.#base + r * R.SIZE + f] = v;
  }

  getU(r: number, f: number): number {
    return this.#u32[this.#base + r * R.SIZE + f]!;
  }

  setU(r: number, f: number, v: number): void {
    this.#u32[this.#base + r * R.SIZE + f] = v;
  }

  /** Int32 index of ring `r`'s registry word. */
  registryWord(r: number): number {
    return this.#reg + r;
  }

  /** The registry word of ring `r` (its generation while open, 0 otherwise). */
  registry(r: number): number {
    return this.#u32[this.#reg + r]!;
  }

  setRegistry(r: number, word: number): void {
    Atomics.store(this.#u32, this.#reg + r, word);
  }


  /** Slot reference (Int32 index) of slot `i` of ring `r`; the other slot methods take it. */
  slot(r: number, i: number): number {
    return this.#slotBase + (r * this.#slotsPer + i) * RS.SIZE;
  }

  /** Int32 index of field `f` of slot `ref` (for atomics). */
  slotWord(ref: number, f: number): number {
    return ref + f;
  }

  getSlot(ref: number, f: number): number {
    return this.#i32[ref + f]!;
  }

  setSlot(ref: number, f: number, v: number): void {
    this.#i32[ref + f] = v;
  }

  /** Slots each ring has (the largest capacity). */
  get slotsPerRing(): number {
    return this.#slotsPer;
  }
}

/** Accessors over topic subscriber records. */
export class SubscriberTable {
  readonly #i32: Int32Array;
  readonly #u32: Uint32Array;
  readonly #base: number;
  readonly count: number;

  constructor(mm: MachineMemory) {
    this.#i32 = mm.i32;
    this.#u32 = mm.u32;
    this.#base = mm.subBase;
    this.count = mm.nsub;
  }

  /** Int32 index of field `f` of subscriber record `s` (for atomics). */
  word(s: number, f: number): number {
    return this.#base + s * SB.SIZE + f;
  }

  get(s: number, f: number): number {
    return this.#i32[this.#base + s * SB.SIZE + f]!;
  }

  set(s: number, f: number, v: number): void {
    this.#i32[this.#base + s * SB.SIZE + f] = v;
  }

  gen(s: number): number {
    return this.#u32[this.#base + s * SB.SIZE + SB.GEN]!;
  }

  setGen(s: number, g: number): void {
    Atomics.store(this.#u32, this.#base + s * SB.SIZE + SB.GEN, g);
  }
}
