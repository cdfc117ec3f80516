import { isLeaf, PteHi, PteLo, TABLE_ENTRY_FLAGS, TABLE_FLAG_MASK, entryFromBigInt, entryToBigInt, protectionKeyBits } from './page-table-entry.js';
import { invalidArgument } from './page-table.js';
import type { PageTables } from './page-table.js';

/**
 * Direct access to single paging-structure entries: reading any entry, changing the flags of
 * table entries, raw writes that keep the table structure intact, and protection keys. The
 * callers (`X86AddressSpace`) hold the mutation lock for writes and shoot TLBs down after.
 */

const TOP = 3;
/** Address bits 51:12 of an entry. */
const ADDRESS_BITS = 0x000ffffffffff000n;
const PS = BigInt(PteLo.PAGE_SIZE);
const PRESENT = BigInt(PteLo.PRESENT);

function checkLevel(level: number, min: number): void {
  if (!Number.isInteger(level) || level < min || level > TOP) invalidArgument(`level ${level} is not an integer in [${min}, 3]`);
}

/** `[lo, hi]` flag words of a `tableFlags` option (default P | R/W | U/S); throws `InvalidArgument` for bits outside `TABLE_FLAG_MASK` or without P. */
export function tableFlagWords(flags: bigint | undefined): [lo: number, hi: number] {
  if (flags === undefined) return [TABLE_ENTRY_FLAGS, 0];
  if (typeof flags !== 'bigint' || flags < 0n || (flags & ~TABLE_FLAG_MASK) !== 0n) invalidArgument(`table flags ${String(flags)} have bits outside 0x${TABLE_FLAG_MASK.toString(16)}`);
  if ((flags & PRESENT) === 0n) invalidArgument('table flags of a new table need P');
  return entryFromBigInt(flags);
}

/** The raw entry at `level` on the path to `linear`, or `undefined` when the path ends above it. */
export function readEntry(tables: PageTables, root: number, linear: number, level: number): bigint | undefined {
  checkLevel(level, 0);
  const w = tables.entryWord(root, linear, level);
  return w < 0 ? undefined : entryToBigInt(tables.u32[w]!, tables.u32[w + 1]!);
}

/** Word of the table entry (not a leaf, not empty) at `level` above `linear`; throws `InvalidArgument` otherwise. */
function tableEntryWord(tables: PageTables, root: number, linear: number, level: number): number {
  checkLevel(level, 1);
  const w = tables.entryWord(root, linear, level);
  if (w < 0) invalidArgument(`no level-${level} entry on the path to 0x${linear.toString(16)}`);
  const lo = tables.u32[w]!;
  if ((lo | tables.u32[w + 1]!) === 0 || isLeaf(lo, level)) invalidArgument(`the level-${level} entry for 0x${linear.toString(16)} is not a table entry`);
  return w;
}

/** Replaces the flag bits of the table entry at `level` above `linear`, keeping its address. */
export function setTableFlags(tables: PageTables, root: number, linear: number, level: number, flags: bigint): void {
  if (typeof flags !== 'bigint' || flags < 0n || (flags & ~TABLE_FLAG_MASK) !== 0n) invalidArgument(`table flags ${String(flags)} have bits outside 0x${TABLE_FLAG_MASK.toString(16)}`);
  const w = tableEntryWord(tables, root, linear, level);
  const u32 = tables.u32;
  const [fLo, fHi] = entryFromBigInt(flags);
  u32[w + 1] = ((u32[w + 1]! & PteHi.ADDRESS) | fHi) >>> 0;
  // CAS so an A bit a walker sets at the same moment is replaced, not mixed into a torn value.
  for (let cur = u32[w]!; ; ) {
    const seen = Atomics.compareExchange(u32, w, cur, ((cur & PteLo.ADDRESS_4K) | fLo) >>> 0);
    if (seen === cur) break;
    cur = seen;
  }
}

/** Writes a raw value into the entry at `level` above `linear`, refusing structure changes. */
export function writeEntry(tables: PageTables, root: number, linear: number, level: number, value: bigint): void {
  checkLevel(level, 0);
  if (typeof value !== 'bigint' || value < 0n || value >= 1n << 64n) invalidArgument(`entry value ${String(value)} is not a 64-bit unsigned bigint`);
  const w = tables.entryWord(root, linear, level);
  if (w < 0) invalidArgument(`no level-${level} entry on the path to 0x${linear.toString(16)}`);
  const u32 = tables.u32;
  const old = entryToBigInt(u32[w]!, u32[w + 1]!);
  const oldTable = old !== 0n && !isLeaf(u32[w]!, level);
  if (oldTable) {
    if ((value & ADDRESS_BITS) !== (old & ADDRESS_BITS)) invalidArgument('a table entry must keep the address of its table');
    if (level < TOP && (value & PS) !== 0n) invalidArgument('PS would turn a table entry into a leaf');
  } else if (value !== 0n) {
    if (level === TOP) invalidArgument('a PML4E can only point at a table made by map');
    if (level > 0 && (value & PS) === 0n) invalidArgument('a PDPTE/PDE leaf needs PS; a new table entry can only be made by map');
  }
  const [lo, hi] = entryFromBigInt(value);
  tables.store(w, lo, hi);
}

/** Sets the protection key of every leaf in `[start, end)`; returns the leaves changed. */
export function setEntryKeys(tables: PageTables, root: number, start: number, end: number, key: number): number {
  const u32 = tables.u32;
  const bits = protectionKeyBits(key);
  return tables.forEachLeaf(root, TOP, 0, start, end, (w) => {
    u32[w + 1] = ((u32[w + 1]! & ~PteHi.PROTECTION_KEY) | bits) >>> 0;
  });
}
