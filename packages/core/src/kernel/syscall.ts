import { ObjectKind, type Capability } from '../contracts/capability.js';
import { IpcError } from '../contracts/errors.js';
import { MAX_LARGE_CAPS, type MessageBuffer, type SmallMessage } from '../contracts/message.js';
import { Rights, isSubsetOf } from '../contracts/rights.js';
import { Syscall } from '../contracts/syscall.js';
import type { KernelContext } from './context.js';
import type { EndpointSpec } from './objects/endpoint.js';
import type { PolicySpec } from './policy/config.js';
import { makeId } from './records/ids.js';
import { H, M, Op, P, S } from './records/layout.js';
import { BLOCKED, PASSIVE } from './ipc/sync.js';
import { LargeFields } from './ipc/large-fields.js';

/** Status of a killed process (see worker-cpu.ts). */

/** Timeout of a blocking operation that has none: wait forever. */
const FOREVER = Infinity;
/** The capabilities of a message that carries none (shared: never written). */

/**
 * The one way into the kernel. Each entry takes the lock once, checks the caller (alive, not
 * killed, no other blocking operation), and runs one operation in two steps: checks that may
 * fail and write nothing, then a commit that cannot fail. IPC syscalls read their number from
 * the register the arch ABI names and snapshot the message into kernel-owned scratch before
 * any check (message.ts), so nothing user code writes afterwards can change what is delivered.
 * This is also the one place policy hooks and trace points attach to.
 */
export class Syscalls {
  readonly #k: KernelContext;
  /** Timeout (ns, or Infinity) the last blocking IPC entry should wait. */
  timeoutNs = FOREVER;
  readonly #snaps = new Int32Array(MAX_LARGE_CAPS * M.CAP_WORDS);
  /** The capability handles of the message being staged, as read once from it. */
  /** A large message's fields, read before the lock. */
  readonly #large = new LargeFields();

  constructor(k: KernelContext) {
    this.#k = k;
  }

  /** Lock held: `p` (of id `pid`) exists and has not been asked to die. */
  #enter(p: number, pid: number): void {
    this.#k.processes.checkCaller(p, pid);
  }

  /**
   * An IPC syscall of process `p`: the number and message are in its register frame. `target`
   * is the caller a reply goes to; `status` the error number of a reply-error; `timeoutNs` the
   * caller's timeout (`undefined` = the endpoint's default, 0 = do not wait). Returns 0 (done),
   * {@link BLOCKED} (wait; {@link Syscalls.timeoutNs} says how long) or {@link PASSIVE} (a
   * passive server took the call: its handler must run, then {@link Syscalls.passiveFinish}).
   * `blocksThread`: the caller will block its CPU's thread waiting (`callSync` on CPU 0).
   */
  ipc(p: number, pid: number, target: number, status: number, timeoutNs: number | undefined, passiveBuf: (r: number) => MessageBuffer, blocksThread = false): number {
    const k = this.#k;
    const { messages: msg, sync } = k;
    const poll = timeoutNs === 0;
    k.lock();
    let sys = -1;
    // Policy, audit and trace: one load and a branch when all are off (see debug/observer.ts).
    const obs = k.i32[H.OBS_FLAGS]!;
    try {
      this.#enter(p, pid);
      sys = msg.syscallOf(p);
      if (obs !== 0) k.obs.begin(obs);
      switch (sys) {
        case Syscall.IpcCall:
        case Syscall.IpcSend: {
          msg.snapshot(p);
          const op = sys === Syscall.IpcCall ? Op.CALL : Op.SEND;
          if (obs !== 0) k.obs.beforeSend(p, pid);
          const st = sync.send(p, op, poll, blocksThread);
          if (obs !== 0) k.obs.afterSend(p, op, st);
          if (st === PASSIVE) k.passive.begin(p, sync.passiveServer, passiveBuf(sync.passiveServer));
          else if (st === BLOCKED) this.#blocks(p, timeoutNs ?? (k.endpoints.timeout(sync.blockedOn) || FOREVER));
          // Queued with a buffer still staged: a Move parks its pages before user code runs again.
          if (k.procs.get(p, P.LARGE_OUT) !== 0) k.large.park(p);
          return st;
        }
        case Syscall.IpcReceive: {
          const ep = k.messages.endpointHandleOf(p);
          const st = sync.receive(p, ep, poll);
          if (st === BLOCKED) this.#blocks(p, timeoutNs ?? FOREVER);
          else if (obs !== 0) k.obs.afterReceive(p, ep);
          return st;
        }
        case Syscall.IpcReply:
          msg.snapshot(p);
          if (obs !== 0) k.obs.beforeReply(p, target);
          sync.reply(p, target);
          if (obs !== 0) k.obs.afterReply(p, 0);
          return 0;
        case Syscall.IpcReplyReceive: {
          msg.snapshot(p);
          const ep = msg.endpointHandle;
          if (obs !== 0) k.obs.beforeReply(p, target);
          sync.reply(p, target);
          if (obs !== 0) k.obs.afterReply(p, 0);
          // The reply is delivered; a failing receive reports its own error.
          sys = Syscall.IpcReceive;
          const st = sync.receive(p, ep, poll);
          if (st === BLOCKED) this.#blocks(p, timeoutNs ?? FOREVER);
          else if (obs !== 0) k.obs.afterReceive(p, ep);
          return st;
        }
        case Syscall.IpcReplyError:
          if (obs !== 0) k.obs.beforeReply(p, target);
          sync.replyError(p, target, status);
          if (obs !== 0) k.obs.afterReply(p, status);
          return 0;
        default:
          throw new IpcError('InvalidArgument', `unknown syscall number ${sys}`);
      }
    } catch (e) {
      // A failed send or reply frees the large message it staged: nothing of it stays.
      if (sys !== Syscall.IpcReceive) k.large.dropOutgoing(p);
      if (obs !== 0 && sys >= 0) k.obs.failed(p, sys, e);
      throw e;
    } finally {
      k.unlock();
    }
  }

  /**
   * A call or reply-receive of process `p` of a worker CPU through the endpoint fast path
   * (ipc/endpoint-fastpath.ts): true when taken there (`p` waits, as after {@link BLOCKED}),
   * false to take {@link Syscalls.ipc}.
   */
  endpointFast(p: number, pid: number, target: number, timeoutNs: number | undefined): boolean {
    const fast = this.#k.endpointPath;
    if (!fast.enter(p, pid, target, timeoutNs)) return false;
    this.timeoutNs = fast.timeoutNs;
    return true;
  }

  /**
   * `p` is about to wait: clear its futex word now, under the lock, so no waker can slip in
   * before it (wakers take the lock) and a failed syscall never touches it.
   */
  #blocks(p: number, timeoutNs: number): void {
    Atomics.store(this.#k.i32, this.#k.procs.word(p, P.FUTEX), 0);
    this.timeoutNs = timeoutNs;
  }

  /**
   * The handler of the innermost passive call is done (see passive.ts). `large`: its response
   * is a large message with no payload to copy in, its registers already in the kernel's
   * scratch; it is staged here, in the same entry (a failure to stage fails the call instead).
   */
  passiveFinish(failure: IpcError | undefined, reply: MessageBuffer, small: SmallMessage | null, large: SmallMessage | null = null): void {
    const k = this.#k;
    // A large response's fields are read before the lock, as a large send's are.
    if (large !== null && failure === undefined) {
      try {
        this.#large.read(large);
      } catch (e) {
        failure = e instanceof IpcError ? e : new IpcError('InvalidState', 'reading the response failed', { cause: e });
      }
    }
    k.lock();
    try {
      if (large !== null && failure === undefined) {
        const r = k.passive.top('server');
        try {
          this.#enter(r, k.procs.pid(r));
          this.#stageLarge(r, -1, NaN);
        } catch (e) {
          failure = e instanceof IpcError ? e : new IpcError('InvalidState', 'staging the response failed', { cause: e });
        }
      }
      const obs = k.i32[H.OBS_FLAGS]!;
      if (obs === 0) k.passive.finish(failure, reply, small);
      else {
        // Observed: the reply goes through the kernel's scratch, where the observer reads it.
        if (small && !failure) k.arch.fastPath.encode(Syscall.IpcReply, 0, small, k.messages.scratch);
        this.#observedPassiveFinish(obs, failure, reply);
      }
    } finally {
      k.unlock();
    }
  }

  /** {@link Syscalls.passiveFinish} with its reply (or its failure) observed. Lock held. */
  #observedPassiveFinish(obs: number, failure: IpcError | undefined, reply: MessageBuffer): void {
    const k = this.#k;
    const server = k.passive.top('server');
    k.obs.begin(obs);
    k.obs.beforeReply(server, k.procs.pid(k.passive.top('caller')));
    try {
      k.passive.finish(failure, reply, null);
    } catch (e) {
      k.obs.failed(server, Syscall.IpcReply, e);
      throw e;
    }
    k.obs.afterReply(server, 0);
  }

  /**
   * Stages a large message for `p` (checked first; the payload is copied in after, outside the
   * lock). `channel` is the handle a call or send goes through, or -1 for a reply to `caller`:
   * an endpoint that carries register messages only refuses it here, before the registers are
   * written.
   */
  stageLarge(p: number, pid: number, m: SmallMessage, channel: number, caller: number): void {
    const k = this.#k;
    // The message's fields first, outside the lock (large-fields.ts).
    this.#large.read(m);
    k.lock();
    try {
      this.#enter(p, pid);
      this.#stageLarge(p, channel, caller);
    } finally {
      k.unlock();
    }
  }

  /** {@link Syscalls.stageLarge} inside an entry (lock held, caller checked), from the fields read before it. */
  #stageLarge(p: number, channel: number, caller: number): void {
    const k = this.#k;
    const { handles, ncaps, length, mode, va, bytes } = this.#large;
    let e = -1;
    if (channel >= 0) e = k.endpoints.endpointOf(p, channel, Rights.SEND);
    else {
      const c = k.registry.resolvePid(caller);
      if (c >= 0 && k.procs.get(c, P.REPLY_SERVER) === p) e = k.procs.get(c, P.CALL_EP);
    }
    if (e >= 0 && k.endpoints.registerOnly(e)) throw new IpcError('MessageTooLarge', 'the endpoint carries register messages only (≤ 64 bytes, ≤ 4 capabilities)');
    const limit = e >= 0 ? k.endpoints.maxTransfer(e) : k.i32[H.MAX_TRANSFER]!;
    k.large.checkStage(p, length, handles, ncaps, this.#snaps, va, bytes, mode, limit);
    k.large.stage(p, length, ncaps, this.#snaps, va, bytes, mode);
  }

  /** Drops `p`'s staged large message (its registers could not be encoded). */
  dropLarge(p: number): void {
    this.#k.withLock(() => this.#k.large.dropOutgoing(p));
  }

  // ---------------------------------------------------------------- capabilities and endpoints

  createEndpoint(p: number, pid: number, spec: EndpointSpec): number {
    return this.#object(p, pid, () => {
      this.#k.endpoints.checkCreate(p, spec);
      return this.#k.endpoints.create(p, spec);
    });
  }

  connect(p: number, pid: number, name: string): number {
    return this.#object(p, pid, () => {
      const k = this.#k;
      const e = k.registry.findNamed(name);
      if (e < 0) throw new IpcError('NotFound', `no endpoint named "${name}"`);
      return k.caps.insert(p, ObjectKind.Endpoint, e, k.eps.gen(e), Rights.SEND);
    });
  }

  derive(p: number, pid: number, handle: number, rights: number): number {
    return this.#object(p, pid, () => {
      const k = this.#k;
      const s = this.#liveSlot(p, handle);
      if (!isSubsetOf(rights, k.slots.get(s, S.RIGHTS))) throw new IpcError('PermissionDenied', 'derived rights must be a subset');
      return k.caps.insert(p, k.slots.get(s, S.KIND), k.slots.get(s, S.OBJ), k.slots.gen(s), rights);
    });
  }

  /**
   * Mints `handle`'s capability (rights ⊆ own, needs GRANT) into process `toPid`. Into another
   * process only with authority over it: a process capability to it carrying GRANT in `p`'s
   * own space (found by walking `p`'s capabilities).
   */
  grant(p: number, pid: number, handle: number, toPid: number, rights: number): number {
    return this.#object(p, pid, () => {
      const k = this.#k;
      const s = this.#liveSlot(p, handle);
      if (!(k.slots.get(s, S.RIGHTS) & Rights.GRANT)) throw new IpcError('PermissionDenied', 'capability lacks GRANT');
      if (!isSubsetOf(rights, k.slots.get(s, S.RIGHTS))) throw new IpcError('PermissionDenied', 'granted rights must be a subset');
      const q = k.registry.resolvePid(toPid);
      if (q < 0) throw new IpcError('ProcessNotFound', `no process ${String(toPid)}`);
      if (q !== p && !this.#holdsProcess(p, q, Rights.GRANT)) {
        throw new IpcError('PermissionDenied', `granting into process ${toPid} needs a capability to it with GRANT (kernel.processCapability), or send the capability in a message`);
      }
      return k.caps.insert(q, k.slots.get(s, S.KIND), k.slots.get(s, S.OBJ), k.slots.gen(s), rights);
    });
  }

  /** True when `p` holds a live capability to process `q` with `rights`. O(p's capabilities). */
  #holdsProcess(p: number, q: number, rights: number): boolean {
    const k = this.#k;
    const gen = k.procs.gen(q);
    for (const s of k.caps.refs(p)) {
      if (k.slots.get(s, S.KIND) === ObjectKind.Process && k.slots.get(s, S.OBJ) === q && k.slots.gen(s) === gen && (k.slots.get(s, S.RIGHTS) & rights) === rights) return true;
    }
    return false;
  }

  /** Host authority: mints into `holder` a capability to process `target` with `rights`. */
  processCapability(holder: number, target: number, rights: number): number {
    const k = this.#k;
    return k.withLock(() => k.caps.insert(holder, ObjectKind.Process, target, k.procs.gen(target), rights));
  }

  revoke(p: number, pid: number, handle: number): void {
    this.#object(p, pid, () => {
      const k = this.#k;
      const s = k.caps.find(p, handle);
      if (s < 0) throw new IpcError('InvalidCapability', 'no such handle');
      const kind = k.slots.get(s, S.KIND);
      if (kind === ObjectKind.Ring || kind === ObjectKind.Topic) return k.rings.revoke(p, handle, kind);
      if (kind !== ObjectKind.Endpoint) throw new IpcError('InvalidArgument', 'only endpoint, channel and topic capabilities can be revoked');
      k.endpoints.revoke(p, handle);
    });
  }

  close(p: number, pid: number, handle: number): void {
    this.#object(p, pid, () => {
      const s = this.#k.caps.find(p, handle);
      if (s < 0) throw new IpcError('InvalidCapability', 'no such handle');
      this.#k.caps.remove(p, s);
    });
  }

  inspect(p: number, pid: number, handle: number): Capability {
    return this.#read(p, pid, () => {
      const k = this.#k;
      const s = k.caps.find(p, handle);
      if (s < 0) throw new IpcError('InvalidCapability', 'no such handle');
      const gen = k.slots.gen(s);
      return {
        token: k.caps.token(s),
        permissions: k.slots.get(s, S.RIGHTS),
        resource: makeId(gen, k.slots.get(s, S.OBJ)),
        generation: gen,
        kind: k.slots.get(s, S.KIND) as Capability['kind'],
      };
    });
  }

  /** Sets or clears (`null`) the security policy of endpoint `handle` (needs RECEIVE: the server's own). */
  setPolicy(p: number, pid: number, handle: number, spec: PolicySpec | null): void {
    this.#object(p, pid, () => this.#k.policies.set(this.#policyKey(p, handle), p, spec));
  }

  /** The policy key of the endpoint, async channel or topic behind `handle` (needs RECEIVE). */
  #policyKey(p: number, handle: number): number {
    const k = this.#k;
    const s = k.caps.find(p, handle);
    const kind = s < 0 ? ObjectKind.Endpoint : k.slots.get(s, S.KIND);
    if (kind === ObjectKind.Ring || kind === ObjectKind.Topic) return k.policies.ringKey(k.rings.resolve(p, handle, kind, Rights.RECEIVE));
    return k.endpoints.endpointOf(p, handle, Rights.RECEIVE);
  }

  /** Endpoint record behind a RECEIVE capability (for a passive server's registration). */
  receiveEndpoint(p: number, pid: number, handle: number): number {
    return this.#object(p, pid, () => this.#k.endpoints.endpointOf(p, handle, Rights.RECEIVE));
  }

  #object<T>(p: number, pid: number, fn: () => T): T {
    const k = this.#k;
    k.lock();
    try {
      this.#enter(p, pid);
      return fn();
    } finally {
      k.unlock();
    }
  }

  /**
   * A syscall that only reads what the big lock guards (the caller's own capability space):
   * on a worker CPU it runs in the endpoint fast path's shared mode, with no lock word written,
   * so two CPUs run it at once; anywhere else (or when that mode is refused) as {@link #object}.
   */
  #read<T>(p: number, pid: number, fn: () => T): T {
    const k = this.#k;
    if (k.cpu === 0 || !k.kernelLock.enterFast()) return this.#object(p, pid, fn);
    try {
      this.#enter(p, pid);
      return fn();
    } finally {
      k.unlock();
    }
  }

  /** Slot of a handle whose object is still live (revoked or closed capabilities are refused). */
  #liveSlot(p: number, handle: number): number {
    const k = this.#k;
    const s = k.caps.find(p, handle);
    if (s < 0) throw new IpcError('InvalidCapability', 'no such handle');
    k.messages.checkObjectLive(k.slots.get(s, S.KIND), k.slots.get(s, S.OBJ), k.slots.gen(s));
    return s;
  }
}

