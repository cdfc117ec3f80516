/**
 * `@veridian/core/testing`: a minimal arch for tests of arch-neutral code — a 16-register
 * frame (`r0`–`r15`) and a one-level software page table kept in the root frame (pairs of
 * vpn, pa|perms), enough for the kernel's needs. It is no real CPU: it has no golden vectors
 * and only the MMU behaviour the kernel uses, so the conformance suite runs it with the `mmu`
 * area unsupported. The real coverage comes from the arch packages.
 * @packageDocumentation
 */
import type { Arch } from '../contracts/arch.js';
import { IpcError } from '../contracts/errors.js';
import type { FastPathAbi, FastPathLayout } from '../contracts/fast-path.js';
import { PageFault, type AddressSpace, type Mmu, type MmuOptions, type PageMapping, type VirtualAddress } from '../contracts/mmu.js';
import { defineFastPath } from '../fast-path/codec.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';

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

const ENTRIES = 256;

class FlatSpace implements AddressSpace {
  constructor(
    readonly phys: PhysicalMemory,
    readonly root: number,
    readonly asid: number,
  ) {}
  #base(): number {
    return this.phys.physOffset(this.root) >> 2;
  }
  map(va: VirtualAddress, pa: number, length: number, perms: number): void {
    const v = Number(va);
    const u = this.phys.u32;
    const b = this.#base();
    for (let off = 0; off < length; off += 4096) {
      const vpn = (v + off) / 4096 + 1;
      let free = -1;
      for (let i = 0; i < ENTRIES; i++) {
        if (u[b + i * 2] === vpn) throw new IpcError('AlreadyExists', 'mapped');
        if (free < 0 && u[b + i * 2] === 0) free = i;
      }
      if (free < 0) throw new IpcError('OutOfMemory', 'flat table full');
      u[b + free * 2] = vpn;
      u[b + free * 2 + 1] = ((pa + off) / 4096) * 16 + perms;
    }
  }
  unmap(va: VirtualAddress, length: number): void {
    const v = Number(va);
    const u = this.phys.u32;
    const b = this.#base();
    for (let off = 0; off < length; off += 4096) {
      const vpn = (v + off) / 4096 + 1;
      for (let i = 0; i < ENTRIES; i++) if (u[b + i * 2] === vpn) u[b + i * 2] = u[b + i * 2 + 1] = 0;
    }
  }
  protect(): void {}
  translate(va: VirtualAddress, access: 1 | 2 | 4): number {
    const m = this.lookup(va);
    if (!m) throw new PageFault(va, access, false, 'not-present');
    return m.pa + (Number(va) % 4096);
  }
  lookup(va: VirtualAddress): PageMapping | undefined {
    const vpn = Math.floor(Number(va) / 4096) + 1;
    const u = this.phys.u32;
    const b = this.#base();
    for (let i = 0; i < ENTRIES; i++) {
      if (u[b + i * 2] === vpn) {
        const w = u[b + i * 2 + 1]!;
        return { va: (vpn - 1) * 4096, pa: Math.floor(w / 16) * 4096, size: 4096, perms: w & 15, markers: 0, accessed: false, dirty: false, global: false, present: true };
      }
    }
    return undefined;
  }
  mappings(): PageMapping[] {
    return [];
  }
  walk(): bigint[] {
    return [];
  }
  tableFrameCount(): number {
    return 1;
  }
  dump(): string {
    return '';
  }
  destroy(): void {
    this.phys.freeFrame(this.root / 4096);
  }
}

class FlatMmu implements Mmu {
  readonly arch = 'test';
  readonly pageSizes = [4096];
  readonly cpuCount: number;
  readonly sharedState = 0;
  readonly tlbStats = { hits: 0, misses: 0, invalidations: 0, shootdowns: 0, flushes: 0 };
  constructor(
    readonly phys: PhysicalMemory,
    options: MmuOptions,
  ) {
    this.cpuCount = options.cpus ?? 1;
  }
  splitAddress(va: VirtualAddress) {
    return { indices: [Math.floor(Number(va) / 4096)], offset: Number(va) % 4096 };
  }
  createAddressSpace(): AddressSpace {
    const frame = this.phys.allocFrame();
    return new FlatSpace(this.phys, frame * 4096, frame);
  }
  attachAddressSpace(root: number, asid: number): AddressSpace {
    return new FlatSpace(this.phys, root, asid);
  }
  onFault(): () => void {
    return () => {};
  }
  flushTlb(): void {}
}

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
