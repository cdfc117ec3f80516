import { tableFramesBound, AccessKind, IpcError, MmuSharedState, checkAttach, checkCpu, checkTlbShape } from '@veridian/core';
import type { Mmu, MmuOptions, PageFaultHandler, PhysicalMemory, TlbStats, VirtualAddress } from '@veridian/core';
import { SV39, SV48, indexAt, toLinear, type PagingMode } from './address.js';
import { Riscv64AddressSpace } from './address-space.js';
import { Riscv64PageFault } from './fault.js';
import { MmuContext } from './mmu-context.js';

/** Page sizes of Sv39/Sv48 as this backend maps them: 4 KiB pages, 2 MiB and 1 GiB megapages. */
export const RISCV64_PAGE_SIZES: readonly number[] = Object.freeze([4096, 2 ** 21, 2 ** 30]);

/** Magic words of the shared MMU state ("RV39" / "RV48"), so an Sv48 MMU never attaches to Sv39 state. */
const MAGIC: Readonly<Record<PagingMode['name'], number>> = { sv39: 0x3933_5652, sv48: 0x3834_5652 };

/**
 * RV64 options of {@link createRiscv64Mmu}, on top of the arch-neutral `MmuOptions`. Give every
 * instance attached to one shared state the same values.
 *
 * @example
 * ```ts
 * const mmu = createRiscv64Mmu(phys, { mode: 'sv48', cpus: 2, asidBits: 9 });
 * ```
 */
export interface Riscv64MmuOptions extends MmuOptions {
  /** Paging scheme: `sv39` (3 levels, default) or `sv48` (4 levels). */
  mode?: 'sv39' | 'sv48';
  /** ASIDLEN, 1–16 (default 16, the most RV64 allows); ignored when attaching (the shared state has it). */
  asidBits?: number;
  /** sstatus.SUM (default true): supervisor loads and stores may access U pages. Supervisor fetches from U pages always fault. */
  sum?: boolean;
  /** sstatus.MXR (default false): loads from execute-only pages succeed. */
  mxr?: boolean;
}

/**
 * The RV64 MMU: Sv39 or Sv48 page tables over the machine's physical memory, one ASID-tagged
 * TLB per hart. The ASID allocator and the shootdown ring are core's `MmuSharedState` in machine
 * memory, so an instance in another worker thread created with `{ sharedState: mmu.sharedState }`
 * shares address spaces and never uses a stale translation.
 */
export class Riscv64Mmu implements Mmu {
  readonly arch = 'riscv64';
  readonly pageSizes: readonly number[] = RISCV64_PAGE_SIZES;
  readonly cpuCount: number;
  readonly phys: PhysicalMemory;
  readonly sharedState: number;
  /** Address spaces that can exist at once: one ASID each, ASID 0 reserved. */
  readonly maxAddressSpaces: number;
  /** The paging scheme of this instance. */
  readonly mode: PagingMode;
  readonly #ctx: MmuContext;

  /** Creates the MMU (or attaches to one with `options.sharedState`). */
  constructor(phys: PhysicalMemory, options: Riscv64MmuOptions = {}) {
    const mode = (options.mode ?? 'sv39') === 'sv48' ? SV48 : options.mode === undefined || options.mode === 'sv39' ? SV39 : undefined;
    if (mode === undefined) throw new IpcError('InvalidArgument', `mode must be 'sv39' or 'sv48', got ${String(options.mode)}`);
    const cpus = options.cpus ?? 1;
    const entries = options.tlbEntries ?? 64;
    // Validate before a fresh state is allocated, so a bad option leaks nothing.
    checkTlbShape(cpus, entries);
    const state = options.sharedState === undefined ? MmuSharedState.create(phys, { magic: MAGIC[mode.name], asidBits: options.asidBits ?? 16 }) : MmuSharedState.attach(phys, options.sharedState, MAGIC[mode.name]);
    this.phys = phys;
    this.cpuCount = cpus;
    this.mode = mode;
    this.sharedState = state.pa;
    this.maxAddressSpaces = state.asidCount - 1;
    // The reclaimer scans one reader slot per hart: make sure it covers ours.
    state.reclaim.registerCpus(cpus);
    this.#ctx = new MmuContext(phys, state, mode, cpus, entries, options.sum ?? true, options.mxr ?? false);
  }

  /** Page-table frames mapping `pages` consecutive pages can allocate: 512 entries a table, the paging mode's levels. */
  tableFramesFor(pages: number): number {
    return tableFramesBound(pages, this.mode.levels, 512);
  }

  /** ASIDLEN of the shared state. */
  get asidBits(): number {
    return this.#ctx.state.asidBits;
  }

  get tlbStats(): TlbStats {
    return this.#ctx.tlb.stats;
  }

  splitAddress(va: VirtualAddress): { indices: number[]; offset: number } {
    const lin = toLinear(va, this.mode);
    if (lin < 0) throw new Riscv64PageFault(va, AccessKind.Read, false, 'invalid-address', this.mode.levels - 1);
    const indices: number[] = [];
    for (let level = this.mode.levels - 1; level >= 0; level--) indices.push(indexAt(lin, level));
    return { indices, offset: lin % 4096 };
  }

  createAddressSpace(): Riscv64AddressSpace {
    const { state } = this.#ctx;
    let asid: number;
    let root: number;
    state.lock();
    try {
      asid = state.allocAsid();
      try {
        root = this.#ctx.allocTable();
      } catch (e) {
        state.freeAsid(asid);
        throw e;
      }
    } finally {
      state.unlock();
    }
    return new Riscv64AddressSpace(this.#ctx, root, asid);
  }

  attachAddressSpace(root: number, asid: number): Riscv64AddressSpace {
    checkAttach(this.phys, this.#ctx.state, root, asid);
    return new Riscv64AddressSpace(this.#ctx, root, asid);
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

  /**
   * `sfence.vma rs1, rs2` on hart `cpu` of this instance only (a local fence; the address
   * space calls shoot down every hart themselves). `va` omitted = rs1 x0 (all addresses),
   * `asid` omitted = rs2 x0 (all address spaces, global entries included).
   *
   * @example
   * ```ts
   * mmu.sfenceVma(0, 0x40_0000, space.asid); // one page of one ASID; global entries stay
   * ```
   */
  sfenceVma(cpu: number, va?: VirtualAddress, asid?: number): void {
    const tlb = this.#ctx.tlb;
    checkCpu(cpu, tlb.cpus);
    let vpn = -1;
    if (va !== undefined) {
      const lin = toLinear(va, this.mode);
      if (lin < 0) return; // no entry can match a non-canonical address
      vpn = Math.floor(lin / 4096);
    }
    if (asid !== undefined && (!Number.isInteger(asid) || asid < 0 || asid > 0xffff)) throw new IpcError('InvalidArgument', `ASID ${asid} is not 16 bits`);
    tlb.sfenceVma(cpu, vpn, asid ?? -1);
  }
}

/** Creates an RV64 MMU over `phys` (the `Arch.createMmu` of this package). */
export function createRiscv64Mmu(phys: PhysicalMemory, options?: Riscv64MmuOptions): Riscv64Mmu {
  return new Riscv64Mmu(phys, options);
}
