import type { FastPathAbi } from './fast-path.js';
import type { Mmu, MmuOptions } from './mmu.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';

/**
 * An architecture backend: everything arch-specific the kernel needs, behind one object.
 * Core never names a register or a page-table bit; it asks the arch.
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
