/**
 * The Outsider-64 MMU: page tables of 32-bit entries (see `pte.ts`) in machine memory, a
 * direct-mapped per-CPU TLB tagged by an 8-bit ASID, a software refill handler that sets the
 * accessed bit and a software modify handler that sets the dirty bit.
 *
 * Everything arch-neutral comes from `@veridian/core`: `MmuSharedState` (lock, ASIDs,
 * shootdown ring, table reclaim), `ShootdownReader`, `FaultHandlerList`, the argument checks
 * and the dump formatter. Fault levels are numbered 0 (top, L0) to 2 (L2).
 */
import {
  AccessKind,
  checkAttach,
  checkCpu,
  checkTlbShape,
  FaultHandlerList,
  IpcError,
  MmuSharedState,
  PhysicalMemory,
  ShootdownReader,
  type AddressSpace,
  type Mmu,
  type MmuOptions,
  type PageFaultHandler,
  type TlbStats,
  type VirtualAddress,
} from '@veridian/core';
import { PAGE } from './pte.js';
import { idx, invalid, norm, OUTSIDER_ASID_BITS, OUTSIDER_MAGIC, SIZES, type Ctx, type OutsiderVariant } from './address.js';
import { OutsiderSpace } from './address-space.js';
import { Tlb } from './tlb.js';

export { OUTSIDER_ASID_BITS, OUTSIDER_MAGIC, type OutsiderVariant } from './address.js';

class OutsiderMmu implements Mmu {
  readonly arch = 'outsider64';
  readonly pageSizes: readonly number[] = SIZES;
  readonly cpuCount: number;
  readonly phys: PhysicalMemory;
  readonly sharedState: number;
  /** One ASID per address space for its life (ASID 0 reserved): `createKernel` refuses more process records. */
  readonly maxAddressSpaces: number;
  readonly #c: Ctx;

  constructor(phys: PhysicalMemory, options: MmuOptions, variant: OutsiderVariant) {
    const cpus = options.cpus ?? 1;
    const entries = options.tlbEntries ?? 64;
    checkTlbShape(cpus, entries);
    const state = options.sharedState !== undefined ? MmuSharedState.attach(phys, options.sharedState, OUTSIDER_MAGIC) : MmuSharedState.create(phys, { magic: OUTSIDER_MAGIC, asidBits: variant.asidBits ?? OUTSIDER_ASID_BITS });
    state.reclaim.registerCpus(cpus);
    const tlb = new Tlb(cpus, entries);
    this.#c = { variant, phys, state, tlb, cpus, reader: new ShootdownReader(state, cpus, tlb), handlers: new FaultHandlerList() };
    this.cpuCount = cpus;
    this.phys = phys;
    this.sharedState = state.pa;
    this.maxAddressSpaces = state.asidCount - 1;
  }

  get tlbStats(): TlbStats {
    return this.#c.tlb.stats;
  }

  splitAddress(va: VirtualAddress): { indices: number[]; offset: number } {
    const n = norm(va);
    if (n < 0) throw invalid(va, AccessKind.Read, false);
    return { indices: [idx(n, 0), idx(n, 1), idx(n, 2)], offset: n % PAGE };
  }

  createAddressSpace(): AddressSpace {
    const { state, phys } = this.#c;
    state.lock();
    try {
      const asid = state.allocAsid();
      let frame: number;
      try {
        frame = phys.allocFrame();
      } catch (e) {
        state.freeAsid(asid);
        throw e;
      }
      return new OutsiderSpace(this.#c, PhysicalMemory.addressOf(frame), asid);
    } finally {
      state.unlock();
    }
  }

  attachAddressSpace(root: number, asid: number): AddressSpace {
    checkAttach(this.phys, this.#c.state, root, asid);
    return new OutsiderSpace(this.#c, root, asid);
  }

  onFault(handler: PageFaultHandler): () => void {
    if (typeof handler !== 'function') throw new IpcError('InvalidArgument', 'fault handler must be a function');
    return this.#c.handlers.add(handler);
  }

  flushTlb(cpu?: number): void {
    if (cpu === undefined) {
      for (let i = 0; i < this.cpuCount; i++) this.#c.tlb.flushAll(i);
      return;
    }
    checkCpu(cpu, this.cpuCount);
    this.#c.tlb.flushAll(cpu);
  }
}

/** `Arch.createMmu` of Outsider-64. */
export function createOutsiderMmu(phys: PhysicalMemory, options: MmuOptions = {}, variant: OutsiderVariant = {}): Mmu {
  return new OutsiderMmu(phys, options, variant);
}
