/**
 * `@veridian/arch-aarch64`: the AArch64 backend of the VeridianOS IPC kernel — the `svc #0`
 * register fast path for small messages and the VMSAv8-64 stage-1 MMU (4 KiB granule,
 * 48-bit TTBR0 addresses, ASID-tagged TLBs with cross-thread shootdown).
 * @packageDocumentation
 */
import type { AddressSpaceLayout, Arch } from '@veridian/core';
import { VA_BITS } from './address.js';
import { aarch64FastPath } from './fast-path.js';
import { AARCH64_PAGE_SIZES, createAarch64Mmu } from './mmu.js';

export { aarch64FastPath, decodeSmallMessage, encodeSmallMessage } from './fast-path.js';
export {
  AARCH64_FAST_PATH_LAYOUT,
  AARCH64_REGISTER_COUNT,
  AARCH64_REGISTER_NAMES,
  AARCH64_REGISTER_TABLE,
  FastPathReg,
  Reg,
  type RegisterRole,
} from './register-table.js';
export { Descriptor, DescriptorBit } from './page-table-entry.js';
export { decodeLeafAttributes, decodeLeafDescriptor, encodeLeafDescriptor, type DecodedLeaf, type LeafAttributeFields, type LeafOptions } from './leaf-codec.js';
export { decodeTableDescriptor, encodeTableDescriptor, type DecodedTable, type TableAttributes } from './table-descriptor.js';
export { AttrIndex, DEFAULT_MAIR, MairAttr, Shareability, attrIndexOf, isDeviceAttribute, mairAttribute, memoryTypeName, type MemoryType } from './memory-attributes.js';
export { Aarch64PageFault, Dfsc, ExceptionClass, ESR_IL, ESR_WNR, esrOf } from './fault.js';
export { Aarch64AddressSpace, type Aarch64MapOptions } from './address-space.js';
export { AARCH64_PAGE_SIZES, Aarch64Mmu, createAarch64Mmu, splitVirtualAddress, type AddressSplit, type Aarch64MmuOptions } from './mmu.js';
export { VA_BITS } from './address.js';

/**
 * The AArch64 address space as arch-neutral code sees it: TTBR0_EL1 with T0SZ = 16 (48-bit
 * addresses from 0), next-table addresses in descriptor bits 12–47 (masked as 12–51, where
 * bits 48–51 are zero without FEAT_LPA).
 */
export const AARCH64_ADDRESS_SPACE: AddressSpaceLayout = Object.freeze({
  vaBits: VA_BITS,
  userTop: 1n << BigInt(VA_BITS),
  tableAddressMask: ((1n << 52n) - 1n) & ~0xfffn,
  // Above TTBR0's range; the second is TTBR1's region, which user translations never use.
  invalidAddresses: Object.freeze([0x00ff_0000_0000_0000n, 0xffff_0000_0000_0000n]),
});

/** The AArch64 architecture backend, as the kernel consumes it. */
export const aarch64: Arch = Object.freeze({
  name: 'aarch64',
  pageSizes: AARCH64_PAGE_SIZES,
  addressSpace: AARCH64_ADDRESS_SPACE,
  fastPath: aarch64FastPath,
  createMmu: createAarch64Mmu,
  moduleUrl: import.meta.url,
  exportName: 'aarch64',
});
