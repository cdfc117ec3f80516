import type { Arch, MmuOptions, PhysicalMemory } from '@veridian/core';
import { outsiderFastPath } from './fast-path.js';
import { createOutsiderMmu, type OutsiderVariant } from './mmu.js';
import { HUGE, PAGE, PFN_MASK, USER_TOP, VA_BITS, VA_LIMIT } from './pte.js';

export { outsiderFastPath, REGISTER_NAMES } from './fast-path.js';
export { createOutsiderMmu, OUTSIDER_MAGIC, OUTSIDER_ASID_BITS, type OutsiderVariant } from './mmu.js';
export * as pte from './pte.js';

/** Outsider-64: 3-level tables of 32-bit entries, 4 KiB and 4 MiB pages, 8-bit ASIDs. */
export const outsider64: Arch = Object.freeze({
  name: 'outsider64',
  pageSizes: Object.freeze([PAGE, HUGE]),
  addressSpace: Object.freeze({
    vaBits: VA_BITS,
    userTop: BigInt(USER_TOP),
    tableAddressMask: BigInt(PFN_MASK),
    invalidAddresses: Object.freeze([BigInt(VA_LIMIT), BigInt(VA_LIMIT) + 0x1000n, 0xffff_ffff_ffff_f000n, 1n << 52n]),
  }),
  fastPath: outsiderFastPath,
  createMmu: createOutsiderMmu,
  moduleUrl: import.meta.url,
  exportName: 'outsider64',
});

/**
 * An Outsider-64 design variant, for the SDK experiments in test/sdk-findings.test.ts. Worker
 * CPUs cannot load it (it is no module export of its own), so use it on CPU 0 only.
 */
export function outsiderVariant(variant: OutsiderVariant): Arch {
  return Object.freeze({ ...outsider64, createMmu: (phys: PhysicalMemory, options?: MmuOptions) => createOutsiderMmu(phys, options, variant) });
}
