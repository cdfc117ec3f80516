import { IPC_ERROR_NUMBERS, IpcError } from '../../contracts/errors.js';
import { MessageFlags } from '../../contracts/message.js';
import { Rights } from '../../contracts/rights.js';
import type { KernelContext } from '../context.js';
import { E, H, NONE, Op, P, PState } from '../records/layout.js';
import { Switch } from '../sched/wake.js';

/** Returned by a syscall when the caller must block. */
export const BLOCKED = -1;
/** Returned by a call that a passive server of this CPU takes (see passive.ts). */
export const PASSIVE = -3;

/**
 * Synchronous IPC over endpoints: send, call, receive, reply and reply-with-error. Each
 * operation runs in two steps under the lock: every check first (it may throw, and then
 * nothing has changed), then the commit (it cannot fail). The message is in the CPU's
 * scratch, already snapshotted and checked (message.ts).
 */
export class SyncIpc {
  readonly #k: KernelContext;
  /** The passive server a call returned {@link PASSIVE} for. */
  passiveServer = NONE;
  /** Endpoint of the last call or send that blocked (for its default timeout). */
  blockedOn = NONE;

  constructor(k: KernelContext) {
    this.#k = k;
  }

  /**
   * IpcCall / IpcSend of the scratch message from `p`. Returns 0 when a send was delivered,
   * {@link BLOCKED} when `p` waits (queued, or for the reply), {@link PASSIVE} when a passive
   * server of this CPU takes the call. `poll`: fail with `Timeout` instead of queueing.
   */
  send(p: number, op: number, poll: boolean, blocksThread = false): number {
    const k = this.#k;
    const { procs, eps, messages: msg } = k;
    const e = k.endpoints.endpointOf(p, msg.endpointHandle, Rights.SEND);
    const large = (msg.flags & MessageFlags.LARGE) !== 0;
    // A passive handler takes a large message too, when it carries no capabilities (those it
    // mints could not be undone exactly if the call fails).
    const direct = !large || k.large.outgoingCaps(p) === 0;
    if (blocksThread && k.cpu === 0) this.#checkAnswerable(e, direct);
    if (large && k.endpoints.registerOnly(e)) throw new IpcError('MessageTooLarge', 'the endpoint carries register messages only (≤ 64 bytes, ≤ 4 capabilities)');
    const r = eps.get(e, E.RHEAD);
    if (r !== NONE) {
      if (op === Op.CALL && direct && procs.get(r, P.CPU) === k.cpu && k.port?.isPassive(r, e)) {
        msg.checkRoom(r, msg.capCount, large, 0, p);
        this.passiveServer = r;
        return PASSIVE;
      }
      msg.checkRoom(r, msg.capCount, large, k.large.outgoingCaps(p), p);
      if (op === Op.CALL) {
        this.callReceiver(p, r, e);
        this.blockedOn = e;
        return BLOCKED;
      }
      // Commit.
      this.#takeReceiver(p, r, e, 0);
      k.wake.wake(r, 0);
      return 0;
    }
    if (poll) throw new IpcError('Timeout', 'no receiver is waiting (timeout 0)');
    if (eps.get(e, E.QLEN) >= eps.get(e, E.CAPACITY)) throw new IpcError('ChannelFull', `channel capacity ${eps.get(e, E.CAPACITY)} reached`);
    // Commit: the message waits in the kernel-owned shadow, not in the user frame.
    msg.park(p);
    procs.set(p, P.OP, op);
    procs.setState(p, PState.BLOCKED_SEND);
    procs.set(p, P.WAIT_EP, e);
    procs.set(p, P.SEQ, procs.get(p, P.SEQ) + 1);
    k.queues.enqueueSender(e, p);
    k.priority.boost(eps.get(e, E.OWNER), procs.get(p, P.EFF));
    this.blockedOn = e;
    return BLOCKED;
  }

  /**
   * Commit of a call from `p` (its message in the scratch, checked) to receiver `r` waiting on
   * `e` (room checked): delivers it, makes `p` await the reply and wakes `r` straight away. The
   * general path and the endpoint fast path (endpoint-fastpath.ts) share it. Cannot fail.
   */
  callReceiver(p: number, r: number, e: number): void {
    const k = this.#k;
    const procs = k.procs;
    this.#takeReceiver(p, r, e, MessageFlags.CALL);
    this.#awaitReply(p, r, e);
    procs.set(p, P.SEQ, procs.get(p, P.SEQ) + 1);
    k.priority.boost(r, procs.get(p, P.EFF));
    k.wake.wake(r, 0, Switch.DIRECT);
  }

  /** Takes receiver `r` off `e`'s queue and delivers the scratch message from `p` into its frame. */
  #takeReceiver(p: number, r: number, e: number, flags: number): void {
    const k = this.#k;
    const msg = k.messages;
    k.queues.removeReceiver(e, r);
    k.procs.set(r, P.WAIT_EP, NONE);
    msg.deliver(msg.scratch, msg.scratchCaps, p, r, flags);
    k.eps.set(e, E.MSGS, k.eps.get(e, E.MSGS) + 1);
  }

  /**
   * A call that will block CPU 0's thread (`callSync` on the main thread) must have a server
   * that can answer without that thread: a receiver on a worker CPU, or a passive one here for
   * a message its handler takes directly (`direct`: not a large one with capabilities — that
   * one queues, and the passive server's own loop, on this thread, could never take it).
   */
  #checkAnswerable(e: number, direct: boolean): void {
    const k = this.#k;
    const r = k.eps.get(e, E.RHEAD);
    const server = r !== NONE ? r : k.eps.get(e, E.OWNER);
    if (server !== NONE && k.procs.get(server, P.CPU) === 0 && !(r !== NONE && direct && k.port?.isPassive(r, e))) {
      throw new IpcError('InvalidState', `callSync on CPU 0 ${direct ? '' : 'with a large message carrying capabilities '}to a server on CPU 0 would wait forever: use await call(), or a worker CPU for the server${direct ? ', or serve() (passive)' : ''}`);
    }
  }

  /** IpcReceive on endpoint `handle`: 0 with the message in `p`'s frame, or {@link BLOCKED}. */
  receive(p: number, handle: number, poll: boolean): number {
    const k = this.#k;
    const e = k.endpoints.endpointOf(p, handle, Rights.RECEIVE);
    if (k.eps.get(e, E.QHEAD) !== NONE) {
      this.#takeQueued(p, e);
      return 0;
    }
    if (poll) throw new IpcError('Timeout', 'no message is waiting (timeout 0)');
    this.waitOn(p, e);
    return BLOCKED;
  }

  /** Commit of a receive that finds `e`'s send queue empty: `p` waits on it. Cannot fail. */
  waitOn(p: number, e: number): void {
    const procs = this.#k.procs;
    procs.setState(p, PState.BLOCKED_RECV);
    procs.set(p, P.WAIT_EP, e);
    procs.set(p, P.SEQ, procs.get(p, P.SEQ) + 1);
    this.#k.queues.appendReceiver(e, p);
  }

  /**
   * Server `r`, back from a passive call, waits on `e` again — or, if callers queued meanwhile
   * (from other CPUs), takes the first at once and is woken with it (a receive that finds the
   * queue non-empty never waits). A receiver whose space cannot take the message is woken with
   * that error. Lock held.
   */
  resumeReceive(r: number, e: number): void {
    const k = this.#k;
    if (k.eps.get(e, E.QHEAD) === NONE) {
      k.procs.setState(r, PState.BLOCKED_RECV);
      k.procs.set(r, P.WAIT_EP, e);
      k.queues.prependReceiver(e, r);
      return;
    }
    try {
      this.#takeQueued(r, e);
      k.wake.wake(r, 0);
      // Observed (trace, audit) like a receive syscall that found the message queued.
      if (k.i32[H.OBS_FLAGS] !== 0) k.obs.received(r, e);
    } catch (err) {
      k.wake.wake(r, err instanceof IpcError ? err.errno : IPC_ERROR_NUMBERS.InvalidState);
    }
  }

  /** Delivers the first queued message of `e` to receiver `p` (room checked first). */
  #takeQueued(p: number, e: number): void {
    const k = this.#k;
    const { procs, eps, messages: msg } = k;
    const c = eps.get(e, E.QHEAD);
    const large = msg.parkedLarge(c);
    msg.checkRoom(p, msg.parkedCapCount(c), large, large ? k.large.outgoingCaps(c) : 0, c);
    // Commit.
    const call = procs.get(c, P.OP) === Op.CALL;
    k.queues.removeSender(e, c);
    procs.set(c, P.WAIT_EP, NONE);
    procs.set(c, P.OP, Op.NONE);
    msg.deliver(k.mm.shadow(c), k.mm.shadowCaps(c), c, p, call ? MessageFlags.CALL : 0);
    eps.set(e, E.MSGS, eps.get(e, E.MSGS) + 1);
    if (call) this.#awaitReply(c, p, e);
    else k.wake.wake(c, 0);
  }

  /** IpcReply of the scratch message from server `p` to the caller `toPid`. */
  reply(p: number, toPid: number): void {
    const k = this.#k;
    const msg = k.messages;
    const c = this.replyTarget(p, toPid);
    const large = (msg.flags & MessageFlags.LARGE) !== 0;
    if (large && k.endpoints.registerOnly(k.procs.get(c, P.CALL_EP))) {
      throw new IpcError('MessageTooLarge', 'the endpoint carries register messages only (≤ 64 bytes, ≤ 4 capabilities)');
    }
    msg.checkRoom(c, msg.capCount, large, k.large.outgoingCaps(p), p);
    this.replyTo(p, c);
  }

  /**
   * Commit of a reply (the scratch message, checked) from server `p` to caller `c`, which awaits
   * it (room checked). Shared with the endpoint fast path. Cannot fail.
   */
  replyTo(p: number, c: number): void {
    const k = this.#k;
    const msg = k.messages;
    msg.deliver(msg.scratch, msg.scratchCaps, p, c, MessageFlags.REPLY);
    this.#endReply(p, c);
    // Back on reply: the caller runs next when its priority allows.
    k.wake.wake(c, 0, Switch.BACK);
  }

  /** IpcReply carrying a failure: the caller's call rejects with error number `status`. */
  replyError(p: number, toPid: number, status: number): void {
    const c = this.replyTarget(p, toPid);
    this.#endReply(p, c);
    this.#k.wake.wake(c, status);
  }

  /** The record of caller `toPid` if it waits for `p`'s reply; else throws. Writes nothing. */
  replyTarget(p: number, toPid: number): number {
    const k = this.#k;
    const c = k.registry.resolvePid(toPid);
    if (c < 0) throw new IpcError('ProcessNotFound', `caller ${String(toPid)} is gone`);
    if (k.procs.state(c) !== PState.BLOCKED_REPLY || k.procs.get(c, P.REPLY_SERVER) !== p) {
      throw new IpcError('InvalidState', `process ${toPid} is not waiting for a reply from this process`);
    }
    return c;
  }

  /**
   * Caller `c`'s call was delivered to server `r` through `e`: `c` now awaits the reply (its
   * operation, and so its timeout, goes on: the sequence number is the caller's to bump).
   */
  #awaitReply(c: number, r: number, e: number): void {
    const procs = this.#k.procs;
    procs.setState(c, PState.BLOCKED_REPLY);
    procs.set(c, P.CALL_EP, e);
    this.#k.queues.addReplyWaiter(r, c);
  }

  #endReply(p: number, c: number): void {
    this.#k.queues.removeReplyWaiter(c);
    this.#k.procs.set(c, P.CALL_EP, NONE);
    this.#k.priority.recompute(p);
  }
}
