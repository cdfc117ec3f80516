import { Dfsc } from './fault.js';
import { LO_AF, LO_AP_RO, LO_NG, LO_TABLE_OR_PAGE, LO_VALID, HI_SW_LAZY, HI_SW_PROT_NONE, architecturalRights, cachedRights, leafAddress, tableAddress } from './page-table-entry.js';
import type { MmuContext } from './mmu-context.js';
import { TableHi } from './table-descriptor.js';

// Walk outcomes (a non-negative result is the physical address).
export const F_NOT_PRESENT = -1;
export const F_PERMISSION = -2;
export const F_LAZY = -3;
export const F_INVALID = -4;
export const RETRY = -5;
export const F_ACCESS_FLAG = -6;

const TWO_32 = 0x1_0000_0000;

/**
 * One stage-1 table walk (no allocation): the physical address, or a negative fault code
 * with `ctx.faultStatus` set to the DFSC. Table descriptors' APTable / UXNTable / PXNTable
 * accumulate down the walk and limit the leaf; AF and the dirty state are updated with one
 * compare-and-swap; on success the leaf's level, base, rights and nG are left in `ctx`.
 */
export function walkOnce(ctx: MmuContext, root: number, v: number, access: number, user: boolean): number {
  const phys = ctx.phys;
  const u32 = ctx.u32;
  const vhi = Math.floor(v / TWO_32);
  const vlo = v >>> 0;
  let table = root;
  // Hierarchical controls (APTable, UXNTable, PXNTable) of every table descriptor on the walk.
  let tctl = 0;
  for (let level = 0; level < 4; level++) {
    const idx = level === 0 ? (vhi >>> 7) & 511 : level === 1 ? ((vhi & 127) << 2) | (vlo >>> 30) : level === 2 ? (vlo >>> 21) & 511 : (vlo >>> 12) & 511;
    const w = phys.physOffset(table) / 4 + idx * 2;
    const lo = u32[w]!;
    const hi = u32[w + 1]!;
    if (!(lo & LO_VALID)) {
      // An invalid descriptor is a translation fault at this level (LAZY and PROT_NONE are the kernel's names for two of them).
      ctx.faultStatus = Dfsc.translation(level);
      return hi & HI_SW_LAZY ? F_LAZY : hi & HI_SW_PROT_NONE ? F_PERMISSION : F_NOT_PRESENT;
    }
    if (lo & LO_TABLE_OR_PAGE) {
      if (level < 3) {
        tctl |= hi & TableHi.CONTROLS;
        table = tableAddress(lo, hi);
        continue;
      }
    } else if (level === 0 || level === 3) {
      // Block descriptors do not exist at level 0 (4 KiB granule); 0b01 at level 3 is reserved.
      ctx.faultStatus = Dfsc.translation(level);
      return F_NOT_PRESENT;
    }
    // Access flag faults come before permission faults (TCR_EL1.HA = 0 only).
    if (!ctx.hardwareAccessFlag && !(lo & LO_AF)) {
      ctx.faultStatus = Dfsc.accessFlag(level);
      return F_ACCESS_FLAG;
    }
    const need = user ? access << 3 : access;
    if ((architecturalRights(lo, hi, tctl) & need) === 0) {
      ctx.faultStatus = Dfsc.permission(level);
      return F_PERMISSION;
    }
    // Hardware AF update (TCR_EL1.HA) and dirty-state update (TCR_EL1.HD): one CAS, which
    // fails (and the walk restarts) if the entry changed under us.
    let nlo = lo | LO_AF;
    if (access === 2) nlo &= ~LO_AP_RO;
    nlo >>>= 0;
    if (nlo !== lo && Atomics.compareExchange(u32, w, lo, nlo) !== lo) return RETRY;
    const base = leafAddress(nlo, hi, level);
    ctx.leafLevel = level;
    ctx.leafBase = base;
    ctx.leafRights = cachedRights(nlo, hi, tctl);
    ctx.leafGlobal = !(nlo & LO_NG);
    return base + (level === 3 ? vlo & 0xfff : level === 2 ? vlo & 0x1f_ffff : vlo & 0x3fff_ffff);
  }
  ctx.faultStatus = Dfsc.translation(3);
  return F_NOT_PRESENT;
}
