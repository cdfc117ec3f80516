import { ShootdownReader, checkTlbShape } from '@veridian/core';
import type { ShootdownTarget, TlbStats } from '@veridian/core';
import type { SharedState } from './shared-state.js';

// Meta word of an entry: valid, global, page-size level, VA bits 44–47, PCID.
const M_VALID = 0x80000000;
const M_GLOBAL = 0x40000000;
const M_LEVEL_SHIFT = 28;
const M_VPN_HI_SHIFT = 12;
const M_PCID = 0xfff;

/** Rights cached in a TLB entry (a subset of the leaf, so a hit needs no walk). */
export const TlbRight = {
  WRITE: 1,
  USER: 2,
  EXECUTE: 4,
  /** The leaf's D bit was already set, so a write may hit; otherwise it walks to set D. */
  DIRTY: 8,
} as const;

/** Shift of the cached protection key (bits 4–7 of the rights byte). */
export const TLB_KEY_SHIFT = 4;

const TWO32 = 2 ** 32;

/**
 * The TLBs of one MMU instance's CPUs: for each CPU a direct-mapped array of `entries`
 * slots indexed by the low bits of the 4 KiB virtual page number, in typed arrays (no
 * objects per entry, nothing allocated on a lookup). Huge pages are cached per 4 KiB piece
 * ("splintered"), each piece remembering its page size so invalidations still find it.
 * Entries are tagged by PCID; global entries match every PCID.
 */
export class Tlb implements ShootdownTarget {
  /** CPUs (one TLB each). */
  readonly cpus: number;
  /** Slots per CPU (a power of two). */
  readonly entries: number;
  /** Counters (one set for the instance). */
  readonly stats: TlbStats = { hits: 0, misses: 0, invalidations: 0, shootdowns: 0, flushes: 0 };
  readonly #mask: number;
  readonly #vpnLo: Uint32Array;
  readonly #meta: Uint32Array;
  readonly #pa: Float64Array;
  readonly #rights: Uint8Array;
  /** This instance's place in core's shootdown ring. */
  readonly #reader: ShootdownReader;
  /** PKRU of each CPU (a register: per CPU of this instance, 0 after reset). */
  readonly pkru: Uint32Array;

  /** Throws `InvalidArgument` unless `cpus` and `entries` make a valid TLB. */
  static check(cpus: number, entries: number): void {
    checkTlbShape(cpus, entries);
  }

  constructor(shared: SharedState, cpus: number, entries: number) {
    Tlb.check(cpus, entries);
    this.cpus = cpus;
    this.entries = entries;
    this.#mask = entries - 1;
    this.#vpnLo = new Uint32Array(cpus * entries);
    this.#meta = new Uint32Array(cpus * entries);
    this.#pa = new Float64Array(cpus * entries);
    this.#rights = new Uint8Array(cpus * entries);
    this.pkru = new Uint32Array(cpus);
    this.#reader = new ShootdownReader(shared, cpus, this);
  }

  /**
   * Processes shootdowns posted since `cpu` last looked: one `Atomics.load` when there are
   * none. Must run before every lookup so no stale entry is used.
   */
  sync(cpu: number): void {
    this.#reader.sync(cpu);
  }

  /**
   * Looks up the 4 KiB page (`vpnLo` = VA bits 12–43, `vpnHi` = bits 44–47) for `pcid`.
   * Returns the physical address of the page, or -1 on a miss or when the cached rights lack
   * any of `need` ({@link TlbRight} bits), in which case the caller walks. `pkForbid` (0 for
   * an instruction fetch) are the PKRU bits of the page's key that forbid this access to a
   * user-mode page: PKRU is checked on every access, as the hardware does, not cached.
   */
  lookup(cpu: number, pcid: number, vpnLo: number, vpnHi: number, need: number, pkForbid = 0): number {
    const i = cpu * this.entries + (vpnLo & this.#mask);
    const m = this.#meta[i]!;
    if (
      this.#vpnLo[i] === vpnLo &&
      (m & M_VALID) !== 0 &&
      ((m >>> M_VPN_HI_SHIFT) & 0xf) === vpnHi &&
      ((m & M_PCID) === pcid || (m & M_GLOBAL) !== 0) &&
      (this.#rights[i]! & need) === need &&
      !(pkForbid !== 0 && this.pkru[cpu] !== 0 && (this.#rights[i]! & TlbRight.USER) !== 0 && ((this.pkru[cpu]! >>> (2 * (this.#rights[i]! >>> TLB_KEY_SHIFT))) & pkForbid) !== 0)
    ) {
      this.stats.hits++;
      return this.#pa[i]!;
    }
    this.stats.misses++;
    return -1;
  }

  /** Caches a translation of one 4 KiB piece of a page of `level` (0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB). */
  fill(cpu: number, pcid: number, vpnLo: number, vpnHi: number, pa: number, rights: number, global: boolean, level: number): void {
    const i = cpu * this.entries + (vpnLo & this.#mask);
    this.#vpnLo[i] = vpnLo;
    this.#pa[i] = pa;
    this.#rights[i] = rights;
    this.#meta[i] = (M_VALID | (global ? M_GLOBAL : 0) | (level << M_LEVEL_SHIFT) | (vpnHi << M_VPN_HI_SHIFT) | pcid) >>> 0;
  }

  /**
   * `invlpg` over a range: drops `cpu`'s entries for `pcid` (and global ones) whose page
   * overlaps the `count` 4 KiB pages starting at linear page number `vpn`.
   */
  invalidateRange(cpu: number, pcid: number, vpn: number, count: number): void {
    const end = vpn + count;
    const meta = this.#meta;
    for (let i = cpu * this.entries, stop = i + this.entries; i < stop; i++) {
      const m = meta[i]!;
      if ((m & M_VALID) === 0 || ((m & M_PCID) !== pcid && (m & M_GLOBAL) === 0)) continue;
      const pages = 1 << (9 * ((m >>> M_LEVEL_SHIFT) & 3));
      const v = ((m >>> M_VPN_HI_SHIFT) & 0xf) * TWO32 + this.#vpnLo[i]!;
      const first = v - (v % pages);
      if (first < end && first + pages > vpn) meta[i] = 0;
    }
    this.stats.invalidations++;
  }

  /** Drops every entry `cpu` holds for `pcid`, including global ones filled through it (the shootdown of a destroyed space). */
  flushAsid(cpu: number, pcid: number): void {
    const meta = this.#meta;
    for (let i = cpu * this.entries, stop = i + this.entries; i < stop; i++) {
      if ((meta[i]! & M_PCID) === pcid) meta[i] = 0;
    }
    this.stats.flushes++;
  }

  /** Drops every entry of `cpu`. */
  flushAll(cpu: number): void {
    this.#meta.fill(0, cpu * this.entries, (cpu + 1) * this.entries);
    this.stats.flushes++;
  }
}
