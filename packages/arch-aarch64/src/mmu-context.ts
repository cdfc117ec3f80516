import { FaultHandlerList, ShootdownReader } from '@veridian/core';
import type { AddressSpace, PageFault, PhysicalMemory, TlbStats } from '@veridian/core';
import { Shootdown, type SharedState } from './shared-state.js';
import { Tlb } from './tlb.js';

/**
 * What one MMU instance and its address spaces share: machine memory, the shared state,
 * this instance's TLBs and counters, fault handlers, and scratch fields the walk fills in
 * instead of returning an object.
 */
export class MmuContext {
  readonly phys: PhysicalMemory;
  readonly u32: Uint32Array;
  readonly state: SharedState;
  readonly tlb: Tlb;
  readonly cpuCount: number;
  readonly stats: TlbStats = { hits: 0, misses: 0, invalidations: 0, shootdowns: 0, flushes: 0 };
  readonly handlers = new FaultHandlerList();
  /** Index of the shootdown epoch word in `u32`. */
  readonly epochIndex: number;
  /** Index of the table seqlock word in `u32`. */
  readonly genIndex: number;
  /** Walk results (valid after a successful walk). */
  leafLevel = 0;
  leafBase = 0;
  leafRights = 0;
  leafGlobal = false;
  /** Scratch (lock held): tables unlinked by the mutation in progress, retired after its shootdown. */
  readonly unlinked: number[] = [];
  /** Fault status of the last failed walk (DFSC). */
  faultStatus = 0;
  /** MAIR_EL1 of this instance. */
  readonly mair: bigint;
  /** TCR_EL1.HA: the walker sets AF; when false, an access to a page with AF = 0 is an access flag fault. */
  readonly hardwareAccessFlag: boolean;
  /** This instance's place in core's shootdown ring (one slot: a replay covers every CPU of the instance). */
  readonly #reader: ShootdownReader;

  constructor(phys: PhysicalMemory, state: SharedState, cpus: number, tlbEntries: number, mair: bigint, hardwareAccessFlag: boolean) {
    this.mair = mair;
    this.hardwareAccessFlag = hardwareAccessFlag;
    this.phys = phys;
    this.u32 = phys.u32;
    this.state = state;
    this.cpuCount = cpus;
    this.tlb = new Tlb(cpus, tlbEntries);
    this.epochIndex = state.epochIndex;
    this.genIndex = state.generationIndex;
    this.#reader = new ShootdownReader(state, 1, {
      invalidateRange: (_cpu, asid, vpn, count) => this.#apply(Shootdown.Range, asid, vpn, vpn + count),
      flushAsid: (_cpu, asid) => this.#apply(Shootdown.Asid, asid, 0, 0),
      flushAll: () => this.#apply(Shootdown.All, 0, 0, 0),
    });
  }

  /** Applies shootdowns published since the last call (one `Atomics.load` when none). */
  sync(): void {
    this.#reader.sync(0);
  }

  #apply(kind: number, asid: number, startVpn: number, endVpn: number): void {
    if (kind === Shootdown.Range) this.tlb.invalidateRange(asid, startVpn, endVpn);
    else if (kind === Shootdown.Asid) this.tlb.flushAsid(asid);
    else this.tlb.flush();
  }

  /**
   * Invalidates on every CPU of this instance and broadcasts to other instances (lock
   * held). `leaves` is how many leaf entries changed: one `tlbi` each.
   */
  shootdown(kind: number, asid: number, startVpn: number, endVpn: number, leaves: number): void {
    this.state.post(kind, asid, startVpn, endVpn - startVpn);
    // Replays everything up to and including this record on this instance's TLBs.
    this.sync();
    if (kind === Shootdown.Range) this.stats.invalidations += leaves;
    else this.stats.flushes++;
    if (this.cpuCount > 1 || this.state.instances > 1) this.stats.shootdowns++;
  }

  /** Runs the fault handlers in order; true as soon as one reports a repair. */
  runHandlers(fault: PageFault, space: AddressSpace): boolean {
    return this.handlers.repair(fault, space);
  }
}
