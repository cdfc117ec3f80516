import { PageFault } from '@veridian/core';
import type { AccessKind, FaultReason, PageMapping, VirtualAddress } from '@veridian/core';

/**
 * Exception codes of the page faults (privileged spec, table of `scause` values after a trap,
 * Interrupt = 0).
 */
export const ExceptionCause = Object.freeze({
  /** Instruction page fault. */
  InstructionPageFault: 12,
  /** Load page fault. */
  LoadPageFault: 13,
  /** Store/AMO page fault. */
  StorePageFault: 15,
});

/** The `scause` exception code for a fault on `access`: 12 fetch, 13 load, 15 store. */
export function causeOf(access: AccessKind): number {
  return access === 4 ? ExceptionCause.InstructionPageFault : access === 2 ? ExceptionCause.StorePageFault : ExceptionCause.LoadPageFault;
}

/**
 * A page fault as an RV64 hart reports it: `scause` is the exception code (12, 13 or
 * 15) and `stval` the faulting virtual address. `level` is the spec's `i` where the walk
 * stopped (levels − 1 = the root, 0 = the last table).
 */
export class Riscv64PageFault extends PageFault {
  /** `scause` exception code: 12 instruction, 13 load, 15 store/AMO page fault. */
  readonly scause: number;
  /** `stval`: the faulting virtual address (as a 64-bit value). */
  readonly stval: bigint;

  constructor(address: VirtualAddress, access: AccessKind, user: boolean, reason: FaultReason, level: number, mapping?: PageMapping) {
    super(address, access, user, reason, mapping, level);
    this.name = 'Riscv64PageFault';
    this.scause = causeOf(access);
    this.stval = BigInt.asUintN(64, BigInt(address));
  }
}
