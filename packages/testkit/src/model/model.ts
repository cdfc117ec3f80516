/**
 * A small reference model of the kernel's synchronous IPC and capability semantics: what
 * each syscall must do, which errors it may report, and which blocked operations it
 * completes. It knows nothing of handles' bit layout: handles are whatever the kernel
 * returned, recorded by the runner.
 */
import { MessageFlags, Rights, hasRights, isSubsetOf, type IpcErrorCode } from '@veridian/core';

/** A capability as the model tracks it. */
export interface ModelCap {
  /** Model endpoint index. */
  ep: number;
  /** Endpoint generation the capability was minted for. */
  gen: number;
  rights: number;
  /** The kernel's registry id for the object, as `inspect` reported it when the capability was minted. */
  resource: number;
}

/** A message in flight. */
export interface ModelMessage {
  /** Unique id; also determines the type and the payload bytes. */
  id: number;
  /** Model process index of the sender. */
  from: number;
  /** A call (waits for a reply) rather than a one-way send. */
  call: boolean;
  length: number;
  /** Transferred capabilities as they were when sent. */
  caps: ModelCap[];
}

/** What a model process is blocked in, with the command that blocked it. */
export type ModelWait =
  | { kind: 'idle' }
  | { kind: 'sending'; ep: number; msg: ModelMessage; deadline: number; cmd: number }
  | { kind: 'reply-wait'; server: number; msg: ModelMessage; deadline: number; cmd: number }
  | { kind: 'receiving'; ep: number; deadline: number; cmd: number };

/** A model process. */
export interface ModelProcess {
  /** Capability space: handle → capability. */
  caps: Map<number, ModelCap>;
  /** Handles this process has closed (stale from then on). */
  closed: number[];
  wait: ModelWait;
}

/** A model endpoint. */
export interface ModelEndpoint {
  capacity: number;
  gen: number;
  /** Model process index of the creator (the endpoint closes when that process dies). */
  owner: number;
  /** False once the endpoint closed (its owner was killed); model endpoints are never reused. */
  open: boolean;
  /** Queued senders' messages, in delivery order. */
  queue: ModelMessage[];
  /** Processes waiting in receive, in arrival order. */
  receivers: number[];
}

/** A blocked operation that an event completed. */
export type Completion =
  | { cmd: number; proc: number; kind: 'delivered'; msg: ModelMessage; flags: number }
  | { cmd: number; proc: number; kind: 'replied'; reply: ModelMessage; server: number }
  | { cmd: number; proc: number; kind: 'sent' }
  | { cmd: number; proc: number; kind: 'failed'; code: IpcErrorCode };

/** Who a reply is addressed to: a model process, a pid that names no process, or a live process outside the model. */
export type ReplyTarget = number | 'gone' | 'other';

/** Largest small-message payload and capability count. */
export const SMALL_LIMITS = { bytes: 64, caps: 4 } as const;

/** Model generation of a capability whose endpoint closed (the kernel reports ChannelClosed for it). */
export const CLOSED = 0;

/** Rights of a freshly created endpoint capability. */
export const OWNER_RIGHTS = Rights.SEND | Rights.RECEIVE | Rights.SHARE | Rights.GRANT | Rights.REVOKE;

/** The reference model. */
export class ReferenceModel {
  readonly procs: ModelProcess[];
  readonly endpoints: ModelEndpoint[] = [];
  /** Kernel time (ns). */
  now = 0;
  /** For each process, the processes it holds a process capability with GRANT to (grant authority). */
  readonly authority: Array<Set<number>>;
  /** For each process, process capabilities it holds whose process died (they still take a slot). */
  readonly deadAuthority: number[];

  constructor(
    processCount: number,
    readonly endpointLimit: number,
    readonly capSlots: number,
  ) {
    this.procs = Array.from({ length: processCount }, () => ({ caps: new Map(), closed: [], wait: { kind: 'idle' } }));
    this.authority = Array.from({ length: processCount }, () => new Set<number>());
    this.deadAuthority = Array.from({ length: processCount }, () => 0);
  }

  /** Whether a capability still names its endpoint (the generation did not move on, the endpoint is open). */
  live(cap: ModelCap): boolean {
    const ep = this.endpoints[cap.ep]!;
    return ep.open && ep.gen === cap.gen;
  }

  /**
   * The error of using a capability that is not {@link ReferenceModel.live}: `ChannelClosed` once
   * its endpoint has closed (revoked before or not), `InvalidCapability` for one revoked while
   * the endpoint is open.
   */
  deadCode(cap: ModelCap): IpcErrorCode {
    return this.endpoints[cap.ep]!.open ? 'InvalidCapability' : 'ChannelClosed';
  }

  /** Endpoints open now (the kernel's `stats().endpoints` must match). */
  openEndpoints(): number {
    return this.endpoints.filter((e) => e.open).length;
  }

  /** Free capability slots of process `i`. */
  freeSlots(i: number): number {
    return this.capSlots - this.procs[i]!.caps.size - this.authority[i]!.size - this.deadAuthority[i]!;
  }

  /** Total capabilities held (the kernel's `stats().capabilities` must match). */
  capabilityCount(): number {
    return this.procs.reduce((n, p, i) => n + p.caps.size + this.authority[i]!.size + this.deadAuthority[i]!, 0);
  }

  /** Errors of using handle `h` of process `i` as an endpoint capability that needs `rights`. */
  capErrors(i: number, h: number, rights: number, out = new Set<IpcErrorCode>()): Set<IpcErrorCode> {
    const cap = this.procs[i]!.caps.get(h);
    if (!cap) out.add('InvalidCapability');
    else {
      if (!hasRights(cap.rights, rights)) out.add('PermissionDenied');
      if (!this.live(cap)) out.add(this.deadCode(cap));
    }
    return out;
  }

  // ---------------------------------------------------------------- capability syscalls

  createErrors(i: number): Set<IpcErrorCode> {
    const out = new Set<IpcErrorCode>();
    if (this.openEndpoints() >= this.endpointLimit || this.freeSlots(i) < 1) out.add('OutOfMemory');
    return out;
  }

  applyCreate(i: number, capacity: number, handle: number, resource: number): void {
    const ep = this.endpoints.push({ capacity, gen: 1, owner: i, open: true, queue: [], receivers: [] }) - 1;
    this.procs[i]!.caps.set(handle, { ep, gen: 1, rights: OWNER_RIGHTS, resource });
  }

  deriveErrors(i: number, h: number, rights: number): Set<IpcErrorCode> {
    const out = this.capErrors(i, h, 0);
    const cap = this.procs[i]!.caps.get(h);
    if (cap && !isSubsetOf(rights, cap.rights)) out.add('PermissionDenied');
    if (this.freeSlots(i) < 1) out.add('OutOfMemory');
    return out;
  }

  grantErrors(i: number, h: number, target: number | undefined, rights: number): Set<IpcErrorCode> {
    const out = this.capErrors(i, h, 0);
    const cap = this.procs[i]!.caps.get(h);
    if (cap && !hasRights(cap.rights, Rights.GRANT)) out.add('PermissionDenied');
    if (cap && !isSubsetOf(rights, cap.rights)) out.add('PermissionDenied');
    if (target === undefined) out.add('ProcessNotFound');
    else if (target !== i && !this.authority[i]!.has(target)) out.add('PermissionDenied');
    else if (this.freeSlots(target) < 1) out.add('OutOfMemory');
    return out;
  }

  /** A derived or granted capability: the parent's object and generation with `rights`. */
  applyMint(i: number, h: number, target: number, rights: number, handle: number): void {
    const parent = this.procs[i]!.caps.get(h)!;
    this.procs[target]!.caps.set(handle, { ...parent, rights });
  }

  revokeErrors(i: number, h: number): Set<IpcErrorCode> {
    return this.capErrors(i, h, Rights.REVOKE);
  }

  /** Bumps the generation; only the revoker's own capability follows it. */
  applyRevoke(i: number, h: number, resource: number): void {
    const cap = this.procs[i]!.caps.get(h)!;
    const ep = this.endpoints[cap.ep]!;
    ep.gen++;
    cap.gen = ep.gen;
    cap.resource = resource;
  }

  closeErrors(i: number, h: number): Set<IpcErrorCode> {
    const out = new Set<IpcErrorCode>();
    if (!this.procs[i]!.caps.has(h)) out.add('InvalidCapability');
    return out;
  }

  applyClose(i: number, h: number): void {
    this.procs[i]!.caps.delete(h);
    this.procs[i]!.closed.push(h);
  }

  // ---------------------------------------------------------------- message syscalls

  /** Errors of the capabilities a message would carry (each must be live and have SHARE). */
  transferErrors(i: number, caps: readonly number[], out: Set<IpcErrorCode>): void {
    for (const h of caps) {
      const cap = this.procs[i]!.caps.get(h);
      if (!cap) out.add('InvalidCapability');
      else if (!this.live(cap)) out.add(this.deadCode(cap));
      else if (!hasRights(cap.rights, Rights.SHARE)) out.add('PermissionDenied');
    }
  }

  sendErrors(i: number, h: number, length: number, caps: readonly number[]): Set<IpcErrorCode> {
    const out = new Set<IpcErrorCode>();
    if (length > SMALL_LIMITS.bytes || caps.length > SMALL_LIMITS.caps) out.add('MessageTooLarge');
    this.capErrors(i, h, Rights.SEND, out);
    this.transferErrors(i, caps, out);
    const cap = this.procs[i]!.caps.get(h);
    if (cap && out.size === 0) {
      const ep = this.endpoints[cap.ep]!;
      if (ep.receivers.length > 0) {
        if (this.freeSlots(ep.receivers[0]!) < caps.length) out.add('OutOfMemory');
      } else if (ep.queue.length >= ep.capacity) out.add('ChannelFull');
    }
    return out;
  }

  /**
   * A call or send that passed every check: hands the message to the first waiting receiver,
   * or queues it. Returns the completions (the receiver's receive; a send's own completion).
   */
  applySend(i: number, cmd: number, h: number, msg: ModelMessage, deadline: number): Completion[] {
    const done: Completion[] = [];
    const epIndex = this.procs[i]!.caps.get(h)!.ep;
    const ep = this.endpoints[epIndex]!;
    const r = ep.receivers.shift();
    if (r !== undefined) {
      const rw = this.procs[r]!.wait as Extract<ModelWait, { kind: 'receiving' }>;
      done.push({ cmd: rw.cmd, proc: r, kind: 'delivered', msg, flags: msg.call ? MessageFlags.CALL : 0 });
      this.procs[r]!.wait = { kind: 'idle' };
      if (msg.call) this.procs[i]!.wait = { kind: 'reply-wait', server: r, msg, deadline, cmd };
      else done.push({ cmd, proc: i, kind: 'sent' });
    } else {
      ep.queue.push(msg);
      this.procs[i]!.wait = { kind: 'sending', ep: epIndex, msg, deadline, cmd };
    }
    return done;
  }

  receiveErrors(i: number, h: number): Set<IpcErrorCode> {
    const out = this.capErrors(i, h, Rights.RECEIVE);
    const cap = this.procs[i]!.caps.get(h);
    if (cap && out.size === 0) {
      const head = this.endpoints[cap.ep]!.queue[0];
      if (head && this.freeSlots(i) < head.caps.length) out.add('OutOfMemory');
    }
    return out;
  }

  /** A receive that passed every check: takes the head of the queue, or waits. */
  applyReceive(i: number, cmd: number, h: number, deadline: number): Completion[] {
    const done: Completion[] = [];
    const epIndex = this.procs[i]!.caps.get(h)!.ep;
    const ep = this.endpoints[epIndex]!;
    const msg = ep.queue.shift();
    if (!msg) {
      ep.receivers.push(i);
      this.procs[i]!.wait = { kind: 'receiving', ep: epIndex, deadline, cmd };
      return done;
    }
    done.push({ cmd, proc: i, kind: 'delivered', msg, flags: msg.call ? MessageFlags.CALL : 0 });
    const sender = this.procs[msg.from]!;
    const sw = sender.wait as Extract<ModelWait, { kind: 'sending' }>;
    if (msg.call) sender.wait = { kind: 'reply-wait', server: i, msg, deadline: sw.deadline, cmd: sw.cmd };
    else {
      done.push({ cmd: sw.cmd, proc: msg.from, kind: 'sent' });
      sender.wait = { kind: 'idle' };
    }
    return done;
  }

  /**
   * Errors of replying from `i` to `target`: a model process index, `'gone'` (a pid that names
   * no process) or `'other'` (a live process outside the model, never waiting on `i`).
   */
  replyErrors(i: number, target: ReplyTarget, length: number, caps: readonly number[]): Set<IpcErrorCode> {
    const out = new Set<IpcErrorCode>();
    if (length > SMALL_LIMITS.bytes || caps.length > SMALL_LIMITS.caps) out.add('MessageTooLarge');
    this.replyTargetErrors(i, target, out);
    this.transferErrors(i, caps, out);
    if (typeof target === 'number' && out.size === 0 && this.freeSlots(target) < caps.length) out.add('OutOfMemory');
    return out;
  }

  /** Errors of naming `target` as the caller to answer. */
  replyTargetErrors(i: number, target: ReplyTarget, out = new Set<IpcErrorCode>()): Set<IpcErrorCode> {
    if (target === 'gone') out.add('ProcessNotFound');
    else if (target === 'other') out.add('InvalidState');
    else {
      const w = this.procs[target]!.wait;
      if (w.kind !== 'reply-wait' || w.server !== i) out.add('InvalidState');
    }
    return out;
  }

  /** A reply (or, with `code`, an error reply) that passed every check. */
  applyReply(i: number, target: number, reply: ModelMessage | IpcErrorCode): Completion[] {
    const w = this.procs[target]!.wait as Extract<ModelWait, { kind: 'reply-wait' }>;
    this.procs[target]!.wait = { kind: 'idle' };
    return [typeof reply === 'string' ? { cmd: w.cmd, proc: target, kind: 'failed', code: reply } : { cmd: w.cmd, proc: target, kind: 'replied', reply, server: i }];
  }

  /** Advances time: every blocked operation whose deadline has come fails with Timeout and leaves nothing behind. */
  tick(ns: number): Completion[] {
    this.now += ns;
    const done: Completion[] = [];
    this.procs.forEach((p, i) => {
      const w = p.wait;
      if (w.kind === 'idle' || w.deadline > this.now) return;
      if (w.kind === 'sending') {
        const q = this.endpoints[w.ep]!.queue;
        q.splice(q.indexOf(w.msg), 1);
      } else if (w.kind === 'receiving') {
        const rs = this.endpoints[w.ep]!.receivers;
        rs.splice(rs.indexOf(i), 1);
      }
      p.wait = { kind: 'idle' };
      done.push({ cmd: w.cmd, proc: i, kind: 'failed', code: 'Timeout' });
    });
    return done;
  }

  /**
   * Process `k` is killed: its own blocked operation vanishes (a queued message is dropped, a
   * waiting receiver leaves its queue), callers awaiting its reply fail with ChannelClosed, its
   * endpoints close (queued senders and waiting receivers fail with ChannelClosed, every live
   * capability to them reports ChannelClosed from then on), and its capabilities go. The slot
   * is then empty and idle, ready for the process that replaces it. Returns the completions of
   * the other processes' operations; the victim's own pending command is the caller's to settle.
   */
  kill(k: number): Completion[] {
    const done: Completion[] = [];
    const victim = this.procs[k]!;
    const w = victim.wait;
    if (w.kind === 'sending') {
      const q = this.endpoints[w.ep]!.queue;
      q.splice(q.indexOf(w.msg), 1);
    } else if (w.kind === 'receiving') {
      const rs = this.endpoints[w.ep]!.receivers;
      rs.splice(rs.indexOf(k), 1);
    }
    victim.wait = { kind: 'idle' };
    this.procs.forEach((p, i) => {
      if (p.wait.kind === 'reply-wait' && p.wait.server === k) {
        done.push({ cmd: p.wait.cmd, proc: i, kind: 'failed', code: 'ChannelClosed' });
        p.wait = { kind: 'idle' };
      }
    });
    for (const [e, ep] of this.endpoints.entries()) {
      if (!ep.open || ep.owner !== k) continue;
      for (const m of ep.queue) {
        const sw = this.procs[m.from]!.wait as Extract<ModelWait, { kind: 'sending' }>;
        done.push({ cmd: sw.cmd, proc: m.from, kind: 'failed', code: 'ChannelClosed' });
        this.procs[m.from]!.wait = { kind: 'idle' };
      }
      for (const r of ep.receivers) {
        const rw = this.procs[r]!.wait as Extract<ModelWait, { kind: 'receiving' }>;
        done.push({ cmd: rw.cmd, proc: r, kind: 'failed', code: 'ChannelClosed' });
        this.procs[r]!.wait = { kind: 'idle' };
      }
      ep.queue = [];
      ep.receivers = [];
      ep.open = false;
      for (const p of this.procs) for (const cap of p.caps.values()) if (cap.ep === e && cap.gen === ep.gen) cap.gen = CLOSED;
    }
    victim.caps.clear();
    victim.closed = [];
    // Its space is emptied; capabilities others hold to it die but keep their slots.
    this.authority[k]!.clear();
    this.deadAuthority[k] = 0;
    this.authority.forEach((a, i) => {
      if (a.delete(k)) this.deadAuthority[i]!++;
    });
    return done;
  }

  /** Model invariants that hold after every step (capacity bound, queue/wait agreement). */
  checkInvariants(): string | undefined {
    for (const [e, ep] of this.endpoints.entries()) {
      if (!ep.open && (ep.queue.length > 0 || ep.receivers.length > 0)) return `closed endpoint ${e} still has waiters`;
      if (ep.queue.length > ep.capacity) return `endpoint ${e} holds ${ep.queue.length} > capacity ${ep.capacity}`;
      if (ep.queue.length > 0 && ep.receivers.length > 0) return `endpoint ${e} has both queued messages and waiting receivers`;
      for (const m of ep.queue) {
        const w = this.procs[m.from]!.wait;
        if (w.kind !== 'sending' || w.msg !== m) return `message ${m.id} queued on endpoint ${e} but its sender is not waiting for it`;
      }
    }
    return undefined;
  }
}
