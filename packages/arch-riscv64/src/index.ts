/**
 * `@veridian/arch-riscv64`: the RISC-V (RV64) backend of the VeridianOS IPC kernel — the
 * `ecall` register fast path (a7 = syscall number, a0 = status, as RISC-V Linux) and Sv39 /
 * Sv48 page tables with ASID-tagged TLBs, from the RISC-V privileged specification.
 * @packageDocumentation
 */
import type { AddressSpaceLayout, Arch, MmuOptions, PhysicalMemory } from '@veridian/core';
import { SV39, SV48, type PagingMode } from './address.js';
import { riscv64FastPath } from './fast-path.js';
import { RISCV64_PAGE_SIZES, createRiscv64Mmu, type Riscv64Mmu } from './mmu.js';

export { riscv64FastPath, encodeSmallMessage, decodeSmallMessage } from './fast-path.js';
export {
  RISCV64_FAST_PATH_LAYOUT,
  RISCV64_REGISTER_COUNT,
  RISCV64_REGISTER_NAMES,
  RISCV64_REGISTER_TABLE,
  DATA_REGISTERS,
  FastPathReg,
  Reg,
  type RegisterRole,
  type Riscv64RegisterName,
} from './register-table.js';
export { PteBit, PPN_SHIFT, PROT_NONE, RESERVED_HI, decodeEntry, encodeEntry, entryAddress, leafFlags, leafPerms, leafMarkers, normalizePerms, type EntryFields } from './page-table-entry.js';
export { SV39, SV48, decodeSatp, encodeSatp, fromLinear, indexAt, toLinear, type PagingMode } from './address.js';
export { ExceptionCause, Riscv64PageFault, causeOf } from './fault.js';
export { Riscv64AddressSpace } from './address-space.js';
export { RISCV64_PAGE_SIZES, Riscv64Mmu, createRiscv64Mmu, type Riscv64MmuOptions } from './mmu.js';
export { Tlb, TlbRight } from './tlb.js';

/** The address space of a paging mode as arch-neutral code sees it (user half below 2^(vaBits−1), PPN in entry bits 10–53). */
export function addressSpaceOf(mode: PagingMode): AddressSpaceLayout {
  return Object.freeze({
    vaBits: mode.vaBits,
    userTop: 1n << BigInt(mode.vaBits - 1),
    tableAddressMask: ((1n << 54n) - 1n) & ~0x3ffn,
    // Not sign extensions of bit vaBits-1: the first address above the user half, and one with the top 16 bits set but bit vaBits-1 clear.
    invalidAddresses: Object.freeze([1n << BigInt(mode.vaBits - 1), 0xffff_0000_0000_0000n]),
  });
}

function archOf(mode: PagingMode, exportName: string): Arch {
  return Object.freeze({
    name: 'riscv64',
    pageSizes: RISCV64_PAGE_SIZES,
    addressSpace: addressSpaceOf(mode),
    fastPath: riscv64FastPath,
    createMmu: (phys: PhysicalMemory, options?: MmuOptions): Riscv64Mmu => createRiscv64Mmu(phys, { ...options, mode: mode.name }),
    moduleUrl: import.meta.url,
    exportName,
  });
}

/** The RV64 backend with Sv39 paging (3 levels, 39-bit addresses): hand it to the kernel or to testkit's conformance suite. */
export const riscv64: Arch = archOf(SV39, 'riscv64');

/** The RV64 backend with Sv48 paging (4 levels, 48-bit addresses). */
export const riscv64Sv48: Arch = archOf(SV48, 'riscv64Sv48');
