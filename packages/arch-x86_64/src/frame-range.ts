import { FRAME_SIZE, FrameInfo, IpcError, PageMarker, ShootdownKind } from '@veridian/core';
import type { PagePerms, VirtualAddress } from '@veridian/core';
import { rangeInOneHalf, toLinear } from './address.js';
import { LEVEL_SPAN, PteHi, PteLo, entryAddress, leafHi, leafLo, leafMarkers, leafPerms, tableHi, tableLo } from './page-table-entry.js';
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
    if (frames instanceof Int32Array) {
      // Integers already: one pass of compares.
      for (let i = 0, j = from; i < count; i++, j++) {
        const f = frames[j]!;
        if (f < 1 || f >= limit) badFrame(j, f);
        copy[i] = f;
      }
    } else {
      for (let i = 0, j = from; i < count; i++, j++) {
        const f = frames[j];
        if (typeof f !== 'number' || !(f >= 1 && f < limit) || Math.floor(f) !== f) badFrame(j, f);
        copy[i] = f;
      }
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
      this.#fill(root, TOP, 0, start, end, false);
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
      if (level < TOP && (lo & PteLo.PAGE_SIZE) !== 0) return -1;
      const m = this.#missing(((lo & PteLo.ADDRESS_4K) >>> 0) + (hi & PteHi.ADDRESS) * TWO32, level - 1, eBase, s, e);
      if (m < 0) return -1;
      n += m;
    }
    return n;
  }

  /**
   * Writes the leaves of `[start, end)` under `table`, linking the missing tables (from
   * {@link #fresh}); cannot fail. A new table is filled before it is linked (`fresh`: nothing
   * can see it yet); in a linked table every high word is written before any low word (with
   * P), so a walker never sees P with a stale address.
   */
  #fill(table: number, level: number, base: number, start: number, end: number, fresh: boolean): void {
    const t = this.#t;
    const u32 = this.#u32;
    const span = LEVEL_SPAN[level]!;
    const first = Math.floor((start - base) / span);
    const last = Math.min(ENTRIES, Math.ceil((end - base) / span));
    const w0 = t.word(table, first) | 0;
    if (level === 0) {
      const frames = this.#copy;
      const lo = this.#lo;
      const hi = this.#hi;
      const k0 = (this.#at + (start - this.#start0) / FRAME_SIZE) | 0;
      const wEnd = w0 + (last - first) * 2;
      // A frame number is below 2^31: its address is f·2^12, low word f << 12, high word f >>> 20.
      for (let w = w0, k = k0; w < wEnd; w += 2, k++) u32[w + 1] = (frames[k]! >>> 20) | hi;
      if (fresh) {
        for (let w = w0, k = k0; w < wEnd; w += 2, k++) u32[w] = (frames[k]! << 12) | lo;
      } else {
        // The first low word by an atomic store: every high word above is visible before any P.
        Atomics.store(u32, w0, ((frames[k0]! << 12) | lo) >>> 0);
        for (let w = w0 + 2, k = k0 + 1; w < wEnd; w += 2, k++) u32[w] = (frames[k]! << 12) | lo;
      }
      return;
    }
    for (let i = first, eBase = base + first * span, w = w0; i < last; i++, eBase += span, w += 2) {
      const s = start > eBase ? start : eBase;
      const e = end < eBase + span ? end : eBase + span;
      const lo = u32[w]!;
      const hi = u32[w + 1]!;
      if ((lo | hi) === 0) {
        // Taken parent-first in address order, filled, then linked.
        const child = this.#fresh[this.#next++]! * FRAME_SIZE;
        this.#fill(child, level - 1, eBase, s, e, true);
        if (fresh) {
          u32[w + 1] = tableHi(child);
          u32[w] = tableLo(child);
        } else t.store(w, tableLo(child), tableHi(child));
      } else {
        this.#fill(((lo & PteLo.ADDRESS_4K) >>> 0) + (hi & PteHi.ADDRESS) * TWO32, level - 1, eBase, s, e, fresh);
      }
    }
  }

  /** Clears `[start, end)` (no huge page split), reporting frames to {@link #out} (−1 for holes); queues emptied tables. Returns the 4 KiB pages cleared. */
  #clear(table: number, level: number, base: number, start: number, end: number): number {
    const t = this.#t;
    const u32 = this.#u32;
    const out = this.#out;
    const span = LEVEL_SPAN[level]!;
    const first = Math.floor((start - base) / span);
    const last = Math.min(ENTRIES, Math.ceil((end - base) / span));
    const w0 = t.word(table, first) | 0;
    let k = this.#at + (start - this.#start0) / FRAME_SIZE;
    let n = 0;
    if (level === 0) {
      const wEnd = w0 + (last - first) * 2;
      // Low words (with P) first, every one of them before any high word. Indices as small
      // integers (`| 0`): typed-array indexing stays on the integer path.
      for (let w = w0, j = k | 0; w < wEnd; w += 2, j++) {
        const lo = u32[w]!;
        const hi = u32[w + 1]!;
        if ((lo | hi) === 0) {
          out[j] = -1;
          continue;
        }
        // The frame number (address / 2^12) as the Int32Array stores it: `| (hi << 20)` keeps the same low 32 bits.
        out[j] = (lo >>> 12) | (hi << 20);
        n++;
        u32[w] = 0;
      }
      if (n > 0) {
        Atomics.store(u32, w0 + 1, 0);
        for (let w = w0 + 3; w < wEnd; w += 2) u32[w] = 0;
      }
      return n;
    }
    for (let i = first, eBase = base + first * span, w = w0; i < last; i++, eBase += span, w += 2) {
      const s = start > eBase ? start : eBase;
      const e = end < eBase + span ? end : eBase + span;
      const pages = (e - s) / FRAME_SIZE;
      const lo = u32[w]!;
      const hi = u32[w + 1]!;
      if ((lo | hi) === 0) {
        out.fill(-1, k, k + pages);
      } else if (level < TOP && (lo & PteLo.PAGE_SIZE) !== 0) {
        // A huge leaf lies wholly inside the range (checked): each of its 4 KiB pages reports its frame.
        const frame = entryAddress(lo, hi, level, true) / FRAME_SIZE;
        for (let j = 0; j < pages; j++) out[k + j] = frame + j;
        t.clear(w);
        n += pages;
      } else {
        const child = ((lo & PteLo.ADDRESS_4K) >>> 0) + (hi & PteHi.ADDRESS) * TWO32;
        n += this.#clear(child, level - 1, eBase, s, e);
        // A child the range covers whole is empty now. A page table has every entry of the range
        // cleared, so only the ones outside it need looking at; a higher table is scanned whole.
        if ((s === eBase && e === eBase + span) || (level === 1 ? this.#emptyOutside(child, (s - eBase) / FRAME_SIZE, (e - eBase) / FRAME_SIZE) : t.isEmpty(child))) {
          t.clear(w);
          t.unlinked.push(child / FRAME_SIZE);
        }
      }
      k += pages;
    }
    return n;
  }

  /** True when every entry of the table at `tablePa` outside `[first, last)` is unused. */
  #emptyOutside(tablePa: number, first: number, last: number): boolean {
    const u32 = this.#u32;
    const w0 = this.#t.word(tablePa, 0);
    for (let w = w0, e = w0 + first * 2; w < e; w++) if (u32[w] !== 0) return false;
    for (let w = w0 + last * 2, e = w0 + ENTRIES * 2; w < e; w++) if (u32[w] !== 0) return false;
    return true;
  }

  /** Reports the pages of `[start, end)` to {@link #out} and {@link #info} (−1 and 0 for holes); returns the mapped ones. */
  #read(table: number, level: number, base: number, start: number, end: number): number {
    const u32 = this.#u32;
    const out = this.#out;
    const info = this.#info;
    const span = LEVEL_SPAN[level]!;
    const first = Math.floor((start - base) / span);
    const last = Math.min(ENTRIES, Math.ceil((end - base) / span));
    const w0 = this.#t.word(table, first) | 0;
    let k = this.#at + (start - this.#start0) / FRAME_SIZE;
    let n = 0;
    if (level === 0) {
      // The FrameInfo word depends only on the flag bits: recomputed when they change.
      let flagsLo = -1;
      let flagsHi = -1;
      let word = 0;
      for (let w = w0, wEnd = w0 + (last - first) * 2, j = k | 0; w < wEnd; w += 2, j++) {
        const lo = u32[w]!;
        const hi = u32[w + 1]!;
        if ((lo | hi) === 0) {
          out[j] = -1;
          info[j] = 0;
          continue;
        }
        if ((lo & 0xfff) !== flagsLo || (hi & PteHi.NO_EXECUTE) !== flagsHi) {
          flagsLo = lo & 0xfff;
          flagsHi = hi & PteHi.NO_EXECUTE;
          word = infoWord(lo, hi);
        }
        out[j] = (lo >>> 12) | (hi << 20);
        info[j] = word;
        n++;
      }
      return n;
    }
    for (let i = first, eBase = base + first * span, w = w0; i < last; i++, eBase += span, w += 2) {
      const s = start > eBase ? start : eBase;
      const e = end < eBase + span ? end : eBase + span;
      const pages = (e - s) / FRAME_SIZE;
      const lo = u32[w]!;
      const hi = u32[w + 1]!;
      if ((lo | hi) === 0) {
        out.fill(-1, k, k + pages);
        info.fill(0, k, k + pages);
      } else if (level < TOP && (lo & PteLo.PAGE_SIZE) !== 0) {
        const word = infoWord(lo, hi);
        // A page inside a huge leaf reports its own 4 KiB frame.
        let frame = (entryAddress(lo, hi, level, true) + (s - eBase)) / FRAME_SIZE;
        for (let j = k, jEnd = k + pages; j < jEnd; j++) {
          out[j] = frame++;
          info[j] = word;
        }
        n += pages;
      } else {
        n += this.#read(((lo & PteLo.ADDRESS_4K) >>> 0) + (hi & PteHi.ADDRESS) * TWO32, level - 1, eBase, s, e);
      }
      k += pages;
    }
    return n;
  }
}

/** The {@link FrameInfo} word of a leaf. */
function infoWord(lo: number, hi: number): number {
  return leafPerms(lo, hi) | (leafMarkers(lo) << FrameInfo.MARKER_SHIFT) | FrameInfo.MAPPED | (lo & PteLo.PRESENT ? FrameInfo.PRESENT : 0);
}

/** Throws the `InvalidArgument` of a bad entry `frames[index]`. */
function badFrame(index: number, f: unknown): never {
  invalidArgument(`frames[${index}] = ${String(f)} is not an installed frame number`);
}
