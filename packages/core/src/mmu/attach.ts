import { IpcError } from '../contracts/errors.js';
import { FRAME_SIZE, type PhysicalMemory } from '../memory/physical-memory.js';
import type { MmuSharedState } from './shared-state.js';

/**
 * The arch-neutral checks of `Mmu.attachAddressSpace(root, asid)`: `root` must be the
 * physical address (not a frame number) of an installed frame, and `asid` an ASID the shared
 * state has allocated. Throws `InvalidArgument` otherwise.
 *
 * @example
 * ```ts
 * attachAddressSpace(root: number, asid: number) {
 *   checkAttach(this.phys, this.state, root, asid);
 *   return new MySpace(this.ctx, root, asid);
 * }
 * ```
 */
export function checkAttach(phys: PhysicalMemory, state: MmuSharedState, root: number, asid: number): void {
  if (!Number.isInteger(root) || root % FRAME_SIZE !== 0 || !phys.isInstalled(root)) {
    throw new IpcError('InvalidArgument', `root ${root} is not an installed frame address`);
  }
  if (!state.asidInUse(asid)) throw new IpcError('InvalidArgument', `ASID ${asid} is not allocated`);
}

/** Throws `InvalidArgument` unless `cpus` and `entries` describe a valid set of TLBs (1–1024 CPUs, a power of two 1–65536 entries). */
export function checkTlbShape(cpus: number, entries: number): void {
  if (!Number.isInteger(cpus) || cpus < 1 || cpus > 1024) throw new IpcError('InvalidArgument', `cpus must be an integer in [1, 1024], got ${cpus}`);
  if (!Number.isInteger(entries) || entries < 1 || entries > 65536 || (entries & (entries - 1)) !== 0) {
    throw new IpcError('InvalidArgument', `tlbEntries must be a power of two in [1, 65536], got ${entries}`);
  }
}

/** Throws `InvalidArgument` unless `cpu` names one of `cpus` CPUs. */
export function checkCpu(cpu: number, cpus: number): void {
  if (cpu >>> 0 !== cpu || cpu >= cpus) throw new IpcError('InvalidArgument', `no cpu ${cpu}`);
}
