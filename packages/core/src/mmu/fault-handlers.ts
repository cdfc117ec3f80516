import type { AddressSpace, PageFault, PageFaultHandler } from '../contracts/mmu.js';

/**
 * The fault handlers of one MMU instance, in the order they were added (what `Mmu.onFault`
 * manages). {@link FaultHandlerList.repair} runs them on a fault until one returns `true`.
 *
 * @example
 * ```ts
 * const handlers = new FaultHandlerList();
 * const remove = handlers.add((fault, space) => fault.reason === 'lazy' && installLazy(fault, space));
 * if (handlers.repair(fault, space)) retryOnce(); else throw fault;
 * remove();
 * ```
 */
export class FaultHandlerList {
  readonly #handlers: PageFaultHandler[] = [];

  /** Adds a handler; returns a function that removes it (idempotent). */
  add(handler: PageFaultHandler): () => void {
    this.#handlers.push(handler);
    return () => {
      const i = this.#handlers.indexOf(handler);
      if (i >= 0) this.#handlers.splice(i, 1);
    };
  }

  /** Number of handlers. */
  get size(): number {
    return this.#handlers.length;
  }

  /** Runs the handlers in order until one repairs the fault; true when one did. A handler that throws propagates. */
  repair(fault: PageFault, space: AddressSpace): boolean {
    // A snapshot, so a handler may remove itself (or others) while the list runs.
    for (const h of this.#handlers.slice()) if (h(fault, space)) return true;
    return false;
  }
}
