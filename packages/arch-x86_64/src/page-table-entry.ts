import { PageMarker, PagePerm } from '@veridian/core';
import type { PagePerms } from '@veridian/core';

/**
 * Bit positions of an x86_64 paging-structure entry (Intel SDM vol. 3A, 4.5). Bits 9–11 and
 * 52–58 are ignored by the hardware; the kernel's markers live there.
 */
export const PteBit = {
  /** P: present. */
  PRESENT: 0,
  /** R/W: writes allowed. */
  WRITABLE: 1,
  /** U/S: user-mode (ring 3) access allowed. */
  USER: 2,
  /** PWT: page-level write-through. */
  WRITE_THROUGH: 3,
  /** PCD: page-level cache disable. */
  CACHE_DISABLE: 4,
  /** A: accessed, set by the walker on any access. */
  ACCESSED: 5,
  /** D: dirty, set by the walker on a write (leaf entries only). */
  DIRTY: 6,
  /** PS in a PDPT/PD entry (1 GiB / 2 MiB leaf); PAT in a 4 KiB PTE. */
  PAGE_SIZE: 7,
  /** G: global, not flushed on a PCID switch and matched by any PCID. */
  GLOBAL: 8,
  /** Software: shared copy-on-write page (`PageMarker.COPY_ON_WRITE`). */
  SW_COPY_ON_WRITE: 9,
  /** Software: lazily mapped, not yet present (`PageMarker.LAZY`). */
  SW_LAZY: 10,
  /** Software: read permission of a not-present LAZY entry (where P would be once installed). */
  SW_READABLE: 11,
  /** PAT of a 2 MiB / 1 GiB leaf (bit 12; the frame address starts above it). */
  LARGE_PAT: 12,
  /** Lowest bit of the 4-bit protection key of a leaf (bits 62:59; SDM §4.6.2). */
  PROTECTION_KEY: 59,
  /** XD/NX: instruction fetches forbidden. */
  NO_EXECUTE: 63,
} as const;

/**
 * Masks of the low 32-bit word of an entry (entries are kept as two u32 halves so the walk
 * needs no BigInt).
 */
export const PteLo = {
  PRESENT: 1 << PteBit.PRESENT,
  WRITABLE: 1 << PteBit.WRITABLE,
  USER: 1 << PteBit.USER,
  WRITE_THROUGH: 1 << PteBit.WRITE_THROUGH,
  CACHE_DISABLE: 1 << PteBit.CACHE_DISABLE,
  ACCESSED: 1 << PteBit.ACCESSED,
  DIRTY: 1 << PteBit.DIRTY,
  PAGE_SIZE: 1 << PteBit.PAGE_SIZE,
  GLOBAL: 1 << PteBit.GLOBAL,
  SW_COPY_ON_WRITE: 1 << PteBit.SW_COPY_ON_WRITE,
  SW_LAZY: 1 << PteBit.SW_LAZY,
  SW_READABLE: 1 << PteBit.SW_READABLE,
  LARGE_PAT: 1 << PteBit.LARGE_PAT,
  /** Address bits 12–31 of a 4 KiB PTE or of a table pointer. */
  ADDRESS_4K: 0xfffff000,
  /** Address bits 21–31 of a 2 MiB leaf. */
  ADDRESS_2M: 0xffe00000,
  /** Address bits 30–31 of a 1 GiB leaf. */
  ADDRESS_1G: 0xc0000000,
} as const;

/** Masks of the high 32-bit word of an entry. */
export const PteHi = {
  /** Address bits 32–51. */
  ADDRESS: 0x000fffff,
  /** Protection key of a leaf (bits 62:59). */
  PROTECTION_KEY: 0x78000000,
  /** Shift of the protection key in the high word. */
  PROTECTION_KEY_SHIFT: 27,
  /** NX (bit 63). */
  NO_EXECUTE: 0x80000000,
} as const;

/**
 * Bits of a paging-structure (non-leaf) entry a caller may set with `tableFlags` /
 * `setTableFlags`: P, R/W, U/S, PWT, PCD, A, D (ignored by the walker in a table entry, set
 * by Linux's `_PAGE_TABLE`), the ignored bits 9–11 and 52–58, and XD. PS is never a flag of a
 * table entry (it would make it a leaf), nor G (ignored, so not stored).
 */
export const TABLE_FLAG_MASK = 0x87f0000000000e7fn;

/** Paging-structure levels, leaf-most first: the PT maps 4 KiB, the PD 2 MiB, the PDPT 1 GiB. */
export const Level = { PT: 0, PD: 1, PDPT: 2, PML4: 3 } as const;

/** Bytes covered by one entry at each {@link Level}. */
export const LEVEL_SPAN: readonly number[] = Object.freeze([2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39]);

/** Entry flags of a non-leaf (table) entry: present, writable, user; the leaf decides. */
export const TABLE_ENTRY_FLAGS = PteLo.PRESENT | PteLo.WRITABLE | PteLo.USER;

/** Largest physical address plus one (MAXPHYADDR = 52). */
export const PHYS_LIMIT = 2 ** 52;

const TWO32 = 2 ** 32;
const LO_ADDRESS_MASKS = [PteLo.ADDRESS_4K, PteLo.ADDRESS_2M, PteLo.ADDRESS_1G, PteLo.ADDRESS_4K] as const;

/**
 * Perms as stored: x86 cannot express a writable or executable page that is not readable,
 * so WRITE or EXECUTE implies READ (as `mmap` does on x86).
 */
export function normalizePerms(perms: PagePerms): PagePerms {
  return perms & (PagePerm.WRITE | PagePerm.EXECUTE) ? perms | PagePerm.READ : perms;
}

/** Low word of a leaf at `level` (0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB) for physical address `pa`. */
export function leafLo(pa: number, perms: PagePerms, markers: number, global: boolean, level: number): number {
  const p = normalizePerms(perms);
  let lo = pa % TWO32 & LO_ADDRESS_MASKS[level]!;
  const lazy = (markers & PageMarker.LAZY) !== 0;
  if (p & PagePerm.READ) lo |= lazy ? PteLo.SW_READABLE : PteLo.PRESENT;
  if (p & PagePerm.WRITE) lo |= PteLo.WRITABLE;
  if (p & PagePerm.USER) lo |= PteLo.USER;
  if (global) lo |= PteLo.GLOBAL;
  if (level > 0) lo |= PteLo.PAGE_SIZE;
  if (markers & PageMarker.COPY_ON_WRITE) lo |= PteLo.SW_COPY_ON_WRITE;
  if (lazy) lo |= PteLo.SW_LAZY;
  return lo >>> 0;
}

/** High word of a leaf for physical address `pa`. */
export function leafHi(pa: number, perms: PagePerms): number {
  const hi = Math.floor(pa / TWO32) & PteHi.ADDRESS;
  return (normalizePerms(perms) & PagePerm.EXECUTE ? hi : hi | PteHi.NO_EXECUTE) >>> 0;
}

/** Low word of a table entry pointing at the table at `pa`, with low flag bits `flags` (default P \| R/W \| U/S). */
export function tableLo(pa: number, flags: number = TABLE_ENTRY_FLAGS): number {
  return ((pa % TWO32 & PteLo.ADDRESS_4K) | (flags & 0xfff)) >>> 0;
}

/** High word of a table entry pointing at the table at `pa`, with high flag bits `flagsHi` (XD, ignored bits 52–58). */
export function tableHi(pa: number, flagsHi = 0): number {
  return ((Math.floor(pa / TWO32) & PteHi.ADDRESS) | (flagsHi & ~PteHi.ADDRESS)) >>> 0;
}

/** Physical address in an entry at `level`, read as a leaf when `leaf` (huge pages mask PAT out). */
export function entryAddress(lo: number, hi: number, level: number, leaf: boolean): number {
  const mask = leaf ? LO_ADDRESS_MASKS[level]! : PteLo.ADDRESS_4K;
  return ((lo & mask) >>> 0) + (hi & PteHi.ADDRESS) * TWO32;
}

/** `PagePerm` bits of a leaf entry. */
export function leafPerms(lo: number, hi: number): PagePerms {
  if ((lo & (PteLo.PRESENT | PteLo.SW_READABLE)) === 0) return lo & PteLo.USER ? PagePerm.USER : 0;
  let p: number = PagePerm.READ;
  if (lo & PteLo.WRITABLE) p |= PagePerm.WRITE;
  if (lo & PteLo.USER) p |= PagePerm.USER;
  if ((hi & PteHi.NO_EXECUTE) === 0) p |= PagePerm.EXECUTE;
  return p;
}

/** `PageMarker` bits of a leaf entry. */
export function leafMarkers(lo: number): number {
  return (lo & PteLo.SW_COPY_ON_WRITE ? PageMarker.COPY_ON_WRITE : 0) | (lo & PteLo.SW_LAZY ? PageMarker.LAZY : 0);
}

/** True when the entry at `level` is a leaf (every PTE; a PD/PDPT entry with PS). PS in a PML4E is reserved, never a leaf. */
export function isLeaf(lo: number, level: number): boolean {
  return level === 0 || (level < 3 && (lo & PteLo.PAGE_SIZE) !== 0);
}

/**
 * Low-word bits of a leaf that select its memory type through the PAT: `patIndex` =
 * PAT·4 + PCD·2 + PWT (SDM §11.12.3), with PAT at bit 7 of a PTE and bit 12 of a 2 MiB /
 * 1 GiB leaf.
 */
export function leafCacheBits(patIndex: number, level: number): number {
  let lo = 0;
  if (patIndex & 1) lo |= PteLo.WRITE_THROUGH;
  if (patIndex & 2) lo |= PteLo.CACHE_DISABLE;
  if (patIndex & 4) lo |= level === 0 ? PteLo.PAGE_SIZE : PteLo.LARGE_PAT;
  return lo;
}

/** High-word bits of protection key `key` (0–15). */
export function protectionKeyBits(key: number): number {
  return ((key & 0xf) << PteHi.PROTECTION_KEY_SHIFT) >>> 0;
}

/** Joins the two halves of an entry into its 64-bit value (tools and tests, not the hot path). */
export function entryToBigInt(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Splits a 64-bit entry value into its `[lo, hi]` halves. */
export function entryFromBigInt(value: bigint): [lo: number, hi: number] {
  return [Number(value & 0xffffffffn), Number((value >> 32n) & 0xffffffffn)];
}
