import { tableFramesBound, FRAME_SIZE, IpcError } from '@veridian/core';
import type { Mmu, MmuOptions, PageFaultHandler, PhysicalMemory, TableReclaim, TlbStats, VirtualAddress } from '@veridian/core';
import { Aarch64AddressSpace } from './address-space.js';
import { Aarch64PageFault, Dfsc } from './fault.js';
import { DEFAULT_MAIR, checkMair } from './memory-attributes.js';
import { MmuContext } from './mmu-context.js';
import { ASID_COUNT, attachSharedState, createSharedState } from './shared-state.js';
import { allocTable } from './page-table.js';
import { tableIndex, vaToNumber } from './address.js';

/** Page sizes of the 4 KiB granule: pages (level 3), 2 MiB blocks (level 2), 1 GiB blocks (level 1). */
export const AARCH64_PAGE_SIZES: readonly number[] = Object.freeze([4096, 2 << 20, 1 << 30]);

const MAX_CPUS = 256;
const MAX_TLB_ENTRIES = 1 << 16;

function validCount(value: number | undefined, fallback: number, max: number, what: string): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > max) throw new IpcError('InvalidArgument', `${what} must be an integer in [1, ${max}], got ${n}`);
  return n;
}

/** Table indices and page offset of a virtual address. */
export interface AddressSplit {
  /** Level 0, 1, 2 and 3 table indices (0–511 each). */
  indices: number[];
  /** Offset in the 4 KiB page (0–4095). */
  offset: number;
}

/**
 * Splits a TTBR0 address into its level-0…3 table indices (bits 47:39, 38:30, 29:21, 20:12)
 * and the offset in a 4 KiB page. An address outside `[0, 2^48)` throws a `PageFault`
 * with reason `invalid-address`.
 */
export function splitVirtualAddress(va: VirtualAddress): AddressSplit {
  const v = vaToNumber(va);
  if (v < 0) throw new Aarch64PageFault(va, 1, false, 'invalid-address', Dfsc.translation(0));
  return { indices: [tableIndex(v, 0), tableIndex(v, 1), tableIndex(v, 2), tableIndex(v, 3)], offset: v % 4096 };
}

/**
 * AArch64 options of {@link createAarch64Mmu}, on top of the arch-neutral `MmuOptions`. They
 * are per instance: give every instance attached to one shared state the same values.
 *
 * @example
 * ```ts
 * const mmu = createAarch64Mmu(phys, { mair: DEFAULT_MAIR, hardwareAccessFlag: false }); // AF faults, as with TCR_EL1.HA = 0
 * ```
 */
export interface Aarch64MmuOptions extends MmuOptions {
  /** MAIR_EL1; default {@link DEFAULT_MAIR} (Linux's layout). */
  mair?: bigint;
  /** TCR_EL1.HA (hardware Access flag update); default true. With false, accessing a page whose AF is 0 is an access flag fault. */
  hardwareAccessFlag?: boolean;
}

/**
 * The AArch64 MMU over one machine's physical memory: VMSAv8-64 stage-1 translation with a
 * 4 KiB granule and 48-bit TTBR0 addresses, per-CPU ASID-tagged TLBs, and shared state (ASID
 * allocator, table lock, shootdown log) in machine memory so instances on other worker
 * threads can attach and stay coherent.
 */
export class Aarch64Mmu implements Mmu {
  /** Always `aarch64`. */
  readonly arch = 'aarch64';
  /** 4 KiB, 2 MiB, 1 GiB. */
  readonly pageSizes = AARCH64_PAGE_SIZES;
  /** CPUs (TLBs) of this instance. */
  readonly cpuCount: number;
  /** The machine memory holding the tables and the shared state. */
  readonly phys: PhysicalMemory;
  /** Physical address of the shared state; pass as `options.sharedState` to attach. */
  readonly sharedState: number;
  /** Address spaces that can exist at once: one ASID each, ASID 0 reserved. */
  readonly maxAddressSpaces: number;
  readonly #ctx: MmuContext;

  /** Creates an MMU with fresh shared state, or attaches to `options.sharedState`. */
  constructor(phys: PhysicalMemory, options: Aarch64MmuOptions = {}) {
    const cpus = validCount(options.cpus, 1, MAX_CPUS, 'cpus');
    const wanted = validCount(options.tlbEntries, 64, MAX_TLB_ENTRIES, 'tlbEntries');
    // Direct-mapped TLB: round up to a power of two so a slot is `vpn & mask`.
    const entries = 2 ** Math.ceil(Math.log2(wanted));
    const mair = options.mair ?? DEFAULT_MAIR;
    checkMair(mair);
    const state = options.sharedState === undefined ? createSharedState(phys) : attachSharedState(phys, options.sharedState);
    // The reclaimer scans one reader slot per CPU: make sure it covers ours.
    state.reclaim.registerCpus(cpus);
    this.phys = phys;
    this.cpuCount = cpus;
    this.sharedState = state.pa;
    this.maxAddressSpaces = state.asidCount - 1;
    this.#ctx = new MmuContext(phys, state, cpus, entries, mair, options.hardwareAccessFlag ?? true);
  }

  /** MAIR_EL1 of this instance. */
  get mair(): bigint {
    return this.#ctx.mair;
  }

  /** TCR_EL1.HA of this instance. */
  get hardwareAccessFlag(): boolean {
    return this.#ctx.hardwareAccessFlag;
  }

  /**
   * The machine's table reclaimer (core's `TableReclaim`, in the shared state): code that
   * reads these tables lock-free on a CPU brackets the reads with `enter(cpu)`/`exit(cpu)`.
   */
  get reclaim(): TableReclaim {
    return this.#ctx.state.reclaim;
  }

  /** TLB counters of this instance (live object). */
  get tlbStats(): TlbStats {
    return this.#ctx.stats;
  }

  /** Page-table frames mapping `pages` consecutive pages can allocate: 512 entries a table, 4 levels (48-bit addresses, 4 KiB granule). */
  tableFramesFor(pages: number): number {
    return tableFramesBound(pages, 4, 512);
  }

  /** See {@link splitVirtualAddress}. */
  splitAddress(va: VirtualAddress): AddressSplit {
    return splitVirtualAddress(va);
  }

  /** Allocates a root table and an ASID; `OutOfMemory` (nothing taken) when either is exhausted. */
  createAddressSpace(): Aarch64AddressSpace {
    const ctx = this.#ctx;
    ctx.state.lock();
    try {
      const asid = ctx.state.allocAsid();
      let root: number;
      try {
        root = allocTable(this.phys, ctx.state.reclaim);
      } catch (e) {
        ctx.state.freeAsid(asid);
        throw e;
      }
      return new Aarch64AddressSpace(ctx, root, asid);
    } finally {
      ctx.state.unlock();
    }
  }

  /** Opens a space created by any instance on this shared state, from its root and ASID. */
  attachAddressSpace(root: number, asid: number): Aarch64AddressSpace {
    if (!Number.isSafeInteger(root) || root % FRAME_SIZE !== 0 || !this.phys.isInstalled(root)) {
      throw new IpcError('InvalidArgument', `root 0x${Number(root).toString(16)} is not an installed frame`);
    }
    if (!Number.isInteger(asid) || asid < 1 || asid >= ASID_COUNT || !this.#ctx.state.asidInUse(asid)) {
      throw new IpcError('InvalidArgument', `asid ${asid} is not allocated`);
    }
    return new Aarch64AddressSpace(this.#ctx, root, asid);
  }

  /** Adds a fault handler (run in order on every fault of this instance's spaces); returns its remover. */
  onFault(handler: PageFaultHandler): () => void {
    return this.#ctx.handlers.add(handler);
  }

  /** `tlbi vmalle1` on `cpu`, or on every CPU of this instance. */
  flushTlb(cpu?: number): void {
    if (cpu !== undefined && (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.cpuCount)) throw new IpcError('InvalidArgument', `no cpu ${cpu}`);
    this.#ctx.tlb.flush(cpu);
    this.#ctx.stats.flushes++;
  }

  /** Valid entries in `cpu`'s TLB (diagnostics). */
  tlbOccupancy(cpu: number): number {
    return this.#ctx.tlb.occupancy(cpu);
  }
}

/** Creates (or, with `options.sharedState`, attaches) an AArch64 MMU; the `Arch.createMmu` entry point. */
export function createAarch64Mmu(phys: PhysicalMemory, options?: Aarch64MmuOptions): Aarch64Mmu {
  return new Aarch64Mmu(phys, options);
}
