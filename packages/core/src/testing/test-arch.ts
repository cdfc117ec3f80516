/**
 * `@veridian/core/testing`: a minimal arch for tests of arch-neutral code — a 16-register
 * frame (`r0`–`r15`) and a two-level software page table (`flat-mmu.ts`) with markers,
 * fault handlers and the range operations, enough for the kernel's needs. It is no real CPU: it has no golden vectors
 * and only the MMU behaviour the kernel uses, so the conformance suite runs it with the `mmu`
 * area unsupported. The real coverage comes from the arch packages.
 * @packageDocumentation
 */
import type { Arch } from '../contracts/arch.js';
import type { FastPathAbi, FastPathLayout } from '../contracts/fast-path.js';
import { defineFastPath } from '../fast-path/codec.js';
import { FlatMmu } from './flat-mmu.js';

const layout: FastPathLayout = {
  syscall: { reg: 0, half: 0 },
  endpoint: { reg: 1, half: 0 },
  sender: { reg: 1, half: 0 },
  info: { reg: 2, half: 0 },
  type: { reg: 2, half: 1 },
  caps: [
    { reg: 3, half: 0 },
    { reg: 3, half: 1 },
    { reg: 4, half: 0 },
    { reg: 4, half: 1 },
  ],
  data: [5, 6, 7, 8, 9, 10, 11, 12],
};

const fastPath: FastPathAbi = defineFastPath({
  arch: 'test',
  registerNames: Array.from({ length: 16 }, (_, i) => `r${i}`),
  layout,
});

/**
 * The test arch: hand it to `createKernel` or to testkit's `conformance` (with
 * `unsupported: ['mmu']`) to exercise arch-neutral code without a real backend.
 *
 * @example
 * ```ts
 * import { createKernel } from '@veridian/core';
 * import { testArch } from '@veridian/core/testing';
 *
 * await using kernel = createKernel({ arch: testArch });
 * ```
 */
export const testArch: Arch = {
  name: 'test',
  pageSizes: [4096],
  addressSpace: { vaBits: 32, userTop: 1n << 31n, tableAddressMask: 0n },
  fastPath,
  createMmu: (phys, options) => new FlatMmu(phys, options ?? {}),
  moduleUrl: import.meta.url,
  exportName: 'testArch',
};
