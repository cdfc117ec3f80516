import { PageFault } from '@veridian/core';
import type { AccessKind, FaultReason, PageMapping, VirtualAddress } from '@veridian/core';

/**
 * Fault syndromes in ESR_EL1 terms (Arm ARM D24 / D17, ESR_EL1 with EC = Data Abort or
 * Instruction Abort; the DFSC/IFSC field, ISS bits 5:0):
 *
 * | DFSC | fault |
 * | --- | --- |
 * | 0b0001LL | translation fault, level LL |
 * | 0b0010LL | access flag fault, level LL |
 * | 0b0011LL | permission fault, level LL |
 */
export const Dfsc = {
  /** Translation fault at `level` (0–3). */
  translation: (level: number): number => 0b000100 | level,
  /** Access flag fault at `level` (1–3 here: only leaves have AF). */
  accessFlag: (level: number): number => 0b001000 | level,
  /** Permission fault at `level` (1–3). */
  permission: (level: number): number => 0b001100 | level,
} as const;

/** Exception classes (ESR_EL1.EC, bits 31:26). */
export const ExceptionClass = {
  /** Instruction Abort from a lower Exception level (EL0). */
  INSTRUCTION_ABORT_LOWER: 0x20,
  /** Instruction Abort taken without a change in Exception level (EL1). */
  INSTRUCTION_ABORT_SAME: 0x21,
  /** Data Abort from a lower Exception level (EL0). */
  DATA_ABORT_LOWER: 0x24,
  /** Data Abort taken without a change in Exception level (EL1). */
  DATA_ABORT_SAME: 0x25,
} as const;

/** ESR_EL1.IL (bit 25): a 32-bit instruction. */
export const ESR_IL = 1 << 25;
/** ISS.WnR (bit 6) of a Data Abort: the access was a write. */
export const ESR_WNR = 1 << 6;

/**
 * The ESR_EL1 value of a stage-1 abort: EC by access kind and Exception level, IL = 1, WnR
 * for a data write, and the fault status code.
 */
export function esrOf(access: AccessKind, user: boolean, dfsc: number): number {
  const exec = access === 4;
  const ec = exec ? (user ? ExceptionClass.INSTRUCTION_ABORT_LOWER : ExceptionClass.INSTRUCTION_ABORT_SAME) : user ? ExceptionClass.DATA_ABORT_LOWER : ExceptionClass.DATA_ABORT_SAME;
  return ((ec << 26) | ESR_IL | (access === 2 ? ESR_WNR : 0) | (dfsc & 0x3f)) >>> 0;
}

/**
 * A page fault with the information an AArch64 kernel gets: ESR_EL1 (with the DFSC/IFSC
 * fault status) and FAR_EL1 (the faulting virtual address). `level` is the lookup level
 * (0–3) the fault status names.
 *
 * @example
 * ```ts
 * try {
 *   space.translate(0x40_0000, AccessKind.Write, 0, true);
 * } catch (e) {
 *   if (e instanceof Aarch64PageFault && e.dfsc === Dfsc.permission(3)) console.log('write to read-only page at', e.far.toString(16));
 * }
 * ```
 */
export class Aarch64PageFault extends PageFault {
  /** ESR_EL1. */
  readonly esr: number;
  /** FAR_EL1: the faulting address as an unsigned 64-bit value. */
  readonly far: bigint;
  /** The fault status code (ESR_EL1 bits 5:0). */
  readonly dfsc: number;

  constructor(address: VirtualAddress, access: AccessKind, user: boolean, reason: FaultReason, dfsc: number, mapping?: PageMapping) {
    super(address, access, user, reason, mapping, dfsc & 3);
    this.name = 'Aarch64PageFault';
    this.dfsc = dfsc;
    this.esr = esrOf(access, user, dfsc);
    this.far = typeof address === 'bigint' ? BigInt.asUintN(64, address) : BigInt(Number.isSafeInteger(address) && address >= 0 ? address : 0);
  }
}
