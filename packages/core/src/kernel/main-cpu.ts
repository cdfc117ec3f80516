import { availableParallelism } from 'node:os';
import { IPC_ERROR_NUMBERS, IpcError } from '../contracts/errors.js';
import { MessageFlags, MessageInfo, isLargeMessage, type MessageBuffer, type SmallMessage } from '../contracts/message.js';
import { writeSlot } from '../contracts/register-frame.js';

const EMPTY = new Uint8Array(0);
import { KILLED, Switch } from './kernel-core.js';
import { Syscall } from '../contracts/syscall.js';
import type { ManualClock } from '../contracts/clock.js';
import type { CpuPort, KernelCore } from './kernel-core.js';
import { H, P, PState } from './layout.js';

/** How a CPU blocks a process until the kernel wakes it. @internal */
export interface CpuRuntime {
  readonly core: KernelCore;
  /** True on a worker CPU, where blocking is synchronous (`Atomics.wait`). */
  readonly synchronous: boolean;
  /** Worker CPUs: waits until process `p` is woken; returns its wake status (0 or an error number). */
  blockSync(p: number, timeoutNs: number): number;
  /**
   * Main CPU: a promise settled when process `p` is woken — resolved with `buf` decoded from
   * its frame (or `undefined` when `buf` is null) on success, rejected with the `IpcError` of a
   * failure status.
   */
  blockAsync(p: number, timeoutNs: number, buf: MessageBuffer | null): Promise<MessageBuffer | undefined>;
  /** Lets other ready processes of this CPU run. */
  yield(p: number): Promise<void>;
  /** Sleeps `ns` nanoseconds of kernel time. */
  sleep(p: number, ns: number): Promise<void>;
}

const MIN_POLL_NS = 2_000;
const MAX_POLL_NS = 200_000;

type Resolver = (value: MessageBuffer | undefined) => void;
type Rejecter = (error: unknown) => void;

/** A passive server's handler: turns a request into a response, synchronously. */
export type PassiveHandler = (request: MessageBuffer) => SmallMessage;

/**
 * The CPU of the thread that created the kernel: a priority run queue of cooperative tasks.
 * Exactly one process runs at a time; a blocking syscall returns a promise that the
 * scheduler resolves when it picks that process. A call to a server already waiting in
 * receive switches to it directly. If the running process awaits something outside the
 * kernel (a timer, I/O), a check after the microtask queue drains notices and lets the next
 * ready process run.
 */
export class MainCpu implements CpuPort, CpuRuntime {
  readonly core: KernelCore;
  readonly synchronous = false;
  /** Process running now, or -1. */
  current = -1;
  #next = -1;
  #nextYields = false;
  readonly #ready: number[] = [];
  readonly #resolvers: (Resolver | undefined)[] = [];
  readonly #rejecters: (Rejecter | undefined)[] = [];
  readonly #buffers: (MessageBuffer | null)[] = [];
  readonly #passive: ({ e: number; handler: PassiveHandler; buf: MessageBuffer } | undefined)[] = [];
  readonly #starters: ((() => void) | undefined)[] = [];
  readonly #timers: (ReturnType<typeof setTimeout> | undefined)[] = [];
  readonly #manualTimers: Array<{ at: number; p: number; seq: number; status: number }> = [];
  #epoch = 0;
  #checkArmed = false;
  #checkEpoch = 0;
  #doorbellArmed = false;
  #workers = 0;
  #pollBudgetNs = availableParallelism() > 1 ? 20_000 : 0;

  constructor(core: KernelCore) {
    this.core = core;
    core.port = this;
    if (core.clock.manual) (core.clock as ManualClock).onAdvance((now) => this.#fireManualTimers(now));
  }

  /** Registers a new process whose body starts when it is first scheduled. */
  admit(p: number, start: () => void): void {
    this.#starters[p] = start;
    this.#ready.push(p);
    // The running process may be waiting on something outside the kernel: notice it, or the new one starves.
    if (this.current !== -1) this.#armCheck();
    queueMicrotask(() => this.dispatch());
  }

  readyLocal(p: number, switchTo: number): void {
    this.#clearTimer(p);
    if (switchTo !== Switch.NONE && this.#next === -1) {
      this.#next = p;
      this.#nextYields = switchTo === Switch.BACK;
    } else this.#ready.push(p);
    if (this.current !== -1) this.#armCheck();
  }

  /** Runs the best ready process if none is running. */
  dispatch(): void {
    if (this.current !== -1) return;
    let p = this.#next;
    if (p !== -1) {
      // A call switches to the server unconditionally; the switch back on reply never jumps
      // over a ready process of higher priority.
      this.#next = -1;
      if (this.#nextYields && this.#ready.length > 0 && this.#bestReadyPriority() > this.core.i32[this.core.mm.proc(p) + P.EFF]!) {
        this.#ready.push(p);
        p = this.#pickReady();
      }
    } else p = this.#pickReady();
    if (p === -1) return;
    const i32 = this.core.i32;
    const b = this.core.mm.proc(p);
    this.current = p;
    this.#epoch++;
    i32[b + P.STATE] = PState.RUNNING;
    const resolve = this.#resolvers[p];
    if (resolve) {
      this.#resolvers[p] = undefined;
      this.#settle(p, resolve, i32[b + P.RESULT]!);
    } else {
      const start = this.#starters[p];
      this.#starters[p] = undefined;
      start?.();
    }
    if (this.#ready.length > 0) this.#armCheck();
  }

  #bestReadyPriority(): number {
    let best = -1;
    for (let i = 0; i < this.#ready.length; i++) best = Math.max(best, this.core.i32[this.core.mm.proc(this.#ready[i]!) + P.EFF]!);
    return best;
  }

  #pickReady(): number {
    const ready = this.#ready;
    if (ready.length === 0) return -1;
    const i32 = this.core.i32;
    let best = 0;
    let bestPrio = -1;
    for (let i = 0; i < ready.length; i++) {
      const prio = i32[this.core.mm.proc(ready[i]!) + P.EFF]!;
      if (prio > bestPrio) {
        bestPrio = prio;
        best = i;
      }
    }
    const p = ready[best]!;
    ready.splice(best, 1);
    return p;
  }

  #settle(p: number, resolve: Resolver, status: number): void {
    const reject = this.#rejecters[p]!;
    this.#rejecters[p] = undefined;
    if (status !== 0) {
      reject(status === KILLED ? new IpcError('ProcessNotFound', 'process was killed') : IpcError.fromStatus(status));
      return;
    }
    const buf = this.#buffers[p];
    if (buf) {
      try {
        this.core.receiveInto(p, buf);
      } catch (e) {
        reject(e);
        return;
      }
    }
    resolve(buf ?? undefined);
  }

  blockSync(): number {
    throw new IpcError('InvalidState', 'synchronous calls are only available on worker CPUs');
  }

  blockAsync(p: number, timeoutNs: number, buf: MessageBuffer | null): Promise<MessageBuffer | undefined> {
    this.#buffers[p] = buf;
    const promise = new Promise<MessageBuffer | undefined>((resolve, reject) => {
      this.#resolvers[p] = resolve;
      this.#rejecters[p] = reject;
    });
    if (timeoutNs > 0) this.#armTimeout(p, timeoutNs, IPC_ERROR_NUMBERS.Timeout);
    if (this.current === p) {
      this.current = -1;
      this.dispatch();
      if (this.current === -1 && this.#workers > 0) this.#idlePoll();
    }
    return promise;
  }

  /**
   * Nothing here can run and another CPU may answer soon: poll the doorbell for a short,
   * adaptive while (a worker replies within microseconds; a trip through the event loop and
   * `waitAsync` costs far more), then fall back to the event loop. Never on a single core.
   */
  #idlePoll(): void {
    if (this.#pollBudgetNs === 0) return;
    const i32 = this.core.i32;
    const seen = Atomics.load(i32, H.DOORBELL);
    const start = performance.now();
    const limit = start + this.#pollBudgetNs / 1e6;
    for (let spins = 0; ; spins++) {
      if (Atomics.load(i32, H.DOORBELL) !== seen) {
        const took = (performance.now() - start) * 1e6;
        // Grow the budget towards 4× what a wake-up took; it shrinks again when polls go unanswered.
        this.#pollBudgetNs = Math.min(MAX_POLL_NS, Math.max(this.#pollBudgetNs, took * 4));
        this.#drainWakeRing();
        return;
      }
      if ((spins & 255) === 255 && performance.now() > limit) break;
    }
    this.#pollBudgetNs = Math.max(MIN_POLL_NS, this.#pollBudgetNs / 2);
  }

  /**
   * Puts `p` at the back of the ready queue. The next pick waits for a macrotask turn: that
   * turn is the cooperative CPU's timer interrupt, letting due timers and I/O make processes
   * ready first, so a process that only yields cannot starve a higher-priority sleeper.
   */
  yield(p: number): Promise<void> {
    const b = this.core.mm.proc(p);
    this.core.i32[b + P.STATE] = PState.READY;
    this.core.i32[b + P.RESULT] = 0;
    this.#ready.push(p);
    this.#buffers[p] = null;
    const promise = new Promise<MessageBuffer | undefined>((resolve, reject) => {
      this.#resolvers[p] = resolve;
      this.#rejecters[p] = reject;
    });
    if (this.current === p) {
      this.current = -1;
      setImmediate(() => this.dispatch());
    }
    return promise.then(() => undefined);
  }

  sleep(p: number, ns: number): Promise<void> {
    const i32 = this.core.i32;
    const b = this.core.mm.proc(p);
    i32[b + P.STATE] = PState.SLEEPING;
    i32[b + P.SEQ]++;
    this.#buffers[p] = null;
    const promise = new Promise<MessageBuffer | undefined>((resolve, reject) => {
      this.#resolvers[p] = resolve;
      this.#rejecters[p] = reject;
    });
    this.#armTimeout(p, Math.max(1, ns), 0);
    if (this.current === p) {
      this.current = -1;
      this.dispatch();
    }
    return promise.then(() => undefined);
  }

  /** A process of this CPU ended: forget its wake-ups and run the next one. */
  retire(p: number): void {
    this.#clearTimer(p);
    this.#resolvers[p] = undefined;
    this.#rejecters[p] = undefined;
    this.#passive[p] = undefined;
    this.#starters[p] = undefined;
    const i = this.#ready.indexOf(p);
    if (i >= 0) this.#ready.splice(i, 1);
    if (this.#next === p) this.#next = -1;
    if (this.current === p) this.current = -1;
    queueMicrotask(() => this.dispatch());
  }

  /** Wakes a process of this CPU that was killed while blocked, with `status`. */
  abort(p: number, status: number): void {
    const resolve = this.#resolvers[p];
    const reject = this.#rejecters[p];
    this.#resolvers[p] = undefined;
    this.retire(p);
    if (resolve) {
      this.#rejecters[p] = reject;
      this.#settle(p, resolve, status);
    }
  }

  // ---------------------------------------------------------------- passive servers

  /** Makes process `p` a passive server of endpoint `e`: same-CPU calls run `handler` directly. */
  setPassive(p: number, e: number, handler: PassiveHandler, buf: MessageBuffer): void {
    this.#passive[p] = { e, handler, buf };
  }

  /** Stops the passive fast path for `p`. */
  clearPassive(p: number): void {
    this.#passive[p] = undefined;
  }

  readonly #isPassive = (r: number, e: number): boolean => {
    const entry = this.#passive[r];
    return entry !== undefined && entry.e === e && this.#resolvers[r] !== undefined;
  };

  /**
   * The direct switch of a call to a passive server waiting in receive: the server's handler
   * runs now, on the caller's time (scheduling-context donation, as in seL4), and the reply
   * comes straight back. Returns `undefined` when the fast path does not apply.
   */
  passiveCall(p: number, ch: number, reply: MessageBuffer): MessageBuffer | undefined {
    const core = this.core;
    const r = core.passiveTarget(p, ch, this.#isPassive);
    if (r < 0) return undefined;
    const entry = this.#passive[r]!;
    const fp = core.arch.fastPath;
    const frame = core.mm.frame(p);
    fp.decode(frame, entry.buf);
    core.passiveDeliver(p, r, entry.buf);
    try {
      const response = entry.handler(entry.buf);
      if (isLargeMessage(response)) {
        // A large reply is staged by the server and its frames handed to the caller.
        fp.encode(Syscall.IpcReply, 0, { type: response.type, data: EMPTY }, frame);
        core.stageLarge(r, response.data, response.caps);
        writeSlot(frame, fp.layout.info, MessageInfo.pack(0, 0, MessageFlags.LARGE));
      } else fp.encode(Syscall.IpcReply, 0, response, frame);
      core.passiveReturn(r, p);
    } catch (e) {
      // A handler error or an undeliverable reply fails the call as a whole: nothing delivered stays.
      core.dropLarge(r);
      core.passiveUndo(r, entry.buf);
      throw e instanceof IpcError ? e : new IpcError('InvalidState', 'passive server handler threw', { cause: e });
    }
    core.receiveInto(p, reply);
    return reply;
  }

  // ---------------------------------------------------------------- timeouts

  #armTimeout(p: number, ns: number, status: number): void {
    const seq = this.core.i32[this.core.mm.proc(p) + P.SEQ]!;
    if (this.core.clock.manual) {
      this.#manualTimers.push({ at: this.core.clock.now() + ns, p, seq, status });
      return;
    }
    this.#timers[p] = setTimeout(() => this.#expire(p, seq, status), Math.max(0, ns / 1e6));
  }

  #clearTimer(p: number): void {
    const t = this.#timers[p];
    if (t !== undefined) {
      clearTimeout(t);
      this.#timers[p] = undefined;
    }
  }

  #expire(p: number, seq: number, status: number): void {
    this.#timers[p] = undefined;
    const core = this.core;
    core.lock();
    try {
      core.cancelIfBlocked(p, seq, status);
    } finally {
      core.unlock();
    }
    this.dispatch();
  }

  #fireManualTimers(now: number): void {
    const due = this.#manualTimers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at);
    if (due.length === 0) return;
    for (const t of due) this.#manualTimers.splice(this.#manualTimers.indexOf(t), 1);
    for (const t of due) this.#expire(t.p, t.seq, t.status);
  }

  // ---------------------------------------------------------------- off-kernel awaits

  #armCheck(): void {
    if (this.#checkArmed) return;
    this.#checkArmed = true;
    this.#checkEpoch = this.#epoch;
    setImmediate(() => {
      this.#checkArmed = false;
      // The microtask queue drained and no switch happened: the running process is waiting
      // on something outside the kernel, so let the ready ones run meanwhile.
      if (this.current !== -1 && this.#epoch === this.#checkEpoch) this.current = -1;
      this.dispatch();
      if (this.current !== -1 && this.#ready.length > 0) this.#armCheck();
    });
  }

  // ---------------------------------------------------------------- other CPUs

  /** A worker CPU was started: listen for wake-ups it sends to processes of this CPU. */
  workerStarted(): void {
    this.#workers++;
    this.#armDoorbell();
  }

  /** A worker CPU stopped. */
  workerStopped(): void {
    this.#workers--;
    this.#drainWakeRing();
    if (this.#workers === 0) Atomics.notify(this.core.i32, H.DOORBELL);
  }

  #armDoorbell(): void {
    if (this.#doorbellArmed || this.#workers === 0) return;
    const i32 = this.core.i32;
    const seen = Atomics.load(i32, H.DOORBELL);
    this.#drainWakeRing();
    const r = Atomics.waitAsync(i32, H.DOORBELL, seen);
    this.#doorbellArmed = true;
    const again = () => {
      this.#doorbellArmed = false;
      this.#drainWakeRing();
      this.#armDoorbell();
    };
    if (r.async) r.value.then(again);
    else queueMicrotask(again);
  }

  #drainWakeRing(): void {
    const core = this.core;
    core.lock();
    try {
      for (let p = core.takeWake(); p !== -1; p = core.takeWake()) {
        const b = core.mm.proc(p);
        if (core.i32[b + P.STATE] === PState.READY && core.i32[b + P.CPU] === 0 && this.#resolvers[p]) this.readyLocal(p, Switch.NONE);
      }
    } finally {
      core.unlock();
    }
    this.dispatch();
  }
}
