import { ObjectKind, type Capability, type CapHandle } from '../contracts/capability.js';
import { IPC_ERROR_NUMBERS, IpcError, type IpcErrorCode } from '../contracts/errors.js';
import type { FastPathAbi } from '../contracts/fast-path.js';
import { MAX_LARGE_CAPS, MAX_LARGE_DATA, MessageFlags, MessageInfo, createMessageBuffer, isLargeMessage, type MessageBuffer, type SmallMessage } from '../contracts/message.js';
import { writeSlot } from '../contracts/register-frame.js';
import type { RegisterFrame } from '../contracts/register-frame.js';
import { Rights } from '../contracts/rights.js';
import { Syscall } from '../contracts/syscall.js';
import { BLOCKED, KILLED, type KernelCore } from './kernel-core.js';
import { EState, HANDLE_INDEX_BITS, HANDLE_INDEX_MASK, Op, P, PState, S } from './layout.js';
import { MainCpu, type CpuRuntime } from './main-cpu.js';

const EMPTY = new Uint8Array(0);

/** Reply failures that are the reply's own fault: {@link Process.serve} fails the call with them. */
const UNDELIVERABLE_REPLY: ReadonlySet<string> = new Set(['MessageTooLarge', 'PermissionDenied', 'InvalidCapability', 'OutOfMemory', 'InvalidArgument']);

/** Options of {@link Process.createEndpoint}. */
export interface EndpointOptions {
  /** Registers the endpoint under this name (1–32 bytes), so others can {@link Process.connect}. */
  name?: string;
  /** Callers that may wait in the queue before further callers get `ChannelFull` (default 64). */
  capacity?: number;
  /** Default call timeout in nanoseconds for calls on this endpoint (0 = none). */
  timeout?: number;
  /**
   * Register messages only (the fast-path endpoint type): a message over 64 bytes or 4
   * capabilities sent to it, or replied through it, is `MessageTooLarge` instead of travelling
   * as a large message.
   */
  registerOnly?: boolean;
}

/** Options of a blocking operation. */
export interface BlockingOptions {
  /** Give up after this many nanoseconds of kernel time with `Timeout` (0 or absent = the endpoint's default, else wait forever). */
  timeout?: number;
}

/**
 * A process as its own code sees it: one thread of control holding capability handles.
 * Every method is a system call; a small message travels through the arch's register
 * frame (`arch.fastPath`). A process has at most one blocking operation at a time.
 *
 * Buffers returned by {@link Process.call} and {@link Process.receive} are reused: read
 * them before the next call or receive.
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
  readonly #core: KernelCore;
  readonly #rt: CpuRuntime;
  readonly #p: number;
  readonly #fp: FastPathAbi;
  readonly #callBuf: MessageBuffer = createMessageBuffer();
  readonly #recvBuf: MessageBuffer = createMessageBuffer();
  #timeoutNs = 0;
  #replyTo = 0;
  readonly #i32: Int32Array;
  readonly #slots: number;
  readonly #nslots: number;
  readonly #regBase: number;

  /** @internal */
  constructor(rt: CpuRuntime, p: number) {
    this.#rt = rt;
    this.#core = rt.core;
    this.#p = p;
    this.pid = rt.core.pidOf(p);
    this.name = rt.core.processName(p);
    this.cpu = rt.core.i32[rt.core.mm.proc(p) + P.CPU]!;
    this.frame = rt.core.mm.frame(p);
    this.#fp = rt.core.arch.fastPath;
    this.#i32 = rt.core.i32;
    this.#slots = rt.core.mm.slot(p, 0);
    this.#nslots = rt.core.mm.nslots;
    this.#regBase = rt.core.mm.regBase;
  }

  /** True while the process exists. */
  get alive(): boolean {
    return this.#core.resolvePid(this.pid) === this.#p;
  }

  /** Current effective priority (raised by priority inheritance while serving). */
  get priority(): number {
    return this.#core.i32[this.#core.mm.proc(this.#p) + P.EFF]!;
  }

  /** Base priority. */
  get basePriority(): number {
    return this.#core.i32[this.#core.mm.proc(this.#p) + P.PRIO]!;
  }

  // ---------------------------------------------------------------- capabilities and registry

  /** Creates an endpoint owned by this process; returns a handle with every right. It closes when this process exits. */
  createEndpoint(options: EndpointOptions = {}): CapHandle {
    return this.#locked(() => this.#core.createEndpoint(this.#p, options.name, options.capacity ?? 64, options.timeout ?? 0, options.registerOnly ?? false));
  }

  /** A SEND capability to the endpoint registered as `name`; `NotFound` if none. */
  connect(name: string): CapHandle {
    return this.#locked(() => {
      const e = this.#core.findNamed(name);
      if (e < 0) throw new IpcError('NotFound', `no endpoint named "${name}"`);
      return this.#core.caps.insert(this.#p, ObjectKind.Endpoint, e, this.#core.mm.epGen(e), 0x01);
    });
  }

  /** Derives a capability with a subset of `handle`'s rights into this process's own space. */
  derive(handle: CapHandle, rights: number): CapHandle {
    return this.#locked(() => this.#core.derive(this.#p, handle, rights));
  }

  /** Mints a capability with `rights` ⊆ own into process `toPid` (needs GRANT); returns the handle in its space. */
  grant(handle: CapHandle, toPid: number, rights: number): CapHandle {
    return this.#locked(() => this.#core.grant(this.#p, handle, toPid, rights));
  }

  /** Revokes every capability to the object (needs REVOKE); this handle stays valid. */
  revoke(handle: CapHandle): void {
    this.#locked(() => this.#core.revoke(this.#p, handle));
  }

  /** Drops a capability from this process's space. */
  close(handle: CapHandle): void {
    this.#locked(() => this.#core.closeHandle(this.#p, handle));
  }

  /** Reads the capability a handle names. Throws `InvalidCapability` for a bad handle. */
  inspect(handle: CapHandle): Capability {
    return this.#locked(() => {
      const core = this.#core;
      const s = core.caps.find(this.#p, handle);
      if (s < 0) throw new IpcError('InvalidCapability', 'no such handle');
      const i32 = core.i32;
      return {
        token: core.caps.token(s),
        permissions: i32[s + S.RIGHTS]!,
        resource: i32[s + S.GEN]! * 0x10000 + i32[s + S.OBJ]!,
        generation: i32[s + S.GEN]!,
        kind: i32[s + S.KIND]! as Capability['kind'],
      };
    });
  }

  /**
   * O(1) check that `handle` names a live endpoint capability with `rights`; no exception,
   * no allocation (the registry-lookup hot path).
   */
  validate(handle: CapHandle, rights: number): boolean {
    // The same checks as the kernel's capability lookup, inlined: this is the hot path.
    const index = handle & HANDLE_INDEX_MASK;
    const tag = handle >>> HANDLE_INDEX_BITS;
    if (index >= this.#nslots || tag === 0) return false;
    const i32 = this.#i32;
    const s = this.#slots + index * S.SIZE;
    if (i32[s + S.TAG] !== tag || i32[s + S.KIND] !== ObjectKind.Endpoint || (i32[s + S.RIGHTS]! & rights) !== rights) return false;
    // One word of the dense registry table: the object's generation and state.
    return i32[this.#regBase + i32[s + S.OBJ]!] === ((i32[s + S.GEN]! << 2) | EState.OPEN);
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
      const large = this.#prepare(Syscall.IpcCall, ch, request);
      const direct = large ? undefined : this.#tryPassive(ch);
      if (direct) return Promise.resolve(direct);
      this.#enterSend(ch, Op.CALL, options, large);
      return this.#rt.blockAsync(this.#p, this.#timeoutNs, this.#callBuf) as Promise<MessageBuffer>;
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Worker CPUs only: {@link Process.call} without a promise. */
  callSync(ch: CapHandle, request: SmallMessage, options?: BlockingOptions): MessageBuffer {
    this.#requireSync();
    this.#enterSend(ch, Op.CALL, options, this.#prepare(Syscall.IpcCall, ch, request));
    return this.#finish(this.#rt.blockSync(this.#p, this.#timeoutNs), this.#callBuf);
  }

  /** Sends a one-way message (needs SEND); resolves once a receiver has taken it. */
  send(ch: CapHandle, message: SmallMessage, options?: BlockingOptions): Promise<void> {
    try {
      if (this.#enterSend(ch, Op.SEND, options, this.#prepare(Syscall.IpcSend, ch, message)) !== BLOCKED) return Promise.resolve();
      if (this.#rt.synchronous) {
        this.#check(this.#rt.blockSync(this.#p, this.#timeoutNs));
        return Promise.resolve();
      }
      return this.#rt.blockAsync(this.#p, this.#timeoutNs, null) as Promise<undefined>;
    } catch (e) {
      return Promise.reject(e);
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
      return this.#afterReceive(this.#enterReceive(ep, options));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Worker CPUs only: {@link Process.receive} without a promise. */
  receiveSync(ep: CapHandle, options?: BlockingOptions): MessageBuffer {
    this.#requireSync();
    const st = this.#enterReceive(ep, options);
    return this.#finish(st === BLOCKED ? this.#rt.blockSync(this.#p, this.#timeoutNs) : st, this.#recvBuf);
  }

  /**
   * Replies to the pending call of process `to` (the `sender` of a received call). One-shot:
   * a second reply, or a reply to a process not waiting on this one, is `InvalidState`; a
   * caller that has exited is `ProcessNotFound`.
   */
  reply(to: number, response: SmallMessage): void {
    this.#replyTo = to;
    const large = this.#prepare(Syscall.IpcReply, 0, response);
    const core = this.#core;
    core.lock();
    try {
      this.#checkAlive();
      core.sysReply(this.#p, to);
    } catch (e) {
      if (large) core.dropLarge(this.#p);
      throw e;
    } finally {
      core.unlock();
    }
  }

  /** Fails the pending call of process `to` with `code` (its `call` rejects with that `IpcError`). One-shot, like {@link Process.reply}. */
  replyError(to: number, code: IpcErrorCode): void {
    const core = this.#core;
    core.lock();
    try {
      this.#checkAlive();
      core.sysReplyError(this.#p, to, IPC_ERROR_NUMBERS[code]);
    } finally {
      core.unlock();
    }
  }

  /**
   * Replies to `to` and waits for the next message on `ep` in one kernel entry (seL4's
   * ReplyRecv): the server's loop takes the kernel once per request instead of twice. If the
   * reply fails nothing is received; if the receive fails the reply has still been delivered.
   */
  replyReceive(to: number, response: SmallMessage, ep: CapHandle, options?: BlockingOptions): Promise<MessageBuffer> {
    try {
      if (this.#rt.synchronous) return Promise.resolve(this.replyReceiveSync(to, response, ep, options));
      return this.#afterReceive(this.#enterReplyReceive(to, response, ep, options));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Worker CPUs only: {@link Process.replyReceive} without a promise. */
  replyReceiveSync(to: number, response: SmallMessage, ep: CapHandle, options?: BlockingOptions): MessageBuffer {
    this.#requireSync();
    const st = this.#enterReplyReceive(to, response, ep, options);
    return this.#finish(st === BLOCKED ? this.#rt.blockSync(this.#p, this.#timeoutNs) : st, this.#recvBuf);
  }

  /**
   * Serves endpoint `ep` with a synchronous `handler` until the endpoint closes: each call's
   * response is what `handler` returns (throw an `IpcError` to fail the call with its code).
   * On the kernel's own CPU the process becomes a passive server: a call from the same CPU
   * while it waits runs `handler` at once on the caller's time — the direct switch — with no
   * task switch at all. Calls from other CPUs queue and are served in turn. Resolves when the
   * endpoint is closed.
   */
  async serve(ep: CapHandle, handler: (request: MessageBuffer) => SmallMessage): Promise<void> {
    const rt = this.#rt;
    const passive = rt instanceof MainCpu;
    if (passive) {
      const core = this.#core;
      core.lock();
      let e: number;
      try {
        this.#checkAlive();
        e = core.endpointOf(this.#p, ep, Rights.RECEIVE);
      } finally {
        core.unlock();
      }
      rt.setPassive(this.#p, e, handler, createMessageBuffer());
    }
    try {
      let m = await this.receive(ep);
      for (;;) {
        let response: SmallMessage | undefined;
        let failure: IpcError | undefined;
        try {
          response = handler(m);
        } catch (err) {
          if (!(err instanceof IpcError)) throw err;
          failure = err;
        }
        if (!(m.flags & MessageFlags.CALL)) m = await this.receive(ep);
        else if (failure) {
          this.replyError(m.sender, failure.code);
          m = await this.receive(ep);
        } else {
          const caller = m.sender;
          try {
            m = await this.replyReceive(caller, response!, ep);
          } catch (err) {
            // An undeliverable reply (too large, a capability without SHARE, no room) fails the
            // call with that error instead of stopping the server — as on the passive path.
            if (!(err instanceof IpcError) || !UNDELIVERABLE_REPLY.has(err.code)) throw err;
            this.replyError(caller, err.code);
            m = await this.receive(ep);
          }
        }
      }
    } catch (err) {
      if (err instanceof IpcError && err.code === 'ChannelClosed') return;
      throw err;
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
    return this.#rt.sleep(this.#p, ns);
  }

  // ---------------------------------------------------------------- internals

  /**
   * Puts `message` in this process's registers for syscall `sys`. A message over 64 bytes or 4
   * capabilities is first staged as a large message (frames plus a descriptor in the IPC
   * buffer) and the registers carry only its type and the LARGE flag. Returns whether it staged.
   */
  #prepare(sys: number, ch: CapHandle, message: SmallMessage): boolean {
    if (!isLargeMessage(message)) {
      this.#fp.encode(sys, ch, message, this.frame);
      return false;
    }
    const core = this.#core;
    core.lock();
    try {
      this.#checkAliveOnly();
      // Refused before anything changes, registers included.
      core.checkLargeAllowed(this.#p, sys === Syscall.IpcReply, sys === Syscall.IpcReply ? this.#replyTo : ch);
      if (message.data.length > MAX_LARGE_DATA || (message.caps?.length ?? 0) > MAX_LARGE_CAPS) {
        throw new IpcError('MessageTooLarge', `a large message carries at most ${MAX_LARGE_DATA} bytes and ${MAX_LARGE_CAPS} capabilities`);
      }
      // The register part (type, handle) is checked before any frame is taken.
      this.#fp.encode(sys, ch, { type: message.type, data: EMPTY }, this.frame);
      core.stageLarge(this.#p, message.data, message.caps);
    } finally {
      core.unlock();
    }
    writeSlot(this.frame, this.#fp.layout.info, MessageInfo.pack(0, 0, MessageFlags.LARGE));
    return true;
  }

  /** The message is already in the registers (and staged if large); a failure drops what was staged. */
  #enterSend(_ch: CapHandle, op: number, options: BlockingOptions | undefined, large: boolean): number {
    const core = this.#core;
    core.lock();
    try {
      this.#checkAlive();
      let st: number;
      try {
        st = core.sysSend(this.#p, op);
      } catch (e) {
        if (large) core.dropLarge(this.#p);
        throw e;
      }
      if (st === BLOCKED) this.#timeoutNs = options?.timeout ?? core.endpointTimeout(core.lastEndpoint);
      return st;
    } finally {
      core.unlock();
    }
  }

  #tryPassive(ch: CapHandle): MessageBuffer | undefined {
    const core = this.#core;
    core.lock();
    try {
      this.#checkAlive();
      return (this.#rt as MainCpu).passiveCall(this.#p, ch, this.#callBuf);
    } finally {
      core.unlock();
    }
  }

  #afterReceive(st: number): Promise<MessageBuffer> {
    if (st !== BLOCKED) return Promise.resolve(this.#finish(st, this.#recvBuf));
    return this.#rt.blockAsync(this.#p, this.#timeoutNs, this.#recvBuf) as Promise<MessageBuffer>;
  }

  #enterReceive(ep: CapHandle, options: BlockingOptions | undefined): number {
    const core = this.#core;
    core.lock();
    try {
      this.#checkAlive();
      this.#timeoutNs = options?.timeout ?? 0;
      return core.sysReceive(this.#p, ep);
    } finally {
      core.unlock();
    }
  }

  #enterReplyReceive(to: number, response: SmallMessage, ep: CapHandle, options: BlockingOptions | undefined): number {
    this.#replyTo = to;
    const large = this.#prepare(Syscall.IpcReply, 0, response);
    const core = this.#core;
    core.lock();
    try {
      this.#checkAlive();
      try {
        core.sysReply(this.#p, to);
      } catch (e) {
        if (large) core.dropLarge(this.#p);
        throw e;
      }
      this.#timeoutNs = options?.timeout ?? 0;
      return core.sysReceive(this.#p, ep);
    } finally {
      core.unlock();
    }
  }

  /** Lock held: the process must exist and have no blocking operation in progress. */
  #checkAlive(): void {
    const core = this.#core;
    if (core.resolvePid(this.pid) !== this.#p) throw new IpcError('ProcessNotFound', `process ${this.pid} has exited`);
    const b = core.mm.proc(this.#p);
    const st = core.i32[b + P.STATE];
    if (st === PState.BLOCKED_SEND || st === PState.BLOCKED_RECV || st === PState.BLOCKED_REPLY) {
      throw new IpcError('InvalidState', 'a process has at most one blocking operation at a time');
    }
    core.i32[b + P.FUTEX] = 0;
  }

  #check(status: number): void {
    if (status === 0) return;
    if (status === KILLED) throw new IpcError('ProcessNotFound', `process ${this.pid} was killed`);
    throw IpcError.fromStatus(status);
  }

  #finish(status: number, buf: MessageBuffer): MessageBuffer {
    this.#check(status);
    this.#core.receiveInto(this.#p, buf);
    return buf;
  }

  #requireSync(): void {
    if (!this.#rt.synchronous) throw new IpcError('InvalidState', 'synchronous calls are only available on worker CPUs');
  }

  #locked<T>(fn: () => T): T {
    const core = this.#core;
    core.lock();
    try {
      this.#checkAliveOnly();
      return fn();
    } finally {
      core.unlock();
    }
  }

  #checkAliveOnly(): void {
    if (this.#core.resolvePid(this.pid) !== this.#p) throw new IpcError('ProcessNotFound', `process ${this.pid} has exited`);
  }
}
