import { ObjectKind } from '../../contracts/capability.js';
import { MAX_SMALL_DATA, MessageInfo } from '../../contracts/message.js';
import { slotWord } from '../../contracts/register-frame.js';
import { Rights } from '../../contracts/rights.js';
import { Syscall } from '../../contracts/syscall.js';
import type { KernelContext } from '../context.js';
import { E, H, NONE, P, PState, S } from '../records/layout.js';
import { RegistryWord } from '../records/registry-word.js';

/** Info-word bits a fast-path message must have clear: capabilities, flags and the reserved bits (only the length may be set). */
const NOT_LENGTH = ~MessageInfo.LENGTH_MASK;

/**
 * The endpoint fast path of worker CPUs: a call to a server waiting on a worker CPU, and a
 * server's reply-and-receive to a caller that waits for it through the endpoint it serves, each
 * under the lock of that one endpoint instead of the big kernel lock (see sched/kernel-lock.ts).
 * So calls through different endpoints do not contend, and a round trip between two worker
 * CPUs moves no line of the big lock.
 *
 * It takes only the common case: a small message without capabilities, no large message
 * staged, nothing observed (no policy, audit or trace), a receiver already waiting (a call) or an
 * empty send queue (the receive after a reply), and a timeout other than 0. It checks exactly
 * those conditions, in the order the general path would, and commits with the general path's
 * own steps ({@link SyncIpc.callReceiver}, {@link SyncIpc.replyTo}, {@link SyncIpc.waitOn}). When
 * any condition does not hold it answers false having changed nothing, and the caller takes the
 * general path ({@link Syscalls.ipc}), which handles that case and reports every error.
 *
 * Why one endpoint's lock is enough: every word a fast path reads or writes belongs to its
 * endpoint (the queue heads), to its caller (own record, own capability space), or to the
 * process on the other side — a receiver queued on that endpoint, or a caller awaiting this
 * server's reply through it. Such a process is blocked, so only a fast path through the same
 * endpoint or an exclusive entry (which waits out every fast path) can change it. Everything
 * else (capability spaces, endpoint liveness, the send queues, records' lives) changes only under
 * the big lock.
 */
export class EndpointFastPath {
  readonly #k: KernelContext;
  /** Timeout (ns, or Infinity) the entry that answered true should wait. */
  timeoutNs = Infinity;
  readonly #wSyscall: number;
  readonly #wEndpoint: number;
  readonly #wInfo: number;

  constructor(k: KernelContext) {
    this.#k = k;
    const L = k.arch.fastPath.layout;
    this.#wSyscall = slotWord(L.syscall);
    this.#wEndpoint = slotWord(L.endpoint);
    this.#wInfo = slotWord(L.info);
  }

  /**
   * Process `p` (id `pid`) of this worker CPU has a call or a reply-receive (to caller `target`)
   * encoded in its registers. Returns true when done here (`p` waits, for
   * {@link EndpointFastPath.timeoutNs}), false when nothing was done: take the general path.
   */
  enter(p: number, pid: number, target: number, timeoutNs: number | undefined): boolean {
    const k = this.#k;
    if (k.cpu === 0 || timeoutNs === 0 || !k.kernelLock.enterFast()) return false;
    try {
      const procs = k.procs;
      if (k.i32[H.OBS_FLAGS] !== 0) return false;
      if (!procs.live(p) || procs.pid(p) !== pid || Atomics.load(k.i32, procs.word(p, P.KILL)) !== 0 || procs.get(p, P.LARGE_OUT) !== 0) return false;
      // Each register word read once, into the kernel's scratch: the checks and the delivery use it.
      const msg = k.messages;
      msg.copy(p);
      const s = msg.scratch;
      const info = s[this.#wInfo]!;
      if ((info & NOT_LENGTH) !== 0 || info > MAX_SMALL_DATA) return false;
      const sys = s[this.#wSyscall];
      if (sys !== Syscall.IpcCall && sys !== Syscall.IpcReplyReceive) return false;
      const e = this.#endpoint(p, s[this.#wEndpoint]!, sys === Syscall.IpcCall ? Rights.SEND : Rights.RECEIVE);
      if (e === NONE) return false;
      msg.length = info;
      msg.capCount = 0;
      msg.flags = 0;
      return sys === Syscall.IpcCall ? this.#call(p, e, timeoutNs) : this.#replyReceive(p, e, target, timeoutNs);
    } finally {
      k.unlock();
    }
  }

  /** The live endpoint capability `handle` of `p` names, with `rights`; or NONE. Writes nothing. */
  #endpoint(p: number, handle: number, rights: number): number {
    const { caps, slots, eps } = this.#k;
    const slot = caps.find(p, handle);
    if (slot < 0 || slots.get(slot, S.KIND) !== ObjectKind.Endpoint || (slots.get(slot, S.RIGHTS) & rights) !== rights) return NONE;
    const e = slots.get(slot, S.OBJ);
    return RegistryWord.matches(eps.registry(e), slots.gen(slot)) ? e : NONE;
  }

  /** A call through `e`: to a receiver waiting there on a worker CPU. */
  #call(p: number, e: number, timeoutNs: number | undefined): boolean {
    const k = this.#k;
    const { procs, eps } = k;
    const word = eps.word(e, E.LOCK);
    k.kernelLock.lockEndpoint(word);
    try {
      const r = eps.get(e, E.RHEAD);
      // CPU 0's processes are woken through its wake ring, which the big lock guards.
      if (r === NONE || procs.get(r, P.CPU) === 0) return false;
      // Commit. `p` waits from now on: its futex is cleared before anyone can wake it.
      Atomics.store(k.i32, procs.word(p, P.FUTEX), 0);
      k.sync.callReceiver(p, r, e);
      k.kernelLock.countTaken();
      this.timeoutNs = timeoutNs ?? (k.endpoints.timeout(e) || Infinity);
      return true;
    } finally {
      k.kernelLock.unlockEndpoint(word);
    }
  }

  /** Server `p` replies to caller `target` (who called through `e`) and waits on `e` again. */
  #replyReceive(p: number, e: number, target: number, timeoutNs: number | undefined): boolean {
    const k = this.#k;
    const { procs, eps } = k;
    const c = k.registry.resolvePid(target);
    // Read before the lock to know which lock; checked again under it. A caller on CPU 0 is
    // woken through its wake ring, which the big lock guards.
    if (c < 0 || procs.get(c, P.CALL_EP) !== e || procs.get(c, P.CPU) === 0) return false;
    const word = eps.word(e, E.LOCK);
    k.kernelLock.lockEndpoint(word);
    try {
      if (procs.state(c) !== PState.BLOCKED_REPLY || procs.get(c, P.REPLY_SERVER) !== p || procs.get(c, P.CALL_EP) !== e) return false;
      // Callers queued meanwhile: the general path hands the first one over at once.
      if (eps.get(e, E.QHEAD) !== NONE) return false;
      // Commit.
      Atomics.store(k.i32, procs.word(p, P.FUTEX), 0);
      k.sync.replyTo(p, c);
      k.sync.waitOn(p, e);
      k.kernelLock.countTaken();
      this.timeoutNs = timeoutNs ?? Infinity;
      return true;
    } finally {
      k.kernelLock.unlockEndpoint(word);
    }
  }
}
