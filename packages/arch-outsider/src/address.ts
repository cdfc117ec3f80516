/** Outsider-64 addresses and the shapes the MMU's parts share. */
import {
  AccessKind,
  type FaultHandlerList,
  IpcError,
  type MmuSharedState,
  PageFault,
  type PhysicalMemory,
  type ShootdownReader,
  type VirtualAddress,
} from '@veridian/core';
import { ENTRIES, HUGE, PAGE, shiftOf, VA_LIMIT } from './pte.js';
import type { Tlb } from './tlb.js';

/** Magic word of the Outsider-64 shared MMU state ("OUT6"). */
export const OUTSIDER_MAGIC = 0x4f555436;
/** ASID width of Outsider-64 (255 usable ASIDs; 0 reserved). */
export const OUTSIDER_ASID_BITS = 8;

export const FOUR_G = 2 ** 32;
export const SIZES = [PAGE, HUGE] as const;

export function invalid(va: VirtualAddress, access: AccessKind, user: boolean): PageFault {
  return new PageFault(va, access, user, 'invalid-address');
}

/** The address as a number in [0, 2^42), or -1 when Outsider-64 does not translate it. */
export function norm(va: VirtualAddress): number {
  if (typeof va === 'bigint') return va >= 0n && va < BigInt(VA_LIMIT) ? Number(va) : -1;
  return Number.isSafeInteger(va) && va >= 0 && va < VA_LIMIT ? va : -1;
}

export function argAddress(va: VirtualAddress, what: string): number {
  if (typeof va !== 'bigint' && !Number.isSafeInteger(va)) throw new IpcError('InvalidArgument', `${what} ${String(va)} is not an integer address`);
  const n = norm(va);
  if (n < 0) throw invalid(va, AccessKind.Read, false);
  return n;
}

export const idx = (va: number, level: number): number => Math.floor(va / 2 ** shiftOf(level)) & (ENTRIES - 1);

/** Design variants of Outsider-64 (for experiments; the `outsider64` Arch uses the defaults). */
export interface OutsiderVariant {
  /** ASID width (default {@link OUTSIDER_ASID_BITS}); 6 models a MIPS R3000-sized TLB tag. */
  asidBits?: number;
  /**
   * Model an accessed flag that hardware does not set (ARMv8.0 without FEAT_HAFDBS, MIPS-style
   * software refill): a translation of a leaf with A clear faults `access-flag` for software to
   * repair, instead of the MMU setting A itself. Default false.
   */
  softwareAccessFlag?: boolean;
}

export interface Ctx {
  readonly variant: OutsiderVariant;
  readonly phys: PhysicalMemory;
  readonly state: MmuSharedState;
  readonly reader: ShootdownReader;
  readonly tlb: Tlb;
  readonly cpus: number;
  readonly handlers: FaultHandlerList;
}

/** Result of a walk: i32 index of the entry reached, the entry, its level. */
export interface Slot {
  at: number;
  e: number;
  level: number;
}
