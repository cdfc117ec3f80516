import { FrameInfo, IpcError, PhysicalMemory } from '@veridian/core';
import type { PagePerms, VirtualAddress } from '@veridian/core';
import { VA_LIMIT, vaToNumber } from './address.js';
import { resolveAttributes } from './map-options.js';
import type { MmuContext } from './mmu-context.js';
import { ENTRIES, awaitReclaim, entryWord, isTable, retireTables } from './page-table.js';
import {
  HI_ADDRESS,
  HI_SW_LAZY,
  HI_SW_PROT_NONE,
  LO_TABLE_OR_PAGE,
  LO_VALID,
  leafAddress,
  leafHi,
  leafLo,
  levelSize,
  markersOf,
  permsOf,
  tableAddress,
  tableHi,
  tableLo,
} from './page-table-entry.js';
import { Shootdown } from './shared-state.js';

/**
 * The range operations of the contract (`mapFrames`, `unmapFrames`, `readFrames`) over 4 KiB
 * frames: a recursion over the tables that visits each table the range touches once per pass
 * (a read-only check pass, then one write pass), never one walk per page. Everything is
 * validated before the first write; the hot loops allocate nothing.
 *
 * Granule: this backend only implements the 4 KiB granule (TCR_EL1.TG0 = 0b00), so a 4 KiB
 * frame is exactly one level-3 page. Were a 16 KiB or 64 KiB granule added, these operations
 * would have to refuse it with `InvalidArgument` (a frame would be part of a page).
 */

const PAGE = 4096;
const PERM_MASK = 0xf;
const MARKER_MASK = 0x3;
/** Software bits that make an invalid entry a mapping (`lookup` reports it). */
const MARKER_BITS = HI_SW_LAZY | HI_SW_PROT_NONE;

// Scratch of the call in progress. Every operation runs to completion under the MMU lock
// without calling out, so one set per thread serves every space and MMU instance.
/** Validated frame numbers of a mapFrames (copied: a shared or getter-backed array could change under us). */
let frameScratch = new Int32Array(256);
/** Frame numbers of the tables a mapFrames allocated, consumed in allocation order. */
const freshTables: number[] = [];
/** Tables a unmapFrames unlinked, retired after the shootdown. */
const unlinked: number[] = [];
let nextFresh = 0;
let leafLoBase = 0;
let leafHiBase = 0;
let tableHiBits = 0;
let outFrames: Int32Array = frameScratch;
let outInfo: Int32Array | null = null;
let outAt = 0;
let rangeStart = 0;
let mapped = 0;
let validLeaves = 0;

function bad(message: string): IpcError {
  return new IpcError('InvalidArgument', message);
}

/** The 4 KiB-aligned TTBR0 start of `[va, va + count pages)`; `InvalidArgument` for anything else (including non-numbers from plain JS). */
function checkRange(va: VirtualAddress, count: number): number {
  const v = vaToNumber(va);
  if (v < 0) throw bad(`${String(va)} is not an address in the TTBR0 range [0, 2^48)`);
  if (v % PAGE !== 0) throw bad(`0x${v.toString(16)} is not 4 KiB aligned`);
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) throw bad(`count must be a positive integer, got ${String(count)}`);
  if (count > (VA_LIMIT - v) / PAGE) throw bad('range runs past the TTBR0 range');
  return v;
}

/** `InvalidArgument` unless `at` is a non-negative integer and `arr` an Int32Array holding `count` words from it. */
function checkOut(arr: unknown, at: number, count: number, what: string): asserts arr is Int32Array {
  if (!(arr instanceof Int32Array)) throw bad(`${what} must be an Int32Array`);
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) throw bad(`bad offset ${String(at)}`);
  if (at + count > arr.length) throw bad(`${what} holds ${arr.length} words, need ${at + count}`);
}

/** `PagePerm`/`PageMarker` bits as `map` accepts them. */
function checkBits(value: unknown, mask: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || (value & ~mask) !== 0) throw bad(`bad ${what} ${String(value)}`);
  return value;
}

/** Frame number a leaf at `level` records, or -1 when `lookup` would call the entry a hole. */
function leafFrame(lo: number, hi: number, level: number): number {
  if (!(lo & LO_VALID) && !(hi & MARKER_BITS)) return -1;
  if (level === 0 || (level === 3 && lo & LO_VALID && !(lo & LO_TABLE_OR_PAGE))) return -1;
  return leafAddress(lo, hi, level) / PAGE;
}

/** Tables a fresh subtree needs to hold `[s, e)` from `level` down to level 3. */
function tablesFor(level: number, s: number, e: number): number {
  let n = 0;
  for (let l = level; l <= 3; l++) {
    const span = levelSize(l - 1);
    n += Math.floor((e - 1) / span) - Math.floor(s / span) + 1;
  }
  return n;
}

/**
 * Check pass of mapFrames: `AlreadyExists` if anything but a table occupies an entry the
 * range needs (a LAZY or PROT_NONE entry, a block, a page); otherwise the tables missing.
 */
function checkFree(phys: PhysicalMemory, table: number, level: number, base: number, start: number, end: number): number {
  const u32 = phys.u32;
  const size = levelSize(level);
  if (level === 3) {
    // A page table: every entry of the range must be zero (one tight loop).
    const w0 = entryWord(phys, table, 0) | 0;
    const first = start > base ? (start - base) / PAGE : 0;
    for (let w = w0 + first * 2, wEnd = w0 + Math.min(ENTRIES, Math.ceil((end - base) / PAGE)) * 2; w < wEnd; w += 2) {
      if ((u32[w]! | u32[w + 1]!) !== 0) throw new IpcError('AlreadyExists', `0x${Math.max(base + ((w - w0) / 2) * PAGE, start).toString(16)} overlaps an existing mapping`);
    }
    return 0;
  }
  let need = 0;
  for (let i = start > base ? Math.floor((start - base) / size) : 0; i < ENTRIES; i++) {
    const va = base + i * size;
    if (va >= end) break;
    const w = entryWord(phys, table, i);
    const lo = u32[w]!;
    const hi = u32[w + 1]!;
    if (lo === 0 && hi === 0) {
      if (level < 3) need += tablesFor(level + 1, Math.max(va, start), Math.min(va + size, end));
    } else if (isTable(lo, level)) {
      need += checkFree(phys, tableAddress(lo, hi), level + 1, va, start, end);
    } else {
      throw new IpcError('AlreadyExists', `0x${Math.max(va, start).toString(16)} overlaps an existing mapping`);
    }
  }
  return need;
}

/** Write pass of mapFrames (after checkFree): fills fresh tables before linking them, so a walker never sees a half-built subtree. */
function writeFrames(phys: PhysicalMemory, table: number, level: number, base: number, start: number, end: number): void {
  const u32 = phys.u32;
  const size = levelSize(level);
  let i = start > base ? Math.floor((start - base) / size) : 0;
  if (level === 3) {
    const w0 = entryWord(phys, table, i) | 0;
    const wEnd = w0 + (Math.min(ENTRIES, Math.ceil((end - base) / PAGE)) - i) * 2;
    const frames = frameScratch;
    const lo = leafLoBase;
    const hi = leafHiBase;
    // The codec's encoding of each page: its bits for address 0, or'ed with the address
    // (leafLo/leafHi place the address in bits no other field uses). A frame number is below
    // 2^31, so its address f·2^12 is f << 12 in the low word and f >>> 20 in the high one.
    // Plain stores, high word first: the write runs inside the seqlock (beginWrite), so a
    // walker that overlaps it retries; indices are small integers (`| 0`).
    for (let w = w0, k = ((base + i * PAGE - start) / PAGE) | 0; w < wEnd; w += 2, k++) {
      const f = frames[k]!;
      u32[w + 1] = (f >>> 20) | hi;
      u32[w] = (f << 12) | lo;
    }
    return;
  }
  for (; i < ENTRIES; i++) {
    const va = base + i * size;
    if (va >= end) break;
    const w = entryWord(phys, table, i);
    const lo = u32[w]!;
    if (isTable(lo, level)) {
      writeFrames(phys, tableAddress(lo, u32[w + 1]!), level + 1, va, start, end);
      continue;
    }
    // Taken parent-first in address order: the order per-page `map` calls allocate in.
    const child = PhysicalMemory.addressOf(freshTables[nextFresh++]!);
    writeFrames(phys, child, level + 1, va, start, end);
    Atomics.store(u32, w + 1, (tableHi(child) | tableHiBits) >>> 0);
    Atomics.store(u32, w, tableLo(child));
  }
}

/**
 * Maps `count` 4 KiB pages from `va` onto `frames[from..from + count)` (see the contract).
 * Lock, seqlock and all-or-nothing are handled here; the caller checked the space is live.
 */
export function mapFrameRange(ctx: MmuContext, root: number, va: VirtualAddress, frames: ArrayLike<number>, from: number, count: number, perms: PagePerms, markers: number): void {
  const start = checkRange(va, count);
  if (frames === null || (typeof frames !== 'object' && typeof frames !== 'function')) throw bad('frames must be an array-like of frame numbers');
  const len = frames.length;
  if (typeof from !== 'number' || !Number.isSafeInteger(from) || from < 0) throw bad(`bad offset ${String(from)}`);
  if (typeof len !== 'number' || !Number.isSafeInteger(len) || from + count > len) throw bad(`frames holds ${String(len)} entries, need ${from + count}`);
  checkBits(perms, PERM_MASK, 'permissions');
  checkBits(markers, MARKER_MASK, 'markers');
  // Default memory attributes, exactly as `map` without options (refuses EXECUTE if the MAIR makes slot 0 Device memory).
  const attrs = resolveAttributes({}, perms, ctx.mair);
  const phys = ctx.phys;
  if (frameScratch.length < count) frameScratch = new Int32Array(Math.max(count, frameScratch.length * 2));
  for (let i = 0; i < count; i++) {
    const f = frames[from + i];
    if (typeof f !== 'number' || !Number.isInteger(f) || f < 1 || f >= phys.frameCount) throw bad(`frames[${from + i}] = ${String(f)} is not an installed frame`);
    frameScratch[i] = f;
  }
  const state = { accessed: false, dirty: false, global: false, attrIndx: attrs.attrIndx, sh: attrs.sh, dbm: attrs.dbm };
  leafLoBase = leafLo(0, perms, markers, 3, state);
  leafHiBase = leafHi(0, perms, markers, state);
  tableHiBits = attrs.tableHi;
  const end = start + count * PAGE;
  ctx.state.lock();
  try {
    const need = checkFree(phys, root, 0, 0, start, end);
    freshTables.length = 0;
    nextFresh = 0;
    // All or none (OutOfMemory with nothing taken), so the write pass cannot fail halfway.
    if (need > 0) {
      if (phys.freeFrames < need) awaitReclaim(phys, ctx.state.reclaim, need);
      phys.allocFrames(need, freshTables);
    }
    ctx.state.beginWrite();
    try {
      writeFrames(phys, root, 0, 0, start, end);
    } finally {
      ctx.state.endWrite();
    }
    // No shootdown: every entry written was invalid, and TLBs never cache invalid entries.
  } finally {
    freshTables.length = 0;
    ctx.state.unlock();
  }
}

/** Writes `-1` (and info 0) for the hole `[s, e)`. */
function holes(s: number, e: number): void {
  const first = outAt + (s - rangeStart) / PAGE;
  const last = outAt + (e - rangeStart) / PAGE;
  outFrames.fill(-1, first, last);
  outInfo?.fill(0, first, last);
}

/** `InvalidArgument` if a block (or any leaf above level 3) straddles an end of `[start, end)`; reads levels 0–2 only. */
function checkBlocks(phys: PhysicalMemory, table: number, level: number, base: number, start: number, end: number): void {
  const u32 = phys.u32;
  const size = levelSize(level);
  for (let i = start > base ? Math.floor((start - base) / size) : 0; i < ENTRIES; i++) {
    const va = base + i * size;
    if (va >= end) break;
    const w = entryWord(phys, table, i);
    const lo = u32[w]!;
    const hi = u32[w + 1]!;
    if (lo === 0 && hi === 0) continue;
    if (isTable(lo, level)) {
      if (level < 2) checkBlocks(phys, tableAddress(lo, hi), level + 1, va, start, end);
    } else if (va < start || va + size > end) {
      throw bad(`range would split the ${size / 2 ** 20} MiB block at 0x${va.toString(16)}`);
    }
  }
}

/**
 * Clears (or, read-only, reports) every entry of `[start, end)` below `table`, writing each
 * page's frame to `outFrames` and, when reading, its FrameInfo word to `outInfo`.
 */
function rangeFrames(phys: PhysicalMemory, table: number, level: number, base: number, start: number, end: number, clear: boolean): void {
  const u32 = phys.u32;
  const size = levelSize(level);
  if (level === 3) {
    leafFrames(u32, entryWord(phys, table, 0) | 0, base, start, end, clear);
    return;
  }
  for (let i = start > base ? Math.floor((start - base) / size) : 0; i < ENTRIES; i++) {
    const va = base + i * size;
    if (va >= end) break;
    const s = va > start ? va : start;
    const e = va + size < end ? va + size : end;
    const w = entryWord(phys, table, i);
    const lo = u32[w]!;
    const hi = u32[w + 1]!;
    if (lo === 0 && hi === 0) {
      holes(s, e);
      continue;
    }
    if (isTable(lo, level)) {
      const child = tableAddress(lo, hi);
      rangeFrames(phys, child, level + 1, va, start, end, clear);
      // A child the range covered whole is empty now; otherwise look: in a page table (every
      // entry of the range cleared) only at the entries outside the range.
      if (clear && (e - s === size || tableEmpty(u32, phys.physOffset(child) / 4, level === 2 ? (s - va) / PAGE : 0, level === 2 ? (e - va) / PAGE : 0))) {
        Atomics.store(u32, w, 0);
        Atomics.store(u32, w + 1, 0);
        unlinked.push(child); // post-order, as `unmap` frees them
      }
      continue;
    }
    const frame = leafFrame(lo, hi, level);
    if (frame < 0) holes(s, e);
    else {
      // A page inside a block reports its own 4 KiB frame.
      let at = outAt + (s - rangeStart) / PAGE;
      const info = outInfo;
      const word = permsOf(lo, hi) | (markersOf(hi) << FrameInfo.MARKER_SHIFT) | FrameInfo.MAPPED | (lo & LO_VALID ? FrameInfo.PRESENT : 0);
      for (let f = frame + (s - va) / PAGE, fe = frame + (e - va) / PAGE; f < fe; f++, at++) {
        outFrames[at] = f;
        if (info !== null) info[at] = word;
      }
      mapped += (e - s) / PAGE;
    }
    if (clear) {
      if (lo & LO_VALID) validLeaves++;
      // Low word (valid bit) first: a racing walker sees an invalid entry, never a torn one.
      Atomics.store(u32, w, 0);
      Atomics.store(u32, w + 1, 0);
    }
  }
}

/** True when every entry of the table at word `w` outside `[first, last)` is zero. */
function tableEmpty(u32: Uint32Array, w: number, first: number, last: number): boolean {
  for (let i = 0, e = first * 2; i < e; i++) if (u32[w + i] !== 0) return false;
  for (let i = last * 2; i < ENTRIES * 2; i++) if (u32[w + i] !== 0) return false;
  return true;
}

/**
 * {@link rangeFrames} in a page table (level 3) whose entry 0 is at word `w0`: one tight loop
 * of integer operations per page. The FrameInfo word depends only on the flag bits, so it
 * is recomputed only when they change.
 */
function leafFrames(u32: Uint32Array, w0: number, base: number, start: number, end: number, clear: boolean): void {
  const first = start > base ? (start - base) / PAGE : 0;
  const last = Math.min(ENTRIES, Math.ceil((end - base) / PAGE));
  const out = outFrames;
  const info = outInfo;
  let flagsLo = -1;
  let flagsHi = -1;
  let word = 0;
  let n = 0;
  let valid = 0;
  for (let w = w0 + first * 2, wEnd = w0 + last * 2, j = (outAt + (base + first * PAGE - rangeStart) / PAGE) | 0; w < wEnd; w += 2, j++) {
    const lo = u32[w]!;
    const hi = u32[w + 1]!;
    if (lo === 0 && hi === 0) {
      out[j] = -1;
      if (info !== null) info[j] = 0;
      continue;
    }
    // What `lookup` calls a hole: valid but not a page descriptor, or invalid without a marker.
    if (lo & LO_VALID ? (lo & LO_TABLE_OR_PAGE) === 0 : (hi & MARKER_BITS) === 0) {
      out[j] = -1;
      if (info !== null) info[j] = 0;
    } else {
      // The frame number (address / 2^12) as the Int32Array stores it (same low 32 bits).
      out[j] = (lo >>> 12) | ((hi & HI_ADDRESS) << 20);
      if (info !== null) {
        if ((lo & 0xfff) !== flagsLo || hi >>> 16 !== flagsHi) {
          flagsLo = lo & 0xfff;
          flagsHi = hi >>> 16;
          word = permsOf(lo, hi) | (markersOf(hi) << FrameInfo.MARKER_SHIFT) | FrameInfo.MAPPED | (lo & LO_VALID ? FrameInfo.PRESENT : 0);
        }
        info[j] = word;
      }
      n++;
    }
    if (clear) {
      if (lo & LO_VALID) valid++;
      // Low word (valid bit) first; plain stores inside the seqlock (beginWrite).
      u32[w] = 0;
      u32[w + 1] = 0;
    }
  }
  mapped += n;
  validLeaves += valid;
}

/**
 * Unmaps `count` pages from `va`, reporting frames to `out[at..]`; one range shootdown when
 * any page was present; emptied tables are retired after it. Returns the pages that were mapped.
 */
export function unmapFrameRange(ctx: MmuContext, root: number, asid: number, va: VirtualAddress, count: number, out: Int32Array, at: number): number {
  const start = checkRange(va, count);
  checkOut(out, at, count, 'out');
  const end = start + count * PAGE;
  const phys = ctx.phys;
  const state = ctx.state;
  state.lock();
  try {
    checkBlocks(phys, root, 0, 0, start, end);
    outFrames = out;
    outInfo = null;
    outAt = at;
    rangeStart = start;
    mapped = 0;
    validLeaves = 0;
    unlinked.length = 0;
    state.beginWrite();
    try {
      rangeFrames(phys, root, 0, 0, start, end, true);
    } finally {
      state.endWrite();
    }
    // One TLBI by range (FEAT_TLBIRANGE's `tlbi rvae1is`) for the whole range: one invalidation.
    if (validLeaves > 0) ctx.shootdown(Shootdown.Range, asid, start / PAGE, end / PAGE, 1);
    retireTables(phys, state.reclaim, unlinked);
    return mapped;
  } finally {
    unlinked.length = 0;
    outFrames = frameScratch;
    state.unlock();
  }
}

/**
 * Reports `count` pages from `va` into `frames[at..]` and `info[at..]` without changing
 * anything. It takes the MMU lock: a consistent view with no writer, and no grace period
 * to announce (it has no CPU number to announce it under). Returns the pages mapped.
 */
export function readFrameRange(ctx: MmuContext, root: number, va: VirtualAddress, count: number, frames: Int32Array, info: Int32Array, at: number): number {
  const start = checkRange(va, count);
  checkOut(frames, at, count, 'frames');
  checkOut(info, at, count, 'info');
  const state = ctx.state;
  state.lock();
  try {
    outFrames = frames;
    outInfo = info;
    outAt = at;
    rangeStart = start;
    mapped = 0;
    rangeFrames(ctx.phys, root, 0, 0, start, start + count * PAGE, false);
    return mapped;
  } finally {
    outFrames = frameScratch;
    outInfo = null;
    state.unlock();
  }
}
