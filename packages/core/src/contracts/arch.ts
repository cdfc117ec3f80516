import type { FastPathAbi } from './fast-path.js';
import type { Mmu, MmuOptions } from './mmu.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';

/**
 * The shape of an arch's virtual address space, as far as arch-neutral code (the conformance
 * suite, tools) needs it. Every fact here is the arch's: core and testkit derive test
 * addresses and masks from it instead of assuming any CPU.
 *
 * @example
 * ```ts
 * // A CPU with 39-bit sign-extended virtual addresses, user half below 2^38, and
 * // next-table addresses in bits 10–53 of a table entry:
 * const addressSpace: AddressSpaceLayout = {
 *   vaBits: 39,
 *   userTop: 1n << 38n,
 *   tableAddressMask: ((1n << 54n) - 1n) & ~0x3ffn,
 *   invalidAddresses: [1n << 38n, 0xffff_0000_0000_0000n],
 * };
 * ```
 */
export interface AddressSpaceLayout {
  /** Bits of a virtual address the translation uses (e.g. 39, 48, 57); addresses at or above `2^vaBits` in the user half never translate. */
  readonly vaBits: number;
  /**
   * First address above the user range: user mappings live in `[0, userTop)`, and the page at
   * `userTop - pageSize` is the highest user page.
   */
  readonly userTop: bigint;
  /**
   * Bits of a table (non-leaf) entry that hold the next table's address. The suite masks them
   * out before comparing table entries with golden `tableFlags`.
   */
  readonly tableAddressMask: bigint;
  /**
   * Sample addresses every address space of the arch refuses with reason `invalid-address`
   * (non-canonical, or outside the range user translations cover), on top of `2^vaBits` and
   * `2^63`, which the suite always tries.
   */
  readonly invalidAddresses?: readonly bigint[];
}

/**
 * An architecture backend: everything arch-specific the kernel needs, behind one object.
 * Core never names a register or a page-table bit; it asks the arch.
 *
 * @example Use a backend
 * ```ts
 * import { createKernel } from '@veridian/core';
 * import { x86_64 } from '@veridian/arch-x86_64';
 *
 * const kernel = createKernel({ arch: x86_64, frames: 64 });
 * ```
 *
 * @example Write a backend
 * ```ts
 * import type { Arch } from '@veridian/core';
 *
 * // One frozen object, exported under `exportName` from the module at `moduleUrl`, so worker
 * // CPUs load the same one. Prove it with @veridian/testkit: conformance({ name: 'my-arch', arch: myArch }).
 *
 * export const myArch: Arch = Object.freeze({
 *   name: 'my-arch',
 *   pageSizes: [4096, 2 * 1024 * 1024], // the first must be 4096: the kernel's frame size
 *   addressSpace: { vaBits: 39, userTop: 1n << 38n, tableAddressMask: ((1n << 54n) - 1n) & ~0x3ffn },
 *   fastPath: myFastPath, // a FastPathAbi: the registers a small message travels in
 *   createMmu: createMyMmu, // (phys, options) => Mmu over page tables in machine memory
 *   moduleUrl: import.meta.url,
 *   exportName: 'myArch',
 * });
 * ```
 */
export interface Arch {
  /** Arch name, as the backend package calls it (also the name of its golden vectors and matrix column). */
  readonly name: string;
  /** Supported page sizes in bytes, smallest first. */
  readonly pageSizes: readonly number[];
  /** Virtual-address width, user range and table-entry address bits (see {@link AddressSpaceLayout}). */
  readonly addressSpace: AddressSpaceLayout;
  /** The register fast path (syscall ABI for small messages). */
  readonly fastPath: FastPathAbi;
  /** Creates (or, with `options.sharedState`, attaches to) the MMU over `phys`. */
  createMmu(phys: PhysicalMemory, options?: MmuOptions): Mmu;
  /**
   * URL of an ES module exporting this arch as `exportName`, so a worker CPU can load the
   * same backend (typically the arch package's own `import.meta.url`).
   */
  readonly moduleUrl: string;
  /** Name of the export in `moduleUrl` that is this arch. */
  readonly exportName: string;
}
