import { FRAME_SIZE, IpcError } from '@veridian/core';
import type { PageMapping, PhysicalMemory, TableReclaim } from '@veridian/core';
import { fromLinear } from './address.js';
import {
  LEVEL_SPAN,
  PteHi,
  PteLo,
  TABLE_ENTRY_FLAGS,
  entryAddress,
  isLeaf,
  leafMarkers,
  leafPerms,
  tableHi,
  tableLo,
} from './page-table-entry.js';

const ENTRIES = 512;
const TOP = 3;

/** Bits a `protect` keeps from the old leaf: hardware-set A/D, PS, caching, global, address. */
const KEEP_ON_PROTECT_LO = (PteLo.ACCESSED | PteLo.DIRTY | PteLo.PAGE_SIZE | PteLo.GLOBAL | PteLo.WRITE_THROUGH | PteLo.CACHE_DISABLE | PteLo.LARGE_PAT | PteLo.ADDRESS_4K) >>> 0;

/** Where a leaf was found by {@link PageTables.findLeaf}. */
export interface LeafLocation {
  /** Index in `phys.u32` of the entry's low word. */
  word: number;
  /** Level of the leaf (0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB). */
  level: number;
  /** Linear address of the first byte of the page. */
  start: number;
}

/**
 * Page-table structure operations over machine memory: 512-entry tables of 64-bit entries,
 * each stored as two little-endian u32 (low word first). Ranges are linear (48-bit)
 * addresses `[start, end)`; each recursive step handles the entries of one table that the
 * range touches. Callers hold the shared mutation lock for anything that writes.
 *
 * A table frame that was ever linked is never freed directly: a lock-free walker on another
 * CPU may still be reading it. Unlinked tables are queued in {@link unlinked} and handed to
 * the grace period ({@link retireUnlinked}) once the caller has posted its shootdown.
 */
export class PageTables {
  /** The machine memory. */
  readonly phys: PhysicalMemory;
  /** Its u32 view (entries are read and written here). */
  readonly u32: Uint32Array;
  /** The machine's grace period for table frames (walkers enter/exit it, writers retire into it). */
  readonly reclaim: TableReclaim;
  /** Frame numbers of tables unlinked by the current mutation, waiting for {@link retireUnlinked} (reused scratch). */
  readonly unlinked: number[] = [];
  readonly #origin: number;

  constructor(phys: PhysicalMemory, reclaim: TableReclaim) {
    this.phys = phys;
    this.u32 = phys.u32;
    this.reclaim = reclaim;
    this.#origin = phys.physOffset(0);
  }

  /** Retires every table queued in {@link unlinked} (lock held, shootdown already posted), oldest unlink first. */
  retireUnlinked(): void {
    const list = this.unlinked;
    try {
      for (let k = 0; k < list.length; k++) this.reclaim.retire(list[k]!);
    } finally {
      list.length = 0;
    }
  }

  /** Index in {@link u32} of the low word of entry `index` of the table at `tablePa`. */
  word(tablePa: number, index: number): number {
    return (this.#origin + tablePa) / 4 + index * 2;
  }

  /** Allocates a zeroed table frame; returns its physical address. */
  allocTable(): number {
    return this.phys.allocFrame() * FRAME_SIZE;
  }

  /** Writes a whole entry: the high word first, so a walker that sees P also sees the address. */
  store(word: number, lo: number, hi: number): void {
    this.u32[word + 1] = hi;
    Atomics.store(this.u32, word, lo);
  }

  /** Clears an entry: the low word (with P) first. */
  clear(word: number): void {
    Atomics.store(this.u32, word, 0);
    this.u32[word + 1] = 0;
  }

  /** True when no entry of the table is in use. */
  isEmpty(tablePa: number): boolean {
    const u32 = this.u32;
    for (let w = this.word(tablePa, 0), end = w + ENTRIES * 2; w < end; w++) if (u32[w] !== 0) return false;
    return true;
  }

  /** The leaf covering `linear`, or `undefined` (no side effects). */
  findLeaf(root: number, linear: number): LeafLocation | undefined {
    const u32 = this.u32;
    let table = root;
    for (let level = TOP; level >= 0; level--) {
      const span = LEVEL_SPAN[level]!;
      const w = this.word(table, Math.floor(linear / span) % ENTRIES);
      const lo = u32[w]!;
      const hi = u32[w + 1]!;
      if ((lo | hi) === 0) return undefined;
      if (level < TOP && isLeaf(lo, level)) return { word: w, level, start: linear - (linear % span) };
      table = entryAddress(lo, hi, level, false);
    }
    return undefined;
  }

  /** The entries read on the walk to `linear`, top level first, ending at the leaf or the first unused entry. */
  walkEntries(root: number, linear: number, out: Array<[number, number]>): void {
    const u32 = this.u32;
    let table = root;
    for (let level = TOP; level >= 0; level--) {
      const w = this.word(table, Math.floor(linear / LEVEL_SPAN[level]!) % ENTRIES);
      const lo = u32[w]!;
      const hi = u32[w + 1]!;
      out.push([lo, hi]);
      if ((lo | hi) === 0 || (level < TOP && isLeaf(lo, level))) return;
      table = entryAddress(lo, hi, level, false);
    }
  }

  /** The mapping described by the leaf at `word`, starting at linear `start`. */
  mappingAt(word: number, level: number, start: number): PageMapping {
    const lo = this.u32[word]!;
    const hi = this.u32[word + 1]!;
    return {
      va: fromLinear(start),
      pa: entryAddress(lo, hi, level, true),
      size: LEVEL_SPAN[level]!,
      perms: leafPerms(lo, hi),
      markers: leafMarkers(lo),
      accessed: (lo & PteLo.ACCESSED) !== 0,
      dirty: (lo & PteLo.DIRTY) !== 0,
      global: (lo & PteLo.GLOBAL) !== 0,
      present: (lo & PteLo.PRESENT) !== 0,
    };
  }

  /** True when some leaf overlaps `[start, end)` (a huge page overlapping counts). */
  anyLeaf(table: number, level: number, base: number, start: number, end: number): boolean {
    const u32 = this.u32;
    const span = LEVEL_SPAN[level]!;
    for (let i = Math.floor((start - base) / span), eBase = base + i * span; i < ENTRIES && eBase < end; i++, eBase += span) {
      const w = this.word(table, i);
      const lo = u32[w]!;
      const hi = u32[w + 1]!;
      if ((lo | hi) === 0) continue;
      if (level === 0 || isLeaf(lo, level)) return true;
      if (this.anyLeaf(entryAddress(lo, hi, level, false), level - 1, eBase, Math.max(start, eBase), Math.min(end, eBase + span))) return true;
    }
    return false;
  }

  /** True when a huge page lies only partly inside `[start, end)` (it would have to be split). */
  splitsHugePage(table: number, level: number, base: number, start: number, end: number): boolean {
    if (level === 0) return false;
    const u32 = this.u32;
    const span = LEVEL_SPAN[level]!;
    for (let i = Math.floor((start - base) / span), eBase = base + i * span; i < ENTRIES && eBase < end; i++, eBase += span) {
      const w = this.word(table, i);
      const lo = u32[w]!;
      const hi = u32[w + 1]!;
      if ((lo | hi) === 0) continue;
      if (isLeaf(lo, level)) {
        if (eBase < start || eBase + span > end) return true;
        continue;
      }
      if (this.splitsHugePage(entryAddress(lo, hi, level, false), level - 1, eBase, Math.max(start, eBase), Math.min(end, eBase + span))) return true;
    }
    return false;
  }

  /**
   * Makes sure tables down to `leafLevel` exist for `[start, end)`, allocating missing ones.
   * Each new table is recorded in `created` as (entry word, frame address) so a failure can
   * be undone with {@link undoCreated}.
   */
  ensureTables(table: number, level: number, base: number, start: number, end: number, leafLevel: number, created: number[], flagsLo: number = TABLE_ENTRY_FLAGS, flagsHi = 0): void {
    const u32 = this.u32;
    const span = LEVEL_SPAN[level]!;
    for (let i = Math.floor((start - base) / span), eBase = base + i * span; i < ENTRIES && eBase < end; i++, eBase += span) {
      const w = this.word(table, i);
      let child: number;
      if ((u32[w]! | u32[w + 1]!) === 0) {
        child = this.allocTable();
        this.store(w, tableLo(child, flagsLo), tableHi(child, flagsHi));
        created.push(w, child);
      } else {
        child = entryAddress(u32[w]!, u32[w + 1]!, level, false);
      }
      if (level - 1 > leafLevel) this.ensureTables(child, level - 1, eBase, Math.max(start, eBase), Math.min(end, eBase + span), leafLevel, created, flagsLo, flagsHi);
    }
  }

  /**
   * Unlinks the tables recorded by {@link ensureTables}, newest first, and retires them. They
   * held no leaf, so no TLB entry came from them and no shootdown is needed; but a walker may
   * have followed the new link, so they still wait out the grace period.
   */
  undoCreated(created: number[]): void {
    for (let k = created.length - 2; k >= 0; k -= 2) {
      this.clear(created[k]!);
      this.reclaim.retire(created[k + 1]! / FRAME_SIZE);
    }
  }

  /**
   * Writes the leaves of `[start, end)` at `leafLevel` (tables must exist): page at linear
   * `v` maps `pa0 + (v - start0)`; `lo`/`hi` carry the flag bits.
   */
  writeLeaves(table: number, level: number, base: number, start: number, end: number, leafLevel: number, start0: number, pa0: number, lo: number, hi: number): void {
    const u32 = this.u32;
    const span = LEVEL_SPAN[level]!;
    for (let i = Math.floor((start - base) / span), eBase = base + i * span; i < ENTRIES && eBase < end; i++, eBase += span) {
      const w = this.word(table, i);
      if (level === leafLevel) {
        const pa = pa0 + (eBase - start0);
        this.store(w, ((pa % 2 ** 32) | lo) >>> 0, (Math.floor(pa / 2 ** 32) | hi) >>> 0);
      } else {
        const child = entryAddress(u32[w]!, u32[w + 1]!, level, false);
        this.writeLeaves(child, level - 1, eBase, Math.max(start, eBase), Math.min(end, eBase + span), leafLevel, start0, pa0, lo, hi);
      }
    }
  }

  /**
   * Clears every leaf in `[start, end)` and unlinks tables left empty, queueing them in
   * {@link unlinked} (the caller posts the shootdown, then calls {@link retireUnlinked}).
   * Returns the number of leaves cleared.
   */
  clearRange(table: number, level: number, base: number, start: number, end: number): number {
    const u32 = this.u32;
    const span = LEVEL_SPAN[level]!;
    let cleared = 0;
    for (let i = Math.floor((start - base) / span), eBase = base + i * span; i < ENTRIES && eBase < end; i++, eBase += span) {
      const w = this.word(table, i);
      const lo = u32[w]!;
      const hi = u32[w + 1]!;
      if ((lo | hi) === 0) continue;
      if (level === 0 || isLeaf(lo, level)) {
        this.clear(w);
        cleared++;
        continue;
      }
      const child = entryAddress(lo, hi, level, false);
      cleared += this.clearRange(child, level - 1, eBase, Math.max(start, eBase), Math.min(end, eBase + span));
      // A child the range covers whole is empty now; only a partly covered one needs the scan.
      if ((start <= eBase && end >= eBase + span) || this.isEmpty(child)) {
        this.clear(w);
        this.unlinked.push(child / FRAME_SIZE);
      }
    }
    return cleared;
  }

  /**
   * Rewrites every leaf in `[start, end)` with new permission bits (`lo`/`hi` flag words as
   * from `leafLo`/`leafHi` of address 0), keeping address, page size, caching, global and the
   * hardware A/D bits; `keepMarkers` keeps the old software bits. Returns the leaves changed.
   */
  protectRange(table: number, level: number, base: number, start: number, end: number, lo: number, hi: number, keepMarkers: boolean): number {
    const u32 = this.u32;
    const span = LEVEL_SPAN[level]!;
    const keepLo = keepMarkers ? (KEEP_ON_PROTECT_LO | PteLo.SW_COPY_ON_WRITE | PteLo.SW_LAZY) >>> 0 : KEEP_ON_PROTECT_LO;
    let changed = 0;
    for (let i = Math.floor((start - base) / span), eBase = base + i * span; i < ENTRIES && eBase < end; i++, eBase += span) {
      const w = this.word(table, i);
      const oldLo = u32[w]!;
      const oldHi = u32[w + 1]!;
      if ((oldLo | oldHi) === 0) continue;
      if (level === 0 || isLeaf(oldLo, level)) {
        // A kept LAZY marker keeps the entry not present: its read right moves to SW_READABLE.
        const lazy = keepMarkers ? (oldLo & PteLo.SW_LAZY) !== 0 : (lo & PteLo.SW_LAZY) !== 0;
        let flags = lo & ~(PteLo.SW_COPY_ON_WRITE | PteLo.SW_LAZY | PteLo.PRESENT | PteLo.SW_READABLE);
        if (!keepMarkers) flags |= lo & (PteLo.SW_COPY_ON_WRITE | PteLo.SW_LAZY);
        if (lo & (PteLo.PRESENT | PteLo.SW_READABLE)) flags |= lazy ? PteLo.SW_READABLE : PteLo.PRESENT;
        u32[w + 1] = ((oldHi & (PteHi.ADDRESS | PteHi.PROTECTION_KEY)) | hi) >>> 0;
        // CAS so an A/D bit a walker sets concurrently is not lost.
        for (let cur = oldLo; ; ) {
          const next = ((cur & keepLo) | flags) >>> 0;
          const seen = Atomics.compareExchange(u32, w, cur, next);
          if (seen === cur) break;
          cur = seen;
        }
        changed++;
        continue;
      }
      changed += this.protectRange(entryAddress(oldLo, oldHi, level, false), level - 1, eBase, Math.max(start, eBase), Math.min(end, eBase + span), lo, hi, keepMarkers);
    }
    return changed;
  }

  /**
   * Index in {@link u32} of the entry at `level` (3 = PML4E … 0 = PTE) on the path to
   * `linear`, or -1 when a table on the way is missing or a leaf ends the path above `level`.
   */
  entryWord(root: number, linear: number, level: number): number {
    const u32 = this.u32;
    let table = root;
    for (let l = TOP; ; l--) {
      const w = this.word(table, Math.floor(linear / LEVEL_SPAN[l]!) % ENTRIES);
      if (l === level) return w;
      const lo = u32[w]!;
      const hi = u32[w + 1]!;
      if ((lo | hi) === 0 || isLeaf(lo, l)) return -1;
      table = entryAddress(lo, hi, l, false);
    }
  }

  /** Calls `visit` with the word and level of every leaf in `[start, end)` (callers checked no huge page is split). Returns the count. */
  forEachLeaf(table: number, level: number, base: number, start: number, end: number, visit: (word: number, level: number) => void): number {
    const u32 = this.u32;
    const span = LEVEL_SPAN[level]!;
    let n = 0;
    for (let i = Math.floor((start - base) / span), eBase = base + i * span; i < ENTRIES && eBase < end; i++, eBase += span) {
      const w = this.word(table, i);
      const lo = u32[w]!;
      const hi = u32[w + 1]!;
      if ((lo | hi) === 0) continue;
      if (isLeaf(lo, level)) {
        visit(w, level);
        n++;
      } else {
        n += this.forEachLeaf(entryAddress(lo, hi, level, false), level - 1, eBase, Math.max(start, eBase), Math.min(end, eBase + span), visit);
      }
    }
    return n;
  }

  /** Appends every leaf under `table` (in address order) to `out`. */
  collect(table: number, level: number, base: number, out: PageMapping[]): void {
    const u32 = this.u32;
    const span = LEVEL_SPAN[level]!;
    for (let i = 0; i < ENTRIES; i++) {
      const w = this.word(table, i);
      const lo = u32[w]!;
      const hi = u32[w + 1]!;
      if ((lo | hi) === 0) continue;
      const eBase = base + i * span;
      if (level < TOP && isLeaf(lo, level)) out.push(this.mappingAt(w, level, eBase));
      else this.collect(entryAddress(lo, hi, level, false), level - 1, eBase, out);
    }
  }

  /** Number of table frames under (and including) `table`. */
  countTables(table: number, level: number): number {
    if (level === 0) return 1;
    const u32 = this.u32;
    let n = 1;
    for (let i = 0; i < ENTRIES; i++) {
      const w = this.word(table, i);
      const lo = u32[w]!;
      const hi = u32[w + 1]!;
      if ((lo | hi) !== 0 && !(level < TOP && isLeaf(lo, level))) n += this.countTables(entryAddress(lo, hi, level, false), level - 1);
    }
    return n;
  }

  /**
   * Retires `table` and every table under it (never the mapped frames), children before their
   * parent (a child's entries are read before it can be freed). The caller posted the flush.
   */
  retireTables(table: number, level: number): void {
    if (level > 0) {
      const u32 = this.u32;
      for (let i = 0; i < ENTRIES; i++) {
        const w = this.word(table, i);
        const lo = u32[w]!;
        const hi = u32[w + 1]!;
        if ((lo | hi) !== 0 && !(level < TOP && isLeaf(lo, level))) this.retireTables(entryAddress(lo, hi, level, false), level - 1);
      }
    }
    this.reclaim.retire(table / FRAME_SIZE);
  }
}

/** Throws `InvalidArgument` with `message` (keeps validation lines short). */
export function invalidArgument(message: string): never {
  throw new IpcError('InvalidArgument', message);
}
