/**
 * Outsider-64 page-table entries: **32-bit** entries, 1024 per 4 KiB table, three levels
 * (L0 top, L1, L2), 10 index bits each: a 42-bit virtual address
 * `[41:32] L0 | [31:22] L1 | [21:12] L2 | [11:0] offset`. User space is `[0, 2^41)`, the
 * kernel half `[2^41, 2^42)` (zero-extended, no sign extension); anything at or above 2^42
 * is an invalid address. Leaves at L1 map 4 MiB, at L2 4 KiB; an L0 leaf is reserved.
 *
 * | bit | name | meaning |
 * | --- | --- | --- |
 * | 0 | V | valid |
 * | 1 | T | next-level table (with V); must be 0 in an L2 entry |
 * | 2–3 | PLV | privilege level: 0 kernel, 3 user; 1 and 2 reserved |
 * | 4 | NR | no read |
 * | 5 | NX | no execute |
 * | 6 | D | dirty (software-managed: set by the modify handler on the first write) |
 * | 7 | G | global |
 * | 8 | W | writable (a write to W=1, D=0 traps to the modify handler, which sets D) |
 * | 9 | A | accessed (software-managed: set by the refill handler) |
 * | 10 | COW | kernel marker: copy-on-write |
 * | 11 | LAZY | kernel marker: lazily mapped (entry has V=0 but keeps PFN and rights) |
 * | 12–31 | PFN | physical frame number (32-bit physical addresses) |
 *
 * A table entry is `V | T | PFN` and nothing else (any other bit: reserved-bit fault).
 */
import { PageMarker, PagePerm } from '@veridian/core';

export const V = 0x1;
export const T = 0x2;
export const PLV_SHIFT = 2;
export const PLV_MASK = 0xc;
export const PLV_USER = 0xc;
export const NR = 0x10;
export const NX = 0x20;
export const D = 0x40;
export const G = 0x80;
export const W = 0x100;
export const A = 0x200;
export const COW = 0x400;
export const LAZY = 0x800;
export const PFN_MASK = 0xfffff000;

export const LEVELS = 3;
export const INDEX_BITS = 10;
export const ENTRIES = 1 << INDEX_BITS;
export const VA_BITS = 42;
export const USER_TOP = 2 ** 41;
export const VA_LIMIT = 2 ** 42;
export const HUGE = 4 << 20;
export const PAGE = 4096;

/** Shift of the index at `level` (0 = top). */
export const shiftOf = (level: number): number => 12 + INDEX_BITS * (LEVELS - 1 - level);

/** Leaf bits for arch-neutral rights, markers and global. WRITE implies READ. */
export function leafBits(perms: number, markers: number, global: boolean): number {
  let e = 0;
  if (perms & PagePerm.USER) e |= PLV_USER;
  if (!(perms & (PagePerm.READ | PagePerm.WRITE))) e |= NR;
  if (!(perms & PagePerm.EXECUTE)) e |= NX;
  if (perms & PagePerm.WRITE) e |= W;
  if (global) e |= G;
  if (markers & PageMarker.COPY_ON_WRITE) e |= COW;
  if (markers & PageMarker.LAZY) e |= LAZY;
  else e |= V;
  return e;
}

export function permsOf(e: number): number {
  let p = 0;
  if (!(e & NR)) p |= PagePerm.READ;
  if (e & W) p |= PagePerm.WRITE;
  if (!(e & NX)) p |= PagePerm.EXECUTE;
  if ((e & PLV_MASK) === PLV_USER) p |= PagePerm.USER;
  return p;
}

export function markersOf(e: number): number {
  return (e & COW ? PageMarker.COPY_ON_WRITE : 0) | (e & LAZY ? PageMarker.LAZY : 0);
}

/** An entry that records a page (present leaf or LAZY marker). */
export const isLeaf = (e: number): boolean => (e & V ? (e & T) === 0 : (e & LAZY) !== 0);
export const isTable = (e: number): boolean => (e & (V | T)) === (V | T);
