import { IpcError } from '../contracts/errors.js';
import type { KernelContext } from './context.js';
import type { CpuThread } from './platform/platform.js';
import { CpuState, H, P, PState } from './records/layout.js';
import type { MainCpu } from './sched/main-cpu.js';
import { wakeFutex } from './sched/futex.js';
import type { ProcessExit } from './kernel-types.js';

/** How long a killed worker gets to unwind by itself before it is stopped. */
const KILL_GRACE_MS = 100;

/** One worker CPU as CPU 0 tracks it. */
interface WorkerEntry {
  readonly p: number;
  readonly pid: number;
  readonly thread: CpuThread;
  readonly exited: Promise<ProcessExit>;
}

/**
 * The worker CPUs of a kernel, seen from CPU 0: starting one per process, the kill protocol,
 * and keeping the host alive only while some process can still run.
 *
 * Killing: the kill flag is set and the worker's futex word rung, so the worker unwinds at its
 * next kernel entry or wake-up and cleans up itself. If it does not within a grace period (busy
 * in its own code), CPU 0 moves the worker's kernel-entry word from SAFE to DOOMED with a
 * compare-and-swap: from then on the worker can take no ticket of any kernel lock, so stopping
 * its thread cannot leave a lock held or a ticket unserved. If the worker is LOCKING (inside
 * the kernel), it will see the kill flag on its way, so CPU 0 waits and tries again.
 */
export class WorkerCpus {
  readonly #k: KernelContext;
  readonly #cpu0: MainCpu;
  readonly #free: number[] = [];
  readonly #live = new Map<number, WorkerEntry>();
  #keepAlive: ReturnType<typeof setInterval> | undefined;

  constructor(k: KernelContext, cpu0: MainCpu, cpus: number) {
    this.#k = k;
    this.#cpu0 = cpu0;
    for (let c = cpus - 1; c >= 1; c--) this.#free.push(c);
  }

  /** Takes a free CPU index, or throws `OutOfMemory`. */
  takeCpu(): number {
    const cpu = this.#free.pop();
    if (cpu === undefined) throw new IpcError('OutOfMemory', 'all CPUs are in use');
    Atomics.store(this.#k.i32, this.#k.mm.cpuState(cpu), CpuState.SAFE);
    return cpu;
  }

  /** Gives a CPU index back. */
  releaseCpu(cpu: number): void {
    this.#free.push(cpu);
  }

  /** Tracks a started worker CPU (the thread is unref'd: {@link WorkerCpus.keepAlive} decides). */
  track(cpu: number, entry: WorkerEntry): void {
    entry.thread.unref();
    this.#live.set(cpu, entry);
    this.#cpu0.workerStarted();
    this.keepAlive();
  }

  /** A worker CPU's thread has stopped: clean up whatever it left. */
  stopped(cpu: number, p: number, pid: number): void {
    const k = this.#k;
    k.withLock(() => {
      if (k.registry.resolvePid(pid) === p) k.processes.destroy(p);
    });
    this.#live.delete(cpu);
    Atomics.sub(k.i32, H.SHARED, 1);
    this.releaseCpu(cpu);
    this.#cpu0.workerStopped();
    if (this.#live.size === 0) this.#stopKeepAlive();
  }

  /** Asks the worker on `cpu` to die, then stops it if it does not (see the class doc). */
  async kill(cpu: number): Promise<void> {
    const w = this.#live.get(cpu);
    if (!w) return;
    const k = this.#k;
    const i32 = k.i32;
    Atomics.store(i32, k.procs.word(w.p, P.KILL), 1);
    wakeFutex(i32, k.procs.word(w.p, P.FUTEX), k.procs.word(w.p, P.PARKED));
    let done = false;
    void w.exited.then(() => (done = true));
    const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
    for (let waited = 0; !done && waited < KILL_GRACE_MS; waited += 5) await sleep(5);
    while (!done) {
      const prev = Atomics.compareExchange(i32, k.mm.cpuState(cpu), CpuState.SAFE, CpuState.DOOMED);
      // Inside a kernel lock or an endpoint fast path: wait until it is out again.
      if (prev !== CpuState.LOCKING && prev !== CpuState.FAST) {
        await w.thread.terminate();
        break;
      }
      await sleep(1);
    }
    await w.exited;
  }

  /** Pid of the process on every live worker CPU. */
  get pids(): number[] {
    return [...this.#live.values()].map((w) => w.pid);
  }

  /**
   * Keeps the host alive while a worker can still act: one running its own code (or spinning,
   * or waiting with a timeout). CPU 0 re-arms this whenever one of its processes blocks. When
   * every worker is parked in the kernel for something only another process could send and
   * CPU 0 has nothing left to do, nothing can ever happen again, and the host may exit
   * (worker threads are unref'd).
   */
  keepAlive(): void {
    if (this.#keepAlive !== undefined || this.#live.size === 0) return;
    this.#keepAlive = setInterval(() => {
      if (!this.#canRun()) this.#stopKeepAlive();
    }, 20);
  }

  #stopKeepAlive(): void {
    if (this.#keepAlive !== undefined) clearInterval(this.#keepAlive);
    this.#keepAlive = undefined;
  }

  #canRun(): boolean {
    // CPU-0 processes that can run keep the host alive by themselves (their timers, I/O and
    // queued turns) — except one woken from another CPU whose wake-up CPU 0 has not taken yet.
    // A worker thread is unref'd, so count the workers that may still act, and those still
    // exiting (their exit report has to arrive).
    const procs = this.#k.procs;
    for (let p = 0; p < procs.count; p++) if (procs.live(p) && procs.get(p, P.CPU) === 0 && procs.state(p) === PState.READY) return true;
    for (const w of this.#live.values()) {
      if (!procs.live(w.p) || procs.pid(w.p) !== w.pid) return true;
      // Running, spinning, woken but not yet off its futex, or waiting with a timeout.
      if (Atomics.load(procs.i32, procs.word(w.p, P.PARKED)) === 0 || Atomics.load(procs.i32, procs.word(w.p, P.FUTEX)) !== 0 || procs.get(w.p, P.TIMED) !== 0) return true;
    }
    return false;
  }
}
