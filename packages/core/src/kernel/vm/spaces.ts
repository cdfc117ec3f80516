import type { AddressSpace } from '../../contracts/mmu.js';
import type { KernelContext } from '../context.js';
import { P } from '../records/layout.js';

/**
 * This CPU's `AddressSpace` object for each process record: attached once from the root and
 * ASID in the record (the tables live in machine memory; the object is only this CPU's
 * handle on them), re-attached when the record has a new incarnation.
 */
export class Spaces {
  readonly #k: KernelContext;
  readonly #spaces: (AddressSpace | undefined)[] = [];

  constructor(k: KernelContext) {
    this.#k = k;
  }

  /** The address space of process record `p`. */
  of(p: number): AddressSpace {
    const k = this.#k;
    const root = k.mm.u32[k.procs.word(p, P.ROOT)]!;
    const asid = k.procs.get(p, P.ASID);
    const s = this.#spaces[p];
    if (s !== undefined && s.root === root && s.asid === asid) return s;
    const fresh = k.mmu.attachAddressSpace(root, asid);
    this.#spaces[p] = fresh;
    return fresh;
  }

  /** Forgets `p`'s space (it is being destroyed). */
  forget(p: number): void {
    this.#spaces[p] = undefined;
  }
}
