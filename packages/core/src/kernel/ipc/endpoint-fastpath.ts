import { ObjectKind } from '../../contracts/capability.js';
import { MAX_SMALL_DATA, MessageFlags, MessageInfo } from '../../contracts/message.js';
import { slotWord } from '../../contracts/register-frame.js';
import { Rights } from '../../contracts/rights.js';
import { Syscall } from '../../contracts/syscall.js';
import type { KernelContext } from '../context.js';
import { idGeneration, idIndex, makeId } from '../records/ids.js';
import { E, H, NONE, P, PARKED_FROM_FUTEX, PState, S } from '../records/layout.js';
import { RegistryWord } from '../records/registry-word.js';
import { notifyParked } from '../sched/futex.js';

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
 * those conditions, in the order the general path would; when any does not hold it answers
 * false having changed nothing, and the caller takes the general path ({@link Syscalls.ipc}),
 * which handles that case and reports every error.
 *
 * Its checks and commits read and write exactly the words the general path's steps would (the
 * capability lookup of `CapabilitySpace.find`, {@link SyncIpc.callReceiver},
 * {@link SyncIpc.replyTo} and {@link SyncIpc.waitOn} with the wait-queue, priority and wake
 * steps they call), but as one straight run over the records' words (`i32[base + P.X]`), as
 * seL4's fastpath.c does beside its slow path. Why: through the accessor objects the path is
 * some forty calls, more than the JIT's inlining budget lets it fold into one function, and a
 * cross-CPU round trip cost 1.37–1.46 µs instead of 0.90–0.96 (apps/bench/README.md).
 * test/endpoint-fastpath-equivalence.test.ts runs both on the same states (closed handles and
 * rewritten frames included) and compares every word of machine memory, so the two cannot
 * drift apart.
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
  readonly #i32: Int32Array;
  readonly #u32: Uint32Array;
  /** Timeout (ns, or Infinity) the entry that answered true should wait. */
  timeoutNs = Infinity;
  readonly #wSyscall: number;
  readonly #wEndpoint: number;
  readonly #wInfo: number;
  readonly #wSender: number;
  readonly #nproc: number;
  /** The capability space's geometry (as `CapabilitySpace.find` decodes a handle). */
  readonly #slotBits: number;
  readonly #slotMask: number;
  readonly #nslots: number;
  readonly #regBase: number;
  /** The futex word of the process this entry woke (its notify is owed until the endpoint is unlocked), or -1. */
  #woken = -1;

  constructor(k: KernelContext) {
    this.#k = k;
    this.#i32 = k.i32;
    this.#u32 = k.mm.u32;
    this.#nproc = k.procs.count;
    this.#slotBits = k.mm.slotIndexBits;
    this.#slotMask = (1 << k.mm.slotIndexBits) - 1;
    this.#nslots = k.mm.nslots;
    this.#regBase = k.mm.regBase;
    const L = k.arch.fastPath.layout;
    this.#wSyscall = slotWord(L.syscall);
    this.#wEndpoint = slotWord(L.endpoint);
    this.#wInfo = slotWord(L.info);
    this.#wSender = slotWord(L.sender);
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
      const i32 = this.#i32;
      const procs = k.procs;
      if (i32[H.OBS_FLAGS] !== 0) return false;
      const pb = procs.base(p);
      // Alive (ProcessTable.live), this incarnation, not asked to die, nothing large staged. This
      // and the copy below repeat ProcessTable.live/pid and IpcMessages.copy inline: through
      // those calls the round trip measured ~5 % slower (apps/bench/README.md).
      const st = i32[pb + P.STATE];
      if (st === PState.FREE || st === PState.RETIRED || makeId(this.#u32[pb + P.GEN]!, p) !== pid) return false;
      if (Atomics.load(i32, pb + P.KILL) !== 0 || i32[pb + P.LARGE_OUT] !== 0) return false;
      // Each register word read once, into the kernel's scratch (IpcMessages.copy): the checks
      // and the delivery use it.
      const msg = k.messages;
      const s = msg.scratch;
      const frame = k.mm.frame(p);
      for (let w = msg.lo, hi = msg.hi; w < hi; w++) s[w] = frame[w]!;
      const info = s[this.#wInfo]!;
      if ((info & NOT_LENGTH) !== 0 || info > MAX_SMALL_DATA) return false;
      const sys = s[this.#wSyscall];
      if (sys !== Syscall.IpcCall && sys !== Syscall.IpcReplyReceive) return false;
      const e = this.#endpoint(p, s[this.#wEndpoint]!, sys === Syscall.IpcCall ? Rights.SEND : Rights.RECEIVE);
      if (e === NONE) return false;
      msg.length = info;
      msg.capCount = 0;
      msg.flags = 0;
      return sys === Syscall.IpcCall ? this.#call(p, pb, e, info, timeoutNs) : this.#replyReceive(p, pb, e, target, info, timeoutNs);
    } finally {
      // The woken thread is notified (if it parked) once the endpoint is unlocked, before this
      // CPU leaves the fast path, as Wake.flush does for the general path.
      const w = this.#woken;
      if (w >= 0) {
        this.#woken = -1;
        notifyParked(this.#i32, w, w + PARKED_FROM_FUTEX);
      }
      k.unlock();
    }
  }

  /** The live endpoint capability `handle` of `p` names, with `rights`; or NONE. Writes nothing. */
  #endpoint(p: number, handle: number, rights: number): number {
    const i32 = this.#i32;
    // The handle decoded as CapabilitySpace.find does (a u32: it comes from the scratch).
    const index = handle & this.#slotMask;
    const tag = handle >>> this.#slotBits;
    if (tag === 0 || index >= this.#nslots) return NONE;
    // A slot reference is a word index (SlotTable.ref).
    const slot = this.#k.slots.ref(p, index);
    if (i32[slot + S.TAG] !== tag || i32[slot + S.KIND] !== ObjectKind.Endpoint || (i32[slot + S.RIGHTS]! & rights) !== rights) return NONE;
    const e = i32[slot + S.OBJ]!;
    return RegistryWord.matches(this.#u32[this.#regBase + e]!, this.#u32[slot + S.GEN]!) ? e : NONE;
  }

  /** A call through `e`: to a receiver waiting there on a worker CPU. */
  #call(p: number, pb: number, e: number, info: number, timeoutNs: number | undefined): boolean {
    const k = this.#k;
    const { procs, eps } = k;
    const i32 = this.#i32;
    const eb = eps.base(e);
    const lock = eb + E.LOCK;
    k.kernelLock.lockEndpoint(lock);
    try {
      const r = i32[eb + E.RHEAD]!;
      if (r === NONE) return false;
      const rb = procs.base(r);
      // CPU 0's processes are woken through its wake ring, which the big lock guards.
      const cpu = i32[rb + P.CPU];
      if (cpu === 0 || cpu === k.cpu) return false;
      // Commit. `p` waits from now on: its futex is cleared before anyone can wake it.
      Atomics.store(i32, pb + P.FUTEX, 0);
      // The receiver leaves the receive queue (WaitQueues.removeReceiver) …
      const prev = i32[rb + P.PREV]!;
      const next = i32[rb + P.NEXT]!;
      if (prev !== NONE) i32[procs.base(prev) + P.NEXT] = next;
      else i32[eb + E.RHEAD] = next;
      if (next !== NONE) i32[procs.base(next) + P.PREV] = prev;
      else i32[eb + E.RTAIL] = prev;
      i32[rb + P.NEXT] = NONE;
      i32[rb + P.PREV] = NONE;
      i32[rb + P.WAIT_EP] = NONE;
      // … takes the message (IpcMessages.deliver) …
      this.#deliver(p, r, rb, info, MessageFlags.CALL);
      i32[eb + E.MSGS]++;
      // … and the caller awaits its reply (SyncIpc.#awaitReply, WaitQueues.addReplyWaiter).
      i32[pb + P.STATE] = PState.BLOCKED_REPLY;
      i32[pb + P.CALL_EP] = e;
      const head = i32[rb + P.RHEAD]!;
      i32[pb + P.RPREV] = NONE;
      i32[pb + P.RNEXT] = head;
      if (head !== NONE) i32[procs.base(head) + P.RPREV] = p;
      i32[rb + P.RHEAD] = p;
      i32[pb + P.REPLY_SERVER] = r;
      i32[pb + P.SEQ]++;
      const eff = i32[pb + P.EFF]!;
      if (i32[rb + P.EFF]! < eff) k.priority.boost(r, eff);
      this.#wake(rb);
      k.kernelLock.countTaken();
      this.timeoutNs = timeoutNs ?? (k.endpoints.timeout(e) || Infinity);
      return true;
    } finally {
      k.kernelLock.unlockEndpoint(lock);
    }
  }

  /** Server `p` replies to caller `target` (who called through `e`) and waits on `e` again. */
  #replyReceive(p: number, pb: number, e: number, target: number, info: number, timeoutNs: number | undefined): boolean {
    const k = this.#k;
    const { procs, eps } = k;
    const i32 = this.#i32;
    // The caller's record, as Registry.resolvePid finds it.
    const gen = idGeneration(target);
    const c = idIndex(target);
    if (gen < 0 || c >= this.#nproc) return false;
    const cb = procs.base(c);
    const cst = i32[cb + P.STATE];
    if (cst === PState.FREE || cst === PState.RETIRED || this.#u32[cb + P.GEN] !== gen) return false;
    // Read before the lock to know which lock; checked again under it. A caller on CPU 0 is
    // woken through its wake ring, which the big lock guards.
    const cpu = i32[cb + P.CPU];
    if (i32[cb + P.CALL_EP] !== e || cpu === 0 || cpu === k.cpu) return false;
    const eb = eps.base(e);
    const lock = eb + E.LOCK;
    k.kernelLock.lockEndpoint(lock);
    try {
      if (i32[cb + P.STATE] !== PState.BLOCKED_REPLY || i32[cb + P.REPLY_SERVER] !== p || i32[cb + P.CALL_EP] !== e) return false;
      // Callers queued meanwhile: the general path hands the first one over at once.
      if (i32[eb + E.QHEAD] !== NONE) return false;
      // Commit.
      Atomics.store(i32, pb + P.FUTEX, 0);
      // The reply (SyncIpc.replyTo): delivered, the caller off this server's reply waiters …
      this.#deliver(p, c, cb, info, MessageFlags.REPLY);
      const prev = i32[cb + P.RPREV]!;
      const next = i32[cb + P.RNEXT]!;
      if (prev !== NONE) i32[procs.base(prev) + P.RNEXT] = next;
      else i32[pb + P.RHEAD] = next;
      if (next !== NONE) i32[procs.base(next) + P.RPREV] = prev;
      i32[cb + P.RNEXT] = NONE;
      i32[cb + P.RPREV] = NONE;
      i32[cb + P.REPLY_SERVER] = NONE;
      i32[cb + P.CALL_EP] = NONE;
      if (i32[pb + P.EFF] !== i32[pb + P.PRIO]) k.priority.recompute(p);
      this.#wake(cb);
      // … then the receive (SyncIpc.waitOn, WaitQueues.appendReceiver).
      i32[pb + P.STATE] = PState.BLOCKED_RECV;
      i32[pb + P.WAIT_EP] = e;
      i32[pb + P.SEQ]++;
      const tail = i32[eb + E.RTAIL]!;
      i32[pb + P.NEXT] = NONE;
      i32[pb + P.PREV] = tail;
      if (tail !== NONE) i32[procs.base(tail) + P.NEXT] = p;
      else i32[eb + E.RHEAD] = p;
      i32[eb + E.RTAIL] = p;
      k.kernelLock.countTaken();
      this.timeoutNs = timeoutNs ?? Infinity;
      return true;
    } finally {
      k.kernelLock.unlockEndpoint(lock);
    }
  }

  /**
   * The small message in the scratch (no capabilities, not large), from `from`, into the frame
   * of `dst` (record base `db`) with the kernel-owned `flags`, as {@link IpcMessages.deliver}.
   */
  #deliver(from: number, dst: number, db: number, info: number, flags: number): void {
    const k = this.#k;
    const msg = k.messages;
    const s = msg.scratch;
    const df = k.mm.frame(dst);
    const hi = msg.hi;
    for (let w = msg.lo; w < hi; w++) df[w] = s[w]!;
    const pid = makeId(this.#u32[k.procs.base(from) + P.GEN]!, from);
    df[this.#wSender] = pid >>> 0;
    this.#i32[db + P.SENDER_HI] = Math.floor(pid / 0x100000000);
    df[this.#wInfo] = info | (flags << MessageInfo.FLAGS_SHIFT);
  }

  /** Wakes the worker process at record base `b` with status 0, as {@link Wake.wake} does (its notify owed). */
  #wake(b: number): void {
    const i32 = this.#i32;
    i32[b + P.RESULT] = 0;
    // A worker CPU runs nothing else: its process runs as soon as it sees its futex.
    i32[b + P.STATE] = PState.RUNNING;
    Atomics.store(i32, b + P.FUTEX, 1);
    this.#woken = b + P.FUTEX;
  }
}
