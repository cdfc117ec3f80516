import type { AddressSpace, PageFault, PageFaultHandler, PhysicalMemory, TlbStats } from '@veridian/core';
import { LOG_CAPACITY, type SharedState, Shootdown, type ShootdownMessage } from './shared-state.js';
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
  readonly handlers: PageFaultHandler[] = [];
  /** Index of the shootdown epoch word in `u32`. */
  readonly epochIndex: number;
  /** Index of the table seqlock word in `u32`. */
  readonly genIndex: number;
  /** Last shootdown epoch applied to this instance's TLBs. */
  seen: number;
  /** Walk results (valid after a successful walk). */
  leafLevel = 0;
  leafBase = 0;
  leafRights = 0;
  leafGlobal = false;
  /** Fault status of the last failed walk (DFSC). */
  faultStatus = 0;
  /** MAIR_EL1 of this instance. */
  readonly mair: bigint;
  /** TCR_EL1.HA: the walker sets AF; when false, an access to a page with AF = 0 is an access flag fault. */
  readonly hardwareAccessFlag: boolean;
  readonly #msg: ShootdownMessage = { kind: 0, asid: 0, startVpn: 0, endVpn: 0 };

  constructor(phys: PhysicalMemory, state: SharedState, cpus: number, tlbEntries: number, mair: bigint, hardwareAccessFlag: boolean) {
    this.mair = mair;
    this.hardwareAccessFlag = hardwareAccessFlag;
    this.phys = phys;
    this.u32 = phys.u32;
    this.state = state;
    this.cpuCount = cpus;
    this.tlb = new Tlb(cpus, tlbEntries);
    this.epochIndex = state.epochIndex;
    this.genIndex = state.genIndex;
    this.seen = state.epoch();
  }

  /** Applies shootdowns other instances published since the last call (cheap when none). */
  sync(): void {
    const e = this.state.epoch();
    const start = this.seen;
    const behind = (e - start) >>> 0;
    if (behind === 0) return;
    if (behind > LOG_CAPACITY) {
      this.tlb.flush();
    } else {
      const msg = this.#msg;
      for (let i = 0; i < behind; i++) {
        this.state.read((start + i) >>> 0, msg);
        this.#apply(msg.kind, msg.asid, msg.startVpn, msg.endVpn);
      }
      // A writer may have lapped the ring while we read: then trust nothing we read.
      if ((this.state.reserved() - start) >>> 0 > LOG_CAPACITY) this.tlb.flush();
    }
    this.seen = e;
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
    this.sync();
    this.seen = this.state.publish(kind, asid, startVpn, endVpn);
    this.#apply(kind, asid, startVpn, endVpn);
    if (kind === Shootdown.Range) this.stats.invalidations += leaves;
    else this.stats.flushes++;
    if (this.cpuCount > 1 || this.state.instances > 1) this.stats.shootdowns++;
  }

  /** Runs the fault handlers in order; true as soon as one reports a repair. */
  runHandlers(fault: PageFault, space: AddressSpace): boolean {
    for (const handler of this.handlers.slice()) if (handler(fault, space)) return true;
    return false;
  }
}
