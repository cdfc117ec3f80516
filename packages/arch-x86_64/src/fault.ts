import { PageFault } from '@veridian/core';
import type { AccessKind, FaultReason, PageMapping, VirtualAddress } from '@veridian/core';

/**
 * Bits of the page-fault error code the processor pushes for #PF (Intel SDM vol. 3A §4.7,
 * "Page-Fault Exceptions", Figure 4-12).
 */
export const PfError = {
  /** P (bit 0): 0 = a non-present entry; 1 = a protection, reserved-bit or protection-key violation. */
  PRESENT: 1 << 0,
  /** W/R (bit 1): the access was a write. */
  WRITE: 1 << 1,
  /** U/S (bit 2): the access was a user-mode access. */
  USER: 1 << 2,
  /** RSVD (bit 3): a reserved bit was set in some paging-structure entry. */
  RESERVED: 1 << 3,
  /** I/D (bit 4): the access was an instruction fetch (IA32_EFER.NXE = 1). */
  INSTRUCTION: 1 << 4,
  /** PK (bit 5): a protection-key violation (PKRU). */
  PROTECTION_KEY: 1 << 5,
} as const;

/** Exception vectors a translation can raise. */
export const X86Vector = {
  /** #GP: a non-canonical address never reaches the page walk. */
  GENERAL_PROTECTION: 13,
  /** #PF: page fault, with an error code and CR2. */
  PAGE_FAULT: 14,
} as const;

/**
 * A page fault with the information the hardware gives the kernel: the error code and CR2
 * (the faulting linear address, as a canonical 64-bit value). `level` is where the walk
 * stopped: 3 = PML4E, 2 = PDPTE, 1 = PDE, 0 = PTE (the leaf level for protection faults).
 *
 * A non-canonical address is a #GP on real hardware (`vector` 13, error code 0, CR2
 * unchanged); it is still reported as a `PageFault` with reason `invalid-address` so code
 * written against the arch-neutral contract keeps working.
 *
 * @example
 * ```ts
 * try {
 *   space.translate(0x40_0000, AccessKind.Write, 0, true);
 * } catch (e) {
 *   if (e instanceof X86PageFault && e.errorCode & PfError.PRESENT) console.log('protection fault at', e.cr2.toString(16));
 * }
 * ```
 */
export class X86PageFault extends PageFault {
  /** The #PF error code ({@link PfError} bits); 0 for a #GP. */
  readonly errorCode: number;
  /** CR2: the faulting address as an unsigned 64-bit value. */
  readonly cr2: bigint;
  /** 14 (#PF) or 13 (#GP, non-canonical address). */
  readonly vector: number;

  constructor(address: VirtualAddress, access: AccessKind, user: boolean, reason: FaultReason, errorCode: number, mapping?: PageMapping, level?: number) {
    super(address, access, user, reason, mapping, level);
    this.name = 'X86PageFault';
    this.errorCode = errorCode;
    this.vector = reason === 'invalid-address' ? X86Vector.GENERAL_PROTECTION : X86Vector.PAGE_FAULT;
    this.cr2 = typeof address === 'bigint' ? BigInt.asUintN(64, address) : BigInt(Math.max(0, Math.floor(Number.isFinite(address) ? address : 0)));
  }
}

/** The error-code bits describing the access itself (W/R, U/S, I/D). */
export function accessErrorBits(access: AccessKind, user: boolean): number {
  return (access === 2 ? PfError.WRITE : 0) | (user ? PfError.USER : 0) | (access === 4 ? PfError.INSTRUCTION : 0);
}
