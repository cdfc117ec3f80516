import { FaultHandlerList, ShootdownReader } from '@veridian/core';
import type { MmuSharedState, PhysicalMemory } from '@veridian/core';
import type { PagingMode } from './address.js';
import { Tlb } from './tlb.js';

/** What one MMU instance and its address spaces share. */
export class MmuContext {
  readonly phys: PhysicalMemory;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  readonly state: MmuSharedState;
  readonly tlb: Tlb;
  readonly reader: ShootdownReader;
  readonly handlers = new FaultHandlerList();
  readonly mode: PagingMode;
  /** sstatus.SUM: supervisor loads and stores may touch U pages. */
  readonly sum: boolean;
  /** sstatus.MXR: loads from execute-only pages succeed. */
  readonly mxr: boolean;
  /** Scratch for TLB lookups (the physical address of a hit). */
  readonly paOut = new Float64Array(1);

  constructor(phys: PhysicalMemory, state: MmuSharedState, mode: PagingMode, cpus: number, entries: number, sum: boolean, mxr: boolean) {
    this.phys = phys;
    this.u32 = phys.u32;
    this.i32 = phys.i32;
    this.state = state;
    this.mode = mode;
    this.sum = sum;
    this.mxr = mxr;
    this.tlb = new Tlb(cpus, entries);
    this.reader = new ShootdownReader(state, cpus, this.tlb);
  }

  /** Int32/Uint32 index of entry `index` of the table at physical address `table`. */
  entryIndex(table: number, index: number): number {
    return (this.phys.physOffset(table) >> 2) + 2 * index;
  }

  /** A fresh zeroed table frame; returns its physical address. */
  allocTable(): number {
    return this.phys.allocFrame() * 4096;
  }

  /** True when no entry of the table at `table` is non-zero. */
  isEmpty(table: number): boolean {
    const u = this.u32;
    const b = this.phys.physOffset(table) >> 2;
    for (let i = 0; i < 1024; i++) if (u[b + i] !== 0) return false;
    return true;
  }
}
