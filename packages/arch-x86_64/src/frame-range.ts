import { FRAME_SIZE, FrameInfo, IpcError, PageMarker, ShootdownKind } from '@veridian/core';
import type { PagePerms, VirtualAddress } from '@veridian/core';
import { rangeInOneHalf, toLinear } from './address.js';
import { LEVEL_SPAN, PteLo, entryAddress, isLeaf, leafHi, leafLo, leafMarkers, leafPerms, tableHi, tableLo } from './page-table-entry.js';
import { invalidArgument } from './page-table.js';
import type { PageTables } from './page-table.js';
import type { SharedState } from './shared-state.js';
import type { Tlb } from './tlb.js';

const ENTRIES = 512;
const TOP = 3;
const TWO32 = 2 ** 32;
/** Pages of the 48-bit linear space: no range can hold more. */
const MAX_PAGES = 2 ** 36;
const ALL_PERMS = 0xf;
const ALL_MARKERS = PageMarker.COPY_ON_WRITE | PageMarker.LAZY;
const NO_WORDS = new Int32Array(0);

/** Throws `InvalidArgument` unless `perms` holds only `PagePerm` bits. */
export function checkPerms(perms: PagePerms): void {
  if (!Number.isInteger(perms) || (perms & ~ALL_PERMS) !== 0 || perms < 0) invalidArgument(`unknown permission bits in ${String(perms)}`);
}

/** Throws `InvalidArgument` unless `markers` holds only `PageMarker` bits. */
export function checkMarkers(markers: number): void {
  if (!Number.isInteger(markers) || (markers & ~ALL_MARKERS) !== 0 || markers < 0) invalidArgument(`unknown marker bits in ${String(markers)}`);
}

/** Throws `InvalidArgument` unless `arr` is an Int32Array with room for `count` words from `at`. */
function checkWords(arr: unknown, at: unknown, count: number, name: string): asserts arr is Int32Array {
  if (!(arr instanceof Int32Array)) invalidArgument(`${name} must be an Int32Array`);
  if (!Number.isSafeInteger(at) || (at as number) < 0 || (at as number) + count > arr.length) invalidArgument(`${name} has no room for ${count} pages at ${String(at)}`);
}

/**
 * The range operations of `X86AddressSpace` on many 4 KiB pages with frames of their own
 * (`mapFrames`, `unmapFrames`, `readFrames`): one descent per table touched, never one walk
 * per page, and no allocation per page. One instance per MMU instance; the per-call state
 * lives in fields, which is safe because every call runs whole under the machine-wide lock.
 */
export class FrameRanges {
  readonly #t: PageTables;
  readonly #u32: Uint32Array;
  readonly #shared: SharedState;
  readonly #tlb: Tlb;
  /** One past the highest frame number a leaf may hold: installed, and below 2^MAXPHYADDR. */
  readonly #frameLimit: number;
  /** Table frames allocated up front for the current `map` (reused scratch). */
  readonly #fresh: number[] = [];
  #next = 0;
  // Per-call state of the recursions (set under the lock, dropped before it is released).
  /** The validated frame numbers of the current `map` (grows, never shrinks). */
  #copy = new Int32Array(256);
  #info: Int32Array = NO_WORDS;
  #out: Int32Array = NO_WORDS;
  #at = 0;
  #start0 = 0;
  #lo = 0;
  #hi = 0;

  constructor(tables: PageTables, shared: SharedState, tlb: Tlb, maxPhysAddr: number) {
    this.#t = tables;
    this.#u32 = tables.u32;
    this.#shared = shared;
    this.#tlb = tlb;
    this.#frameLimit = Math.min(tables.phys.frameCount, 2 ** (maxPhysAddr - 12));
  }

  /** Validates `va` and `count` (4 KiB pages inside one canonical half); returns the linear start. */
  #range(va: VirtualAddress, count: number): number {
    const start = toLinear(va);
    if (start < 0) invalidArgument(`${String(va)} is not a canonical address`);
    if (start % FRAME_SIZE !== 0) invalidArgument(`address ${String(va)} is not 4096-aligned`);
    if (!Number.isSafeInteger(count) || count <= 0 || count > MAX_PAGES) invalidArgument(`count ${String(count)} is not a positive integer page count`);
    if (!rangeInOneHalf(start, count * FRAME_SIZE)) invalidArgument('the range leaves the canonical half it starts in');
    return start;
  }

  /** `mapFrames` of the space with root `root` (see `AddressSpace.mapFrames`). */
  map(root: number, va: VirtualAddress, frames: ArrayLike<number>, from: number, count: number, perms: PagePerms, markers: number): void {
    const start = this.#range(va, count);
    if (frames === null || typeof frames !== 'object' || !Number.isSafeInteger(frames.length)) invalidArgument('frames must be an array-like of frame numbers');
    if (!Number.isSafeInteger(from) || from < 0 || from + count > frames.length) invalidArgument(`frames has no ${count} entries from ${String(from)}`);
    // Validated into a copy: the caller's list (a getter, shared memory) cannot change under the write pass.
    if (this.#copy.length < count) this.#copy = new Int32Array(2 ** Math.ceil(Math.log2(count)));
    const copy = this.#copy;
    const limit = this.#frameLimit;
    for (let i = 0; i < count; i++) {
      const f = frames[from + i];
      if (typeof f !== 'number' || !Number.isInteger(f) || f < 1 || f >= limit) invalidArgument(`frames[${from + i}] = ${String(f)} is not an installed frame number`);
      copy[i] = f;
    }
    checkPerms(perms);
    checkMarkers(markers);
    const end = start + count * FRAME_SIZE;
    const fresh = this.#fresh;
    this.#shared.lock();
    try {
      const need = this.#missing(root, TOP, 0, start, end);
      if (need < 0) throw new IpcError('AlreadyExists', 'the range overlaps an existing mapping');
      // Every table the range lacks is taken before the first write: OutOfMemory changes nothing.
      fresh.length = 0;
      if (need > 0) this.#t.phys.allocFrames(need, fresh);
      this.#next = 0;
      this.#at = 0;
      this.#start0 = start;
      this.#lo = leafLo(0, perms, markers, false, 0);
      this.#hi = leafHi(0, perms);
      this.#fill(root, TOP, 0, start, end);
      // New entries need no shootdown: TLBs never cache the absence of a translation.
    } finally {
      fresh.length = 0;
      this.#shared.unlock();
    }
  }

  /** `unmapFrames` of the space with root `root` and PCID `asid` (see `AddressSpace.unmapFrames`). */
  unmap(root: number, asid: number, va: VirtualAddress, count: number, out: Int32Array, at: number): number {
    const start = this.#range(va, count);
    checkWords(out, at, count, 'out');
    const end = start + count * FRAME_SIZE;
    const tables = this.#t;
    this.#shared.lock();
    try {
      if (tables.splitsHugePage(root, TOP, 0, start, end)) invalidArgument('the range would split a huge page');
      out.fill(-1, at, at + count);
      this.#out = out;
      this.#at = at;
      this.#start0 = start;
      const mapped = this.#clear(root, TOP, 0, start, end);
      // One shootdown for the whole range, then the empty tables wait out the grace period.
      if (mapped > 0 || tables.unlinked.length > 0) {
        const pages = count;
        if (pages < 2 ** 31) this.#shared.post(ShootdownKind.Range, asid, start / FRAME_SIZE, pages);
        else this.#shared.post(ShootdownKind.Asid, asid, 0, 0);
        this.#tlb.stats.shootdowns++;
      }
      tables.retireUnlinked();
      return mapped;
    } finally {
      this.#out = NO_WORDS;
      this.#shared.unlock();
    }
  }

  /** `readFrames` of the space with root `root` (see `AddressSpace.readFrames`). */
  read(root: number, va: VirtualAddress, count: number, frames: Int32Array, info: Int32Array, at: number): number {
    const start = this.#range(va, count);
    checkWords(frames, at, count, 'frames');
    checkWords(info, at, count, 'info');
    // Under the lock: a consistent view, and no table of it can be recycled while it is read.
    this.#shared.lock();
    try {
      frames.fill(-1, at, at + count);
      info.fill(0, at, at + count);
      this.#out = frames;
      this.#info = info;
      this.#at = at;
      this.#start0 = start;
      return this.#read(root, TOP, 0, start, start + count * FRAME_SIZE);
    } finally {
      this.#out = NO_WORDS;
      this.#info = NO_WORDS;
      this.#shared.unlock();
    }
  }

  /** Tables to create for `[start, end)` under `table` (at `level`), or -1 when some entry in the range is already in use. */
  #missing(table: number, level: number, base: number, start: number, end: number): number {
    const u32 = this.#u32;
    const span = LEVEL_SPAN[level]!;
    const first = Math.floor((start - base) / span);
    const last = Math.min(ENTRIES, Math.ceil((end - base) / span));
    let w = this.#t.word(table, first);
    if (level === 0) {
      for (let i = first; i < last; i++, w += 2) if ((u32[w]! | u32[w + 1]!) !== 0) return -1;
      return 0;
    }
    let n = 0;
    for (let i = first, eBase = base + first * span; i < last; i++, eBase += span, w += 2) {
      const lo = u32[w]!;
      const hi = u32[w + 1]!;
      const s = Math.max(start, eBase);
      const e = Math.min(end, eBase + span);
      if ((lo | hi) === 0) {
        // An empty subtree: one table per level-l span the sub-range meets, for each level below.
        for (let l = level - 1; l >= 0; l--) n += Math.floor((e - 1) / LEVEL_SPAN[l + 1]!) - Math.floor(s / LEVEL_SPAN[l + 1]!) + 1;
        continue;
      }
      if (isLeaf(lo, level)) return -1;
      const m = this.#missing(entryAddress(lo, hi, level, false), level - 1, eBase, s, e);
      if (m < 0) return -1;
      n += m;
    }
    return n;
  }

  /** Links the missing tables (from {@link #fresh}) and writes the leaves of `[start, end)`; cannot fail. */
  #fill(table: number, level: number, base: number, start: number, end: number): void {
    const t = this.#t;
    const u32 = this.#u32;
    const span = LEVEL_SPAN[level]!;
    const first = Math.floor((start - base) / span);
    const last = Math.min(ENTRIES, Math.ceil((end - base) / span));
    let w = t.word(table, first);
    if (level === 0) {
      const frames = this.#copy;
      const lo = this.#lo;
      const hi = this.#hi;
      for (let i = first, k = this.#at + (base + first * span - this.#start0) / FRAME_SIZE; i < last; i++, k++, w += 2) {
        const pa = frames[k]! * FRAME_SIZE;
        t.store(w, ((pa % TWO32) | lo) >>> 0, (Math.floor(pa / TWO32) | hi) >>> 0);
      }
      return;
    }
    for (let i = first, eBase = base + first * span; i < last; i++, eBase += span, w += 2) {
      let child: number;
      if ((u32[w]! | u32[w + 1]!) === 0) {
        child = this.#fresh[this.#next++]! * FRAME_SIZE;
        t.store(w, tableLo(child), tableHi(child));
      } else {
        child = entryAddress(u32[w]!, u32[w + 1]!, level, false);
      }
      this.#fill(child, level - 1, eBase, Math.max(start, eBase), Math.min(end, eBase + span));
    }
  }

  /** Clears `[start, end)` (no huge page split), reporting frames to {@link #out}; queues emptied tables. Returns the 4 KiB pages cleared. */
  #clear(table: number, level: number, base: number, start: number, end: number): number {
    const t = this.#t;
    const u32 = this.#u32;
    const out = this.#out;
    const span = LEVEL_SPAN[level]!;
    const first = Math.floor((start - base) / span);
    const last = Math.min(ENTRIES, Math.ceil((end - base) / span));
    let n = 0;
    let w = t.word(table, first);
    for (let i = first, eBase = base + first * span; i < last; i++, eBase += span, w += 2) {
      const lo = u32[w]!;
      const hi = u32[w + 1]!;
      if ((lo | hi) === 0) continue;
      if (isLeaf(lo, level)) {
        // A huge leaf lies wholly inside the range (checked): each of its 4 KiB pages reports its frame.
        const k = this.#at + (eBase - this.#start0) / FRAME_SIZE;
        const pages = span / FRAME_SIZE;
        const frame = entryAddress(lo, hi, level, true) / FRAME_SIZE;
        for (let j = 0; j < pages; j++) out[k + j] = frame + j;
        t.clear(w);
        n += pages;
        continue;
      }
      const child = entryAddress(lo, hi, level, false);
      n += this.#clear(child, level - 1, eBase, Math.max(start, eBase), Math.min(end, eBase + span));
      if ((start <= eBase && end >= eBase + span) || t.isEmpty(child)) {
        t.clear(w);
        t.unlinked.push(child / FRAME_SIZE);
      }
    }
    return n;
  }

  /** Reports the pages of `[start, end)` to {@link #out} and {@link #info}; returns the mapped ones. */
  #read(table: number, level: number, base: number, start: number, end: number): number {
    const u32 = this.#u32;
    const span = LEVEL_SPAN[level]!;
    const first = Math.floor((start - base) / span);
    const last = Math.min(ENTRIES, Math.ceil((end - base) / span));
    let n = 0;
    let w = this.#t.word(table, first);
    for (let i = first, eBase = base + first * span; i < last; i++, eBase += span, w += 2) {
      const lo = u32[w]!;
      const hi = u32[w + 1]!;
      if ((lo | hi) === 0) continue;
      const s = Math.max(start, eBase);
      const e = Math.min(end, eBase + span);
      if (!isLeaf(lo, level)) {
        n += this.#read(entryAddress(lo, hi, level, false), level - 1, eBase, s, e);
        continue;
      }
      const word = leafPerms(lo, hi) | (leafMarkers(lo) << FrameInfo.MARKER_SHIFT) | FrameInfo.MAPPED | (lo & PteLo.PRESENT ? FrameInfo.PRESENT : 0);
      // A page inside a huge leaf reports its own 4 KiB frame.
      let frame = (entryAddress(lo, hi, level, true) + (s - eBase)) / FRAME_SIZE;
      for (let k = this.#at + (s - this.#start0) / FRAME_SIZE, kEnd = k + (e - s) / FRAME_SIZE; k < kEnd; k++) {
        this.#out[k] = frame++;
        this.#info[k] = word;
      }
      n += (e - s) / FRAME_SIZE;
    }
    return n;
  }
}
