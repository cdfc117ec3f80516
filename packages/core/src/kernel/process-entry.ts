import { IpcError } from '../contracts/errors.js';
import type { FastPathAbi } from '../contracts/fast-path.js';
import { MessageFlags, MessageInfo, isLargeMessage, type MessageBuffer, type SmallMessage } from '../contracts/message.js';
import { writeSlot, type RegisterFrame } from '../contracts/register-frame.js';
import { Syscall } from '../contracts/syscall.js';
import { checkHandle, checkMessage, checkTimeout } from './args.js';
import type { KernelContext } from './context.js';
import type { BlockingOptions } from './kernel-types.js';
import { BLOCKED, PASSIVE } from './ipc/sync.js';
import { NONE } from './records/layout.js';
import type { MainCpu } from './sched/main-cpu.js';
import type { CpuRuntime } from './sched/worker-cpu.js';
import type { Syscalls } from './syscall.js';

const EMPTY = new Uint8Array(0);

/**
 * How a process enters the kernel for sync IPC: checks the arguments, writes the register
 * frame the arch's ABI defines (staging a large message first), and traps into the syscall
 * layer. Returns the kernel's status (`PASSIVE`, `BLOCKED`, 0 or an error status).
 */
export class ProcessEntry {
  readonly #k: KernelContext;
  readonly #sys: Syscalls;
  readonly #rt: CpuRuntime;
  readonly #p: number;
  readonly #pid: number;
  readonly #fp: FastPathAbi;
  readonly #frame: RegisterFrame;
  /**
   * True while an entry reads its arguments and writes the frame. Reading them runs user code
   * (getters, a `Proxy`); one that starts another blocking operation of this process would
   * share the frame (and, on CPU 0, pass the pending check that ran before it): refused.
   */
  #entering = false;
  /** The registers of a large message (its type; the rest travels in the descriptor), reused. */
  readonly #regs: SmallMessage = { type: 0, data: EMPTY };
  /** Where a passive server of CPU 0 decodes a request (its buffer by record). */
  readonly passiveBuf = (r: number): MessageBuffer => (this.#rt as MainCpu).passiveEntry(r).buf;

  constructor(rt: CpuRuntime, sys: Syscalls, p: number, pid: number, frame: RegisterFrame) {
    this.#rt = rt;
    this.#k = rt.k;
    this.#sys = sys;
    this.#p = p;
    this.#pid = pid;
    this.#fp = rt.k.arch.fastPath;
    this.#frame = frame;
  }

  /** No other blocking operation of this process is in progress (its frame may be written). */
  idle(): void {
    if (this.#rt.pending(this.#p)) throw new IpcError('InvalidState', 'a process has at most one blocking operation at a time');
  }

  /** Marks an entry in progress (see `#entering`); refuses one begun from inside another. */
  #begin(): void {
    if (this.#entering) throw new IpcError('InvalidState', 'a process has at most one blocking operation at a time (a getter of its arguments started another)');
    this.#entering = true;
  }

  /** Syscall `sys` (call, send, reply, replyReceive) with `message` on handle `ch` to process `target`. */
  enter(sys: number, ch: number, message: unknown, options: BlockingOptions | undefined, target: number, blocksThread = false): number {
    this.#begin();
    try {
      const m = checkMessage(message, sys === Syscall.IpcCall || sys === Syscall.IpcSend ? 'message' : 'response');
      const timeout = checkTimeout(options);
      checkHandle(ch, 'channel');
      this.idle();
      const p = this.#p;
      if (!isLargeMessage(m)) {
        this.#fp.encode(sys, ch, m, this.#frame);
        if (sys === Syscall.IpcCall && this.#k.fastpath.call(p, this.#pid, this.passiveBuf) !== NONE) return PASSIVE;
        if ((sys === Syscall.IpcCall || sys === Syscall.IpcReplyReceive) && this.#sys.endpointFast(p, this.#pid, target, timeout)) return BLOCKED;
      } else {
        const toEndpoint = sys === Syscall.IpcCall || sys === Syscall.IpcSend;
        const regs = this.#regs;
        regs.type = m.type;
        // Staged (checked) before the registers are written, so a refused message leaves the
        // frame as it was; the payload is copied in between, outside the lock.
        this.#sys.stageLarge(p, this.#pid, m, toEndpoint ? ch : -1, target);
        this.#k.large.fill(p, m.data);
        this.#fp.encode(sys, ch, regs, this.#frame);
        writeSlot(this.#frame, this.#fp.layout.info, MessageInfo.pack(0, 0, MessageFlags.LARGE));
      }
      return this.#sys.ipc(p, this.#pid, target, 0, timeout, this.passiveBuf, blocksThread);
    } finally {
      this.#entering = false;
    }
  }

  /** Syscall receive on endpoint `ep`. */
  receive(ep: number, options: BlockingOptions | undefined): number {
    this.#begin();
    try {
      checkHandle(ep, 'ep');
      const timeout = checkTimeout(options);
      this.idle();
      const L = this.#fp.layout;
      writeSlot(this.#frame, L.syscall, Syscall.IpcReceive);
      writeSlot(this.#frame, L.endpoint, ep);
      return this.#sys.ipc(this.#p, this.#pid, 0, 0, timeout, this.passiveBuf);
    } finally {
      this.#entering = false;
    }
  }

  /** Syscall replyError: fails `target`'s pending call with error `status` (both checked). */
  replyError(target: number, status: number): void {
    this.#begin();
    try {
      this.idle();
      writeSlot(this.#frame, this.#fp.layout.syscall, Syscall.IpcReplyError);
      this.#sys.ipc(this.#p, this.#pid, target, status, undefined, this.passiveBuf);
    } finally {
      this.#entering = false;
    }
  }
}
