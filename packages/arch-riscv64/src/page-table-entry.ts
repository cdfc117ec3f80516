import { PageMarker, PagePerm } from '@veridian/core';
import type { PagePerms } from '@veridian/core';

/**
 * Bits of an Sv39/Sv48 page-table entry (privileged spec §4.4.1, Figure "Sv39 page table
 * entry"; Linux `arch/riscv/include/asm/pgtable-bits.h`). Bits 0–9 live in the low 32-bit
 * word of the entry; the PPN spans bits 10–53.
 */
export const PteBit = Object.freeze({
  /** Valid. */
  V: 1 << 0,
  /** Readable. */
  R: 1 << 1,
  /** Writable (W without R is a reserved encoding). */
  W: 1 << 2,
  /** Executable. */
  X: 1 << 3,
  /** Accessible to U-mode. */
  U: 1 << 4,
  /** Global mapping (all address spaces). */
  G: 1 << 5,
  /** Accessed. */
  A: 1 << 6,
  /** Dirty. */
  D: 1 << 7,
  /** RSW bit 8 (reserved for supervisor software): here the COPY_ON_WRITE marker. */
  RSW0: 1 << 8,
  /** RSW bit 9: here the LAZY marker (on an entry with V = 0). */
  RSW1: 1 << 9,
});

/** First bit of the PPN field. */
export const PPN_SHIFT = 10;
/** Bits 54–63 of an entry as a mask of its high word: reserved without Svpbmt/Svnapot (bits 60:54 always), must be zero. */
export const RESERVED_HI = 0xffc0_0000 >>> 0;
/** Bits of a non-leaf PTE reserved for future standard use (D, A, U; §4.3.1): a walk that finds one set raises a page fault. */
export const NON_LEAF_RESERVED = PteBit.D | PteBit.A | PteBit.U;
/** Mask of the PPN's high part in the high word (entry bits 32–53). */
const PPN_HI = 0x003f_ffff;
/** On an entry with V = 0: the page is mapped with no rights (Linux's `_PAGE_PROT_NONE` is `_PAGE_GLOBAL` on a not-present entry). */
export const PROT_NONE = PteBit.G;
/** R, W and X: all clear means the entry points to the next table (§4.3.2 step 4). */
export const RWX = PteBit.R | PteBit.W | PteBit.X;

const TWO22 = 2 ** 22;

/** PPN of an entry given as its two words. */
export function ppnOf(lo: number, hi: number): number {
  return (lo >>> PPN_SHIFT) + (hi & PPN_HI) * TWO22;
}

/** Physical address an entry points at (its PPN × 4096). */
export function entryAddress(lo: number, hi: number): number {
  return ppnOf(lo, hi) * 4096;
}

/** Low word of an entry pointing at physical address `pa` with `flags` in bits 0–9. */
export function entryLo(pa: number, flags: number): number {
  return ((((pa / 4096) % TWO22) << PPN_SHIFT) | flags) >>> 0;
}

/** High word of an entry pointing at physical address `pa`. */
export function entryHi(pa: number): number {
  return Math.floor(pa / 4096 / TWO22) >>> 0;
}

/** Normalises arch-neutral rights: WRITE implies READ (W without R is reserved). */
export function normalizePerms(perms: PagePerms): PagePerms {
  return perms & PagePerm.WRITE ? perms | PagePerm.READ : perms;
}

/**
 * Bits 0–9 of a leaf for `perms` and `markers`: V R W X U G (A and D start clear). A LAZY leaf
 * has V = 0 (RSW1 set, rights where they will be); a leaf with no rights has V = 0 and
 * {@link PROT_NONE} (then `global` cannot be recorded).
 */
export function leafFlags(perms: PagePerms, markers: number, global: boolean): number {
  const p = normalizePerms(perms);
  let f = 0;
  if (p & PagePerm.READ) f |= PteBit.R;
  if (p & PagePerm.WRITE) f |= PteBit.W;
  if (p & PagePerm.EXECUTE) f |= PteBit.X;
  if (p & PagePerm.USER) f |= PteBit.U;
  if (markers & PageMarker.COPY_ON_WRITE) f |= PteBit.RSW0;
  if ((f & RWX) === 0) return (f & ~PteBit.G) | PROT_NONE | (markers & PageMarker.LAZY ? PteBit.RSW1 : 0);
  if (global) f |= PteBit.G;
  if (markers & PageMarker.LAZY) return f | PteBit.RSW1;
  return f | PteBit.V;
}

/** Arch-neutral rights of a leaf's low word. */
export function leafPerms(lo: number): PagePerms {
  return (lo & PteBit.R ? PagePerm.READ : 0) | (lo & PteBit.W ? PagePerm.WRITE : 0) | (lo & PteBit.X ? PagePerm.EXECUTE : 0) | (lo & PteBit.U ? PagePerm.USER : 0);
}

/** Kernel markers of a leaf's low word. */
export function leafMarkers(lo: number): number {
  return (lo & PteBit.RSW0 ? PageMarker.COPY_ON_WRITE : 0) | (!(lo & PteBit.V) && lo & PteBit.RSW1 ? PageMarker.LAZY : 0);
}

/** True for a valid entry that is a leaf (R, W or X set); V = 1 with R = W = X = 0 points to a table. */
export function isLeaf(lo: number): boolean {
  return (lo & PteBit.V) !== 0 && (lo & RWX) !== 0;
}

/** True for a V = 0 entry that still records a mapping (LAZY or no-rights). */
export function isSoftwareLeaf(lo: number, hi: number): boolean {
  return (lo & PteBit.V) === 0 && (lo !== 0 || hi !== 0) && (lo & (PteBit.RSW1 | PROT_NONE)) !== 0;
}

/** The 64-bit value of an entry. */
export function entryToBigInt(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Every field of an entry by name (see {@link decodeEntry}). */
export interface EntryFields {
  v: boolean;
  r: boolean;
  w: boolean;
  x: boolean;
  u: boolean;
  g: boolean;
  a: boolean;
  d: boolean;
  /** RSW, bits 9:8. */
  rsw: number;
  /** PPN, bits 53:10. */
  ppn: number;
  /** Bits 63:54 (reserved here: must be zero). */
  reserved: number;
}

/**
 * The fields of a 64-bit entry.
 *
 * @example
 * ```ts
 * decodeEntry(0x200014cfn).ppn; // 0x80005
 * ```
 */
export function decodeEntry(value: bigint): EntryFields {
  const lo = Number(value & 0xffff_ffffn);
  const hi = Number(value >> 32n);
  return {
    v: !!(lo & PteBit.V),
    r: !!(lo & PteBit.R),
    w: !!(lo & PteBit.W),
    x: !!(lo & PteBit.X),
    u: !!(lo & PteBit.U),
    g: !!(lo & PteBit.G),
    a: !!(lo & PteBit.A),
    d: !!(lo & PteBit.D),
    rsw: (lo >>> 8) & 3,
    ppn: ppnOf(lo, hi),
    reserved: hi >>> 22,
  };
}

/** The 64-bit entry with `fields` (the inverse of {@link decodeEntry}). */
export function encodeEntry(fields: EntryFields): bigint {
  const flags =
    (fields.v ? PteBit.V : 0) |
    (fields.r ? PteBit.R : 0) |
    (fields.w ? PteBit.W : 0) |
    (fields.x ? PteBit.X : 0) |
    (fields.u ? PteBit.U : 0) |
    (fields.g ? PteBit.G : 0) |
    (fields.a ? PteBit.A : 0) |
    (fields.d ? PteBit.D : 0) |
    ((fields.rsw & 3) << 8);
  return (BigInt(fields.reserved & 0x3ff) << 54n) | (BigInt(fields.ppn) << 10n) | BigInt(flags);
}
