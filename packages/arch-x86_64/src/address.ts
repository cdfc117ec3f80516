import type { VirtualAddress } from '@veridian/core';

/**
 * Canonical 48-bit addresses. Internally a virtual address is kept as its low 48 bits (the
 * "linear" form, an exact double below 2^48): bits 63:48 of a canonical address only repeat
 * bit 47, so nothing is lost and the walk needs no BigInt.
 */

/** First address past the lower (user) half: 2^47. */
export const LOWER_HALF_END = 2 ** 47;
/** 2^48: the size of the linear address space. */
export const LINEAR_END = 2 ** 48;

const UPPER_BASE = 0xffff000000000000n;
const UPPER_START = 0xffff800000000000n;
const MAX_U64 = 0xffffffffffffffffn;
const LOWER_END_BIG = 0x800000000000n;

/**
 * The linear (48-bit) form of `va`, or -1 when it is not a canonical address. A `number`
 * must be a non-negative safe integer below 2^47 (upper-half addresses need a `bigint`).
 */
export function toLinear(va: VirtualAddress): number {
  if (typeof va === 'number') return va >= 0 && va < LOWER_HALF_END && Math.floor(va) === va ? va : -1;
  if (typeof va !== 'bigint' || va < 0n || va > MAX_U64) return -1;
  if (va < LOWER_END_BIG) return Number(va);
  if (va >= UPPER_START) return Number(va - UPPER_BASE);
  return -1;
}

/**
 * True when `va` is a canonical 48-bit address (bits 63:47 all equal), i.e. one a translation
 * can use; a non-canonical address raises #GP on hardware.
 *
 * @example
 * ```ts
 * isCanonical(0x7fff_ffff_f000); // true
 * isCanonical(0xffff_8000_0000_0000n); // true
 * isCanonical(0x0000_8000_0000_0000n); // false
 * ```
 */
export function isCanonical(va: VirtualAddress): boolean {
  return toLinear(va) >= 0;
}

/** The canonical address of a linear address: a `number` in the lower half, a `bigint` in the upper. */
export function fromLinear(linear: number): VirtualAddress {
  return linear < LOWER_HALF_END ? linear : BigInt(linear) + UPPER_BASE;
}

/** The canonical address of `linear` as `0x` + 16 hex digits (2^48, the end of the space, wraps to 0 as in 64-bit arithmetic). */
export function formatLinear(linear: number): string {
  if (linear >= LINEAR_END) return '0x0000000000000000';
  return (linear < LOWER_HALF_END ? '0x0000' : '0xffff') + linear.toString(16).padStart(12, '0');
}

/** Bytes below each level's index bits: 2^(12 + 9·level), looked up (a `**` with a variable exponent is a `Math.pow` call, ~8× slower on every walk). */
const INDEX_SPAN = [2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39] as const;

/** Table index of `linear` at `level` (0 = PT … 3 = PML4). */
export function indexAt(linear: number, level: number): number {
  return ((linear / INDEX_SPAN[level as 0]) >>> 0) & 511;
}

/** True when `[start, start + length)` lies inside one canonical half. */
export function rangeInOneHalf(start: number, length: number): boolean {
  const end = start + length;
  return start < LOWER_HALF_END ? end <= LOWER_HALF_END : end <= LINEAR_END;
}
