import type { ManualClock } from '../../contracts/clock.js';
import { IPC_ERROR_NUMBERS, IpcError } from '../../contracts/errors.js';
import type { MessageBuffer, SmallMessage } from '../../contracts/message.js';
import type { KernelContext } from '../context.js';
import { H, P, PState } from '../records/layout.js';
import { KILLED, type CpuRuntime } from './worker-cpu.js';
import { Switch, type CpuPort } from './wake.js';
import { blockMainSync } from './main-block.js';
import { DoorbellPoll } from './doorbell-poll.js';

type Resolver = (value: MessageBuffer | undefined) => void;
type Rejecter = (error: unknown) => void;

/** A passive server's handler: turns a request into a response, synchronously. */
export type PassiveHandler = (request: MessageBuffer) => SmallMessage;

/** A passive server of this CPU: the endpoint it serves, its handler and its request buffer. */
export interface PassiveEntry {
  readonly e: number;
  readonly handler: PassiveHandler;
  readonly buf: MessageBuffer;
}

/**
 * The CPU of the thread that created the kernel: a priority run queue of cooperative tasks.
 * Exactly one process runs at a time; a blocking syscall returns a promise that the
 * scheduler resolves when it picks that process. A call to a server already waiting in
 * receive switches to it directly. If the running process awaits something outside the
 * kernel (a timer, I/O), a check after the microtask queue drains notices and lets the next
 * ready process run.
 */
export class MainCpu implements CpuPort, CpuRuntime {
  readonly k: KernelContext;
  readonly synchronous = false;
  /** Process running now, or -1. */
  current = -1;
  #next = -1;
  #nextYields = false;
  readonly #ready: number[] = [];
  readonly #queued: boolean[] = [];
  /** A blocking IPC operation of the process is in progress: the kernel owns its frame. */
  readonly #inIpc: boolean[] = [];
  readonly #resolvers: (Resolver | undefined)[] = [];
  readonly #rejecters: (Rejecter | undefined)[] = [];
  readonly #buffers: (MessageBuffer | null)[] = [];
  readonly #passive: (PassiveEntry | undefined)[] = [];
  readonly #starters: ((() => void) | undefined)[] = [];
  readonly #timers: (ReturnType<typeof setTimeout> | undefined)[] = [];
  readonly #manualTimers: Array<{ at: number; p: number; seq: number; status: number }> = [];
  readonly #drainReady = (p: number): void => {
    if (this.#resolvers[p] && !this.#queued[p] && this.#next !== p) this.readyLocal(p, Switch.NONE);
  };
  #epoch = 0;
  #checkArmed = false;
  #checkEpoch = 0;
  #doorbellArmed = false;
  #workers = 0;
  readonly #poll: DoorbellPoll;
  /** Called when a process of this CPU blocks in the kernel (the host's keep-alive). */
  onBlock: () => void = () => undefined;
  readonly #readers: ({ receiveInto(buf: MessageBuffer): void } | undefined)[] = [];

  constructor(k: KernelContext) {
    this.k = k;
    k.port = this;
    this.#poll = new DoorbellPoll(k.platform.cpuCount());
    if (k.clock.manual) (k.clock as ManualClock).onAdvance((now) => this.#fireManualTimers(now));
  }

  /**
   * Registers a new process whose body starts when it is first scheduled; `reader` decodes
   * the messages delivered to it.
   */
  admit(p: number, start: () => void, reader: { receiveInto(buf: MessageBuffer): void }): void {
    this.#starters[p] = start;
    this.#readers[p] = reader;
    this.#push(p);
    // The running process may be waiting on something outside the kernel: notice it, or the new one starves.
    if (this.current !== -1) this.#armCheck();
    queueMicrotask(() => this.dispatch());
  }

  readyLocal(p: number, switchTo: number): void {
    this.#clearTimer(p);
    if (switchTo !== Switch.NONE && this.#next === -1 && !this.#queued[p]) {
      this.#next = p;
      this.#nextYields = switchTo === Switch.BACK;
    } else if (this.#next !== p) this.#push(p);
    if (this.current !== -1) this.#armCheck();
    // Woken by code running off the books (a process resumed by a promise outside the kernel):
    // nobody else will dispatch.
    else queueMicrotask(this.#dispatchLater);
  }

  readonly #dispatchLater = (): void => this.dispatch();

  /** Servers of this CPU in {@link MainCpu.setPassive} (the fast path is skipped while there are none). */
  passiveServers = 0;

  isPassive(r: number, e: number): boolean {
    const entry = this.#passive[r];
    return entry !== undefined && entry.e === e && this.#resolvers[r] !== undefined;
  }

  #push(p: number): void {
    if (this.#queued[p]) return;
    this.#queued[p] = true;
    this.#ready.push(p);
  }

  /** Runs the best ready process if none is running. */
  dispatch(): void {
    if (this.current !== -1) return;
    let p = this.#next;
    if (p !== -1) {
      // A call switches to the server unconditionally; the switch back on reply never jumps
      // over a ready process of higher priority.
      this.#next = -1;
      if (this.#nextYields && this.#ready.length > 0 && this.#bestReadyPriority() > this.k.procs.get(p, P.EFF)) {
        this.#push(p);
        p = this.#pickReady();
      }
    } else p = this.#pickReady();
    if (p === -1) return;
    this.current = p;
    this.#epoch++;
    this.k.procs.setState(p, PState.RUNNING);
    const resolve = this.#resolvers[p];
    if (resolve) {
      this.#resolvers[p] = undefined;
      this.#settle(p, resolve, this.k.procs.get(p, P.RESULT));
    } else {
      const start = this.#starters[p];
      this.#starters[p] = undefined;
      start?.();
    }
    if (this.#ready.length > 0) this.#armCheck();
  }

  #bestReadyPriority(): number {
    let best = -1;
    for (let i = 0; i < this.#ready.length; i++) best = Math.max(best, this.k.procs.get(this.#ready[i]!, P.EFF));
    return best;
  }

  #pickReady(): number {
    const ready = this.#ready;
    if (ready.length === 0) return -1;
    let best = 0;
    let bestPrio = -1;
    for (let i = 0; i < ready.length; i++) {
      const prio = this.k.procs.get(ready[i]!, P.EFF);
      if (prio > bestPrio) {
        bestPrio = prio;
        best = i;
      }
    }
    const p = ready[best]!;
    ready.splice(best, 1);
    this.#queued[p] = false;
    return p;
  }

  #settle(p: number, resolve: Resolver, status: number): void {
    this.#inIpc[p] = false;
    const reject = this.#rejecters[p]!;
    this.#rejecters[p] = undefined;
    if (status !== 0) {
      reject(status === KILLED ? new IpcError('ProcessNotFound', 'process was killed') : IpcError.fromStatus(status));
      return;
    }
    const buf = this.#buffers[p];
    if (buf) {
      try {
        this.#readers[p]!.receiveInto(buf);
      } catch (e) {
        reject(e);
        return;
      }
    }
    resolve(buf ?? undefined);
  }

  pending(p: number): boolean {
    return this.#inIpc[p] === true;
  }

  /** `callSync` on the main thread: blocks the thread until `p` is woken (see main-block.ts). */
  blockSync(p: number, timeoutNs: number): number {
    return blockMainSync(this.k, p, timeoutNs, this.#drainReady);
  }

  blockAsync(p: number, timeoutNs: number, buf: MessageBuffer | null): Promise<MessageBuffer | undefined> {
    this.#buffers[p] = buf;
    this.#inIpc[p] = true;
    const promise = new Promise<MessageBuffer | undefined>((resolve, reject) => {
      this.#resolvers[p] = resolve;
      this.#rejecters[p] = reject;
    });
    if (timeoutNs > 0 && timeoutNs !== Infinity) this.#armTimeout(p, timeoutNs, IPC_ERROR_NUMBERS.Timeout);
    if (this.#workers > 0) this.onBlock();
    // `p` may be running off the books (resumed by a promise outside the kernel): either way
    // the CPU is free now.
    if (this.current === p) this.current = -1;
    if (this.current === -1) {
      this.dispatch();
      // Nothing here can run and a worker may answer soon: poll the doorbell briefly (doorbell-poll.ts).
      if (this.current === -1 && this.#workers > 0 && this.#poll.poll(this.k.i32, this.k.procs.get(p, P.WAIT))) this.#drainWakeRing();
    }
    return promise;
  }

  /**
   * Puts `p` at the back of the ready queue. The next pick waits for a macrotask turn: that
   * turn is the cooperative CPU's timer interrupt, letting due timers and I/O make processes
   * ready first, so a process that only yields cannot starve a higher-priority sleeper.
   */
  yield(p: number): Promise<void> {
    const procs = this.k.procs;
    procs.setState(p, PState.READY);
    procs.set(p, P.RESULT, 0);
    this.#push(p);
    this.#buffers[p] = null;
    const promise = new Promise<MessageBuffer | undefined>((resolve, reject) => {
      this.#resolvers[p] = resolve;
      this.#rejecters[p] = reject;
    });
    if (this.current === p) {
      this.current = -1;
      this.k.platform.macrotask(() => this.dispatch());
    }
    return promise.then(() => undefined);
  }

  sleep(p: number, ns: number): Promise<void> {
    const procs = this.k.procs;
    procs.setState(p, PState.SLEEPING);
    procs.set(p, P.SEQ, procs.get(p, P.SEQ) + 1);
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
    this.clearPassive(p);
    this.#starters[p] = undefined;
    this.#readers[p] = undefined;
    this.#inIpc[p] = false;
    const i = this.#ready.indexOf(p);
    if (i >= 0) this.#ready.splice(i, 1);
    this.#queued[p] = false;
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
    if (this.#passive[p] === undefined) this.passiveServers++;
    this.#passive[p] = { e, handler, buf };
  }

  /** Stops the passive fast path for `p`. */
  clearPassive(p: number): void {
    if (this.#passive[p] !== undefined) this.passiveServers--;
    this.#passive[p] = undefined;
  }

  /** The passive entry of server `r`. */
  passiveEntry(r: number): PassiveEntry {
    return this.#passive[r]!;
  }

  // ---------------------------------------------------------------- timeouts

  #armTimeout(p: number, ns: number, status: number): void {
    const seq = this.k.procs.get(p, P.SEQ);
    if (this.k.clock.manual) {
      this.#manualTimers.push({ at: this.k.clock.now() + ns, p, seq, status });
      return;
    }
    this.#timers[p] = setTimeout(() => this.#expire(p, seq, status), ns / 1e6);
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
    const k = this.k;
    k.withLock(() => k.processes.cancelIfBlocked(p, seq, status));
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
    this.k.platform.macrotask(() => {
      this.#checkArmed = false;
      // The microtask queue drained and no switch happened: the running process is waiting
      // on something outside the kernel, so let the ready ones run meanwhile.
      if (this.current !== -1 && this.#epoch === this.#checkEpoch) this.current = -1;
      this.dispatch();
      // Still someone waiting to run — in the ready queue, or the switch target of a reply or
      // call (`#next`) — behind a process that ran since this check was armed: check again.
      if (this.current !== -1 && (this.#ready.length > 0 || this.#next !== -1)) this.#armCheck();
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
    if (this.#workers === 0) Atomics.notify(this.k.i32, H.DOORBELL);
  }

  #armDoorbell(): void {
    if (this.#doorbellArmed || this.#workers === 0) return;
    const i32 = this.k.i32;
    const seen = Atomics.load(i32, H.DOORBELL);
    this.#drainWakeRing();
    const r = this.k.platform.waitAsync(i32, H.DOORBELL, seen);
    this.#doorbellArmed = true;
    const again = () => {
      this.#doorbellArmed = false;
      this.#drainWakeRing();
      this.#armDoorbell();
    };
    if (r) void r.then(again);
    else queueMicrotask(again);
  }

  #drainWakeRing(): void {
    const k = this.k;
    k.withLock(() => k.wake.drain(this.#drainReady));
    this.dispatch();
  }
}
