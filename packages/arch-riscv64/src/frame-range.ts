import { FrameInfo, IpcError, ShootdownKind } from '@veridian/core';
import type { PagePerms, VirtualAddress } from '@veridian/core';
import { fromLinear, halfSpan, indexAt, levelSpan, toLinear } from './address.js';
import type { MmuContext } from './mmu-context.js';
import { PAGE, clearEntry, isTableEntry, storeEntry } from './page-table.js';
import { PteBit, RWX, entryAddress, isSoftwareLeaf, leafFlags, leafMarkers, leafPerms, ppnOf } from './page-table-entry.js';

/** Frame numbers an entry can name: a 44-bit PPN (§4.4.1). */
const PPN_LIMIT = 2 ** 44;
const NO_FRAMES: ArrayLike<number> = [];
const NO_WORDS = new Int32Array(0);

const invalidArgument = (why: string): never => {
  throw new IpcError('InvalidArgument', why);
};

/** `InvalidArgument` unless `n` is an integer in `[min, max]`. */
function checkInt(n: unknown, min: number, max: number, what: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min || n > max) invalidArgument(`${what} ${String(n)} is not an integer in [${min}, ${max}]`);
  return n as number;
}

/** Number of tables of levels `level − 1` … 0 a 4 KiB map of `[a, b)` needs below an empty entry of `level`. */
function tablesBelow(level: number, a: number, b: number): number {
  let n = 0;
  for (let j = level - 1; j >= 0; j--) {
    const span = levelSpan(j + 1); // what one table of level j covers
    n += Math.floor((b - 1) / span) - Math.floor(a / span) + 1;
  }
  return n;
}

/** True for what `lookup` reports as a mapping: a valid leaf, or a LAZY / no-rights entry (V = 0). */
function isMapping(lo: number, hi: number): boolean {
  return (lo & PteBit.V) !== 0 ? (lo & RWX) !== 0 : isSoftwareLeaf(lo, hi);
}

/** True when every entry of the table whose entry 0 is at word `w0` outside `[first, last)` is zero. */
function emptyOutside(u: Uint32Array, w0: number, first: number, last: number): boolean {
  for (let w = w0, e = w0 + first * 2; w < e; w++) if (u[w] !== 0) return false;
  for (let w = w0 + last * 2, e = w0 + 1024; w < e; w++) if (u[w] !== 0) return false;
  return true;
}

/**
 * The range operations (`mapFrames`, `unmapFrames`, `readFrames`) of one address space: each
 * descends the tables once, handling in every table the run of entries the range covers, so a
 * table is read (and written) once per call rather than once per page. The per-call operands
 * live in fields, so the recursion passes only table, level and bounds and allocates nothing
 * per page. Callers hold the MMU lock.
 */
export class FrameRange {
  readonly #ctx: MmuContext;
  /** New tables (mapFrames) or unlinked ones to retire (unmapFrames). Reused across calls. */
  readonly #tables: number[] = [];
  #next = 0;
  #lin = 0;
  #frames: ArrayLike<number> = NO_FRAMES;
  #from = 0;
  #flags = 0;
  #out: Int32Array = NO_WORDS;
  #info: Int32Array = NO_WORDS;
  #at = 0;
  #mapped = 0;

  constructor(ctx: MmuContext) {
    this.#ctx = ctx;
  }

  /** Linear start of `count` pages from `va`, checked (canonical, 4 KiB-aligned, within one half); `InvalidArgument` otherwise. */
  range(va: VirtualAddress, count: number): number {
    const mode = this.#ctx.mode;
    checkInt(count, 1, Number.MAX_SAFE_INTEGER, 'count');
    const lin = typeof va === 'number' || typeof va === 'bigint' ? toLinear(va, mode) : -1;
    if (lin < 0) invalidArgument(`address ${String(va)} is not a canonical ${mode.name} address`);
    if (lin % PAGE !== 0) invalidArgument(`address 0x${BigInt(va).toString(16)} is not 4096-aligned`);
    const half = halfSpan(mode);
    const end = lin + count * PAGE;
    if (lin < half ? end > half : end > 2 * half) invalidArgument('the range crosses the end of its half of the address space');
    return lin;
  }

  /** Checks the operands of `mapFrames` (everything but the address) and returns the leaf flags. */
  checkMap(frames: ArrayLike<number>, from: number, count: number, perms: PagePerms, markers: number | undefined): number {
    if (typeof frames !== 'object' || frames === null || !Number.isSafeInteger(frames.length)) invalidArgument('frames must be an array-like of frame numbers');
    checkInt(from, 0, frames.length, 'from');
    if (from + count > frames.length) invalidArgument(`frames has ${frames.length} entries, ${from + count} needed`);
    const limit = Math.min(this.#ctx.phys.frameCount, PPN_LIMIT);
    for (let i = from, end = from + count; i < end; i++) {
      const f = frames[i];
      // Frame 0 is reserved; anything past installed memory is not a frame of this machine.
      if (typeof f !== 'number' || !Number.isInteger(f) || f < 1 || f >= limit) invalidArgument(`frames[${i}] = ${String(f)} is not an installed frame`);
    }
    checkInt(perms, 0, 15, 'perms (PagePerm bits)');
    checkInt(markers ?? 0, 0, 3, 'markers (PageMarker bits)');
    return leafFlags(perms, markers ?? 0, false);
  }

  /** `InvalidArgument` unless `words` is an Int32Array with room for `count` words from `at`. */
  checkOut(words: unknown, at: unknown, count: number, what: string): void {
    checkInt(at, 0, Number.MAX_SAFE_INTEGER, 'at');
    if (!(words instanceof Int32Array)) invalidArgument(`${what} must be an Int32Array`);
    else if ((at as number) + count > words.length) invalidArgument(`${what} has ${words.length} words, ${(at as number) + count} needed`);
  }

  /** Maps `count` pages from linear `lin` onto `frames[from …]` with leaf `flags`; all or nothing. */
  map(root: number, lin: number, frames: ArrayLike<number>, from: number, count: number, flags: number): void {
    const ctx = this.#ctx;
    const top = ctx.mode.levels - 1;
    const end = lin + count * PAGE;
    // Pass 1 reads only: AlreadyExists, and the count of tables to create.
    const need = this.#scan(root, top, lin, end);
    const tables = this.#tables;
    tables.length = 0;
    ctx.phys.allocFrames(need, tables); // OutOfMemory here leaves everything as it was
    this.#next = 0;
    this.#lin = lin;
    this.#frames = frames;
    this.#from = from;
    this.#flags = flags;
    try {
      this.#fill(root, top, lin, end);
    } finally {
      this.#frames = NO_FRAMES;
      tables.length = 0;
    }
  }

  #scan(table: number, level: number, start: number, end: number): number {
    const ctx = this.#ctx;
    const u = ctx.u32;
    if (level === 0) {
      // A page table: every entry of the range must be zero (one tight loop).
      const w0 = ctx.entryIndex(table, indexAt(start, 0)) | 0;
      for (let w = w0, wEnd = w0 + (indexAt(end - 1, 0) + 1 - indexAt(start, 0)) * 2; w < wEnd; w += 2) {
        if ((u[w]! | u[w + 1]!) !== 0) throw new IpcError('AlreadyExists', `already mapped: 0x${BigInt(fromLinear(start + ((w - w0) / 2) * PAGE, ctx.mode)).toString(16)}`);
      }
      return 0;
    }
    const span = levelSpan(level);
    let need = 0;
    for (let i = indexAt(start, level), last = indexAt(end - 1, level), v = start; i <= last; i++) {
      const w = ctx.entryIndex(table, i);
      const lo = u[w]!;
      const hi = u[w + 1]!;
      const next = Math.min(end, v - (v % span) + span);
      if (lo === 0 && hi === 0) {
        if (level > 0) need += tablesBelow(level, v, next);
      } else if (isTableEntry(lo, level)) {
        need += this.#scan(entryAddress(lo, hi), level - 1, v, next);
      } else {
        throw new IpcError('AlreadyExists', `${level > 0 ? 'a larger page already maps' : 'already mapped:'} 0x${BigInt(fromLinear(v, ctx.mode)).toString(16)}`);
      }
      v = next;
    }
    return need;
  }

  #fill(table: number, level: number, start: number, end: number): void {
    const ctx = this.#ctx;
    const u = ctx.u32;
    if (level === 0) {
      const frames = this.#frames;
      const flags = this.#flags;
      const k0 = (this.#from + (start - this.#lin) / PAGE) | 0;
      const w0 = ctx.entryIndex(table, indexAt(start, 0)) | 0;
      const wEnd = w0 + (indexAt(end - 1, 0) + 1 - indexAt(start, 0)) * 2;
      // A frame number f is below 2^31: PPN f gives low word (f << 10) | flags, high word f >>> 22.
      // Every high word first, then the low words (with V), the first by an atomic store, so a
      // walker never sees V with a stale PPN; indices are small integers (`| 0`).
      for (let w = w0, k = k0; w < wEnd; w += 2, k++) u[w + 1] = frames[k]! >>> 22;
      Atomics.store(ctx.i32, w0, (frames[k0]! << 10) | flags);
      for (let w = w0 + 2, k = k0 + 1; w < wEnd; w += 2, k++) u[w] = (frames[k]! << 10) | flags;
      return;
    }
    const span = levelSpan(level);
    for (let i = indexAt(start, level), last = indexAt(end - 1, level), v = start; i <= last; i++) {
      const w = ctx.entryIndex(table, i);
      const next = Math.min(end, v - (v % span) + span);
      if (u[w] === 0 && u[w + 1] === 0) {
        // Fill the new table before linking it, so no walker sees it half built.
        const child = this.#tables[this.#next++]! * PAGE;
        this.#fill(child, level - 1, v, next);
        storeEntry(ctx, w, child, PteBit.V);
      } else {
        this.#fill(entryAddress(u[w]!, u[w + 1]!), level - 1, v, next);
      }
      v = next;
    }
  }

  /**
   * Unmaps `count` pages from `lin`, their frames (−1 for holes) into `out[at …]`; one
   * shootdown for the range, then the tables it emptied are retired. Returns the pages that
   * were mapped.
   */
  unmap(root: number, asid: number, lin: number, count: number, out: Int32Array, at: number): number {
    const ctx = this.#ctx;
    const top = ctx.mode.levels - 1;
    const end = lin + count * PAGE;
    this.#checkSplit(root, top, lin, end);
    const tables = this.#tables;
    tables.length = 0;
    this.#lin = lin;
    this.#out = out;
    this.#at = at;
    this.#mapped = 0;
    try {
      if (this.#clear(root, top, lin, end)) {
        ctx.state.post(ShootdownKind.Range, asid, lin / PAGE, count);
        ctx.tlb.stats.shootdowns++;
        // Only now: a walker that read a link before the unlink may still be inside these tables.
        for (const frame of tables) ctx.state.reclaim.retire(frame);
      }
    } finally {
      this.#out = NO_WORDS;
      tables.length = 0;
    }
    return this.#mapped;
  }

  /** `InvalidArgument` when the range covers part of a megapage (level-0 tables hold none, so they are not read). */
  #checkSplit(table: number, level: number, start: number, end: number): void {
    const ctx = this.#ctx;
    const u = ctx.u32;
    const span = levelSpan(level);
    for (let i = indexAt(start, level), last = indexAt(end - 1, level), v = start; i <= last; i++) {
      const w = ctx.entryIndex(table, i);
      const lo = u[w]!;
      const hi = u[w + 1]!;
      const first = v - (v % span);
      const next = Math.min(end, first + span);
      if (isTableEntry(lo, level)) {
        if (level > 1) this.#checkSplit(entryAddress(lo, hi), level - 1, v, next);
      } else if ((lo !== 0 || hi !== 0) && (first < start || first + span > end)) {
        invalidArgument(`the range splits a ${span}-byte page at 0x${BigInt(fromLinear(first, ctx.mode)).toString(16)}`);
      }
      v = next;
    }
  }

  /** Clears `[start, end)` under `table`; true when it cleared an entry (of this table or below). */
  #clear(table: number, level: number, start: number, end: number): boolean {
    const ctx = this.#ctx;
    const u = ctx.u32;
    const out = this.#out;
    if (level === 0) {
      const w0 = ctx.entryIndex(table, indexAt(start, 0)) | 0;
      const wEnd = w0 + (indexAt(end - 1, 0) + 1 - indexAt(start, 0)) * 2;
      let n = 0;
      let cleared = false;
      // Low words (with V) first, every one before any high word; indices as small integers.
      for (let w = w0, j = (this.#at + (start - this.#lin) / PAGE) | 0; w < wEnd; w += 2, j++) {
        const lo = u[w]!;
        const hi = u[w + 1]!;
        if (lo === 0 && hi === 0) {
          out[j] = -1;
          continue;
        }
        if (isMapping(lo, hi)) {
          // The PPN as the Int32Array stores it (same low 32 bits as lo >>> 10 + hi · 2^22).
          out[j] = (lo >>> 10) | (hi << 22);
          n++;
        } else out[j] = -1;
        u[w] = 0;
        cleared = true;
      }
      if (cleared) {
        Atomics.store(ctx.i32, w0 + 1, 0);
        for (let w = w0 + 3; w < wEnd; w += 2) u[w] = 0;
      }
      this.#mapped += n;
      return cleared;
    }
    const span = levelSpan(level);
    let cleared = false;
    for (let i = indexAt(start, level), last = indexAt(end - 1, level), v = start; i <= last; i++) {
      const w = ctx.entryIndex(table, i);
      const lo = u[w]!;
      const hi = u[w + 1]!;
      const next = Math.min(end, v - (v % span) + span);
      const k = this.#at + (v - this.#lin) / PAGE;
      const pages = (next - v) / PAGE;
      if (lo === 0 && hi === 0) {
        out.fill(-1, k, k + pages);
      } else if (isTableEntry(lo, level)) {
        const child = entryAddress(lo, hi);
        if (this.#clear(child, level - 1, v, next)) {
          cleared = true;
          // Unlink a table this emptied, as unmap does page by page (one that was empty before stays).
          // A page table has every entry of the range cleared: only the others need looking at.
          if (level === 1 ? emptyOutside(u, ctx.entryIndex(child, 0), indexAt(v, 0), indexAt(next - 1, 0) + 1) : ctx.isEmpty(child)) {
            clearEntry(ctx, w);
            this.#tables.push(child / PAGE);
          }
        }
      } else {
        // A leaf wholly inside the range (checked): each 4 KiB piece reports its own frame.
        if (isMapping(lo, hi)) {
          const f = ppnOf(lo, hi) + (v % span) / PAGE;
          for (let j = 0; j < pages; j++) out[k + j] = f + j;
          this.#mapped += pages;
        } else {
          out.fill(-1, k, k + pages);
        }
        clearEntry(ctx, w);
        cleared = true;
      }
      v = next;
    }
    return cleared;
  }

  /** Frames and {@link FrameInfo} words of `count` pages from `lin` into `frames[at …]` / `info[at …]`; returns the mapped pages. */
  read(root: number, lin: number, count: number, frames: Int32Array, info: Int32Array, at: number): number {
    this.#lin = lin;
    this.#out = frames;
    this.#info = info;
    this.#at = at;
    this.#mapped = 0;
    try {
      this.#read(root, this.#ctx.mode.levels - 1, lin, lin + count * PAGE);
    } finally {
      this.#out = NO_WORDS;
      this.#info = NO_WORDS;
    }
    return this.#mapped;
  }

  #read(table: number, level: number, start: number, end: number): void {
    const ctx = this.#ctx;
    const u = ctx.u32;
    const out = this.#out;
    const info = this.#info;
    if (level === 0) {
      const w0 = ctx.entryIndex(table, indexAt(start, 0)) | 0;
      const wEnd = w0 + (indexAt(end - 1, 0) + 1 - indexAt(start, 0)) * 2;
      let n = 0;
      // The FrameInfo word depends only on the flag bits (0–9): recomputed when they change.
      let flags = -1;
      let word = 0;
      for (let w = w0, j = (this.#at + (start - this.#lin) / PAGE) | 0; w < wEnd; w += 2, j++) {
        const lo = u[w]!;
        const hi = u[w + 1]!;
        if (!isMapping(lo, hi)) {
          out[j] = -1;
          info[j] = 0;
          continue;
        }
        if ((lo & 0x3ff) !== flags) {
          flags = lo & 0x3ff;
          word = leafPerms(lo) | (leafMarkers(lo) << FrameInfo.MARKER_SHIFT) | FrameInfo.MAPPED | ((lo & PteBit.V) !== 0 ? FrameInfo.PRESENT : 0);
        }
        out[j] = (lo >>> 10) | (hi << 22);
        info[j] = word;
        n++;
      }
      this.#mapped += n;
      return;
    }
    const span = levelSpan(level);
    for (let i = indexAt(start, level), last = indexAt(end - 1, level), v = start; i <= last; i++) {
      const w = ctx.entryIndex(table, i);
      const lo = u[w]!;
      const hi = u[w + 1]!;
      const next = Math.min(end, v - (v % span) + span);
      const k = this.#at + (v - this.#lin) / PAGE;
      const pages = (next - v) / PAGE;
      if (isTableEntry(lo, level)) {
        this.#read(entryAddress(lo, hi), level - 1, v, next);
      } else if (isMapping(lo, hi)) {
        const f = ppnOf(lo, hi) + (v % span) / PAGE;
        const word = leafPerms(lo) | (leafMarkers(lo) << FrameInfo.MARKER_SHIFT) | FrameInfo.MAPPED | ((lo & PteBit.V) !== 0 ? FrameInfo.PRESENT : 0);
        for (let j = 0; j < pages; j++) {
          out[k + j] = f + j;
          info[k + j] = word;
        }
        this.#mapped += pages;
      } else {
        out.fill(-1, k, k + pages);
        info.fill(0, k, k + pages);
      }
      v = next;
    }
  }
}
