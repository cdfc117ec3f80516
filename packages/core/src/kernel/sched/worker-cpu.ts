import { IPC_ERROR_NUMBERS } from '../../contracts/errors.js';
import type { MessageBuffer } from '../../contracts/message.js';
import type { KernelContext } from '../context.js';
import { P, PS } from '../records/layout.js';
import { FutexWaiter } from './futex.js';
import type { CpuPort } from './wake.js';

/** Status a killed process sees. */
export const KILLED = -2;

/** How a CPU blocks a process until the kernel wakes it. @internal */
export interface CpuRuntime {
  readonly k: KernelContext;
  /** True on a worker CPU, where blocking is synchronous (`Atomics.wait`). */
  readonly synchronous: boolean;
  /** Waits, blocking the thread, until process `p` is woken; returns its wake status (0 or an error number). */
  blockSync(p: number, timeoutNs: number): number;
  /**
   * Main CPU: a promise settled when process `p` is woken — resolved with `buf` decoded from
   * its frame (or `undefined` when `buf` is null) on success, rejected with the `IpcError` of a
   * failure status.
   */
  blockAsync(p: number, timeoutNs: number, buf: MessageBuffer | null): Promise<MessageBuffer | undefined>;
  /** True while process `p` has a blocking operation in progress (its frame is the kernel's). */
  pending(p: number): boolean;
  /** Lets other ready processes of this CPU run. */
  yield(p: number): Promise<void>;
  /** Sleeps `ns` nanoseconds of kernel time. */
  sleep(p: number, ns: number): Promise<void>;
}

/**
 * A worker-thread CPU running one process. Blocking is real: the thread spins briefly on its
 * process's futex word, then parks in `Atomics.wait` until another CPU wakes it, it times
 * out, or it is killed (checked on every wake-up and at every kernel entry).
 */
export class WorkerCpu implements CpuPort, CpuRuntime {
  readonly k: KernelContext;
  readonly synchronous = true;
  readonly #futex: FutexWaiter;
  readonly #cell = new Int32Array(new SharedArrayBuffer(4));

  /** `p`: the process this CPU runs (its record's `P.WAIT` says how it waits). */
  constructor(k: KernelContext, p: number) {
    this.k = k;
    k.port = this;
    this.#futex = new FutexWaiter(k.platform.cpuCount(), k.procs.get(p, P.WAIT));
    this.#futex.parksWord = k.mm.statsBase + p * PS.SIZE + PS.PARKS;
  }

  readyLocal(): void {
    // The only process of this CPU is the one running; it notices its own wake-up itself.
  }

  isPassive(): boolean {
    return false;
  }

  /** A worker CPU has no passive servers (`serve` there loops on receive). */
  readonly passiveServers = 0;

  pending(): boolean {
    // Blocking is synchronous here: when the process's own code runs, nothing is pending.
    return false;
  }

  blockAsync(): never {
    throw new Error('worker CPUs block synchronously');
  }

  blockSync(p: number, timeoutNs: number): number {
    const k = this.k;
    const procs = k.procs;
    const seq = procs.get(p, P.SEQ);
    // Written only for a timed wait (0 otherwise): a store per wait would move the record's line.
    const timed = timeoutNs !== Infinity;
    if (timed) procs.set(p, P.TIMED, 1);
    // A kill that came after the entry's own check but before its futex was cleared rang a bell
    // the clear erased: the flag (set before the bell) is checked once more instead of waiting.
    const killed = Atomics.load(k.i32, procs.word(p, P.KILL)) !== 0;
    const woken = killed || this.#futex.wait(k.i32, procs.word(p, P.FUTEX), procs.word(p, P.PARKED), timed ? timeoutNs / 1e6 : Infinity);
    if (timed) procs.set(p, P.TIMED, 0);
    if (!woken) k.withLock(() => k.processes.cancelIfBlocked(p, seq, IPC_ERROR_NUMBERS.Timeout));
    if (Atomics.load(k.i32, procs.word(p, P.KILL)) !== 0) {
      k.withLock(() => k.processes.cancelIfBlocked(p, seq, KILLED));
      return KILLED;
    }
    return procs.get(p, P.RESULT);
  }

  yield(): Promise<void> {
    return Promise.resolve();
  }

  sleep(_p: number, ns: number): Promise<void> {
    if (ns > 0) Atomics.wait(this.#cell, 0, 0, ns / 1e6);
    return Promise.resolve();
  }
}
