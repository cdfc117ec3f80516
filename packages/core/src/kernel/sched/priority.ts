import type { KernelContext } from '../context.js';
import { E, NONE, P, PState } from '../records/layout.js';

/**
 * Priority inheritance (QNX style): a server runs at the highest priority of the callers
 * queued on its endpoints or awaiting its reply, transitively along the chain of servers they
 * wait on, until it replies. Recomputing a server's priority looks only at its own waiters
 * (its endpoints' send queues and its reply-waiter list), never at the whole process table.
 */
export class Priority {
  readonly #k: KernelContext;

  constructor(k: KernelContext) {
    this.#k = k;
  }

  /** Raises `p`'s effective priority to at least `prio`, following the chain of servers it waits on. */
  boost(p: number, prio: number): void {
    const procs = this.#k.procs;
    for (let hops = 0; p !== NONE && hops < procs.count; hops++) {
      if (procs.get(p, P.EFF) >= prio) return;
      procs.set(p, P.EFF, prio);
      p = this.serverOf(p);
    }
  }

  /** The process `p` is blocked on: the owner of the endpoint it is queued on, or its replier. */
  serverOf(p: number): number {
    const { procs, eps } = this.#k;
    const st = procs.state(p);
    if (st === PState.BLOCKED_REPLY) return procs.get(p, P.REPLY_SERVER);
    if (st === PState.BLOCKED_SEND) return eps.get(procs.get(p, P.WAIT_EP), E.OWNER);
    return NONE;
  }

  /**
   * Recomputes `p`'s effective priority from its base and every client that waits on it. Only
   * does work when `p` is boosted; O(its waiters), then follows the chain it waits on.
   */
  recompute(p: number): void {
    const { procs, eps } = this.#k;
    for (let hops = 0; p !== NONE && hops < procs.count; hops++) {
      const eff0 = procs.get(p, P.EFF);
      if (eff0 === procs.get(p, P.PRIO)) return;
      let eff = procs.get(p, P.PRIO);
      for (let c = procs.get(p, P.RHEAD); c !== NONE; c = procs.get(c, P.RNEXT)) eff = Math.max(eff, procs.get(c, P.EFF));
      for (let e = procs.get(p, P.EHEAD); e !== NONE; e = eps.get(e, E.ONEXT)) {
        for (let c = eps.get(e, E.QHEAD); c !== NONE; c = procs.get(c, P.NEXT)) eff = Math.max(eff, procs.get(c, P.EFF));
      }
      if (eff === eff0) return;
      procs.set(p, P.EFF, eff);
      // A lower priority may lower the server `p` itself waits on.
      p = this.serverOf(p);
    }
  }
}
