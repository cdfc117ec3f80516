import { checkTlbShape } from '@veridian/core';

import type { ShootdownTarget, TlbStats } from '@veridian/core';

/** Pages one leaf of each level maps (2^(9·level)), looked up: a variable `**` is a `Math.pow` call. */
const LEAF_PAGES = [1, 2 ** 9, 2 ** 18, 2 ** 27];

const M_VALID = 0x8000_0000;
const M_GLOBAL = 0x4000_0000;
const M_LEVEL_SHIFT = 28;
const M_ASID = 0xffff;

/** Rights cached in a TLB entry, so a hit needs no walk. */
export const TlbRight = Object.freeze({
  R: 1,
  W: 2,
  X: 4,
  U: 8,
  /** The leaf's D bit was already set, so a store may hit; otherwise it walks to set D. */
  D: 16,
});

/**
 * The TLBs of one MMU instance's harts: per hart a direct-mapped array of `entries` slots
 * indexed by the low bits of the 4 KiB virtual page number (of the linear address), in typed
 * arrays — nothing allocated on a lookup. Megapages are cached per 4 KiB piece, each piece
 * remembering its level so an `sfence.vma` of any address inside still finds it. Entries are
 * tagged by ASID; global ones match every ASID.
 */
export class Tlb implements ShootdownTarget {
  /** Harts (one TLB each). */
  readonly cpus: number;
  /** Slots per hart (a power of two). */
  readonly entries: number;
  /** Counters of the instance. */
  readonly stats: TlbStats = { hits: 0, misses: 0, invalidations: 0, shootdowns: 0, flushes: 0 };
  readonly #mask: number;
  readonly #vpn: Float64Array;
  readonly #meta: Uint32Array;
  readonly #pa: Float64Array;
  readonly #rights: Uint8Array;

  constructor(cpus: number, entries: number) {
    checkTlbShape(cpus, entries);
    this.cpus = cpus;
    this.entries = entries;
    this.#mask = entries - 1;
    this.#vpn = new Float64Array(cpus * entries);
    this.#meta = new Uint32Array(cpus * entries);
    this.#pa = new Float64Array(cpus * entries);
    this.#rights = new Uint8Array(cpus * entries);
  }

  /** The cached rights ({@link TlbRight}) of `vpn` for `asid` on `cpu`, with the page's physical address in `paOut[0]`; -1 on a miss. */
  lookup(cpu: number, asid: number, vpn: number, paOut: Float64Array): number {
    const i = cpu * this.entries + (vpn & this.#mask);
    const m = this.#meta[i]!;
    if ((m & M_VALID) !== 0 && this.#vpn[i] === vpn && ((m & M_ASID) === asid || (m & M_GLOBAL) !== 0)) {
      paOut[0] = this.#pa[i]!;
      return this.#rights[i]!;
    }
    return -1;
  }

  /** Caches the 4 KiB piece `vpn` → `pa` of a page of `level` (0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB, 3 = 512 GiB). */
  fill(cpu: number, asid: number, vpn: number, pa: number, rights: number, global: boolean, level: number): void {
    const i = cpu * this.entries + (vpn & this.#mask);
    this.#vpn[i] = vpn;
    this.#pa[i] = pa;
    this.#rights[i] = rights;
    this.#meta[i] = (M_VALID | (global ? M_GLOBAL : 0) | (level << M_LEVEL_SHIFT) | (asid & M_ASID)) >>> 0;
  }

  /**
   * `sfence.vma` on `cpu` (privileged spec §4.2.1): `vpn` < 0 stands for rs1 = x0 (every
   * address), `asid` < 0 for rs2 = x0 (every address space). With an ASID given, global
   * entries are kept, as the spec says; with rs2 = x0 they go too.
   */
  sfenceVma(cpu: number, vpn: number, asid: number): void {
    const meta = this.#meta;
    for (let i = cpu * this.entries, stop = i + this.entries; i < stop; i++) {
      const m = meta[i]!;
      if ((m & M_VALID) === 0) continue;
      if (asid >= 0 && ((m & M_GLOBAL) !== 0 || (m & M_ASID) !== asid)) continue;
      if (vpn >= 0 && !this.#covers(i, m, vpn, 1)) continue;
      meta[i] = 0;
    }
    if (vpn >= 0) this.stats.invalidations++;
    else this.stats.flushes++;
  }

  #covers(i: number, m: number, vpn: number, count: number): boolean {
    const pages = LEAF_PAGES[(m >>> M_LEVEL_SHIFT) & 3]!;
    const v = this.#vpn[i]!;
    const first = v - (v % pages);
    return first < vpn + count && first + pages > vpn;
  }

  /** Shootdown of a range: drops `cpu`'s entries of `asid` and global ones overlapping `count` pages from `vpn` (`sfence.vma` per page, global entries included). */
  invalidateRange(cpu: number, asid: number, vpn: number, count: number): void {
    const meta = this.#meta;
    for (let i = cpu * this.entries, stop = i + this.entries; i < stop; i++) {
      const m = meta[i]!;
      if ((m & M_VALID) === 0 || ((m & M_ASID) !== asid && (m & M_GLOBAL) === 0)) continue;
      if (this.#covers(i, m, vpn, count)) meta[i] = 0;
    }
    this.stats.invalidations++;
  }

  /** Drops every entry `cpu` holds for `asid`, global ones filled through it included (`sfence.vma x0, asid` plus the globals of a destroyed space). */
  flushAsid(cpu: number, asid: number): void {
    const meta = this.#meta;
    for (let i = cpu * this.entries, stop = i + this.entries; i < stop; i++) if ((meta[i]! & M_ASID) === asid) meta[i] = 0;
    this.stats.flushes++;
  }

  /** Drops every entry of `cpu` (`sfence.vma x0, x0`). */
  flushAll(cpu: number): void {
    this.#meta.fill(0, cpu * this.entries, (cpu + 1) * this.entries);
    this.stats.flushes++;
  }

  /** Counts a hit or a miss. */
  count(hit: boolean): void {
    if (hit) this.stats.hits++;
    else this.stats.misses++;
  }
}
