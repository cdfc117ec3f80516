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

/** The table generation once it is even (no mutation in flight): spins, then sleeps briefly. Never call it inside an announced walk. */
function evenGeneration(ctx: MmuContext): number {
  for (let waits = 0; ; ) {
    const g = Atomics.load(ctx.u32, ctx.genIndex);
    if (!(g & 1)) return g;
    // A mutation is in flight on another thread; its critical section is short, so spin
    // first and only then sleep briefly.
    if (++waits > 200) {
      Atomics.wait(ctx.phys.i32, ctx.genIndex, g | 0, 0.05);
      waits = 0;
    }
  }
}

/**
 * Runs `read` (lock-free table reads on behalf of `cpu`) until no table mutation overlapped
 * it, each attempt announced to the reclaimer (core's `TableReclaim`) so no table it may
 * reach is freed under it. Waiting for a writer happens outside the announcement: a writer
 * short of frames waits for announced walks to end, so an announced walk must never wait
 * for a writer. Never wrap fault handlers in it (they take the lock).
 */
export function readAnnounced<T>(ctx: MmuContext, cpu: number, read: () => T): T {
  const reclaim = ctx.state.reclaim;
  for (;;) {
    const g = evenGeneration(ctx);
    reclaim.enter(cpu);
    let r: T;
    try {
      r = read();
    } finally {
      reclaim.exit(cpu);
    }
    if (Atomics.load(ctx.u32, ctx.genIndex) === g) return r;
  }
}

/**
 * A TLB miss of `cpu`: walks (announced, as {@link readAnnounced}) until no table mutation
 * overlapped the walk, and refills the TLB on success. Allocates nothing.
 */
export function walkAndFill(ctx: MmuContext, root: number, asid: number, v: number, access: number, cpu: number, user: boolean): number {
  const reclaim = ctx.state.reclaim;
  ctx.stats.misses++;
  for (;;) {
    const g = evenGeneration(ctx);
    reclaim.enter(cpu);
    let r: number;
    try {
      r = walkOnce(ctx, root, v, access, user);
    } finally {
      reclaim.exit(cpu);
    }
    if (r === RETRY || Atomics.load(ctx.u32, ctx.genIndex) !== g) continue;
    if (r >= 0) ctx.tlb.insert(cpu, asid, v, ctx.leafLevel, ctx.leafBase, ctx.leafRights, ctx.leafGlobal);
    return r;
  }
}
