import type { VirtualAddress } from '@veridian/core';

/**
 * A paging scheme of RV64 (privileged spec §4.4 Sv39, §4.5 Sv48): how many levels, how wide a
 * virtual address is, and the `satp.MODE` value that selects it.
 */
export interface PagingMode {
  /** `sv39` or `sv48`. */
  readonly name: 'sv39' | 'sv48';
  /** Levels of page table: 3 (Sv39) or 4 (Sv48). */
  readonly levels: 3 | 4;
  /** Virtual-address bits: 39 or 48. Bits 63–vaBits must all equal bit vaBits − 1. */
  readonly vaBits: 39 | 48;
  /** `satp.MODE` (bits 63:60): 8 for Sv39, 9 for Sv48. */
  readonly satpMode: 8 | 9;
}

/** Sv39: three levels, 39-bit virtual addresses, satp.MODE = 8. */
export const SV39: PagingMode = Object.freeze({ name: 'sv39', levels: 3, vaBits: 39, satpMode: 8 });
/** Sv48: four levels, 48-bit virtual addresses, satp.MODE = 9. */
export const SV48: PagingMode = Object.freeze({ name: 'sv48', levels: 4, vaBits: 48, satpMode: 9 });

const TWO64 = 1n << 64n;
const HALF39 = 2 ** 38;
const HALF48 = 2 ** 47;

/** 2^(vaBits − 1), the size of each half of `mode`'s address space (looked up: a variable `**` is a `Math.pow` call, and this runs on every translation). */
export function halfSpan(mode: PagingMode): number {
  return mode.vaBits === 48 ? HALF48 : mode.vaBits === 39 ? HALF39 : 2 ** (mode.vaBits - 1);
}

/**
 * The linear form of a virtual address under `mode` (its low `vaBits` bits, a safe integer),
 * or -1 when the address is not a valid sign extension of bit `vaBits − 1` (the spec's rule:
 * such an access raises a page fault). A `number` must be a non-negative safe integer; upper-
 * half addresses come as `bigint`.
 */
export function toLinear(va: VirtualAddress, mode: PagingMode): number {
  const half = halfSpan(mode);
  if (typeof va === 'number') return Number.isSafeInteger(va) && va >= 0 && va < half ? va : -1;
  if (va >= 0n && va < BigInt(half)) return Number(va);
  const low = TWO64 - BigInt(half);
  if (va >= low && va < TWO64) return Number(va - (TWO64 - (1n << BigInt(mode.vaBits))));
  return -1;
}

/** The canonical virtual address of a linear address: a `number` in the lower half, a sign-extended `bigint` in the upper half. */
export function fromLinear(linear: number, mode: PagingMode): VirtualAddress {
  const half = halfSpan(mode);
  return linear < half ? linear : TWO64 - (1n << BigInt(mode.vaBits)) + BigInt(linear);
}

/** 2^(12 + 9·level) for levels 0–4, looked up (a `**` with a variable exponent is a `Math.pow` call, ~8× slower on every walk). */
const LEVEL_SPAN = [2 ** 12, 2 ** 21, 2 ** 30, 2 ** 39, 2 ** 48] as const;

/** VPN[level] of a linear address: 9 bits at bit 12 + 9·level (level 0 indexes the last table). */
export function indexAt(linear: number, level: number): number {
  return Math.floor(linear / LEVEL_SPAN[level as 0]) % 512;
}

/** Bytes one entry of `level` maps: 4 KiB at level 0, 2 MiB at 1, 1 GiB at 2, 512 GiB at 3. */
export function levelSpan(level: number): number {
  return LEVEL_SPAN[level as 0];
}

/**
 * The `satp` value selecting `mode`, `asid` and a root table at physical address `rootPa`
 * (§4.1.11: MODE bits 63:60, ASID bits 59:44, PPN bits 43:0).
 *
 * @example
 * ```ts
 * encodeSatp(SV39, 1, 0x8020_0000); // 0x8000100000080200n
 * ```
 */
export function encodeSatp(mode: PagingMode, asid: number, rootPa: number): bigint {
  return (BigInt(mode.satpMode) << 60n) | (BigInt(asid & 0xffff) << 44n) | BigInt(Math.floor(rootPa / 4096));
}

/** The fields of a `satp` value. */
export function decodeSatp(satp: bigint): { mode: number; asid: number; rootPa: number } {
  return { mode: Number(satp >> 60n), asid: Number((satp >> 44n) & 0xffffn), rootPa: Number(satp & ((1n << 44n) - 1n)) * 4096 };
}
