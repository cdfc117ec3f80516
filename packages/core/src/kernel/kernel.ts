import { Worker } from 'node:worker_threads';
import type { Arch } from '../contracts/arch.js';
import { MonotonicClock, type Clock } from '../contracts/clock.js';
import { IpcError } from '../contracts/errors.js';
import { EState, H, P, PState } from './layout.js';
import { KILLED, KernelCore } from './kernel-core.js';
import { MachineMemory } from './machine-memory.js';
import { MainCpu } from './main-cpu.js';
import { Process } from './process.js';

/** Options of {@link createKernel}. */
export interface KernelOptions {
  /** The architecture backend (register fast path and MMU). */
  arch: Arch;
  /** Physical frames of 4 KiB in machine memory (default 4096 = 16 MiB). */
  frames?: number;
  /** Process records (default 64). */
  processes?: number;
  /** Endpoint records (default 256). */
  endpoints?: number;
  /** Capability slots per process (default 256, at most 4096). */
  capSlots?: number;
  /** CPUs including the calling thread's (default 8): bounds {@link Kernel.spawnWorker}. */
  cpus?: number;
  /** Kernel clock (default: the real monotonic clock). A `ManualClock` makes timeouts deterministic on the main CPU. */
  clock?: Clock;
  /** Seeds the capability-token RNG (tests only; default: `crypto.getRandomValues`). */
  seed?: number;
}

/** Options of {@link Kernel.spawn}. */
export interface SpawnOptions {
  /** Process name (up to 32 bytes of UTF-8). */
  name: string;
  /** Priority 0–31, higher runs first (default 10). */
  priority?: number;
}

/** Options of {@link Kernel.spawnWorker}. */
export interface WorkerSpawnOptions extends SpawnOptions {
  /** Structured-cloneable value handed to the worker module's default export as its second argument. */
  args?: unknown;
}

/** How a process ended. */
export interface ProcessExit {
  pid: number;
  name: string;
  reason: 'returned' | 'crashed' | 'killed';
  /** The error a crashed process threw. */
  error?: unknown;
}

/** A spawned process, as its parent sees it. */
export interface ProcessHandle {
  readonly pid: number;
  readonly name: string;
  /** CPU index (0 = the kernel's own thread). */
  readonly cpu: number;
  /** Settles when the process has exited and its resources are back in the pools. */
  readonly exited: Promise<ProcessExit>;
  /** Terminates the process; resolves once it is cleaned up. */
  kill(): Promise<ProcessExit>;
}

/** Occupancy of the kernel's pools, for leak checks. */
export interface KernelStats {
  processes: number;
  endpoints: number;
  capabilities: number;
  freeFrames: number;
  usedFrames: number;
  /** Bytes of machine memory. */
  memoryBytes: number;
}

/** Shape of the code a worker process runs: the default export of the module given to {@link Kernel.spawnWorker}. */
export type WorkerMain = (proc: Process, args: unknown) => unknown;

// When the kernel runs from TypeScript source (tests), the worker loads tsx and resolves
// workspace packages through their `@veridian/source` export condition, exactly like the
// thread that created it; from dist it starts the compiled module directly.
const SOURCE_CONDITION_HOOK =
  'data:text/javascript,export async function resolve(s, c, n) { return n(s, { ...c, conditions: [...c.conditions, "@veridian/source"] }); }';
const WORKER_BOOT = `
const { workerData } = require('node:worker_threads');
(async () => {
  if (workerData.tsx) (await import(workerData.tsx)).register();
  if (workerData.sourceHook) require('node:module').register(workerData.sourceHook);
  const m = await import(workerData.entry);
  await m.runWorkerCpu(workerData);
})().catch((e) => { console.error(e); process.exitCode = 1; });
`;

/**
 * The VeridianOS kernel over one machine memory. The calling thread is CPU 0, running
 * cooperative processes ({@link Kernel.spawn}); each {@link Kernel.spawnWorker} adds a CPU on
 * its own worker thread that enters the kernel directly through the shared memory.
 */
export class Kernel {
  readonly arch: Arch;
  readonly clock: Clock;
  /** The machine memory (shared with worker CPUs). */
  readonly memory: MachineMemory;
  readonly #core: KernelCore;
  readonly #cpu: MainCpu;
  readonly #maxCpus: number;
  readonly #freeCpus: number[] = [];
  readonly #live = new Map<number, { exited: Promise<ProcessExit>; kill: () => Promise<ProcessExit> }>();
  #idleWaiters: Array<() => void> = [];
  readonly #i32: Int32Array;
  readonly #regBase: number;
  readonly #nep: number;

  /** @internal use {@link createKernel} */
  constructor(options: KernelOptions) {
    this.arch = options.arch;
    this.clock = options.clock ?? new MonotonicClock();
    this.#maxCpus = options.cpus ?? 8;
    if (!Number.isInteger(this.#maxCpus) || this.#maxCpus < 1 || this.#maxCpus > 64) throw new IpcError('InvalidArgument', 'cpus must be in [1, 64]');
    for (let c = this.#maxCpus - 1; c >= 1; c--) this.#freeCpus.push(c);
    this.memory = MachineMemory.create({
      frames: options.frames ?? 4096,
      processes: options.processes ?? 64,
      endpoints: options.endpoints ?? 256,
      capSlots: options.capSlots ?? 256,
    });
    const mmu = this.arch.createMmu(this.memory.phys, { cpus: this.#maxCpus });
    this.memory.u32[H.MMU_SHARED] = mmu.sharedState;
    this.memory.i32[H.NCPU] = this.#maxCpus;
    this.#core = new KernelCore(this.memory, this.arch, mmu, this.clock, 0, options.seed);
    this.#cpu = new MainCpu(this.#core);
    this.#i32 = this.memory.i32;
    this.#regBase = this.memory.regBase;
    this.#nep = this.memory.nep;
  }

  /**
   * Starts a process as a cooperative task on this thread's CPU. `body` runs when the
   * scheduler first picks the process; the process exits when `body` settles.
   */
  spawn(options: SpawnOptions, body: (proc: Process) => unknown): ProcessHandle {
    const core = this.#core;
    core.lock();
    let p: number;
    try {
      p = core.createProcess(options.name, options.priority ?? 10, 0);
    } finally {
      core.unlock();
    }
    const proc = new Process(this.#cpu, p);
    let settle!: (e: ProcessExit) => void;
    const exited = new Promise<ProcessExit>((r) => (settle = r));
    let killed = false;
    const finish = (reason: ProcessExit['reason'], error?: unknown) => {
      if (core.resolvePid(proc.pid) === p) {
        core.lock();
        try {
          core.destroyProcess(p);
        } finally {
          core.unlock();
        }
      }
      this.#cpu.retire(p);
      this.#live.delete(proc.pid);
      settle(error === undefined ? { pid: proc.pid, name: proc.name, reason } : { pid: proc.pid, name: proc.name, reason, error });
      this.#checkIdle();
    };
    this.#cpu.admit(p, () => {
      Promise.resolve()
        .then(() => body(proc))
        .then(
          () => !killed && finish('returned'),
          (error: unknown) => !killed && finish('crashed', error),
        );
    });
    const kill = async () => {
      if (!killed && core.resolvePid(proc.pid) === p) {
        killed = true;
        core.lock();
        try {
          core.destroyProcess(p);
        } finally {
          core.unlock();
        }
        this.#cpu.abort(p, KILLED);
        finish('killed');
      }
      return exited;
    };
    this.#live.set(proc.pid, { exited, kill });
    return { pid: proc.pid, name: proc.name, cpu: 0, exited, kill };
  }

  /**
   * Starts a process on a new CPU: a worker thread that attaches to the same machine memory
   * and runs `moduleUrl`'s default export `(proc, args) => …` ({@link WorkerMain}). Blocking
   * calls on that CPU park the thread (`Atomics.wait`); `callSync`/`receiveSync` are available.
   */
  spawnWorker(moduleUrl: string | URL, options: WorkerSpawnOptions): ProcessHandle {
    const cpu = this.#freeCpus.pop();
    if (cpu === undefined) throw new IpcError('OutOfMemory', `all ${this.#maxCpus} CPUs are in use`);
    const core = this.#core;
    core.lock();
    let p: number;
    try {
      p = core.createProcess(options.name, options.priority ?? 10, cpu);
      core.i32[core.mm.proc(p) + P.STATE] = PState.RUNNING;
    } catch (e) {
      this.#freeCpus.push(cpu);
      throw e;
    } finally {
      core.unlock();
    }
    const pid = core.pidOf(p);
    const name = options.name;
    const selfUrl = import.meta.url;
    const fromSource = selfUrl.endsWith('.ts');
    const entry = new URL(fromSource ? './cpu-worker.ts' : './cpu-worker.js', selfUrl).href;
    const userUrl = String(moduleUrl);
    const needsTsx = fromSource || /\.[mc]?ts$/.test(userUrl) || this.arch.moduleUrl.endsWith('.ts');
    let tsx: string | undefined;
    if (needsTsx) {
      try {
        tsx = import.meta.resolve('tsx/esm/api');
      } catch (e) {
        throw new IpcError('InvalidArgument', 'running TypeScript modules on worker CPUs needs the tsx package', { cause: e });
      }
    }
    Atomics.add(core.i32, H.SHARED, 1);
    const worker = new Worker(WORKER_BOOT, {
      eval: true,
      workerData: { buffer: this.memory.buffer, p, cpu, entry, tsx, sourceHook: fromSource ? SOURCE_CONDITION_HOOK : undefined, module: userUrl, archUrl: this.arch.moduleUrl, archExport: this.arch.exportName, args: options.args },
    });
    this.#cpu.workerStarted();
    let report: ProcessExit | undefined;
    let killed = false;
    worker.on('message', (m: { veridianExit?: true; reason: ProcessExit['reason']; error?: string }) => {
      // Only the kernel's own exit report; the process's module may post messages of its own.
      if (m?.veridianExit !== true) return;
      report = m.error === undefined ? { pid, name, reason: m.reason } : { pid, name, reason: m.reason, error: m.error };
    });
    let workerError: unknown;
    worker.on('error', (e) => (workerError = e));
    const exited = new Promise<ProcessExit>((resolve) => {
      worker.once('exit', () => {
        // The worker cleans up after itself; if it died without doing so, clean up here.
        core.lock();
        try {
          if (core.resolvePid(pid) === p) core.destroyProcess(p);
        } finally {
          core.unlock();
        }
        Atomics.sub(core.i32, H.SHARED, 1);
        this.#freeCpus.push(cpu);
        this.#cpu.workerStopped();
        this.#live.delete(pid);
        if (killed) resolve({ pid, name, reason: 'killed' });
        else resolve(report ?? { pid, name, reason: 'crashed', error: workerError ?? new Error('worker exited without reporting') });
        this.#checkIdle();
      });
    });
    const kill = async () => {
      if (!killed && core.resolvePid(pid) === p) {
        killed = true;
        // Ask first: a worker parked in the kernel wakes, unwinds and cleans up itself.
        Atomics.store(core.i32, core.mm.proc(p) + P.KILL, 1);
        Atomics.store(core.i32, core.mm.proc(p) + P.FUTEX, 1);
        Atomics.notify(core.i32, core.mm.proc(p) + P.FUTEX);
        const graceful = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 100).unref())]);
        if (!graceful) {
          // Busy in its own code: stop it with the kernel lock held so it cannot be mid-syscall.
          core.lock();
          try {
            void worker.terminate();
            if (core.resolvePid(pid) === p) core.destroyProcess(p);
          } finally {
            core.unlock();
          }
        }
      }
      return exited;
    };
    this.#live.set(pid, { exited, kill });
    return { pid, name, cpu, exited, kill };
  }

  /** Resolves an endpoint id in O(1): true when it names an open endpoint (a stale id never does). */
  lookupEndpoint(id: number): boolean {
    // resolveEndpoint inlined over cached bases: the registry hot path.
    // Integer-only: an id is a whole u32 (generation << 16 | index); anything else is no id.
    const e = id & 0xffff;
    if (e >= this.#nep || id >>> 0 !== id) return false;
    return this.#i32[this.#regBase + e] === (((id >>> 16) << 2) | EState.OPEN);
  }

  /** Registry id of the open endpoint named `name`, or `undefined`. */
  lookupName(name: string): number | undefined {
    this.#core.lock();
    try {
      const e = this.#core.findNamed(name);
      return e < 0 ? undefined : this.#core.endpointId(e);
    } finally {
      this.#core.unlock();
    }
  }

  /** Resolves when an endpoint named `name` exists (polls every millisecond), or rejects with `Timeout`. */
  async whenNamed(name: string, timeoutMs = 10_000): Promise<number> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const id = this.lookupName(name);
      if (id !== undefined) return id;
      if (performance.now() > deadline) throw new IpcError('Timeout', `no endpoint named "${name}" appeared`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /** Pool occupancy. */
  stats(): KernelStats {
    const core = this.#core;
    const mm = this.memory;
    let processes = 0;
    let endpoints = 0;
    for (let p = 0; p < mm.nproc; p++) {
      const st = mm.i32[mm.proc(p) + P.STATE];
      if (st !== PState.FREE && st !== PState.RETIRED) processes++;
    }
    for (let e = 0; e < mm.nep; e++) if (mm.epState(e) === EState.OPEN) endpoints++;
    return {
      processes,
      endpoints,
      capabilities: core.caps.usedSlots(),
      freeFrames: mm.phys.freeFrames,
      usedFrames: mm.phys.usedFrames,
      memoryBytes: mm.i32[H.MEMORY_BYTES]!,
    };
  }

  /**
   * A copy of every kernel record (processes, endpoints, capability slots) and the free-frame
   * count: two equal snapshots mean nothing in the kernel changed. Register frames are left out:
   * a caller's own encoding of a message it then fails to send is not kernel state.
   */
  snapshot(): { records: Int32Array; freeFrames: number } {
    return { records: this.memory.snapshotRecords(), freeFrames: this.memory.phys.freeFrames };
  }

  /** Resolves once no process is alive. */
  idle(): Promise<void> {
    if (this.#live.size === 0) return Promise.resolve();
    return new Promise((r) => this.#idleWaiters.push(r));
  }

  /** Kills every process and waits for all CPUs to stop. */
  async shutdown(): Promise<void> {
    await Promise.all([...this.#live.values()].map((l) => l.kill()));
  }

  #checkIdle(): void {
    if (this.#live.size !== 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const w of waiters) w();
  }
}

/** Creates a kernel with its machine memory. */
export function createKernel(options: KernelOptions): Kernel {
  return new Kernel(options);
}
