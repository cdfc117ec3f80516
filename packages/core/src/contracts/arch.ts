import type { FastPathAbi } from './fast-path.js';
import type { Mmu, MmuOptions } from './mmu.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';

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
 *   pageSizes: [4096, 2 * 1024 * 1024],
 *   fastPath: myFastPath, // a FastPathAbi: the registers a small message travels in
 *   createMmu: createMyMmu, // (phys, options) => Mmu over page tables in machine memory
 *   moduleUrl: import.meta.url,
 *   exportName: 'myArch',
 * });
 * ```
 */
export interface Arch {
  /** Arch name, e.g. `x86_64` or `aarch64`. */
  readonly name: string;
  /** Supported page sizes in bytes, smallest first. */
  readonly pageSizes: readonly number[];
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
