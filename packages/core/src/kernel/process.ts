import type { Capability, CapHandle } from '../contracts/capability.js';
import { IpcError, type IpcErrorCode } from '../contracts/errors.js';
import type { FastPathAbi } from '../contracts/fast-path.js';
import { createMessageBuffer, type MessageBuffer, type SmallMessage } from '../contracts/message.js';
import type { RegisterFrame } from '../contracts/register-frame.js';
import { Syscall } from '../contracts/syscall.js';
import { checkErrorCode, checkHandle, checkInt, checkMessageBuffer, checkPid, checkRights, rejected } from './args.js';
import { endpointConfig } from './kernel-options.js';
import { ProcessEntry } from './process-entry.js';
import type { KernelContext } from './context.js';
import type { BlockingOptions, EndpointOptions } from './kernel-types.js';
import { BLOCKED, PASSIVE } from './ipc/sync.js';
import { ProcessValidator } from './process-validate.js';
import { serveLoop } from './serve-loop.js';
import { runPassiveHandler } from './passive-call.js';
import { checkPolicy, type EndpointPolicy } from './policy/config.js';
import { checkName } from './records/names.js';
import { P } from './records/layout.js';
import { MainCpu } from './sched/main-cpu.js';
import { KILLED, type CpuRuntime } from './sched/worker-cpu.js';
import type { Syscalls } from './syscall.js';
import { AsyncChannel, channelSpec, type ChannelOptions } from './async-channel.js';
import { asyncOwner, type AsyncOwner } from './async-handle.js';
import { ProcessMemory } from './memory-handle.js';
import { Topic, topicSpec, type TopicOptions } from './topic-handle.js';

/**
 * A process as its own code sees it: one thread of control holding capability handles.
 * Every method is a system call; a small message travels through the arch's register frame
 * (`arch.fastPath`). A process has at most one blocking operation at a time. Every argument is
 * checked (also from plain JavaScript): a bad one is `InvalidArgument` and changes nothing.
 *
 * Buffers returned by {@link Process.call} and {@link Process.receive} are reused: read them
 * before the next call or receive.
 *
 * @example
 * ```ts
 * kernel.spawn({ name: 'client' }, async (proc) => {
 *   const echo = proc.connect('echo');
 *   const reply = await proc.call(echo, { type: 1, data: new TextEncoder().encode('hi') });
 *   console.log(reply.sender, reply.bytes.subarray(0, reply.length));
 * });
 * ```
 */
export class Process {
  /** Process id (unique while alive; a stale pid never names a new process). */
  readonly pid: number;
  /** Process name. */
  readonly name: string;
  /** The CPU this process runs on (0 = the thread that created the kernel). */
  readonly cpu: number;
  /** This process's register frame in machine memory. */
  readonly frame: RegisterFrame;
  readonly #k: KernelContext;
  readonly #sys: Syscalls;
  readonly #rt: CpuRuntime;
  readonly #p: number;
  readonly #fp: FastPathAbi;
  readonly #callBuf: MessageBuffer = createMessageBuffer();
  readonly #recvBuf: MessageBuffer = createMessageBuffer();
  readonly #passiveDone: Promise<MessageBuffer> = Promise.resolve(this.#callBuf);
  readonly #check: ProcessValidator;
  readonly #in: ProcessEntry;

  /** @internal */
  constructor(rt: CpuRuntime, sys: Syscalls, p: number) {
    this.#rt = rt;
    this.#k = rt.k;
    this.#sys = sys;
    this.#p = p;
    this.pid = rt.k.procs.pid(p);
    this.name = rt.k.processes.name(p);
    this.cpu = rt.k.procs.get(p, P.CPU);
    this.frame = rt.k.mm.frame(p);
    this.#fp = rt.k.arch.fastPath;
    this.#check = new ProcessValidator(rt.k, p);
    this.#in = new ProcessEntry(rt, sys, p, this.pid, this.frame);
  }

  /** @internal Decodes a message delivered to this process (the CPU's receive path). */
  receiveInto(buf: MessageBuffer): void {
    this.#check.receiveInto(checkMessageBuffer(buf));
  }

  /** True while the process exists. */
  get alive(): boolean {
    return this.#k.registry.resolvePid(this.pid) === this.#p;
  }

  /** Current effective priority (raised by priority inheritance while serving). */
  get priority(): number {
    return this.#k.procs.get(this.#p, P.EFF);
  }

  /** Base priority. */
  get basePriority(): number {
    return this.#k.procs.get(this.#p, P.PRIO);
  }

  // ---------------------------------------------------------------- capabilities and registry

  /** Creates an endpoint owned by this process; returns a handle with every right. It closes when this process exits. */
  createEndpoint(options?: EndpointOptions): CapHandle {
    const spec = endpointConfig(options);
    return this.#sys.createEndpoint(this.#p, this.pid, spec);
  }

  /** A SEND capability to the endpoint registered as `name`; `NotFound` if none. */
  connect(name: string): CapHandle {
    return this.#sys.connect(this.#p, this.pid, checkName(name, 'name'));
  }

  /** Derives a capability with a subset of `handle`'s rights into this process's own space. */
  derive(handle: CapHandle, rights: number): CapHandle {
    return this.#sys.derive(this.#p, this.pid, checkHandle(handle), checkRights(rights));
  }

  /**
   * Mints a capability with `rights` ⊆ own into process `toPid` (needs GRANT on `handle`);
   * returns the handle in the target's space. Into another process only with authority over
   * it: this process must hold a capability to that process carrying GRANT (from
   * {@link Kernel.processCapability}, or received in a message) — else `PermissionDenied`, so
   * no process can fill another's capability space.
   */
  grant(handle: CapHandle, toPid: number, rights: number): CapHandle {
    return this.#sys.grant(this.#p, this.pid, checkHandle(handle), checkPid(toPid, 'toPid'), checkRights(rights));
  }

  /** Revokes every capability to the object (needs REVOKE); this handle stays valid. */
  revoke(handle: CapHandle): void {
    this.#sys.revoke(this.#p, this.pid, checkHandle(handle));
  }

  /** Drops a capability from this process's space. */
  close(handle: CapHandle): void {
    this.#sys.close(this.#p, this.pid, checkHandle(handle));
  }

  /**
   * Sets the security policy of endpoint, async channel or topic `ep` (needs RECEIVE), or clears
   * it with `null`: a per-sender rate limit and a message filter ({@link EndpointPolicy}). A
   * message it refuses fails with `RateLimited` or `Filtered` and changes nothing else.
   *
   * @example
   * ```ts
   * proc.setPolicy(ep, { rate: { messagesPerSecond: 100, bytesPerSecond: 64_000 }, filter: { types: [1, 2], maxSize: 64 } });
   * ```
   */
  setPolicy(ep: CapHandle, policy: EndpointPolicy | null): void {
    this.#sys.setPolicy(this.#p, this.pid, checkHandle(ep, 'ep'), checkPolicy(policy));
  }

  /** Reads the capability a handle names. Throws `InvalidCapability` for a bad handle. */
  inspect(handle: CapHandle): Capability {
    return this.#sys.inspect(this.#p, this.pid, checkHandle(handle));
  }

  /**
   * O(1) check that `handle` names a live endpoint capability with `rights`; no exception,
   * no allocation (the registry-lookup hot path).
   */
  validate(handle: CapHandle, rights: number): boolean {
    return this.#check.validate(handle, rights);
  }

  // ---------------------------------------------------------------- synchronous IPC

  /**
   * Calls the server behind channel capability `ch` (needs SEND) and waits for its reply.
   * Resolves with this process's reply buffer. Rejects with `ChannelFull`, `Timeout`,
   * `ChannelClosed`, `InvalidCapability`, `PermissionDenied`, `MessageTooLarge`, ….
   * A call to a passive server ({@link Process.serve}) on this CPU runs its handler directly.
   */
  call(ch: CapHandle, request: SmallMessage, options?: BlockingOptions): Promise<MessageBuffer> {
    try {
      if (this.#rt.synchronous) return Promise.resolve(this.callSync(ch, request, options));
      const st = this.#in.enter(Syscall.IpcCall, ch, request, options, 0);
      // The reply is always this process's call buffer: one promise resolved to it serves every passive call.
      if (st === PASSIVE) return (this.#runPassive(), this.#passiveDone);
      return this.#rt.blockAsync(this.#p, this.#sys.timeoutNs, this.#callBuf) as Promise<MessageBuffer>;
    } catch (e) {
      return rejected(e);
    }
  }

  /**
   * {@link Process.call} without a promise: blocks the thread until the reply. On a worker CPU
   * always; on CPU 0 (the main thread, as synckit does) when the server can answer without that
   * thread — a passive server on CPU 0 ({@link Process.serve}: no wait at all) or a server on a
   * worker CPU; a call to any other CPU-0 server is refused with `InvalidState` (it would wait
   * forever), before anything is sent. While a CPU-0 `callSync` waits, no other CPU-0 process runs.
   *
   * @example
   * ```ts
   * kernel.spawn({ name: 'client' }, (proc) => {
   *   const r = proc.callSync(proc.connect('kv'), { type: 1, data: key }); // no await
   *   console.log(r.bytes.subarray(0, r.length));
   * });
   * ```
   */
  callSync(ch: CapHandle, request: SmallMessage, options?: BlockingOptions): MessageBuffer {
    const st = this.#in.enter(Syscall.IpcCall, ch, request, options, 0, true);
    if (st === PASSIVE) return this.#runPassive();
    return this.#finish(st === BLOCKED ? this.#rt.blockSync(this.#p, this.#sys.timeoutNs) : st, this.#callBuf);
  }

  /** Sends a one-way message (needs SEND); resolves once a receiver has taken it. */
  send(ch: CapHandle, message: SmallMessage, options?: BlockingOptions): Promise<void> {
    try {
      if (this.#in.enter(Syscall.IpcSend, ch, message, options, 0) !== BLOCKED) return Promise.resolve();
      if (this.#rt.synchronous) {
        this.#status(this.#rt.blockSync(this.#p, this.#sys.timeoutNs));
        return Promise.resolve();
      }
      return this.#rt.blockAsync(this.#p, this.#sys.timeoutNs, null) as Promise<undefined>;
    } catch (e) {
      return rejected(e);
    }
  }

  /**
   * Waits for the next message on endpoint `ep` (needs RECEIVE). Resolves with this process's
   * receive buffer; `sender` is the true sender's pid, `caps` the transferred capabilities
   * (already in this process's space). A call must be answered with {@link Process.reply}.
   */
  receive(ep: CapHandle, options?: BlockingOptions): Promise<MessageBuffer> {
    try {
      if (this.#rt.synchronous) return Promise.resolve(this.receiveSync(ep, options));
      return this.#afterReceive(this.#in.receive(ep, options));
    } catch (e) {
      return rejected(e);
    }
  }

  /** Worker CPUs only: {@link Process.receive} without a promise. */
  receiveSync(ep: CapHandle, options?: BlockingOptions): MessageBuffer {
    this.#requireSync();
    const st = this.#in.receive(ep, options);
    return this.#finish(st === BLOCKED ? this.#rt.blockSync(this.#p, this.#sys.timeoutNs) : st, this.#recvBuf);
  }

  /**
   * Replies to the pending call of process `to` (the `sender` of a received call). One-shot:
   * a second reply, or a reply to a process not waiting on this one, is `InvalidState`; a
   * caller that has exited is `ProcessNotFound`.
   */
  reply(to: number, response: SmallMessage): void {
    this.#in.enter(Syscall.IpcReply, 0, response, undefined, checkPid(to, 'to'));
  }

  /** Fails the pending call of process `to` with `code` (its `call` rejects with that `IpcError`). One-shot, like {@link Process.reply}. */
  replyError(to: number, code: IpcErrorCode): void {
    const status = checkErrorCode(code);
    this.#in.replyError(checkPid(to, 'to'), status);
  }

  /**
   * Replies to `to` and waits for the next message on `ep` in one kernel entry (seL4's
   * ReplyRecv): the server's loop takes the kernel once per request instead of twice. If the
   * reply fails nothing is received; if the receive fails the reply has still been delivered.
   */
  replyReceive(to: number, response: SmallMessage, ep: CapHandle, options?: BlockingOptions): Promise<MessageBuffer> {
    try {
      if (this.#rt.synchronous) return Promise.resolve(this.replyReceiveSync(to, response, ep, options));
      return this.#afterReceive(this.#in.enter(Syscall.IpcReplyReceive, checkHandle(ep, 'ep'), response, options, checkPid(to, 'to')));
    } catch (e) {
      return rejected(e);
    }
  }

  /** Worker CPUs only: {@link Process.replyReceive} without a promise. */
  replyReceiveSync(to: number, response: SmallMessage, ep: CapHandle, options?: BlockingOptions): MessageBuffer {
    this.#requireSync();
    const st = this.#in.enter(Syscall.IpcReplyReceive, checkHandle(ep, 'ep'), response, options, checkPid(to, 'to'));
    return this.#finish(st === BLOCKED ? this.#rt.blockSync(this.#p, this.#sys.timeoutNs) : st, this.#recvBuf);
  }

  /**
   * Serves endpoint `ep` with a synchronous `handler` until the endpoint closes: each call's
   * response is what `handler` returns (throw an `IpcError` to fail the call with its code).
   * On the kernel's own CPU the process becomes a passive server: a call from the same CPU
   * while it waits runs `handler` at once on the caller's time — the direct switch — with the
   * kernel lock released, so the handler may make non-blocking syscalls (`inspect`, `derive`,
   * `connect`, `close`, `kernel.spawn`, …). Calls from other CPUs queue and are served in turn.
   * A caller that gives up or dies while its call is handled never stops the server. Resolves
   * when the endpoint is closed.
   */
  async serve(ep: CapHandle, handler: (request: MessageBuffer) => SmallMessage): Promise<void> {
    checkHandle(ep, 'ep');
    if (typeof handler !== 'function') throw new IpcError('InvalidArgument', 'handler must be a function');
    const rt = this.#rt;
    const passive = rt instanceof MainCpu;
    if (passive) rt.setPassive(this.#p, this.#sys.receiveEndpoint(this.#p, this.pid, ep), handler, createMessageBuffer());
    try {
      await serveLoop({ receive: (e) => this.receive(e), replyReceive: (to, r, e) => this.replyReceive(to, r, e), replyError: (to, code) => this.#tryReplyError(to, code), dying: () => this.#dying() }, ep, handler);
    } finally {
      if (passive) rt.clearPassive(this.#p);
    }
  }

  /** Lets other ready processes of this CPU run (priority order). */
  yield(): Promise<void> {
    return this.#rt.yield(this.#p);
  }

  /** Sleeps `ns` nanoseconds of kernel time. */
  sleep(ns: number): Promise<void> {
    try {
      return this.#rt.sleep(this.#p, checkInt(Math.ceil(typeof ns === 'number' ? ns : NaN), 'ns', 0, Number.MAX_SAFE_INTEGER));
    } catch (e) {
      return rejected(e);
    }
  }

  // ---------------------------------------------------------------- async channels and topics

  /** Creates an async channel (a lock-free ring) owned by this process; returns a handle with every right. See {@link AsyncChannel}. */
  createChannel(options: ChannelOptions): CapHandle {
    return this.#asyncOwner().sys.create(this.#p, this.pid, channelSpec(options, this.#k.mm.ringSlots));
  }

  /** The {@link AsyncChannel} a channel capability names (`InvalidCapability` otherwise). */
  channel(handle: CapHandle): AsyncChannel {
    return new AsyncChannel(this.#asyncOwner(), handle);
  }

  /** Creates a multicast topic owned by this process; returns a handle with every right. See {@link Topic}. */
  createTopic(options?: TopicOptions): CapHandle {
    return this.#asyncOwner().sys.create(this.#p, this.pid, topicSpec(options, this.#k.mm.ringSlots));
  }

  #memory: ProcessMemory | undefined;
  /** This process's memory: map, read, write, zero-copy views, buffers for messages (see {@link ProcessMemory}). */
  get memory(): ProcessMemory {
    return (this.#memory ??= new ProcessMemory(this.#k, this.#p, this.pid));
  }

  /** The {@link Topic} a topic capability names (`InvalidCapability` otherwise). */
  topic(handle: CapHandle): Topic {
    return new Topic(this.#asyncOwner(), handle);
  }

  #async: AsyncOwner | undefined;
  #asyncOwner(): AsyncOwner {
    return (this.#async ??= asyncOwner(this.#k, this.#p, this.pid, this.#rt.synchronous));
  }

  // ---------------------------------------------------------------- internals

  /** Runs the handler of the passive server that took this process's call; returns the reply. */
  #runPassive(): MessageBuffer {
    const buf = this.#callBuf;
    runPassiveHandler(this.#k, this.#sys, this.#rt as MainCpu, this.#fp, buf);
    this.#check.largePart(buf);
    return buf;
  }

  #tryReplyError(to: number, code: IpcErrorCode): void {
    try {
      this.replyError(to, code);
    } catch (err) {
      if (!(err instanceof IpcError) || this.#dying()) throw err;
    }
  }

  /** True when this process was killed or has exited (its own errors must not be swallowed). */
  #dying(): boolean {
    return !this.alive || Atomics.load(this.#k.i32, this.#k.procs.word(this.#p, P.KILL)) !== 0;
  }

  #afterReceive(st: number): Promise<MessageBuffer> {
    if (st !== BLOCKED) return Promise.resolve(this.#finish(st, this.#recvBuf));
    return this.#rt.blockAsync(this.#p, this.#sys.timeoutNs, this.#recvBuf) as Promise<MessageBuffer>;
  }

  #status(status: number): void {
    if (status === 0) return;
    if (status === KILLED) throw new IpcError('ProcessNotFound', `process ${this.pid} was killed`);
    throw IpcError.fromStatus(status);
  }

  #finish(status: number, buf: MessageBuffer): MessageBuffer {
    this.#status(status);
    this.#check.receiveInto(buf);
    return buf;
  }

  #requireSync(): void {
    if (!this.#rt.synchronous) throw new IpcError('InvalidState', 'synchronous calls are only available on worker CPUs');
  }
}
