import { PageMarker, PagePerm } from '@veridian/core';
import type { PagePerms } from '@veridian/core';

/**
 * Bit positions of the VMSAv8-64 stage-1 descriptor fields used here (4 KiB granule,
 * 48-bit output address). Bits 55–58 and 63 are ignored by hardware in a page or block
 * descriptor (Linux's `PTE_SWBITS_MASK`); this backend uses all five.
 */
export const DescriptorBit = {
  /** Bit 0: descriptor is valid. */
  VALID: 0,
  /** Bit 1: 1 = table (levels 0–2) or page (level 3); 0 = block (levels 1–2). */
  TABLE_OR_PAGE: 1,
  /** Bits 4:2: AttrIndx, index into MAIR_EL1 (0 = normal write-back memory here). */
  ATTR_INDX: 2,
  /** Bit 5: NS (non-secure output address; only meaningful from Secure state, kept 0). */
  NS: 5,
  /** Bit 6: AP[1], access from EL0 allowed. */
  AP_EL0: 6,
  /** Bit 7: AP[2], read-only. */
  AP_RO: 7,
  /** Bits 9:8: SH, shareability (0b11 = inner shareable). */
  SH: 8,
  /** Bit 10: AF, the access flag. */
  AF: 10,
  /** Bit 11: nG, not global (the entry is tagged by ASID). */
  NG: 11,
  /** Bit 12: lowest output-address bit of a page (block: 21 for 2 MiB, 30 for 1 GiB); the address ends at bit 47. */
  OUTPUT_ADDRESS: 12,
  /** Bit 51: DBM, dirty bit modifier (hardware dirty-state management may clear AP[2]). */
  DBM: 51,
  /** Bit 52: Contiguous hint (never set by this backend). */
  CONTIGUOUS: 52,
  /** Bit 53: PXN, privileged (EL1) execute-never. */
  PXN: 53,
  /** Bit 54: UXN, unprivileged (EL0) execute-never. */
  UXN: 54,
  /** Bit 55 (software): kernel marker COPY_ON_WRITE. */
  SW_COPY_ON_WRITE: 55,
  /** Bit 56 (software): kernel marker LAZY (entry kept invalid, frame and rights recorded). */
  SW_LAZY: 56,
  /** Bit 57 (software): dirty state of a page made read-only after it was written (AP[2] can no longer say so). */
  SW_DIRTY: 57,
  /** Bit 58 (software): a mapping with no access rights, kept invalid (Linux's `PTE_PROT_NONE`). */
  SW_PROT_NONE: 58,
  /** Bit 63 (ignored by hardware in a page/block descriptor): a read-only page mapped without DBM, so making it writable again keeps DBM clear. */
  SW_NO_DBM: 63,
} as const;

/** The descriptor fields of {@link DescriptorBit} as 64-bit masks (for tools, dumps and tests). */
export const Descriptor = {
  /** Valid (bit 0). */
  VALID: 1n << 0n,
  /** Table / page (1) vs block (0) (bit 1). */
  TABLE_OR_PAGE: 1n << 1n,
  /** Low two bits of a table descriptor (and of a level-3 page descriptor). */
  TYPE_TABLE: 0b11n,
  /** Low two bits of a block descriptor. */
  TYPE_BLOCK: 0b01n,
  /** AttrIndx[2:0] (bits 4:2). */
  ATTR_INDX_MASK: 0b111n << 2n,
  /** Non-secure (bit 5). */
  NS: 1n << 5n,
  /** AP[1]: EL0 access (bit 6). */
  AP_EL0: 1n << 6n,
  /** AP[2]: read-only (bit 7). */
  AP_RO: 1n << 7n,
  /** Shareability field (bits 9:8). */
  SH_MASK: 0b11n << 8n,
  /** Shareability = inner shareable. */
  SH_INNER: 0b11n << 8n,
  /** Access flag (bit 10). */
  AF: 1n << 10n,
  /** Not global (bit 11). */
  NG: 1n << 11n,
  /** Output / next-level table address of a page or table descriptor, bits 47:12. */
  ADDRESS_4K: 0x0000_ffff_ffff_f000n,
  /** Output address of a level-2 block, bits 47:21. */
  ADDRESS_2M: 0x0000_ffff_ffe0_0000n,
  /** Output address of a level-1 block, bits 47:30. */
  ADDRESS_1G: 0x0000_ffff_c000_0000n,
  /** Dirty bit modifier (bit 51). */
  DBM: 1n << 51n,
  /** Contiguous hint (bit 52). */
  CONTIGUOUS: 1n << 52n,
  /** Privileged execute-never (bit 53). */
  PXN: 1n << 53n,
  /** Unprivileged execute-never (bit 54). */
  UXN: 1n << 54n,
  /** Software: COPY_ON_WRITE marker (bit 55). */
  SW_COPY_ON_WRITE: 1n << 55n,
  /** Software: LAZY marker (bit 56). */
  SW_LAZY: 1n << 56n,
  /** Software: dirty state of a page made read-only (bit 57). */
  SW_DIRTY: 1n << 57n,
  /** Software: no-access mapping, kept invalid (bit 58). */
  SW_PROT_NONE: 1n << 58n,
  /** Software: read-only page whose writable form has no DBM (bit 63). */
  SW_NO_DBM: 1n << 63n,
} as const;

// The same fields split into the two little-endian 32-bit words a descriptor is stored as,
// so the walk and the TLB work on plain numbers (no bigint on the translate path).
/** Low word: valid bit. */
export const LO_VALID = 1 << 0;
/** Low word: table/page (1) vs block (0). */
export const LO_TABLE_OR_PAGE = 1 << 1;
/** Low word: AP[1] (EL0). */
export const LO_AP_EL0 = 1 << 6;
/** Low word: AP[2] (read-only). */
export const LO_AP_RO = 1 << 7;
/** Low word: SH = inner shareable. */
export const LO_SH_INNER = 0b11 << 8;
/** Low word: access flag. */
export const LO_AF = 1 << 10;
/** Low word: not global. */
export const LO_NG = 1 << 11;
/** High word: DBM (bit 51). */
export const HI_DBM = 1 << 19;
/** High word: Contiguous (bit 52). */
export const HI_CONTIGUOUS = 1 << 20;
/** High word: PXN (bit 53). */
export const HI_PXN = 1 << 21;
/** High word: UXN (bit 54). */
export const HI_UXN = 1 << 22;
/** High word: software COPY_ON_WRITE (bit 55). */
export const HI_SW_COW = 1 << 23;
/** High word: software LAZY (bit 56). */
export const HI_SW_LAZY = 1 << 24;
/** High word: software DIRTY (bit 57). */
export const HI_SW_DIRTY = 1 << 25;
/** High word: software PROT_NONE (bit 58). */
export const HI_SW_PROT_NONE = 1 << 26;
/** High word: software NO_DBM (bit 63). */
export const HI_SW_NO_DBM = 1 << 31;
/** High word: output address bits 47:32. */
export const HI_ADDRESS = 0xffff;
/** Low word: AttrIndx (bits 4:2). */
export const LO_ATTR_INDX = 0b111 << 2;
/** Low word: SH (bits 9:8). */
export const LO_SH = 0b11 << 8;

/** Access rights as cached in a TLB entry: one bit per (exception level, access kind). */
export const Right = {
  EL1_READ: 1,
  EL1_WRITE: 2,
  EL1_EXEC: 4,
  EL0_READ: 8,
  EL0_WRITE: 16,
  EL0_EXEC: 32,
} as const;

const TWO_32 = 0x1_0000_0000;

/** Level of the leaf for a page size: 3 for 4 KiB, 2 for 2 MiB, 1 for 1 GiB; -1 otherwise. */
export function levelOfPageSize(pageSize: number): number {
  return pageSize === 4096 ? 3 : pageSize === 0x20_0000 ? 2 : pageSize === 0x4000_0000 ? 1 : -1;
}

/** Bytes per entry by level, looked up (a `**` with a variable exponent is a `Math.pow` call, ~8× slower on every walk). */
const LEVEL_SIZE = [2 ** 39, 2 ** 30, 2 ** 21, 2 ** 12] as const;

/** Bytes mapped by one entry at `level` (0: 512 GiB, 1: 1 GiB, 2: 2 MiB, 3: 4 KiB). */
export function levelSize(level: number): number {
  return LEVEL_SIZE[level as 0];
}

/** Output-address mask of the low word for a leaf at `level`. */
function loAddressMask(level: number): number {
  return level === 3 ? 0xffff_f000 : level === 2 ? 0xffe0_0000 : 0xc000_0000;
}

/** Physical address held by a leaf (page or block) descriptor at `level`. */
export function leafAddress(lo: number, hi: number, level: number): number {
  return (hi & HI_ADDRESS) * TWO_32 + ((lo & loAddressMask(level)) >>> 0);
}

/** Physical address of the next-level table named by a table descriptor. */
export function tableAddress(lo: number, hi: number): number {
  return (hi & HI_ADDRESS) * TWO_32 + ((lo & 0xffff_f000) >>> 0);
}

/** Low word of a table descriptor for a table at `pa` (bits[1:0] = 0b11; table attributes all zero). */
export function tableLo(pa: number): number {
  return ((pa >>> 0) & 0xffff_f000 | 0b11) >>> 0;
}

/** High word of a table descriptor for a table at `pa`. */
export function tableHi(pa: number): number {
  return Math.floor(pa / TWO_32) & HI_ADDRESS;
}

/** State a leaf keeps across re-encoding (hardware-updated and fixed parts). */
export interface LeafState {
  /** Access flag. */
  accessed: boolean;
  /** Written since mapped (hardware dirty or software-recorded). */
  dirty: boolean;
  /** Not tagged by ASID. */
  global: boolean;
  /** AttrIndx (0–7); default 0. */
  attrIndx?: number;
  /** SH (0, 2 or 3); default 3 (inner shareable). */
  sh?: number;
  /** Hardware dirty management (DBM) for a writable page; default true. */
  dbm?: boolean;
}

const ACCESS_PERMS = PagePerm.READ | PagePerm.WRITE | PagePerm.EXECUTE;

/**
 * Low word of a leaf descriptor. Mapping rules: any valid entry is readable at EL1 (Arm
 * has no unreadable valid page, so WRITE or EXECUTE imply READ), USER sets AP[1]; WRITE
 * with DBM (the default) keeps AP[2]=1 until the first write (writable-clean), unless
 * already dirty; WRITE without DBM clears AP[2] (a plain read-write page); no WRITE sets
 * AP[2]=1; nG unless global; AttrIndx and SH from `state` (default 0 and inner shareable).
 * A LAZY marker, or no READ/WRITE/EXECUTE at all (PROT_NONE), clears the valid bit.
 */
export function leafLo(pa: number, perms: PagePerms, markers: number, level: number, state: LeafState): number {
  let lo = (level === 3 ? LO_VALID | LO_TABLE_OR_PAGE : LO_VALID) | ((state.sh ?? 3) << 8) | ((state.attrIndx ?? 0) << 2);
  if (markers & PageMarker.LAZY || !(perms & ACCESS_PERMS)) lo &= ~LO_VALID;
  if (perms & PagePerm.USER) lo |= LO_AP_EL0;
  if (!(perms & PagePerm.WRITE) || (state.dbm !== false && !state.dirty)) lo |= LO_AP_RO;
  if (!state.global) lo |= LO_NG;
  if (state.accessed) lo |= LO_AF;
  return (lo | ((pa >>> 0) & loAddressMask(level))) >>> 0;
}

/**
 * High word of a leaf descriptor: output address bits 47:32, DBM for writable pages (unless
 * `state.dbm` is false), PXN unless kernel-executable (user pages are always PXN, as in
 * Linux), UXN unless user-executable, software markers, the software dirty bit for a
 * read-only page that was written, the NO_DBM bit for a read-only page mapped without DBM,
 * and the PROT_NONE bit for a mapping without READ, WRITE or EXECUTE.
 */
export function leafHi(pa: number, perms: PagePerms, markers: number, state: LeafState): number {
  let hi = Math.floor(pa / TWO_32) & HI_ADDRESS;
  if (perms & PagePerm.WRITE) {
    if (state.dbm !== false) hi |= HI_DBM;
  } else {
    if (state.dirty) hi |= HI_SW_DIRTY;
    if (state.dbm === false) hi |= HI_SW_NO_DBM;
  }
  const exec = (perms & PagePerm.EXECUTE) !== 0;
  const user = (perms & PagePerm.USER) !== 0;
  if (!(exec && !user)) hi |= HI_PXN;
  if (!(exec && user)) hi |= HI_UXN;
  if (markers & PageMarker.COPY_ON_WRITE) hi |= HI_SW_COW;
  if (markers & PageMarker.LAZY) hi |= HI_SW_LAZY;
  if (!(perms & ACCESS_PERMS)) hi |= HI_SW_PROT_NONE;
  return hi >>> 0;
}

/** `PagePerm` bits a leaf grants (READ always, unless PROT_NONE; WRITE if AP[2]=0 or DBM=1). */
export function permsOf(lo: number, hi: number): PagePerms {
  if (hi & HI_SW_PROT_NONE) return lo & LO_AP_EL0 ? PagePerm.USER : 0;
  let perms: number = PagePerm.READ;
  if (!(lo & LO_AP_RO) || hi & HI_DBM) perms |= PagePerm.WRITE;
  if (lo & LO_AP_EL0) {
    perms |= PagePerm.USER;
    if (!(hi & HI_UXN)) perms |= PagePerm.EXECUTE;
  } else if (!(hi & HI_PXN)) perms |= PagePerm.EXECUTE;
  return perms;
}

/** `PageMarker` bits recorded in a leaf's software bits. */
export function markersOf(hi: number): number {
  return (hi & HI_SW_COW ? PageMarker.COPY_ON_WRITE : 0) | (hi & HI_SW_LAZY ? PageMarker.LAZY : 0);
}

/** Dirty state: writable-dirty (DBM=1, AP[2]=0) or the software dirty bit. */
export function isDirty(lo: number, hi: number): boolean {
  return (!(lo & LO_AP_RO) && (hi & HI_DBM) !== 0) || (hi & HI_SW_DIRTY) !== 0;
}

/** The hardware-updated and fixed state of a leaf (A, dirty, nG, AttrIndx, SH, DBM mode), to carry over when re-encoding it. */
export function leafState(lo: number, hi: number): LeafState {
  const dbm = (hi & HI_DBM) !== 0 || ((lo & LO_AP_RO) !== 0 && (hi & HI_SW_NO_DBM) === 0);
  return { accessed: (lo & LO_AF) !== 0, dirty: isDirty(lo, hi), global: !(lo & LO_NG), attrIndx: (lo & LO_ATTR_INDX) >>> 2, sh: (lo & LO_SH) >>> 8, dbm };
}

/**
 * Rights the architecture grants for a valid leaf, as {@link Right} bits, under the
 * hierarchical controls `tableHi` (the OR of the high words of the table descriptors on the
 * walk; bits 59–62): EL1 may always read; a write is allowed when AP[2]=0 or DBM=1
 * (hardware then clears AP[2]) and APTable[1] is clear everywhere above; EL0 needs AP[1]
 * and APTable[0] clear; EL0 execution needs UXN=0 and UXNTable clear; EL1 execution needs
 * PXN=0 and PXNTable clear, and is also refused when EL0 may write the page (AP[2:1]=0b01
 * with no APTable restriction: EL0-writable memory is implicitly PXN).
 */
export function architecturalRights(lo: number, hi: number, tableHi = 0): number {
  const apNoEl0 = (tableHi & (1 << 29)) !== 0;
  const apRo = (tableHi & (1 << 30)) !== 0;
  const writable = !apRo && (!(lo & LO_AP_RO) || (hi & HI_DBM) !== 0);
  const el0 = (lo & LO_AP_EL0) !== 0 && !apNoEl0;
  const el0Writable = el0 && !apRo && !(lo & LO_AP_RO);
  let r: number = Right.EL1_READ;
  if (writable) r |= Right.EL1_WRITE;
  if (!(hi & HI_PXN) && !(tableHi & (1 << 27)) && !el0Writable) r |= Right.EL1_EXEC;
  if (el0) {
    r |= Right.EL0_READ;
    if (writable) r |= Right.EL0_WRITE;
  }
  if (!(hi & HI_UXN) && !(tableHi & (1 << 28))) r |= Right.EL0_EXEC;
  return r;
}

/**
 * Rights a TLB entry may cache: as {@link architecturalRights}, but write only once the
 * page is dirty (AP[2]=0), so the first write to a writable-clean page walks the tables
 * and records the dirty state, as hardware does.
 */
export function cachedRights(lo: number, hi: number, tableHi = 0): number {
  const r = architecturalRights(lo, hi, tableHi);
  return lo & LO_AP_RO ? r & ~(Right.EL1_WRITE | Right.EL0_WRITE) : r;
}
