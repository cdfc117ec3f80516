import { ObjectKind } from '../../contracts/capability.js';
import { MAX_SMALL_DATA, MessageInfo, type MessageBuffer } from '../../contracts/message.js';
import { dataRegisterWords, unpackData } from '../../fast-path/codec.js';
import { slotWord } from '../../contracts/register-frame.js';
import { Rights } from '../../contracts/rights.js';
import { Syscall } from '../../contracts/syscall.js';
import type { KernelContext } from '../context.js';
import { E, H, NONE, P, S } from '../records/layout.js';
import { RegistryWord } from '../records/registry-word.js';

/** Info-word bits a fast-path call must have clear: capabilities, flags and the reserved bits (only the length may be set). */
const NOT_LENGTH = ~MessageInfo.LENGTH_MASK;

/**
 * The fast path of the common call (seL4's `fastpath_call`): a call from CPU 0 with a small
 * message and no capabilities, to a passive server of CPU 0 waiting on the endpoint, with
 * nothing observed (no policy, audit or trace). It checks exactly those conditions on the
 * snapshot of the caller's registers, in the order the general path would, and commits with
 * the same step the general path uses ({@link PassiveIpc.begin}) — so the kernel state after it
 * is the general path's, word for word. When any condition does not hold it returns `NONE`
 * having changed nothing the general path reads, and the caller enters the general path
 * ({@link Syscalls.ipc}), which handles that case and reports every error.
 */
export class CallFastPath {
  readonly #k: KernelContext;
  /** Off: {@link CallFastPath.call} always answers `NONE` (the kernel option `fastPath: false`). */
  enabled = true;
  /** Calls taken (for {@link Kernel.stats}). */
  calls = 0;
  readonly #wSyscall: number;
  readonly #wEndpoint: number;
  readonly #wInfo: number;
  readonly #wType: number;
  readonly #data: Int32Array;

  constructor(k: KernelContext) {
    this.#k = k;
    const L = k.arch.fastPath.layout;
    this.#wSyscall = slotWord(L.syscall);
    this.#wEndpoint = slotWord(L.endpoint);
    this.#wInfo = slotWord(L.info);
    this.#wType = slotWord(L.type);
    this.#data = dataRegisterWords(L);
  }

  /**
   * Process `p` (id `pid`) of this CPU has a call encoded in its registers. Returns the passive
   * server that took it — delivered into `buf(server)`, its handler to run next with the lock
   * released, then {@link Syscalls.passiveFinish} — or `NONE` (nothing done: take the general path).
   */
  call(p: number, pid: number, buf: (r: number) => MessageBuffer): number {
    const k = this.#k;
    const { procs, eps, slots, messages: msg } = k;
    // Only a passive server of this CPU takes a fast-path call: without one, do not take the lock twice.
    if (!this.enabled || k.port === undefined || k.port.passiveServers === 0) return NONE;
    k.lock();
    try {
      if (k.i32[H.OBS_FLAGS] !== 0) return NONE;
      if (!procs.live(p) || procs.pid(p) !== pid || Atomics.load(k.i32, procs.word(p, P.KILL)) !== 0) return NONE;
      // Each register word is read once (another CPU may write this frame meanwhile): the
      // checks and the delivery use the values read, as the general path's snapshot does.
      const frame = k.mm.frame(p);
      const info = frame[this.#wInfo]!;
      if ((info & NOT_LENGTH) !== 0 || info > MAX_SMALL_DATA || frame[this.#wSyscall] !== Syscall.IpcCall || procs.get(p, P.LARGE_OUT) !== 0) return NONE;
      // The channel: a live endpoint capability with SEND.
      const slot = k.caps.find(p, frame[this.#wEndpoint]!);
      if (slot < 0 || slots.get(slot, S.KIND) !== ObjectKind.Endpoint || (slots.get(slot, S.RIGHTS) & Rights.SEND) === 0) return NONE;
      const e = slots.get(slot, S.OBJ);
      if (!RegistryWord.matches(eps.registry(e), slots.gen(slot))) return NONE;
      // A passive server of this CPU waiting on it.
      const r = eps.get(e, E.RHEAD);
      if (r === NONE || procs.get(r, P.CPU) !== k.cpu || k.port === undefined || !k.port.isPassive(r, e)) return NONE;
      // Commit (the general path's own step).
      const out = buf(r);
      out.type = frame[this.#wType]!;
      out.length = info;
      out.capCount = 0;
      out.flags = 0;
      const caps = out.caps;
      caps[0] = caps[1] = caps[2] = caps[3] = 0;
      unpackData(frame, this.#data, info, out.bytes);
      msg.length = info;
      msg.capCount = 0;
      msg.flags = 0;
      k.sync.passiveServer = r;
      k.passive.begin(p, r, out, true);
      this.calls++;
      return r;
    } finally {
      k.unlock();
    }
  }
}
