import { IpcError } from '../contracts/errors.js';
import { FRAME_SIZE, PhysicalMemory } from '../memory/physical-memory.js';
import { lockWord, unlockWord } from '../memory/spinlock.js';
import { TableReclaim } from './table-reclaim.js';

/**
 * Header frame of the shared MMU state, in Int32 words:
 *
 * | word | content |
 * | --- | --- |
 * | 0 | magic (the backend's own, so two backends never attach to each other's state) |
 * | 1 | mutation lock (one writer at a time for every address space of the machine) |
 * | 2 | shootdown epoch: number of records ever posted |
 * | 3 | ASID width in bits |
 * | 4 | number of ASID bitmap frames (0: the bitmap is words 768–1023 of this frame) |
 * | 8–15 | frame numbers of the ASID bitmap frames |
 * | 16 | table generation: a seqlock word, odd while a table mutation is in progress |
 * | 17 | ASID policy (0 lowest free, 1 round-robin) |
 * | 18 | round-robin hint: the ASID after the last one handed out |
 * | 19 | MMU instances attached (the creator included) |
 * | 20, 21 | frames of the table reclaimer: reader slots, limbo ring (see {@link TableReclaim}) |
 * | 22 | CPUs the reclaimer's slots cover |
 * | 32 | walks in progress (alone on its line) |
 * | 48 | reclaim epoch (alone on its line) |
 * | 256–767 | shootdown ring: {@link SHOOTDOWN_SLOTS} records of 4 words |
 * | 768–1023 | the ASID bitmap when it fits (up to 13-bit ASIDs); else in frames of its own |
 */
const W_MAGIC = 0;
const W_LOCK = 1;
const W_EPOCH = 2;
const W_ASID_BITS = 3;
const W_BITMAP_FRAMES = 4;
const W_BITMAP_FRAME0 = 8;
const W_GEN = 16;
const W_POLICY = 17;
const W_HINT = 18;
const W_INSTANCES = 19;
const W_RECLAIM_SLOTS = 20;
const W_RECLAIM_LIMBO = 21;
const W_RECLAIM_CPUS = 22;
const W_RECLAIM_ACTIVE = 32;
const W_RECLAIM_EPOCH = 48;
const W_RING = 256;
const RECORD_WORDS = 4;
const WORDS_PER_FRAME = FRAME_SIZE / 4;
const MAX_BITMAP_FRAMES = 8;
const W_INLINE_BITMAP = 768;

/** Records in the shootdown ring; a CPU that falls this far behind flushes its whole TLB instead. */
export const SHOOTDOWN_SLOTS = 128;

/** Kinds of shootdown record (see {@link MmuSharedState.post}). */
export const ShootdownKind = {
  /** Invalidate `count` 4 KiB pages from `vpn` for one ASID (global entries in the range too). */
  Range: 0,
  /** Invalidate every entry tagged with one ASID (the address space was destroyed). */
  Asid: 1,
  /** Invalidate everything. */
  All: 2,
} as const;

/** What a CPU's TLB does with the shootdown records it replays (see {@link ShootdownReader}). */
export interface ShootdownTarget {
  /** Drops `cpu`'s entries for `asid` (and global ones) overlapping the `count` 4 KiB pages from `vpn`. */
  invalidateRange(cpu: number, asid: number, vpn: number, count: number): void;
  /** Drops every entry `cpu` holds for `asid`. */
  flushAsid(cpu: number, asid: number): void;
  /** Drops every entry of `cpu`. */
  flushAll(cpu: number): void;
}

/** Options of {@link MmuSharedState.create}. */
export interface MmuSharedStateOptions {
  /** The backend's magic word (any non-zero int32), checked by {@link MmuSharedState.attach}. */
  magic: number;
  /** Width of the ASID in bits, 1–16 (the arch's own width). ASID 0 is reserved. */
  asidBits: number;
  /**
   * How `allocAsid` picks: `lowest` free (default), or `round-robin` from the last one handed
   * out, so a freed ASID is reused as late as possible.
   */
  asidPolicy?: 'lowest' | 'round-robin';
}

const TWO32 = 2 ** 32;

/**
 * The MMU state every CPU of a machine shares, in machine memory (so an MMU instance in
 * another worker thread attaches to it by physical address): the mutation lock, the
 * ASID allocator and the TLB-shootdown ring. Arch-neutral: a backend supplies its
 * magic word and ASID width and keeps only its entry format, walk and TLB indexing.
 *
 * **Shootdown protocol.** A writer holds the lock, changes the tables, then posts one record
 * (`[kind << 16 | asid, vpnLo, vpnHi, count]`) and bumps the epoch with `Atomics.store`,
 * which publishes the record. Every CPU, before each TLB lookup, compares the epoch with the
 * last one it replayed (one `Atomics.load`); when behind it replays the missed records in
 * order, and when it fell {@link SHOOTDOWN_SLOTS} or more behind (or was lapped while
 * reading) it flushes its whole TLB instead. So no CPU uses a translation the tables no
 * longer allow once the writer's call has returned.
 *
 * @example
 * ```ts
 * const state = MmuSharedState.create(phys, { magic: 0x56353952, asidBits: 16 });
 * state.lock();
 * const asid = state.allocAsid();
 * state.unlock();
 * const elsewhere = MmuSharedState.attach(phys, state.pa, 0x56353952);
 * elsewhere.asidInUse(asid); // true
 * ```
 */
export class MmuSharedState {
  /** Physical address of the header frame (what `Mmu.sharedState` reports). */
  readonly pa: number;
  /** The machine memory's Int32 view. */
  readonly i32: Int32Array;
  /** Int32 index of the header's first word. */
  readonly base: number;
  /** Int32 index of the epoch word (read on every translation). */
  readonly epochIndex: number;
  /** Int32 index of the table-generation seqlock word (see {@link MmuSharedState.beginWrite}). */
  readonly generationIndex: number;
  /** ASID width in bits. */
  readonly asidBits: number;
  /** Number of ASIDs (2^asidBits, ASID 0 reserved). */
  readonly asidCount: number;
  /** Int32 index of the first bitmap word of each bitmap frame. */
  readonly #bitmap: number[];
  /**
   * Deferred freeing of page-table frames: walkers bracket their table reads with
   * `enter`/`exit`, writers `retire` unlinked tables (see {@link TableReclaim}).
   */
  readonly reclaim: TableReclaim;

  private constructor(phys: PhysicalMemory, pa: number) {
    this.pa = pa;
    this.i32 = phys.i32;
    this.base = phys.physOffset(pa) / 4;
    this.epochIndex = this.base + W_EPOCH;
    this.generationIndex = this.base + W_GEN;
    this.asidBits = this.i32[this.base + W_ASID_BITS]!;
    this.asidCount = 2 ** this.asidBits;
    const n = this.i32[this.base + W_BITMAP_FRAMES]!;
    this.#bitmap = n === 0 ? [this.base + W_INLINE_BITMAP] : Array.from({ length: n }, (_, i) => phys.physOffset(PhysicalMemory.addressOf(this.i32[this.base + W_BITMAP_FRAME0 + i]!)) / 4);
    this.reclaim = new TableReclaim(phys, {
      epoch: this.base + W_RECLAIM_EPOCH,
      active: this.base + W_RECLAIM_ACTIVE,
      cpus: this.base + W_RECLAIM_CPUS,
      slots: TableReclaim.wordsOf(phys, this.i32[this.base + W_RECLAIM_SLOTS]!),
      limbo: TableReclaim.wordsOf(phys, this.i32[this.base + W_RECLAIM_LIMBO]!),
    });
  }

  /**
   * Allocates and initialises fresh shared state: the header frame, the two frames of the
   * table reclaimer, plus bitmap frames for ASIDs wider than 13 bits (all or none).
   */
  static create(phys: PhysicalMemory, options: MmuSharedStateOptions): MmuSharedState {
    const { magic, asidBits } = options;
    if (!Number.isInteger(magic) || magic === 0 || magic !== (magic | 0)) throw new IpcError('InvalidArgument', `magic must be a non-zero int32, got ${magic}`);
    if (!Number.isInteger(asidBits) || asidBits < 1 || asidBits > 16) throw new IpcError('InvalidArgument', `asidBits must be an integer in [1, 16], got ${asidBits}`);
    const bitmapWords = Math.ceil(2 ** asidBits / 32);
    const bitmapFrames = bitmapWords <= WORDS_PER_FRAME - W_INLINE_BITMAP ? 0 : Math.min(MAX_BITMAP_FRAMES, Math.ceil(bitmapWords / WORDS_PER_FRAME));
    const frames = phys.allocFrames(3 + bitmapFrames);
    const pa = PhysicalMemory.addressOf(frames[0]!);
    const i32 = phys.i32;
    const base = phys.physOffset(pa) / 4;
    i32.fill(0, base, base + WORDS_PER_FRAME);
    for (const f of frames.splice(1, 2)) {
      const b = TableReclaim.wordsOf(phys, f);
      i32.fill(0, b, b + WORDS_PER_FRAME);
      i32[base + (i32[base + W_RECLAIM_SLOTS] === 0 ? W_RECLAIM_SLOTS : W_RECLAIM_LIMBO)] = f;
    }
    i32[base + W_ASID_BITS] = asidBits;
    i32[base + W_BITMAP_FRAMES] = bitmapFrames;
    for (let i = 0; i < bitmapFrames; i++) {
      const b = phys.physOffset(PhysicalMemory.addressOf(frames[1 + i]!)) / 4;
      i32.fill(0, b, b + WORDS_PER_FRAME);
      i32[base + W_BITMAP_FRAME0 + i] = frames[1 + i]!;
    }
    i32[base + W_POLICY] = options.asidPolicy === 'round-robin' ? 1 : 0;
    i32[base + W_HINT] = 1;
    i32[base + W_INSTANCES] = 1;
    const s = new MmuSharedState(phys, pa);
    i32[s.#bitmap[0]!] = 1; // ASID 0 stays reserved (the "no ASID" context)
    Atomics.store(i32, base + W_MAGIC, magic);
    return s;
  }

  /** Attaches to state created by another MMU instance; `InvalidArgument` unless `pa` holds state with `magic`. */
  static attach(phys: PhysicalMemory, pa: number, magic: number): MmuSharedState {
    if (!Number.isInteger(pa) || pa % FRAME_SIZE !== 0 || !phys.isInstalled(pa)) {
      throw new IpcError('InvalidArgument', `sharedState ${pa} is not an installed frame address`);
    }
    const base = phys.physOffset(pa) / 4;
    if (Atomics.load(phys.i32, base + W_MAGIC) !== magic) throw new IpcError('InvalidArgument', `no MMU state with magic 0x${(magic >>> 0).toString(16)} at 0x${pa.toString(16)}`);
    Atomics.add(phys.i32, base + W_INSTANCES, 1);
    return new MmuSharedState(phys, pa);
  }

  /** Takes the mutation lock (spinning, then sleeping briefly if the holder is slow). */
  lock(): void {
    lockWord(this.i32, this.base + W_LOCK);
  }

  /** Releases the mutation lock. */
  unlock(): void {
    unlockWord(this.i32, this.base + W_LOCK);
  }

  /** MMU instances attached to this state (the creator included). */
  get instances(): number {
    return Atomics.load(this.i32, this.base + W_INSTANCES);
  }

  /**
   * Starts a table mutation (lock held): the generation word becomes odd. A lock-free walker
   * reads the word before and after its walk and retries when it was odd or changed.
   */
  beginWrite(): void {
    Atomics.add(this.i32, this.generationIndex, 1);
  }

  /** Ends a table mutation: the generation word becomes even again. */
  endWrite(): void {
    Atomics.add(this.i32, this.generationIndex, 1);
  }

  /** Current shootdown epoch. */
  epoch(): number {
    return Atomics.load(this.i32, this.epochIndex);
  }

  #word(w: number): number {
    return this.#bitmap[w >>> 10]! + (w & (WORDS_PER_FRAME - 1));
  }

  /**
   * Allocates an ASID (caller holds the lock) by the state's policy — the lowest free one, or
   * round-robin from the last one handed out; `OutOfMemory` when all are taken.
   */
  allocAsid(): number {
    const i32 = this.i32;
    const count = this.asidCount;
    const words = Math.ceil(count / 32);
    const roundRobin = i32[this.base + W_POLICY] === 1;
    const hint = roundRobin ? i32[this.base + W_HINT]! % count : 0;
    for (let n = 0; n <= words; n++) {
      const w = ((hint >>> 5) + n) % words;
      const at = this.#word(w);
      const bits = i32[at]!;
      // In the hint's word, the ASIDs below the hint count as taken (they come round again at the end).
      const taken = n === 0 ? bits | ((1 << (hint & 31)) - 1) : bits;
      if (taken === -1) continue;
      const bit = 31 - Math.clz32(~taken & (taken + 1));
      const asid = w * 32 + bit;
      if (asid >= count) continue;
      i32[at] = bits | (1 << bit);
      if (roundRobin) i32[this.base + W_HINT] = (asid + 1) % count;
      return asid;
    }
    throw new IpcError('OutOfMemory', `all ${count - 1} ASIDs are in use`);
  }

  /** Returns an ASID to the pool (caller holds the lock). */
  freeAsid(asid: number): void {
    if (!this.asidInUse(asid)) return;
    this.i32[this.#word(asid >>> 5)]! &= ~(1 << (asid & 31));
  }

  /** True when `asid` is allocated (ASID 0 never is). */
  asidInUse(asid: number): boolean {
    return Number.isInteger(asid) && asid > 0 && asid < this.asidCount && (this.i32[this.#word(asid >>> 5)]! & (1 << (asid & 31))) !== 0;
  }

  /**
   * Posts a shootdown record to every CPU of every attached instance (caller holds the lock):
   * `kind` is a {@link ShootdownKind}; `vpn` the first 4 KiB virtual page number (up to 2^52)
   * and `count` the pages, for a Range.
   */
  post(kind: number, asid: number, vpn: number, count: number): void {
    const i32 = this.i32;
    const seq = i32[this.epochIndex]!;
    const r = this.recordIndex(seq);
    i32[r] = (kind << 16) | (asid & 0xffff);
    i32[r + 1] = vpn % TWO32;
    i32[r + 2] = Math.floor(vpn / TWO32);
    i32[r + 3] = count;
    // The epoch store publishes the record (Atomics order the plain writes before it).
    Atomics.store(i32, this.epochIndex, (seq + 1) | 0);
  }

  /** Int32 index of the record with sequence number `seq`. */
  recordIndex(seq: number): number {
    return this.base + W_RING + (seq & (SHOOTDOWN_SLOTS - 1)) * RECORD_WORDS;
  }

  /** Frees the header, reclaimer and bitmap frames, and every table still in limbo (after the last address space is gone). */
  destroy(phys: PhysicalMemory): void {
    const i32 = this.i32;
    this.reclaim.drain();
    const n = i32[this.base + W_BITMAP_FRAMES]!;
    const frames = [this.pa / FRAME_SIZE, i32[this.base + W_RECLAIM_SLOTS]!, i32[this.base + W_RECLAIM_LIMBO]!, ...Array.from({ length: n }, (_, i) => i32[this.base + W_BITMAP_FRAME0 + i]!)];
    Atomics.store(i32, this.base + W_MAGIC, 0);
    for (const f of frames.reverse()) phys.freeFrame(f);
  }
}

/**
 * One MMU instance's view of the shootdown ring: the last epoch each of its CPUs replayed.
 * Call {@link ShootdownReader.sync} before every TLB lookup of a CPU; it costs one
 * `Atomics.load` when nothing was posted and allocates nothing.
 *
 * @example
 * ```ts
 * const reader = new ShootdownReader(state, cpus, tlb); // tlb implements ShootdownTarget
 * reader.sync(cpu); // then look up the TLB
 * ```
 */
export class ShootdownReader {
  readonly #state: MmuSharedState;
  readonly #target: ShootdownTarget;
  readonly #seen: Int32Array;
  readonly #i32: Int32Array;
  readonly #epochIndex: number;

  constructor(state: MmuSharedState, cpus: number, target: ShootdownTarget) {
    this.#state = state;
    this.#target = target;
    this.#i32 = state.i32;
    this.#epochIndex = state.epochIndex;
    this.#seen = new Int32Array(cpus).fill(state.epoch());
  }

  /** Replays on `cpu` every record posted since it last looked. */
  sync(cpu: number): void {
    const epoch = Atomics.load(this.#i32, this.#epochIndex);
    if (epoch !== this.#seen[cpu]) this.#replay(cpu, epoch);
  }

  #replay(cpu: number, epoch: number): void {
    const seen = this.#seen[cpu]!;
    const t = this.#target;
    const behind = (epoch - seen) | 0;
    // A record being written for sequence `epoch` may already overwrite slot `epoch - SLOTS`.
    if (behind >= SHOOTDOWN_SLOTS || behind < 0) {
      t.flushAll(cpu);
    } else {
      const i32 = this.#i32;
      for (let seq = seen; seq !== epoch; seq = (seq + 1) | 0) {
        const r = this.#state.recordIndex(seq);
        const head = i32[r]!;
        const kind = head >>> 16;
        const asid = head & 0xffff;
        if (kind === ShootdownKind.Range) t.invalidateRange(cpu, asid, (i32[r + 2]! >>> 0) * TWO32 + (i32[r + 1]! >>> 0), i32[r + 3]! >>> 0);
        else if (kind === ShootdownKind.Asid) t.flushAsid(cpu, asid);
        else t.flushAll(cpu);
      }
      // Writers lapped us while we read: some records may be torn, so drop everything.
      if (((Atomics.load(i32, this.#epochIndex) - seen) | 0) >= SHOOTDOWN_SLOTS) t.flushAll(cpu);
    }
    this.#seen[cpu] = epoch;
  }
}
