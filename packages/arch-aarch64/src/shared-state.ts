import { MmuSharedState, SHOOTDOWN_SLOTS, ShootdownKind } from '@veridian/core';
import type { PhysicalMemory } from '@veridian/core';

/**
 * The MMU state every AArch64 MMU instance of a machine shares is core's arch-neutral
 * `MmuSharedState` — mutation lock, table seqlock, ASID allocator and shootdown ring — with
 * this package's magic word, 16-bit ASIDs (TCR_EL1.AS = 1; ASID 0 reserved, as Linux reserves
 * it) handed out round-robin so a freed ASID is reused as late as possible.
 */
const MAGIC = 0x3436_4141; // "AA64" little-endian

/** ASIDs are 16 bits (TCR_EL1.AS = 1). */
export const ASID_BITS = 16;
/** Number of ASIDs (ASID 0 reserved). */
export const ASID_COUNT = 1 << ASID_BITS;
/** Shootdown records the ring holds; a reader further behind flushes its TLBs instead. */
export const LOG_CAPACITY = SHOOTDOWN_SLOTS;

/** Kinds of shootdown: core's, named as the `tlbi` operations they stand for. */
export const Shootdown = Object.freeze({
  /** `tlbi vae1is` over a page range of one ASID (global entries in the range too). */
  Range: ShootdownKind.Range,
  /** `tlbi aside1is`: every entry of one ASID. */
  Asid: ShootdownKind.Asid,
  /** `tlbi vmalle1is`: everything. */
  All: ShootdownKind.All,
});

/** The shared MMU state of this backend. */
export type SharedState = MmuSharedState;

/** Allocates fresh AArch64 MMU state (five frames: the state, the table reclaimer's two and a 64 Ki-bit ASID bitmap in two). */
export function createSharedState(phys: PhysicalMemory): SharedState {
  return MmuSharedState.create(phys, { magic: MAGIC, asidBits: ASID_BITS, asidPolicy: 'round-robin' });
}

/** Attaches to AArch64 MMU state created by another instance (`InvalidArgument` for anything else). */
export function attachSharedState(phys: PhysicalMemory, pa: number): SharedState {
  return MmuSharedState.attach(phys, pa, MAGIC);
}
