import { tableFramesBound, FaultHandlerList, IpcError, AccessKind, checkAttach, checkCpu } from '@veridian/core';
import type { Mmu, MmuOptions, PageFaultHandler, PhysicalMemory, TlbStats, VirtualAddress } from '@veridian/core';
import { indexAt, toLinear } from './address.js';
import { X86AddressSpace } from './address-space.js';
import { X86PageFault } from './fault.js';
import { FrameRanges } from './frame-range.js';
import type { MmuContext } from './mmu-context.js';
import { PageTables } from './page-table.js';
import { attachSharedState, createSharedState } from './shared-state.js';
import { Tlb } from './tlb.js';

/** Page sizes of x86_64 4-level paging: 4 KiB, 2 MiB, 1 GiB. */
export const X86_64_PAGE_SIZES: readonly number[] = Object.freeze([4096, 2 << 20, 1 << 30]);

/**
 * x86_64 options of {@link createX86Mmu}, on top of the arch-neutral `MmuOptions`. They are
 * per instance: give every instance attached to one shared state the same values.
 *
 * @example
 * ```ts
 * const mmu = createX86Mmu(phys, { cpus: 2, maxPhysAddr: 46, writeProtect: true });
 * ```
 */
export interface X86MmuOptions extends MmuOptions {
  /** MAXPHYADDR (CPUID.80000008H:EAX[7:0]), 32–52; default 52. Entry address bits at or above it are reserved. */
  maxPhysAddr?: number;
  /** CR0.WP; default true (as every modern kernel sets it). With false, supervisor writes ignore R/W. */
  writeProtect?: boolean;
}

/**
 * The x86_64 MMU: 4-level paging (PML4 → PDPT → PD → PT) over the machine's physical
 * memory, 48-bit canonical addresses, 4 KiB / 2 MiB / 1 GiB pages, and one PCID-tagged TLB
 * per CPU. The PCID allocator and the TLB-shootdown ring are core's `MmuSharedState` in
 * machine memory, so an instance in another worker thread created with
 * `{ sharedState: mmu.sharedState }` shares address spaces and never uses a stale
 * translation.
 */
export class X86Mmu implements Mmu {
  readonly arch = 'x86_64';
  readonly pageSizes: readonly number[] = X86_64_PAGE_SIZES;
  readonly cpuCount: number;
  readonly phys: PhysicalMemory;
  readonly sharedState: number;
  /** Address spaces that can exist at once: one ASID each, ASID 0 reserved. */
  readonly maxAddressSpaces: number;
  readonly #ctx: MmuContext;

  /** Creates the MMU (or attaches to one with `options.sharedState`); see `MmuOptions` in `@veridian/core`. */
  constructor(phys: PhysicalMemory, options: X86MmuOptions = {}) {
    const cpus = options.cpus ?? 1;
    const entries = options.tlbEntries ?? 64;
    const maxPhysAddr = options.maxPhysAddr ?? 52;
    if (!Number.isInteger(maxPhysAddr) || maxPhysAddr < 32 || maxPhysAddr > 52) throw new IpcError('InvalidArgument', `maxPhysAddr must be an integer in [32, 52], got ${maxPhysAddr}`);
    // Validate the TLB shape before a fresh state frame is allocated, so a bad option leaks nothing.
    Tlb.check(cpus, entries);
    const shared = options.sharedState === undefined ? createSharedState(phys) : attachSharedState(phys, options.sharedState);
    this.phys = phys;
    this.cpuCount = cpus;
    this.sharedState = shared.pa;
    this.maxAddressSpaces = shared.asidCount - 1;
    this.maxPhysAddr = maxPhysAddr;
    // Every instance, creator or attacher, makes the grace period watch its CPUs' walks.
    shared.reclaim.registerCpus(cpus);
    const tables = new PageTables(phys, shared.reclaim);
    const tlb = new Tlb(shared, cpus, entries);
    const ranges = new FrameRanges(tables, shared, tlb, maxPhysAddr);
    this.#ctx = { tables, ranges, shared, tlb, handlers: new FaultHandlerList(), maxPhysAddr, writeProtect: options.writeProtect ?? true };
  }

  /** MAXPHYADDR of this instance. */
  readonly maxPhysAddr: number;

  /** CR0.WP of this instance. */
  get writeProtect(): boolean {
    return this.#ctx.writeProtect;
  }

  /**
   * PKRU of `cpu` (0 after reset: every key allows everything).
   *
   * @example
   * ```ts
   * mmu.setPkru(0, 0b1000); // WD for key 1: writes to user pages with key 1 fault with PK set
   * mmu.pkru(0); // 8
   * ```
   */
  pkru(cpu: number): number {
    this.#cpu(cpu);
    return this.#ctx.tlb.pkru[cpu]!;
  }

  /** Page-table frames mapping `pages` consecutive pages can allocate: 512 entries a table, 4 levels. */
  tableFramesFor(pages: number): number {
    return tableFramesBound(pages, 4, 512);
  }

  /** WRPKRU on `cpu`: takes effect for the next access, TLB hits included (see {@link X86Mmu.pkru}). */
  setPkru(cpu: number, value: number): void {
    this.#cpu(cpu);
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new IpcError('InvalidArgument', `PKRU value ${value} is not a u32`);
    this.#ctx.tlb.pkru[cpu] = value;
  }

  #cpu(cpu: number): void {
    checkCpu(cpu, this.#ctx.tlb.cpus);
  }

  get tlbStats(): TlbStats {
    return this.#ctx.tlb.stats;
  }

  splitAddress(va: VirtualAddress): { indices: number[]; offset: number } {
    const linear = toLinear(va);
    if (linear < 0) throw new X86PageFault(va, AccessKind.Read, false, 'invalid-address', 0);
    return { indices: [indexAt(linear, 3), indexAt(linear, 2), indexAt(linear, 1), indexAt(linear, 0)], offset: linear & 0xfff };
  }

  createAddressSpace(): X86AddressSpace {
    const { shared, tables } = this.#ctx;
    let pcid: number;
    let root: number;
    shared.lock();
    try {
      pcid = shared.allocAsid();
      try {
        root = tables.allocTable();
      } catch (e) {
        shared.freeAsid(pcid);
        throw e;
      }
    } finally {
      shared.unlock();
    }
    return new X86AddressSpace(this.#ctx, root, pcid);
  }

  attachAddressSpace(root: number, asid: number): X86AddressSpace {
    checkAttach(this.phys, this.#ctx.shared, root, asid);
    return new X86AddressSpace(this.#ctx, root, asid);
  }

  onFault(handler: PageFaultHandler): () => void {
    return this.#ctx.handlers.add(handler);
  }

  flushTlb(cpu?: number): void {
    const tlb = this.#ctx.tlb;
    if (cpu === undefined) {
      for (let c = 0; c < tlb.cpus; c++) tlb.flushAll(c);
      return;
    }
    checkCpu(cpu, tlb.cpus);
    tlb.flushAll(cpu);
  }
}

/** Creates an x86_64 MMU over `phys` (the `Arch.createMmu` of this package). */
export function createX86Mmu(phys: PhysicalMemory, options?: X86MmuOptions): X86Mmu {
  return new X86Mmu(phys, options);
}
