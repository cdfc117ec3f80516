import { MmuSharedState } from '@veridian/core';
import type { PhysicalMemory } from '@veridian/core';

/**
 * The x86_64 MMU state every CPU of a machine shares is core's arch-neutral `MmuSharedState`
 * (mutation lock, ASID allocator, shootdown ring) with this package's magic word and 12-bit
 * PCIDs (CR3 bits 0–11; PCID 0 is reserved, the "no PCID" context).
 */
const MAGIC = 0x4d363878;

/** PCIDs are 12 bits (CR3 bits 0–11). */
export const PCID_BITS = 12;
/** Number of PCIDs (PCID 0 reserved). */
export const PCID_COUNT = 1 << PCID_BITS;

/** The shared MMU state of this backend. */
export type SharedState = MmuSharedState;

/** Allocates fresh x86_64 MMU state. */
export function createSharedState(phys: PhysicalMemory): SharedState {
  return MmuSharedState.create(phys, { magic: MAGIC, asidBits: PCID_BITS });
}

/** Attaches to x86_64 MMU state created by another instance (`InvalidArgument` for anything else). */
export function attachSharedState(phys: PhysicalMemory, pa: number): SharedState {
  return MmuSharedState.attach(phys, pa, MAGIC);
}
