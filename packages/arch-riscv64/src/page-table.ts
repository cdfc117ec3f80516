import { IpcError } from '@veridian/core';
import type { PageMapping } from '@veridian/core';
import type { PagingMode } from './address.js';
import { fromLinear, indexAt, levelSpan } from './address.js';
import type { MmuContext } from './mmu-context.js';
import { PteBit, RWX, entryAddress, entryHi, entryLo, isSoftwareLeaf, leafMarkers, leafPerms } from './page-table-entry.js';

/** Bytes of a 4 KiB page (and of a table frame). */
export const PAGE = 4096;

/** Calls back for a leaf: the Uint32 index of its low word, its level and the linear address it starts at. */
export type LeafVisitor = (w: number, level: number, start: number) => void;

/** True for a valid entry with R = W = X = 0 above level 0: a pointer to the next table (§4.3.2 step 4). */
export function isTableEntry(lo: number, level: number): boolean {
  return level > 0 && (lo & PteBit.V) !== 0 && (lo & RWX) === 0;
}

/** Writes an entry: the high word first, so a walker that sees V also sees the whole PPN. */
export function storeEntry(ctx: MmuContext, w: number, pa: number, flags: number): void {
  ctx.u32[w + 1] = entryHi(pa);
  Atomics.store(ctx.i32, w, entryLo(pa, flags) | 0);
}

/** Clears an entry: the low word (with V) first. */
export function clearEntry(ctx: MmuContext, w: number): void {
  Atomics.store(ctx.i32, w, 0);
  ctx.u32[w + 1] = 0;
}

/** The {@link PageMapping} of a leaf of `level` covering linear address `lin`. */
export function mappingOf(mode: PagingMode, lin: number, level: number, lo: number, hi: number): PageMapping {
  const span = levelSpan(level);
  const valid = (lo & PteBit.V) !== 0;
  return {
    va: fromLinear(lin - (lin % span), mode),
    pa: entryAddress(lo, hi),
    size: span,
    perms: leafPerms(lo),
    markers: leafMarkers(lo),
    accessed: (lo & PteBit.A) !== 0,
    dirty: (lo & PteBit.D) !== 0,
    // G on a no-rights entry is the PROT_NONE encoding, not a global page.
    global: (lo & PteBit.G) !== 0 && (valid || ((lo & PteBit.RSW1) !== 0 && (lo & RWX) !== 0)),
    present: valid,
  };
}

/**
 * Calls `visit` for every leaf (valid or software) overlapping the 4 KiB-aligned range
 * `[lin, lin + length)`, in address order, with the tables along its walk in `path` (by
 * level), so the visitor can unlink tables it empties.
 */
export function visitLeaves(ctx: MmuContext, root: number, path: Float64Array, lin: number, length: number, visit: LeafVisitor): void {
  const u = ctx.u32;
  const end = lin + length;
  let v = lin;
  while (v < end) {
    let table = root;
    let level = ctx.mode.levels - 1;
    for (;;) {
      path[level] = table;
      const w = ctx.entryIndex(table, indexAt(v, level));
      const lo = u[w]!;
      const hi = u[w + 1]!;
      const span = levelSpan(level);
      const start = v - (v % span);
      if (lo === 0 && hi === 0) {
        v = start + span;
        break;
      }
      if (isTableEntry(lo, level)) {
        table = entryAddress(lo, hi);
        level--;
        continue;
      }
      visit(w, level, start);
      v = start + span;
      break;
    }
  }
}

/**
 * Tables `map` must create for pages of `pageSize` (leaves at `leafLevel`) over
 * `[lin, lin + length)`; `AlreadyExists` when any page there has an entry or lies in a
 * larger page. Reads only.
 */
export function missingTables(ctx: MmuContext, root: number, lin: number, length: number, pageSize: number, leafLevel: number): number {
  const u = ctx.u32;
  const top = ctx.mode.levels - 1;
  const missing = new Set<string>();
  for (let off = 0; off < length; off += pageSize) {
    const v = lin + off;
    let table = root;
    for (let level = top; level >= leafLevel; level--) {
      const w = ctx.entryIndex(table, indexAt(v, level));
      const lo = u[w]!;
      const hi = u[w + 1]!;
      if (level === leafLevel) {
        if (lo !== 0 || hi !== 0) throw new IpcError('AlreadyExists', `0x${BigInt(fromLinear(v, ctx.mode)).toString(16)} is already mapped`);
        break;
      }
      if (lo === 0 && hi === 0) {
        // Tables from here down to leafLevel + 1 are missing; key them by what they cover.
        for (let l = level; l > leafLevel; l--) missing.add(`${l}:${Math.floor(v / levelSpan(l))}`);
        break;
      }
      if ((lo & PteBit.V) === 0 || (lo & RWX) !== 0) throw new IpcError('AlreadyExists', `a larger page already maps 0x${BigInt(fromLinear(v, ctx.mode)).toString(16)}`);
      table = entryAddress(lo, hi);
    }
  }
  return missing.size;
}

/** `InvalidArgument` when `[lin, lin + length)` covers part of a megapage (nothing is written). */
export function checkWhole(ctx: MmuContext, root: number, path: Float64Array, lin: number, length: number): void {
  visitLeaves(ctx, root, path, lin, length, (_w, level, start) => {
    if (start < lin || start + levelSpan(level) > lin + length) {
      throw new IpcError('InvalidArgument', `the range splits a ${levelSpan(level)}-byte page at 0x${BigInt(fromLinear(start, ctx.mode)).toString(16)}`);
    }
  });
}

/**
 * Clears the leaf at `w` (found by {@link visitLeaves} with `path`) and unlinks the tables
 * this empties, bottom up (never the root). The unlinked frames go to `retired`: the caller
 * retires them once the shootdown is posted, since a walker may still be reading them.
 */
export function clearLeaf(ctx: MmuContext, path: Float64Array, w: number, level: number, start: number, retired: number[]): void {
  clearEntry(ctx, w);
  for (let l = level; l < ctx.mode.levels - 1; l++) {
    const table = path[l]!;
    if (!ctx.isEmpty(table)) break;
    clearEntry(ctx, ctx.entryIndex(path[l + 1]!, indexAt(start, l + 1)));
    retired.push(table / PAGE);
  }
}

/** Appends every leaf under the table at `table` (of `level`, covering from linear `base`) to `out`, in address order. */
export function collectMappings(ctx: MmuContext, table: number, level: number, base: number, out: PageMapping[]): void {
  const u = ctx.u32;
  const span = levelSpan(level);
  for (let i = 0; i < 512; i++) {
    const w = ctx.entryIndex(table, i);
    const lo = u[w]!;
    const hi = u[w + 1]!;
    if (lo === 0 && hi === 0) continue;
    const v = base + i * span;
    if ((lo & PteBit.V) !== 0 && (lo & RWX) === 0) {
      if (level > 0) collectMappings(ctx, entryAddress(lo, hi), level - 1, v, out);
    } else if ((lo & PteBit.V) !== 0 || isSoftwareLeaf(lo, hi)) {
      out.push(mappingOf(ctx.mode, v, level, lo, hi));
    }
  }
}

/** Frames of the table at `table` (of `level`) and every table under it. */
export function countTables(ctx: MmuContext, table: number, level: number): number {
  const u = ctx.u32;
  let n = 1;
  if (level === 0) return n;
  for (let i = 0; i < 512; i++) {
    const w = ctx.entryIndex(table, i);
    const lo = u[w]!;
    if (isTableEntry(lo, level)) n += countTables(ctx, entryAddress(lo, u[w + 1]!), level - 1);
  }
  return n;
}

/**
 * Retires the table at `table` and every table under it (children first), for `destroy`
 * once its ASID flush is posted: another thread may still be walking the space.
 */
export function retireTables(ctx: MmuContext, table: number, level: number): void {
  const u = ctx.u32;
  if (level > 0) {
    for (let i = 0; i < 512; i++) {
      const w = ctx.entryIndex(table, i);
      const lo = u[w]!;
      if (isTableEntry(lo, level)) retireTables(ctx, entryAddress(lo, u[w + 1]!), level - 1);
    }
  }
  ctx.state.reclaim.retire(table / PAGE);
}
