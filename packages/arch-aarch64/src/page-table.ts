import { FRAME_SIZE, PhysicalMemory } from '@veridian/core';
import type { TableReclaim } from '@veridian/core';
import { tableIndex } from './address.js';
import type { ResolvedAttributes } from './map-options.js';
import { LO_TABLE_OR_PAGE, LO_VALID, leafHi, leafLo, levelSize, tableAddress, tableHi, tableLo } from './page-table-entry.js';

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

/** How long a writer short of frames waits for walks that hold retired tables back (as core's full-limbo wait). */
const RECLAIM_WAIT_MS = 2000;
const sleepCell = new Int32Array(new SharedArrayBuffer(4));

/**
 * Makes `need` frames free if retired tables that walks in progress hold back can give
 * them: collects as those walks end (they are short and never wait for a writer), for up to
 * 2 s. Without it, a walk preempted on another thread would turn its grace period into
 * `OutOfMemory`. Returns at once when nothing is retired.
 */
export function awaitReclaim(phys: PhysicalMemory, reclaim: TableReclaim, need: number): void {
  const deadline = Date.now() + RECLAIM_WAIT_MS;
  while (phys.freeFrames < need && reclaim.pending > 0) {
    if (reclaim.collect() > 0) continue;
    if (Date.now() > deadline) return;
    Atomics.wait(sleepCell, 0, 0, 0.05);
  }
}

/** Takes a zeroed frame for a table (waiting for the grace period of retired ones if none is free); `OutOfMemory` with nothing changed. */
export function allocTable(phys: PhysicalMemory, reclaim: TableReclaim): number {
  if (phys.freeFrames === 0) awaitReclaim(phys, reclaim, 1);
  return PhysicalMemory.addressOf(phys.allocFrame());
}

/**
 * Zeroes table frames that were unlinked (so a walker still inside one reads only invalid
 * entries) and hands them to the reclaimer, which frees each once no walk that could have
 * seen the link is in progress (at once when no walk is). Call it after the shootdown is
 * posted, lock held. Empties `tables`.
 */
export function retireTables(phys: PhysicalMemory, reclaim: TableReclaim, tables: number[]): void {
  for (const pa of tables) {
    const off = phys.physOffset(pa);
    phys.bytes.fill(0, off, off + FRAME_SIZE);
  }
  // Retired in list order: for an undo of fresh tables (listed last-allocated first) that
  // restores the allocator's free stack exactly when nothing waits.
  for (let i = 0; i < tables.length; i++) reclaim.retire(PhysicalMemory.frameOf(tables[i]!));
  tables.length = 0;
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
 * that no block straddles the range) and unlinks child tables left empty, pushing their
 * addresses to `unlinked` (retire them after the shootdown). Returns the leaves removed.
 */
export function clearRange(phys: PhysicalMemory, tablePa: number, level: number, base: number, start: number, end: number, onLeaf: LeafVisitor, unlinked: number[]): number {
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
      removed += clearRange(phys, child, level + 1, va, start, end, onLeaf, unlinked);
      if (tableIsEmpty(phys, child)) {
        Atomics.store(u32, w, 0);
        Atomics.store(u32, w + 1, 0);
        unlinked.push(child);
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

/** Lists the table at `tablePa` and every table below it in `tables` (children first), reporting each leaf; changes nothing. */
export function collectTree(phys: PhysicalMemory, tablePa: number, level: number, base: number, onLeaf: LeafVisitor, tables: number[]): void {
  const size = levelSize(level);
  const u32 = phys.u32;
  for (let i = 0; i < ENTRIES; i++) {
    const w = entryWord(phys, tablePa, i);
    const lo = u32[w]!;
    const hi = u32[w + 1]!;
    if (lo === 0 && hi === 0) continue;
    if (isTable(lo, level)) collectTree(phys, tableAddress(lo, hi), level + 1, base + i * size, onLeaf, tables);
    else onLeaf(base + i * size, level, w, lo, hi);
  }
  tables.push(tablePa);
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

/**
 * Writes the leaves of a `map` call (the caller checked that nothing overlaps; seqlock
 * held): leaves of `pageSize` at `level` from `start`, creating tables on the way. When a
 * table cannot be allocated (`OutOfMemory`) it undoes everything, retiring the tables it
 * had linked, so the tables and the allocator are as before.
 */
export function installRange(phys: PhysicalMemory, reclaim: TableReclaim, root: number, start: number, pa: number, length: number, pageSize: number, level: number, perms: number, markers: number, global: boolean, attrs: ResolvedAttributes): void {
  const u32 = phys.u32;
  const state = { accessed: false, dirty: false, global, attrIndx: attrs.attrIndx, sh: attrs.sh, dbm: attrs.dbm };
  const newTables: number[] = []; // pairs: parent entry word, table address
  const leaves: number[] = [];
  try {
    for (let off = 0; off < length; off += pageSize) {
      const va = start + off;
      let table = root;
      for (let l = 0; l < level; l++) {
        const w = entryWord(phys, table, tableIndex(va, l));
        const lo = u32[w]!;
        if (isTable(lo, l)) {
          table = tableAddress(lo, u32[w + 1]!);
          continue;
        }
        const t = allocTable(phys, reclaim);
        newTables.push(w, t);
        Atomics.store(u32, w + 1, (tableHi(t) | attrs.tableHi) >>> 0);
        Atomics.store(u32, w, tableLo(t));
        table = t;
      }
      const w = entryWord(phys, table, tableIndex(va, level));
      // High word first: the valid bit lives in the low word.
      Atomics.store(u32, w + 1, leafHi(pa + off, perms, markers, state));
      Atomics.store(u32, w, leafLo(pa + off, perms, markers, level, state));
      leaves.push(w);
    }
  } catch (e) {
    for (const w of leaves) {
      Atomics.store(u32, w, 0);
      Atomics.store(u32, w + 1, 0);
    }
    const undo: number[] = [];
    for (let i = newTables.length - 2; i >= 0; i -= 2) {
      Atomics.store(u32, newTables[i]!, 0);
      Atomics.store(u32, newTables[i]! + 1, 0);
      undo.push(newTables[i + 1]!);
    }
    // No shootdown needed (no TLB holds a translation through them: a walk that used one
    // is discarded by the seqlock), but a walker may still be inside one: retire, not free.
    retireTables(phys, reclaim, undo);
    throw e;
  }
}
