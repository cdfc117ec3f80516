import { FRAME_SIZE, PhysicalMemory } from '@veridian/core';
import { LO_TABLE_OR_PAGE, LO_VALID, levelSize, tableAddress } from './page-table-entry.js';

/** Entries per translation table (4 KiB granule, 8-byte descriptors). */
export const ENTRIES = 512;

/**
 * Index in `phys.u32` of the low word of entry `index` of the table at `tablePa`
 * (descriptors are two little-endian u32 words, low word first).
 */
export function entryWord(phys: PhysicalMemory, tablePa: number, index: number): number {
  return phys.physOffset(tablePa) / 4 + index * 2;
}

/** True for a valid table descriptor at a level that can hold one (0–2). */
export function isTable(lo: number, level: number): boolean {
  return level < 3 && (lo & (LO_VALID | LO_TABLE_OR_PAGE)) === (LO_VALID | LO_TABLE_OR_PAGE);
}

/** Takes a zeroed frame for a table; throws `OutOfMemory` with nothing changed. */
export function allocTable(phys: PhysicalMemory): number {
  return PhysicalMemory.addressOf(phys.allocFrame());
}

/** Zeroes and frees a table frame (zeroed first so a racing walker can only read invalid entries). */
export function freeTable(phys: PhysicalMemory, pa: number): void {
  const off = phys.physOffset(pa);
  phys.bytes.fill(0, off, off + FRAME_SIZE);
  phys.freeFrame(PhysicalMemory.frameOf(pa));
}

/** True when every entry of the table at `pa` is zero. */
export function tableIsEmpty(phys: PhysicalMemory, pa: number): boolean {
  const u32 = phys.u32;
  const w = phys.physOffset(pa) / 4;
  for (let i = 0; i < ENTRIES * 2; i++) if (u32[w + i] !== 0) return false;
  return true;
}

/** Called for a leaf: a valid page/block or a non-zero invalid entry (a LAZY marker entry). */
export type LeafVisitor = (va: number, level: number, word: number, lo: number, hi: number) => void;

/**
 * Visits, in address order, every leaf of the table at `tablePa` (level `level`, covering
 * from `base`) that overlaps `[start, end)`.
 */
export function visitLeaves(phys: PhysicalMemory, tablePa: number, level: number, base: number, start: number, end: number, visit: LeafVisitor): void {
  const size = levelSize(level);
  const u32 = phys.u32;
  const first = start > base ? Math.floor((start - base) / size) : 0;
  for (let i = first; i < ENTRIES; i++) {
    const va = base + i * size;
    if (va >= end) break;
    const w = entryWord(phys, tablePa, i);
    const lo = u32[w]!;
    const hi = u32[w + 1]!;
    if (lo === 0 && hi === 0) continue;
    if (isTable(lo, level)) visitLeaves(phys, tableAddress(lo, hi), level + 1, va, start, end, visit);
    else visit(va, level, w, lo, hi);
  }
}

/**
 * Zeroes every leaf of the table at `tablePa` inside `[start, end)` (callers have checked
 * that no block straddles the range) and frees child tables left empty. Returns the number
 * of leaves removed.
 */
export function clearRange(phys: PhysicalMemory, tablePa: number, level: number, base: number, start: number, end: number, onLeaf: LeafVisitor): number {
  const size = levelSize(level);
  const u32 = phys.u32;
  const first = start > base ? Math.floor((start - base) / size) : 0;
  let removed = 0;
  for (let i = first; i < ENTRIES; i++) {
    const va = base + i * size;
    if (va >= end) break;
    const w = entryWord(phys, tablePa, i);
    const lo = u32[w]!;
    const hi = u32[w + 1]!;
    if (lo === 0 && hi === 0) continue;
    if (isTable(lo, level)) {
      const child = tableAddress(lo, hi);
      removed += clearRange(phys, child, level + 1, va, start, end, onLeaf);
      if (tableIsEmpty(phys, child)) {
        Atomics.store(u32, w, 0);
        Atomics.store(u32, w + 1, 0);
        freeTable(phys, child);
      }
    } else {
      onLeaf(va, level, w, lo, hi);
      // Low word (valid bit) first: a racing walker sees an invalid entry, never a torn one.
      Atomics.store(u32, w, 0);
      Atomics.store(u32, w + 1, 0);
      removed++;
    }
  }
  return removed;
}

/** Frees the table at `tablePa` and every table below it; reports each leaf before it goes. */
export function freeTree(phys: PhysicalMemory, tablePa: number, level: number, base: number, onLeaf: LeafVisitor): void {
  const size = levelSize(level);
  const u32 = phys.u32;
  for (let i = 0; i < ENTRIES; i++) {
    const w = entryWord(phys, tablePa, i);
    const lo = u32[w]!;
    const hi = u32[w + 1]!;
    if (lo === 0 && hi === 0) continue;
    if (isTable(lo, level)) freeTree(phys, tableAddress(lo, hi), level + 1, base + i * size, onLeaf);
    else onLeaf(base + i * size, level, w, lo, hi);
  }
  freeTable(phys, tablePa);
}

/** Number of table frames in the tree rooted at `tablePa` (root included). */
export function countTables(phys: PhysicalMemory, tablePa: number, level: number): number {
  const u32 = phys.u32;
  let n = 1;
  if (level === 3) return n;
  for (let i = 0; i < ENTRIES; i++) {
    const w = entryWord(phys, tablePa, i);
    const lo = u32[w]!;
    if (isTable(lo, level)) n += countTables(phys, tableAddress(lo, u32[w + 1]!), level + 1);
  }
  return n;
}
