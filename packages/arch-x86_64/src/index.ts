/**
 * `@veridian/arch-x86_64`: the x86_64 backend of the VeridianOS IPC kernel — the register
 * fast path (syscall ABI) and the 4-level paging MMU with PCID-tagged TLBs.
 * @packageDocumentation
 */
import type { AddressSpaceLayout, Arch } from '@veridian/core';
import { x86_64FastPath } from './fast-path.js';
import { X86_64_PAGE_SIZES, createX86Mmu } from './mmu.js';

export { x86_64FastPath, X86_64_FAST_PATH_LAYOUT, encodeSmallMessage, decodeSmallMessage } from './fast-path.js';
export {
  X86_64_REGISTER_NAMES,
  X86_64_REGISTER_COUNT,
  X86_64_REGISTER_ROLES,
  X86_64_REGISTER_TABLE,
  FastPathReg,
  Reg,
  type RegisterRole,
  type X86_64RegisterName,
} from './register-table.js';
export {
  PteBit,
  PteLo,
  PteHi,
  Level,
  LEVEL_SPAN,
  TABLE_ENTRY_FLAGS,
  TABLE_FLAG_MASK,
  PHYS_LIMIT,
  leafCacheBits,
  protectionKeyBits,
  normalizePerms,
  leafLo,
  leafHi,
  tableLo,
  tableHi,
  entryAddress,
  leafPerms,
  leafMarkers,
  isLeaf,
  entryToBigInt,
  entryFromBigInt,
} from './page-table-entry.js';
export { X86Mmu, createX86Mmu, X86_64_PAGE_SIZES, type X86MmuOptions } from './mmu.js';
export { X86AddressSpace, type X86MapOptions } from './address-space.js';
export { X86PageFault, PfError, X86Vector } from './fault.js';
export { PROTECTION_KEY_COUNT, makePkru, pkruBits } from './protection-keys.js';
export { isCanonical } from './address.js';
export { decodeEntry, encodeEntry, type EntryFields } from './entry-fields.js';
export { formatDump, formatSize } from './dump.js';

/**
 * The x86_64 address space as arch-neutral code sees it: 48-bit canonical addresses (4-level
 * paging), the user half below 2^47, next-table addresses in entry bits 12–51.
 */
export const X86_64_ADDRESS_SPACE: AddressSpaceLayout = Object.freeze({
  vaBits: 48,
  userTop: 1n << 47n,
  tableAddressMask: ((1n << 52n) - 1n) & ~0xfffn,
  // Non-canonical: bit 47 clear with bits 48-63 not all clear, and the first address of the hole.
  invalidAddresses: Object.freeze([1n << 47n, 0x00ff_0000_0000_0000n, 0xffff_0000_0000_0000n]),
});

/**
 * The x86_64 architecture backend: hand it to the kernel (or to testkit's conformance
 * suite). Worker CPUs load it again from `Arch.moduleUrl` by `Arch.exportName`.
 */
export const x86_64: Arch = Object.freeze({
  name: 'x86_64',
  pageSizes: X86_64_PAGE_SIZES,
  addressSpace: X86_64_ADDRESS_SPACE,
  fastPath: x86_64FastPath,
  createMmu: createX86Mmu,
  moduleUrl: import.meta.url,
  exportName: 'x86_64',
});
