import { AccessKind } from '@veridian/core';
import { indexAt } from './address.js';
import { PfError, accessErrorBits } from './fault.js';
import { LEVEL_SPAN, PteHi, PteLo, entryAddress } from './page-table-entry.js';
import type { PageTables } from './page-table.js';
import { pkruDenies, pkruForbidMask } from './protection-keys.js';
import { TLB_KEY_SHIFT, TlbRight } from './tlb.js';
import type { Tlb } from './tlb.js';

// Negative walk results (a translation is never negative).
export const FAULT_NOT_PRESENT = -1;
export const FAULT_PERMISSION = -2;
export const FAULT_LAZY = -3;
export const FAULT_INVALID = -4;
export const FAULT_RESERVED = -5;
/** Reserved bits 20:13 of a 2 MiB PDE and 29:13 of a 1 GiB PDPTE (low word). */
const RSVD_LO_2M = 0x001fe000;
const RSVD_LO_1G = 0x3fffe000;

const TOP = 3;
const A = PteLo.ACCESSED;
const AD = PteLo.ACCESSED | PteLo.DIRTY;

/**
 * The page walk of one address space, as the processor does it. Allocation-free: the path and
 * the fault details live in fields reused by every walk.
 */
export class Walker {
  /** Error code of the last failed walk (`PfError` bits). */
  errorCode = 0;
  /** Level at which the last failed walk stopped (3 = PML4E … 0 = PTE). */
  level = 0;
  readonly #tables: PageTables;
  readonly #tlb: Tlb;
  readonly #root: number;
  readonly #asid: number;
  /** Address bits 51:MAXPHYADDR of the high word: reserved in every entry. */
  readonly #rsvdHi: number;
  readonly #wp: boolean;
  readonly #words = new Int32Array(4);
  readonly #los = new Uint32Array(4);

  constructor(tables: PageTables, tlb: Tlb, root: number, asid: number, maxPhysAddr: number, writeProtect: boolean) {
    this.#tables = tables;
    this.#tlb = tlb;
    this.#root = root;
    this.#asid = asid;
    this.#rsvdHi = (PteHi.ADDRESS & ~(2 ** (maxPhysAddr - 32) - 1)) >>> 0;
    this.#wp = writeProtect;
  }

  /**
   * The hardware walk (SDM §4.5–4.8): a non-present entry at any level faults; reserved bits
   * in a present entry fault; the access rights are those of every entry on the path
   * combined (R/W and U/S ANDed, XD ORed); PKRU is checked for data accesses to user-mode
   * pages. A successful walk sets A in every entry it used (and D in the leaf on a write)
   * with compare-and-swap, and fills the TLB. On a fault it sets `errorCode` (the error code)
   * and `level`, and changes nothing.
   *
   * The table reads are bracketed by the grace period on `cpu`, so a table a writer unlinks
   * meanwhile is not recycled until this walk is over.
   */
  walk(linear: number, access: AccessKind, cpu: number, user: boolean, vpnLo: number, vpnHi: number): number {
    const reclaim = this.#tables.reclaim;
    reclaim.enter(cpu);
    try {
      return this.#walk(linear, access, cpu, user, vpnLo, vpnHi);
    } finally {
      reclaim.exit(cpu);
    }
  }

  #walk(linear: number, access: AccessKind, cpu: number, user: boolean, vpnLo: number, vpnHi: number): number {
    const tables = this.#tables;
    const u32 = tables.u32;
    const words = this.#words;
    const los = this.#los;
    const write = access === AccessKind.Write;
    const exec = access === AccessKind.Execute;
    const rsvdHi = this.#rsvdHi;
    const wp = this.#wp;
    restart: for (;;) {
      let table = this.#root;
      let allW: number = PteLo.WRITABLE;
      let allU: number = PteLo.USER;
      let anyXd = 0;
      // Levels whose table entry still lacks A (set only once the whole walk succeeds).
      let missingA = 0;
      for (let level = TOP; level >= 0; level--) {
        const w = tables.word(table, indexAt(linear, level));
        const lo = u32[w]!;
        const hi = u32[w + 1]!;
        const leaf = level === 0 || (level < TOP && (lo & PteLo.PAGE_SIZE) !== 0);
        if ((lo & PteLo.PRESENT) === 0) {
          this.level = level;
          this.errorCode = accessErrorBits(access, user);
          if ((lo | hi) === 0 || !leaf) return FAULT_NOT_PRESENT;
          // A kernel marker entry: LAZY, or a mapping with no rights (a permission fault to the kernel).
          return lo & PteLo.SW_LAZY ? FAULT_LAZY : FAULT_PERMISSION;
        }
        if ((hi & rsvdHi) !== 0 || (level === TOP && (lo & PteLo.PAGE_SIZE) !== 0) || (leaf && level === 1 && (lo & RSVD_LO_2M) !== 0) || (leaf && level === 2 && (lo & RSVD_LO_1G) !== 0)) {
          this.level = level;
          this.errorCode = accessErrorBits(access, user) | PfError.PRESENT | PfError.RESERVED;
          return FAULT_RESERVED;
        }
        allW &= lo;
        allU &= lo;
        anyXd |= hi;
        if (!leaf) {
          if ((lo & A) === 0) {
            missingA |= 1 << level;
            words[level] = w;
            los[level] = lo;
          }
          table = entryAddress(lo, hi, level, false);
          continue;
        }
        const writable = (allW & PteLo.WRITABLE) !== 0;
        const userPage = (allU & PteLo.USER) !== 0;
        const noExec = (anyXd & PteHi.NO_EXECUTE) !== 0;
        if ((user && (!userPage || (write && !writable))) || (!user && write && wp && !writable) || (exec && noExec)) {
          this.level = level;
          this.errorCode = accessErrorBits(access, user) | PfError.PRESENT;
          return FAULT_PERMISSION;
        }
        const key = (hi & PteHi.PROTECTION_KEY) >>> PteHi.PROTECTION_KEY_SHIFT;
        const pkru = this.#tlb.pkru[cpu]!;
        if (!exec && userPage && pkru !== 0 && pkruDenies(pkru, key, pkruForbidMask(write, user, wp))) {
          this.level = level;
          this.errorCode = accessErrorBits(access, user) | PfError.PRESENT | PfError.PROTECTION_KEY;
          return FAULT_PERMISSION;
        }
        // Allowed: set A on every paging-structure entry used, then A (and D) on the leaf.
        if (missingA !== 0) {
          for (let l = TOP; l > level; l--) {
            if ((missingA & (1 << l)) === 0) continue;
            const tl = los[l]!;
            if (Atomics.compareExchange(u32, words[l]!, tl, (tl | A) >>> 0) !== tl) continue restart;
          }
        }
        const want = write ? AD : A;
        let cur = lo;
        if ((lo & want) !== want) {
          // Compare-and-swap, not a blind OR: if the entry changed under us (unmap, protect), walk again.
          cur = (lo | want) >>> 0;
          if (Atomics.compareExchange(u32, w, lo, cur) !== lo) continue restart;
        }
        const page = entryAddress(cur, hi, level, true) + (linear % LEVEL_SPAN[level]!) - (linear & 0xfff);
        const rights =
          (writable ? TlbRight.WRITE : 0) | (userPage ? TlbRight.USER : 0) | (noExec ? 0 : TlbRight.EXECUTE) | (cur & PteLo.DIRTY ? TlbRight.DIRTY : 0) | (key << TLB_KEY_SHIFT);
        this.#tlb.fill(cpu, this.#asid, vpnLo, vpnHi, page, rights, (cur & PteLo.GLOBAL) !== 0, level);
        return page + (linear & 0xfff);
      }
      this.level = 0;
      this.errorCode = accessErrorBits(access, user);
      return FAULT_NOT_PRESENT;
    }
  }
}
