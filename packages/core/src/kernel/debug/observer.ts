import { IPC_ERROR_NUMBERS, IpcError } from '../../contracts/errors.js';
import { MessageFlags, MessageInfo } from '../../contracts/message.js';
import { readSlot, type RegisterSlot } from '../../contracts/register-frame.js';
import { Rights } from '../../contracts/rights.js';
import { Syscall } from '../../contracts/syscall.js';
import type { KernelContext } from '../context.js';
import { PASSIVE } from '../ipc/sync.js';
import { E, H, NONE, ObsFlag, Op, P, PState } from '../records/layout.js';
import { EC, O, PT } from '../records/obs-region.js';
import { KIND_CODE } from './events.js';
import { EventRing, NO_LATENCY } from './ring.js';

const TWO32 = 0x100000000;

/**
 * The one hook of the syscall layer: before a send's commit it runs the endpoint's policy
 * ({@link Policies.check}); after a commit or a failure it writes the kernel event to the
 * audit ring and the message trace, and counts per-endpoint statistics while tracing is on.
 * The syscall layer calls it only when the header's flags word is non-zero (one load and a
 * branch otherwise). Lock held throughout; allocation-free.
 */
export class Observer {
  readonly #k: KernelContext;
  readonly #u32: Uint32Array;
  readonly audit: EventRing;
  readonly trace: EventRing;
  readonly #obs: number;
  readonly #ec: number;
  readonly #pt: number;
  readonly #type: RegisterSlot;
  readonly #sender: RegisterSlot;
  readonly #info: RegisterSlot;
  /** Added to this CPU's clock so every CPU's timestamps agree with CPU 0's. */
  readonly #offset: number;
  // The operation in progress (set by before*, read by after* and failed).
  #flags = 0;
  #e = NONE;
  #peer = NONE;
  #type0 = 0;
  #size = 0;
  #caps = 0;
  #now = 0;

  constructor(k: KernelContext) {
    this.#k = k;
    this.#u32 = k.mm.u32;
    const o = k.mm.obsBase;
    this.#obs = o;
    this.audit = new EventRing(k.i32, k.i32[o + O.AUDIT]!);
    this.trace = new EventRing(k.i32, k.i32[o + O.TRACE]!);
    this.#ec = k.i32[o + O.EPCOUNT]!;
    this.#pt = k.i32[o + O.PROCTRACE]!;
    const L = k.arch.fastPath.layout;
    this.#type = L.type;
    this.#sender = L.sender;
    this.#info = L.info;
    const origin = new Float64Array(k.mm.buffer, (o + O.ORIGIN) * 4, 1)[0]!;
    this.#offset = k.cpu === 0 || k.clock.manual || Number.isNaN(origin) ? 0 : (globalThis.performance.timeOrigin - origin) * 1e6;
  }

  /** Integer ns on the kernel's common time line. */
  now(): number {
    return Math.max(0, Math.floor(this.#k.clock.now() + this.#offset));
  }

  /** Starts an IPC syscall's observation (flags word non-zero). */
  begin(flags: number): void {
    this.#flags = flags;
    this.#e = NONE;
    this.#peer = NONE;
    this.#type0 = this.#size = this.#caps = 0;
    this.#now = this.now();
  }

  /**
   * Before the commit of a send or call of the scratch message by `p`: resolves its endpoint
   * (the same checks the send makes) and runs the endpoint's policy. May throw; writes nothing.
   */
  beforeSend(p: number, pid: number): void {
    const k = this.#k;
    const msg = k.messages;
    const e = k.endpoints.endpointOf(p, msg.endpointHandle, Rights.SEND);
    this.#e = e;
    this.#type0 = readSlot(msg.scratch, this.#type);
    const large = (msg.flags & MessageFlags.LARGE) !== 0;
    this.#size = large ? k.large.outgoingLength(p) : msg.length;
    this.#caps = large ? k.large.outgoingCaps(p) : msg.capCount;
    this.#peer = k.eps.get(e, E.RHEAD);
    if (this.#flags & ObsFlag.POLICY) k.policies.check(p, pid, e, this.#type0, this.#size, this.#now);
  }

  /** After a send or call of `p` committed with status `st`: debit, then the events. */
  afterSend(p: number, op: number, st: number): void {
    const k = this.#k;
    k.policies.commit();
    const { procs } = k;
    const call = op === Op.CALL;
    let dst = NONE;
    if (st === PASSIVE) dst = k.sync.passiveServer;
    else if (call && procs.state(p) === PState.BLOCKED_REPLY) dst = procs.get(p, P.REPLY_SERVER);
    else if (!call && st === 0) dst = this.#peer;
    const tracing = (this.#flags & ObsFlag.TRACE) !== 0;
    const flow = tracing ? this.nextFlow() : 0;
    const callFlow = tracing && call ? this.nextFlow() : 0;
    const t = this.#pt + p * PT.SIZE;
    const u = this.#u32;
    u[t + PT.FLOW] = flow;
    u[t + PT.CALL_FLOW] = callFlow;
    u[t + PT.TS_HI] = Math.floor(this.#now / TWO32);
    u[t + PT.TS_LO] = this.#now >>> 0;
    const ep = k.eps.id(this.#e);
    const src = procs.pid(p);
    const dpid = dst === NONE ? 0 : procs.pid(dst);
    this.#emit(call ? KIND_CODE.call : KIND_CODE.send, 0, src, dpid, ep, flow, callFlow, NO_LATENCY);
    if (tracing) this.#count(this.#e, dst === NONE);
    if (dst !== NONE) this.#emit(KIND_CODE.receive, 0, src, dpid, ep, flow, 0, call ? NO_LATENCY : 0);
  }

  /** After a receive of `p` on `handle` took a queued message (it is in `p`'s frame). */
  afterReceive(p: number, handle: number): void {
    this.received(p, this.#k.endpoints.endpointOf(p, handle, Rights.RECEIVE));
  }

  /** Receiver `p` took a queued message from endpoint `e` (it is in `p`'s frame). */
  received(p: number, e: number): void {
    const k = this.#k;
    const frame = k.mm.frame(p);
    const senderPid = readSlot(frame, this.#sender) + k.procs.get(p, P.SENDER_HI) * TWO32;
    const c = k.registry.resolvePid(senderPid);
    const info = readSlot(frame, this.#info);
    const large = (MessageInfo.flags(info) & MessageFlags.LARGE) !== 0;
    // Called in the middle of a passive reply too: keep that operation's fields.
    const type = this.#type0;
    const size = this.#size;
    const caps = this.#caps;
    this.#type0 = readSlot(frame, this.#type);
    this.#size = large ? k.large.incoming(p, 'length') : MessageInfo.length(info);
    this.#caps = large ? k.large.incoming(p, 'caps') : MessageInfo.capCount(info);
    const isCall = (MessageInfo.flags(info) & MessageFlags.CALL) !== 0;
    let flow = 0;
    let lat = NO_LATENCY;
    if (c >= 0) {
      const t = this.#pt + c * PT.SIZE;
      flow = this.#u32[t + PT.FLOW]!;
      if (!isCall) lat = this.#latency(t);
    }
    this.#emit(KIND_CODE.receive, 0, senderPid, k.procs.pid(p), k.eps.id(e), flow, 0, lat);
    this.#type0 = type;
    this.#size = size;
    this.#caps = caps;
  }

  /** Before `p` replies to caller `toPid`: notes the caller and the reply message. */
  beforeReply(p: number, toPid: number): void {
    const k = this.#k;
    const c = k.registry.resolvePid(toPid);
    this.#peer = c;
    this.#e = c >= 0 ? k.procs.get(c, P.CALL_EP) : NONE;
    // A passive server's caller has no pending-call endpoint: the server serves it.
    if (this.#e === NONE && k.procs.state(p) === PState.PASSIVE) this.#e = k.procs.get(p, P.WAIT_EP);
    const msg = k.messages;
    this.#type0 = readSlot(msg.scratch, this.#type);
    const large = (msg.flags & MessageFlags.LARGE) !== 0;
    this.#size = large ? k.large.outgoingLength(p) : msg.length;
    this.#caps = large ? k.large.outgoingCaps(p) : msg.capCount;
  }

  /** After server `p`'s reply (or reply-error with `status`) reached the caller noted by {@link Observer.beforeReply}. */
  afterReply(p: number, status: number): void {
    const k = this.#k;
    const c = this.#peer;
    if (c < 0) return;
    const t = this.#pt + c * PT.SIZE;
    const ep = this.#e === NONE ? 0 : k.eps.id(this.#e);
    if (status !== 0) this.#type0 = this.#size = this.#caps = 0;
    this.#emit(status === 0 ? KIND_CODE.reply : KIND_CODE['reply-error'], status, k.procs.pid(p), k.procs.pid(c), ep, 0, this.#u32[t + PT.CALL_FLOW]!, this.#latency(t));
    this.#u32[t + PT.CALL_FLOW] = 0;
  }

  /** An IPC syscall `sys` of `p` failed with `err`: the refusal is an event too. */
  failed(p: number, sys: number, err: unknown): void {
    const k = this.#k;
    k.policies.cancel();
    const status = err instanceof IpcError ? err.errno : IPC_ERROR_NUMBERS.InvalidState;
    const kind = sys === Syscall.IpcCall ? KIND_CODE.call : sys === Syscall.IpcSend ? KIND_CODE.send : sys === Syscall.IpcReceive ? KIND_CODE.receive : sys === Syscall.IpcReplyError ? KIND_CODE['reply-error'] : KIND_CODE.reply;
    if (kind === KIND_CODE.receive) this.#type0 = this.#size = this.#caps = 0;
    const e = this.#e;
    const isSend = kind === KIND_CODE.call || kind === KIND_CODE.send;
    const peer = !isSend && this.#peer >= 0 && k.procs.live(this.#peer) ? k.procs.pid(this.#peer) : 0;
    this.#emit(kind, status, k.procs.pid(p), peer, e === NONE ? 0 : k.eps.id(e), 0, 0, NO_LATENCY);
    if (isSend && e !== NONE && this.#flags & ObsFlag.TRACE && err instanceof IpcError && (err.code === 'RateLimited' || err.code === 'Filtered' || err.code === 'ChannelFull')) {
      this.#u32[this.#counters(e) + EC.DROPS]!++;
    }
  }

  /**
   * Process `p`'s blocked operation ends with error `status` without its peer's syscall: the
   * timeout ran out, it or its server was killed, its endpoint closed. Its event is written
   * again with that result (the syscall that blocked recorded `ok`: queued or delivered). Lock
   * held; called before the wait is undone (it reads what `p` waits in).
   */
  ended(p: number, status: number): void {
    const k = this.#k;
    const procs = k.procs;
    const st = procs.state(p);
    let kind: number = KIND_CODE.receive;
    let e = procs.get(p, P.WAIT_EP);
    let dst = 0;
    let type = 0;
    let size = 0;
    let caps = 0;
    if (st === PState.BLOCKED_REPLY) {
      kind = KIND_CODE.call;
      e = procs.get(p, P.CALL_EP);
      const r = procs.get(p, P.REPLY_SERVER);
      if (r !== NONE && procs.live(r)) dst = procs.pid(r);
    } else if (st === PState.BLOCKED_SEND) {
      kind = procs.get(p, P.OP) === Op.CALL ? KIND_CODE.call : KIND_CODE.send;
      // The parked message is still whole in the kernel-owned shadow.
      const shadow = k.mm.shadow(p);
      const info = readSlot(shadow, this.#info);
      type = readSlot(shadow, this.#type);
      const large = (MessageInfo.flags(info) & MessageFlags.LARGE) !== 0;
      size = large ? k.large.outgoingLength(p) : MessageInfo.length(info);
      caps = large ? k.large.outgoingCaps(p) : MessageInfo.capCount(info);
    } else if (st !== PState.BLOCKED_RECV) return;
    this.ringEvent(kind, status, procs.pid(p), dst, e === NONE ? 0 : k.eps.id(e), type, size, caps, 0, NO_LATENCY);
  }

  /** Writes one event to each ring that is on. */
  #emit(kind: number, status: number, src: number, dst: number, ep: number, flow: number, flow2: number, lat: number): void {
    const f = this.#flags;
    const cpu = this.#k.cpu;
    if (f & ObsFlag.AUDIT) this.audit.write(kind, cpu, status, this.#now, src, dst, ep, this.#type0, this.#size, this.#caps, flow, flow2, lat);
    if (f & ObsFlag.TRACE) this.trace.write(kind, cpu, status, this.#now, src, dst, ep, this.#type0, this.#size, this.#caps, flow, flow2, lat);
  }

  #latency(t: number): number {
    const sent = this.#u32[t + PT.TS_HI]! * TWO32 + this.#u32[t + PT.TS_LO]!;
    return Math.min(NO_LATENCY - 1, Math.max(0, this.#now - sent));
  }

  /**
   * A new flow id (never 0). Atomic: the lock-free async paths take theirs outside the lock.
   * The word starts at 1 and wraps from 2^32 − 1 back past 0.
   */
  nextFlow(): number {
    for (;;) {
      const f = Atomics.add(this.#k.i32, this.#obs + O.FLOW, 1) >>> 0;
      if (f !== 0) return f;
    }
  }

  /**
   * Writes one event of an async channel or topic (lock held): `kind` a code of the async kinds,
   * `status` 0 or an error number, `ring` the ring id, `at` its time (0: now). Keeps the fields
   * of any syscall observation of this CPU as they were.
   */
  ringEvent(kind: number, status: number, src: number, dst: number, ring: number, type: number, size: number, caps: number, flow: number, latency: number, at = 0): void {
    const flags = this.#flags;
    const now = this.#now;
    const t0 = this.#type0;
    const s0 = this.#size;
    const c0 = this.#caps;
    this.#flags = Atomics.load(this.#k.i32, H.OBS_FLAGS);
    this.#now = at > 0 ? at : this.now();
    this.#type0 = type;
    this.#size = size;
    this.#caps = caps;
    this.#emit(kind, status, src, dst, ring, flow, 0, latency);
    this.#flags = flags;
    this.#now = now;
    this.#type0 = t0;
    this.#size = s0;
    this.#caps = c0;
  }

  /** Nanoseconds from `sent` (a send time as {@link RingSlots} keeps it: high word mod 2^20) to now, clamped for the trace ring. */
  ringLatency(sent: number): number {
    const span = 2 ** 20 * TWO32;
    const lat = (((this.now() - sent) % span) + span) % span;
    return Math.min(NO_LATENCY - 1, lat);
  }

  /** The counters of endpoint `e`, reset when it is a new incarnation. Returns their word index. */
  #counters(e: number): number {
    const c = this.#ec + e * EC.SIZE;
    const start = this.#k.eps.get(e, E.START);
    if (this.#k.i32[c + EC.START] !== start) {
      this.#k.i32.fill(0, c, c + EC.SIZE);
      this.#k.i32[c + EC.START] = start;
    }
    return c;
  }

  #count(e: number, queued: boolean): void {
    const c = this.#counters(e);
    const u = this.#u32;
    const lo = u[c + EC.BYTES_LO]! + this.#size;
    u[c + EC.BYTES_LO] = lo >>> 0;
    if (lo >= TWO32) u[c + EC.BYTES_HI]!++;
    if (queued) u[c + EC.QUEUED]!++;
  }

  /** Per-endpoint counters of `e` (0s for an endpoint not counted in this incarnation). */
  counters(e: number): { bytes: number; drops: number; queued: number } {
    const c = this.#ec + e * EC.SIZE;
    if (this.#k.i32[c + EC.START] !== this.#k.eps.get(e, E.START)) return { bytes: 0, drops: 0, queued: 0 };
    const u = this.#u32;
    return { bytes: u[c + EC.BYTES_HI]! * TWO32 + u[c + EC.BYTES_LO]!, drops: u[c + EC.DROPS]!, queued: u[c + EC.QUEUED]! };
  }

  /** Turns the message trace on or off (the header flag every CPU reads). */
  setTracing(on: boolean): void {
    // Under the lock: a syscall sees one value of the flags word from its entry to its exit.
    this.#k.withLock(() => {
      if (on) Atomics.or(this.#k.i32, H.OBS_FLAGS, ObsFlag.TRACE);
      else Atomics.and(this.#k.i32, H.OBS_FLAGS, ~ObsFlag.TRACE);
    });
  }
}
