import type { KernelContext } from '../context.js';
import { E, NONE, P } from '../records/layout.js';

/**
 * Wait queues: intrusive doubly-linked lists through process records (`P.NEXT`/`P.PREV`),
 * headed in endpoint records — the send queue (callers and senders, by priority, FIFO within
 * a priority) and the receive queue (servers waiting, FIFO) — and the reply-waiter list of a
 * server (`P.RHEAD`, linked through `P.RNEXT`/`P.RPREV`), so a server's exit or a priority
 * recomputation touches only its own waiters. All O(1) except the priority insert, which
 * walks back past lower-priority callers only.
 */
export class WaitQueues {
  readonly #k: KernelContext;

  constructor(k: KernelContext) {
    this.#k = k;
  }

  /** Queues `p` on `e`'s send queue behind every caller of its priority or higher. */
  enqueueSender(e: number, p: number): void {
    const { procs, eps } = this.#k;
    const prio = procs.get(p, P.EFF);
    let after = eps.get(e, E.QTAIL);
    while (after !== NONE && procs.get(after, P.EFF) < prio) after = procs.get(after, P.PREV);
    if (after === NONE) {
      const head = eps.get(e, E.QHEAD);
      procs.set(p, P.PREV, NONE);
      procs.set(p, P.NEXT, head);
      if (head !== NONE) procs.set(head, P.PREV, p);
      else eps.set(e, E.QTAIL, p);
      eps.set(e, E.QHEAD, p);
    } else {
      const next = procs.get(after, P.NEXT);
      procs.set(p, P.PREV, after);
      procs.set(p, P.NEXT, next);
      procs.set(after, P.NEXT, p);
      if (next !== NONE) procs.set(next, P.PREV, p);
      else eps.set(e, E.QTAIL, p);
    }
    eps.set(e, E.QLEN, eps.get(e, E.QLEN) + 1);
  }

  /** Removes `p` from `e`'s send queue. */
  removeSender(e: number, p: number): void {
    this.#unlink(e, p, E.QHEAD, E.QTAIL);
    this.#k.eps.set(e, E.QLEN, this.#k.eps.get(e, E.QLEN) - 1);
  }

  /** Appends server `p` to `e`'s receive queue. */
  appendReceiver(e: number, p: number): void {
    const { procs, eps } = this.#k;
    const tail = eps.get(e, E.RTAIL);
    procs.set(p, P.NEXT, NONE);
    procs.set(p, P.PREV, tail);
    if (tail !== NONE) procs.set(tail, P.NEXT, p);
    else eps.set(e, E.RHEAD, p);
    eps.set(e, E.RTAIL, p);
  }

  /** Puts server `p` back at the head of `e`'s receive queue (a passive server done with a call). */
  prependReceiver(e: number, p: number): void {
    const { procs, eps } = this.#k;
    const head = eps.get(e, E.RHEAD);
    procs.set(p, P.PREV, NONE);
    procs.set(p, P.NEXT, head);
    if (head !== NONE) procs.set(head, P.PREV, p);
    else eps.set(e, E.RTAIL, p);
    eps.set(e, E.RHEAD, p);
  }

  /** Removes server `p` from `e`'s receive queue. */
  removeReceiver(e: number, p: number): void {
    this.#unlink(e, p, E.RHEAD, E.RTAIL);
  }

  /** Adds caller `c` to server `r`'s reply-waiter list. */
  addReplyWaiter(r: number, c: number): void {
    const procs = this.#k.procs;
    const head = procs.get(r, P.RHEAD);
    procs.set(c, P.RPREV, NONE);
    procs.set(c, P.RNEXT, head);
    if (head !== NONE) procs.set(head, P.RPREV, c);
    procs.set(r, P.RHEAD, c);
    procs.set(c, P.REPLY_SERVER, r);
  }

  /** Removes caller `c` from the reply-waiter list of the server it awaits. */
  removeReplyWaiter(c: number): void {
    const procs = this.#k.procs;
    const r = procs.get(c, P.REPLY_SERVER);
    if (r === NONE) return;
    const prev = procs.get(c, P.RPREV);
    const next = procs.get(c, P.RNEXT);
    if (prev !== NONE) procs.set(prev, P.RNEXT, next);
    else procs.set(r, P.RHEAD, next);
    if (next !== NONE) procs.set(next, P.RPREV, prev);
    procs.set(c, P.RNEXT, NONE);
    procs.set(c, P.RPREV, NONE);
    procs.set(c, P.REPLY_SERVER, NONE);
  }

  #unlink(e: number, p: number, headW: number, tailW: number): void {
    const { procs, eps } = this.#k;
    const prev = procs.get(p, P.PREV);
    const next = procs.get(p, P.NEXT);
    if (prev !== NONE) procs.set(prev, P.NEXT, next);
    else eps.set(e, headW, next);
    if (next !== NONE) procs.set(next, P.PREV, prev);
    else eps.set(e, tailW, prev);
    procs.set(p, P.NEXT, NONE);
    procs.set(p, P.PREV, NONE);
  }
}
