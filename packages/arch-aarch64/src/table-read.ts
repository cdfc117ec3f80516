import { IpcError, type PageMapping, type PhysicalMemory } from '@veridian/core';
import { VA_LIMIT, tableIndex } from './address.js';
import type { RawLeaf } from './dump.js';
import { HI_SW_LAZY, HI_SW_PROT_NONE, LO_AF, LO_NG, LO_TABLE_OR_PAGE, LO_VALID, isDirty, leafAddress, levelSize, markersOf, permsOf, tableAddress } from './page-table-entry.js';
import { entryWord, isTable, visitLeaves } from './page-table.js';

/**
 * Read-only views of a translation table (lookup, every leaf, the raw walk), apart from the
 * mutating address-space code: no TLB, no side effects. Callers run them inside the table
 * seqlock ({@link stableRead}) so a concurrent mutation is never half seen.
 */

const MARKER_BITS = HI_SW_LAZY | HI_SW_PROT_NONE;

/** Runs `read` until the table generation word at `u32[at]` did not move (and was even) around it. */
export function stableRead<T>(u32: Uint32Array, at: number, read: () => T): T {
  for (;;) {
    const g = Atomics.load(u32, at);
    if (g & 1) continue;
    const r = read();
    if (Atomics.load(u32, at) === g) return r;
  }
}

/** The mapping a leaf descriptor at `level` describes, for the page starting at `va`. */
export function mappingOf(leaf: RawLeaf): PageMapping {
  const { va, level, lo, hi } = leaf;
  return {
    va,
    pa: leafAddress(lo, hi, level),
    size: levelSize(level),
    perms: permsOf(lo, hi),
    markers: markersOf(hi),
    accessed: (lo & LO_AF) !== 0,
    dirty: isDirty(lo, hi),
    global: !(lo & LO_NG),
    present: (lo & LO_VALID) !== 0,
  };
}

/** The leaf (valid or marker) covering `v`, or `undefined`. */
export function lookupLeaf(phys: PhysicalMemory, root: number, v: number): PageMapping | undefined {
  const u32 = phys.u32;
  let table = root;
  for (let level = 0; level < 4; level++) {
    const w = entryWord(phys, table, tableIndex(v, level));
    const lo = u32[w]!;
    const hi = u32[w + 1]!;
    if (lo === 0 && hi === 0) return undefined;
    if (isTable(lo, level)) {
      table = tableAddress(lo, hi);
      continue;
    }
    if (!(lo & LO_VALID) && !(hi & MARKER_BITS)) return undefined;
    if (level === 0 || (level === 3 && lo & LO_VALID && !(lo & LO_TABLE_OR_PAGE))) return undefined;
    return mappingOf({ va: v - (v % levelSize(level)), level, lo, hi });
  }
  return undefined;
}

/** Every leaf (valid or marker) of the space, in address order. */
export function leavesOf(phys: PhysicalMemory, root: number): RawLeaf[] {
  const out: RawLeaf[] = [];
  visitLeaves(phys, root, 0, 0, 0, VA_LIMIT, (va, level, _w, lo, hi) => {
    if (level > 0 && (lo & LO_VALID || hi & MARKER_BITS)) out.push({ va, level, lo, hi });
  });
  return out;
}

/** Raw descriptors along the walk for `v`, level 0 first, ending at the leaf or the first invalid entry. */
export function walkPath(phys: PhysicalMemory, root: number, v: number): bigint[] {
  const u32 = phys.u32;
  const out: bigint[] = [];
  let table = root;
  for (let level = 0; level < 4; level++) {
    const w = entryWord(phys, table, tableIndex(v, level));
    const lo = u32[w]!;
    const hi = u32[w + 1]!;
    out.push((BigInt(hi) << 32n) | BigInt(lo));
    if (!isTable(lo, level)) break;
    table = tableAddress(lo, hi);
  }
  return out;
}

/** True when an entry at `level` on the path to `va` is taken (a leaf above, or anything there). */
export function occupiedAt(phys: PhysicalMemory, root: number, va: number, level: number): boolean {
  const u32 = phys.u32;
  let table = root;
  for (let l = 0; ; l++) {
    const w = entryWord(phys, table, tableIndex(va, l));
    const lo = u32[w]!;
    const hi = u32[w + 1]!;
    if (lo === 0 && hi === 0) return false;
    // Tables are freed when they empty, so a table at the target level is occupied.
    if (l === level || !isTable(lo, l)) return true;
    table = tableAddress(lo, hi);
  }
}

/** Throws `InvalidArgument` when `[start, end)` would cut a block in two (nothing changed). */
export function checkNoSplit(phys: PhysicalMemory, root: number, start: number, end: number): void {
  visitLeaves(phys, root, 0, 0, start, end, (va, level) => {
    if (va < start || va + levelSize(level) > end) {
      throw new IpcError('InvalidArgument', `range would split the ${levelSize(level) >>> 20} MiB block at 0x${va.toString(16)}`);
    }
  });
}
