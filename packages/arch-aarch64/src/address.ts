import type { VirtualAddress } from '@veridian/core';

/** VA bits translated through TTBR0_EL1 (T0SZ = 16): addresses `[0, 2^48)`. */
export const VA_BITS = 48;
/** One past the highest TTBR0 address. */
export const VA_LIMIT = 2 ** VA_BITS;
const VA_LIMIT_BIG = 1n << 48n;
const TWO_32 = 0x1_0000_0000;

/**
 * The TTBR0 address `va` denotes, as a number, or -1 when it lies outside `[0, 2^48)` (an
 * upper-half TTBR1 address, or not an integer). TTBR1 is not modelled: user address spaces
 * are TTBR0 only.
 */
export function vaToNumber(va: VirtualAddress): number {
  if (typeof va === 'number') return Number.isSafeInteger(va) && va >= 0 && va < VA_LIMIT ? va : -1;
  if (typeof va === 'bigint') return va >= 0n && va < VA_LIMIT_BIG ? Number(va) : -1;
  return -1;
}

/** Index into the level-`level` table (0–3) for a TTBR0 address `va` (a number in range). */
export function tableIndex(va: number, level: number): number {
  const hi = Math.floor(va / TWO_32);
  const lo = va >>> 0;
  switch (level) {
    case 0:
      return (hi >>> 7) & 511;
    case 1:
      return ((hi & 127) << 2) | (lo >>> 30);
    case 2:
      return (lo >>> 21) & 511;
    default:
      return (lo >>> 12) & 511;
  }
}
