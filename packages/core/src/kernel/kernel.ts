import type { CapHandle } from '../contracts/capability.js';
import type { Clock } from '../contracts/clock.js';
import { IpcError } from '../contracts/errors.js';
import { Rights } from '../contracts/rights.js';
import type { Arch } from '../contracts/arch.js';
import { checkInt, checkPid, checkRights } from './args.js';
import { KernelEvents, type KernelEventMap } from './kernel-events.js';
import { WAIT_POLICIES, checkSpaces, checkWorkerArch, kernelConfig, spawnConfig } from './kernel-options.js';
import { KernelContext } from './context.js';
import type { KernelOptions, KernelSnapshot, KernelStats, LockStats, ProcessExit, ProcessHandle, SpawnOptions, WorkerSpawnOptions } from './kernel-types.js';
import type { Platform } from './platform/platform.js';
import { Process } from './process.js';
import { H, P, PS, PState } from './records/layout.js';
import { MachineMemory } from './records/machine-memory.js';
import { O } from './records/obs-region.js';
import { checkName } from './records/names.js';
import { MainCpu } from './sched/main-cpu.js';
import { KILLED } from './sched/worker-cpu.js';
import { Syscalls } from './syscall.js';
import { AsyncSyscalls, type RingStats } from './syscall-async.js';
import { WorkerCpus } from './worker-cpus.js';
import { VM_BASE } from './vm/va-map.js';
import { FRAME_SIZE } from '../memory/physical-memory.js';
import { AuditTrail, MessageTrace } from './debug/api.js';
import { DebugFs } from './debug/debugfs.js';

export type { KernelErrorEvent, KernelEventMap } from './kernel-events.js';
export type { KernelOptions, KernelSnapshot, KernelStats, LockStats, ProcessExit, ProcessHandle, SpawnOptions, WorkerSpawnOptions, WorkerMain } from './kernel-types.js';

type Live = { name: string; exited: Promise<ProcessExit>; kill: () => Promise<ProcessExit> };

/** The initial value of `Kernel.#registry`: a field born a `Uint32Array` keeps that type for V8. */
const NO_REGISTRY = new Uint32Array(0);

/**
 * The VeridianOS kernel over one machine memory. The calling thread is CPU 0, running
 * cooperative processes ({@link Kernel.spawn}); each {@link Kernel.spawnWorker} adds a CPU on
 * its own worker thread that enters the kernel directly through the shared memory.
 *
 * A process whose body throws is reported as an `'error'` event ({@link Kernel.on}); with no
 * listener, as a warning on stderr (Node's convention for unhandled rejections). A program
 * ends once no process can run; `await kernel.shutdown()` (or `await using kernel = …`) ends
 * every process at once.
 *
 * @example
 * ```ts
 * import { createKernel } from '@veridian/core';
 * import { x86_64 } from '@veridian/arch-x86_64';
 *
 * await using kernel = createKernel({ arch: x86_64 });
 * kernel.spawnWorker(new URL('./echo-server.js', import.meta.url), { name: 'echo' });
 * const echo = await kernel.whenNamed('echo');
 * ```
 */
export class Kernel {
  readonly arch: Arch;
  readonly clock: Clock;
  readonly platform: Platform;
  /** The machine memory (shared with worker CPUs). */
  readonly memory: MachineMemory;
  /** The audit trail (records only with `KernelOptions.audit`). */
  readonly audit: AuditTrail;
  /** The message trace: on/off, events, Chrome/Perfetto export, channel statistics. */
  readonly trace: MessageTrace;
  /** The debugfs view: `/sys/kernel/debug/ipc/{trace,messages,channels}`. */
  readonly debugfs: DebugFs;
  readonly #k: KernelContext;
  readonly #cpu: MainCpu;
  readonly #sys: Syscalls;
  readonly #workers: WorkerCpus;
  readonly #live = new Map<number, Live>();
  readonly #events: KernelEvents;
  /** Names of the processes spawned lately (for trace export; the oldest of 4096 are forgotten). */
  readonly #names = new Map<number, string>();
  #idleWaiters: Array<() => void> = [];
  /** The dense registry table, one word per endpoint (see `RegistryWord`): what lookupEndpoint reads. */
  readonly #registry: Uint32Array = NO_REGISTRY;

  /** @internal use {@link createKernel} */
  constructor(options: KernelOptions) {
    const o = kernelConfig(options);
    this.arch = o.arch;
    this.clock = o.clock;
    this.platform = o.platform;
    this.#events = new KernelEvents(this.platform);
    const cpus = o.cpus;
    this.memory = MachineMemory.create(o.memory);
    // Worker CPUs align their timestamps to CPU 0's clock, unless it is manual (then they cannot).
    if (this.clock.manual) new Float64Array(this.memory.buffer, (this.memory.obsBase + O.ORIGIN) * 4, 1)[0] = NaN;
    this.#setWindow(o.maxTransfer);
    const mmu = this.arch.createMmu(this.memory.phys, { cpus });
    checkSpaces(mmu, this.memory.nproc, this.arch.name);
    this.memory.u32[H.MMU_SHARED] = mmu.sharedState;
    this.#k = new KernelContext(this.memory, this.arch, mmu, this.clock, this.platform, 0, o.seed);
    this.#k.fastpath.enabled = o.fastPath;
    this.#k.i32[H.FAST_OFF] = o.fastPath ? 0 : 1;
    this.#registry = this.#k.eps.registryTable();
    this.#cpu = new MainCpu(this.#k);
    this.#sys = new Syscalls(this.#k);
    this.#workers = new WorkerCpus(this.#k, this.#cpu, cpus);
    this.#cpu.onBlock = () => this.#workers.keepAlive();
    this.audit = new AuditTrail(this.#k);
    this.trace = new MessageTrace(this.#k, (pid) => this.#names.get(pid));
    this.debugfs = new DebugFs(this.trace);
  }

  /**
   * The process-memory window: from 256 MiB up to the arch's user range (at most 2^38 bytes,
   * so page numbers fit a word), and the machine's transfer limit.
   */
  #setWindow(maxTransfer: number): void {
    const top = this.arch.addressSpace.userTop < 1n << 38n ? Number(this.arch.addressSpace.userTop) : 2 ** 38;
    const base = VM_BASE;
    if (top <= base) throw new IpcError('InvalidArgument', `the arch's user range (${top} bytes) leaves no room for process memory above 0x${base.toString(16)}`);
    const i32 = this.memory.i32;
    i32[H.VM_BASE_PAGE] = base / FRAME_SIZE;
    i32[H.VM_TOP_PAGE] = Math.floor(top / FRAME_SIZE);
    i32[H.MAX_TRANSFER] = maxTransfer;
  }

  /**
   * Starts a process as a cooperative task on this thread's CPU. `body` runs when the
   * scheduler first picks the process; the process exits when `body` settles.
   */
  spawn(options: SpawnOptions, body: (proc: Process) => unknown): ProcessHandle {
    const { name, priority, wait } = spawnConfig(options);
    if (typeof body !== 'function') throw new IpcError('InvalidArgument', 'body must be a function (proc) => …');
    const k = this.#k;
    const p = k.withLock(() => this.#waits(k.processes.create(name, priority, 0), wait));
    const proc = new Process(this.#cpu, this.#sys, p);
    let settle!: (e: ProcessExit) => void;
    const exited = new Promise<ProcessExit>((r) => (settle = r));
    let ended = false;
    const finish = (reason: ProcessExit['reason'], error?: unknown) => {
      if (ended) return;
      ended = true;
      k.withLock(() => {
        if (k.registry.resolvePid(proc.pid) === p) k.processes.destroy(p);
      });
      this.#cpu.retire(p);
      this.#ended(proc.pid, name, reason, error, settle);
    };
    this.#cpu.admit(
      p,
      () => {
        Promise.resolve()
          .then(() => body(proc))
          .then(
            () => finish('returned'),
            (error: unknown) => finish('crashed', error),
          );
      },
      proc,
    );
    const kill = async () => {
      if (!ended && k.registry.resolvePid(proc.pid) === p) {
        k.withLock(() => k.processes.destroy(p));
        this.#cpu.abort(p, KILLED);
        finish('killed');
      }
      return exited;
    };
    this.#live.set(proc.pid, { name, exited, kill });
    this.#named(proc.pid, name);
    return { pid: proc.pid, name, cpu: 0, wait: WAIT_POLICIES[wait]!, parks: () => this.#parks(p, proc.pid), exited, kill };
  }

  /**
   * Starts a process on a new CPU: a worker thread that attaches to the same machine memory
   * and runs the module's default export `(proc, args) => …` ({@link WorkerMain}). `module`
   * is a `URL` or an absolute path — write `new URL('./server.js', import.meta.url)`; a
   * relative string is `InvalidArgument` (it would resolve against this package, not yours).
   * A `.ts` module needs the `tsx` package. Blocking calls on that CPU park the thread
   * (`Atomics.wait`); `callSync`/`receiveSync`/`replyReceiveSync` are available there.
   */
  spawnWorker(module: string | URL, options: WorkerSpawnOptions): ProcessHandle {
    const url = this.platform.resolveWorkerModule(module);
    checkWorkerArch(this.arch);
    const { name, priority, wait } = spawnConfig(options);
    const k = this.#k;
    const cpu = this.#workers.takeCpu();
    let p: number;
    try {
      p = k.withLock(() => this.#waits(k.processes.create(name, priority, cpu), wait));
    } catch (e) {
      this.#workers.releaseCpu(cpu);
      throw e;
    }
    k.procs.setState(p, PState.RUNNING);
    const pid = k.procs.pid(p);
    Atomics.add(k.i32, H.SHARED, 1);
    let report: { reason: ProcessExit['reason']; error?: string } | undefined;
    let threadError: unknown;
    let killed = false;
    let settle!: (e: ProcessExit) => void;
    const exited = new Promise<ProcessExit>((r) => (settle = r));
    const thread = this.platform.startCpu(
      { buffer: this.memory.buffer, p, cpu, module: url, archUrl: this.arch.moduleUrl, archExport: this.arch.exportName, archName: this.arch.name, args: (options as WorkerSpawnOptions).args },
      {
        report: (m) => {
          report = m;
          // The process is cleaned up: stop the thread even if its module left a timer running.
          void thread.terminate();
        },
        error: (e) => (threadError = e),
        exit: () => {
          this.#workers.stopped(cpu, p, pid);
          const reason = killed ? 'killed' : (report?.reason ?? 'crashed');
          const error = reason === 'crashed' ? (report?.error ?? threadError ?? new Error('worker exited without reporting')) : undefined;
          this.#ended(pid, name, reason, error, settle);
        },
      },
    );
    this.#workers.track(cpu, { p, pid, thread, exited });
    const kill = async () => {
      if (!killed && k.registry.resolvePid(pid) === p) {
        killed = true;
        await this.#workers.kill(cpu);
      }
      return exited;
    };
    this.#live.set(pid, { name, exited, kill });
    this.#named(pid, name);
    return { pid, name, cpu, wait: WAIT_POLICIES[wait]!, parks: () => this.#parks(p, pid), exited, kill };
  }

  /**
   * Mints into process `holder` a capability to process `target` (host authority, like a root
   * task's): with GRANT, the holder may {@link Process.grant} capabilities into the target.
   */
  processCapability(holder: number, target: number, rights: number = Rights.GRANT): CapHandle {
    const k = this.#k;
    const h = k.registry.resolvePid(checkPid(holder, 'holder'));
    const t = k.registry.resolvePid(checkPid(target, 'target'));
    if (h < 0 || t < 0) throw new IpcError('ProcessNotFound', `no process ${h < 0 ? holder : target}`);
    return this.#sys.processCapability(h, t, checkRights(rights));
  }

  /** Resolves an endpoint id in O(1): true when it names an open endpoint (a stale id never does). */
  lookupEndpoint(id: number): boolean {
    // Integer-only: an id is generation × 65536 + index; anything else is no id. A view of
    // exactly the registry table: its length is the endpoint count, its word 0 endpoint 0's.
    const reg = this.#registry;
    const e = id & 0xffff;
    if (e >= reg.length) return false;
    const word = reg[e]!;
    // The registry word of an open endpoint is its generation (0 while closed).
    return word !== 0 && word === (id - e) / 0x10000;
  }

  /** Registry id of the open endpoint named `name`, or `undefined`. O(1). */
  lookupName(name: string): number | undefined {
    const n = checkName(name, 'name');
    const k = this.#k;
    return k.withLock(() => {
      const e = k.registry.findNamed(n);
      return e < 0 ? undefined : k.eps.id(e);
    });
  }

  /**
   * Resolves when an endpoint named `name` exists (polls every millisecond). Rejects with
   * `Timeout` after `timeoutMs`, or with `NotFound` (the crash as its cause) as soon as the
   * process of that name crashes (or the last live process crashes) before the name appears.
   */
  async whenNamed(name: string, timeoutMs = 10_000): Promise<number> {
    checkName(name, 'name');
    const deadline = performance.now() + checkInt(timeoutMs, 'timeoutMs', 0, 2 ** 31 - 1);
    const crashes = this.#events.crashes;
    const seen = crashes.length;
    for (;;) {
      const id = this.lookupName(name);
      if (id !== undefined) return id;
      // The process that would create it crashed (the one of that name, or the last one left).
      const crash = crashes.slice(seen).find((c) => c.name === name) ?? (this.#live.size === 0 && crashes.length > seen ? crashes.at(-1) : undefined);
      if (crash) throw new IpcError('NotFound', `no endpoint named "${name}": process "${crash.name}" crashed`, { cause: crash.error });
      if (performance.now() > deadline) throw new IpcError('Timeout', `no endpoint named "${name}" appeared`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }

  /**
   * Listens for crashed processes (`'error'`; while a listener exists no warning is printed) or
   * for every process's end (`'exit'`, with its {@link ProcessExit}, on any CPU).
   *
   * @example
   * ```ts
   * kernel.on('exit', ({ pid, reason }) => console.log(pid, reason));
   * ```
   */
  on<E extends keyof KernelEventMap>(event: E, listener: (e: KernelEventMap[E]) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  /** Removes a listener added with {@link Kernel.on}. */
  off<E extends keyof KernelEventMap>(event: E, listener: (e: KernelEventMap[E]) => void): this {
    this.#events.off(event, listener);
    return this;
  }

  /** Pool occupancy. */
  stats(): KernelStats {
    const k = this.#k;
    let processes = 0;
    let endpoints = 0;
    for (let p = 0; p < k.procs.count; p++) if (k.procs.live(p)) processes++;
    for (let e = 0; e < k.eps.count; e++) if (k.eps.open(e)) endpoints++;
    return { processes, endpoints, capabilities: k.caps.usedSlots(), rings: k.rings.openCount(), subscriptions: k.topics.openCount(), freeFrames: this.memory.phys.freeFrames, usedFrames: this.memory.phys.usedFrames, memoryBytes: k.i32[H.MEMORY_BYTES]! };
  }

  /**
   * A copy of every kernel record and of the frame allocator, taken under the kernel lock: two
   * equal snapshots mean nothing in the kernel changed. Register frames are left out: a caller's
   * own encoding of a message it then fails to send is not kernel state.
   */
  snapshot(): KernelSnapshot {
    // Under the lock: with worker CPUs running, one consistent state (never a torn one).
    return this.#k.withLock(() => ({ records: this.memory.snapshotRecords(), freeFrames: this.memory.phys.freeFrames, frames: this.memory.phys.snapshot() }));
  }

  /** Counters of every open async channel and topic (messages, bytes, drops, full events, CAS retries). */
  channelStats(): RingStats[] {
    return new AsyncSyscalls(this.#k).allStats();
  }

  /** Calls that took the fast path ({@link KernelOptions.fastPath}) since the kernel was created. */
  get fastPathCalls(): number {
    return this.#k.fastpath.calls;
  }

  /** Counters of the big kernel lock and of the endpoint fast path's entries (see {@link LockStats}). */
  lockStats(): LockStats {
    const i32 = this.#k.i32;
    const fast = this.#k.kernelLock.fastStats();
    return { acquired: i32[H.LOCK_ACQUIRED]! >>> 0, contended: i32[H.LOCK_CONTENDED]! >>> 0, spins: i32[H.LOCK_SPINS]! >>> 0, fastEntries: fast.entries, fastContended: fast.contended };
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

  /** `await using kernel = createKernel(…)`: shuts the kernel down at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  /** Lock held: records how new process `p` waits (`SpawnOptions.wait`, by its index in {@link WAIT_POLICIES}). */
  #waits(p: number, wait: number): number {
    this.#k.procs.set(p, P.WAIT, wait);
    this.#k.i32[this.memory.statsBase + p * PS.SIZE + PS.PARKS] = 0;
    return p;
  }

  #parks(p: number, pid: number): number {
    return this.#k.registry.resolvePid(pid) === p ? this.#k.i32[this.memory.statsBase + p * PS.SIZE + PS.PARKS]! >>> 0 : 0;
  }

  #named(pid: number, name: string): void {
    this.#names.set(pid, name);
    if (this.#names.size > 4096) this.#names.delete(this.#names.keys().next().value!);
  }

  #ended(pid: number, name: string, reason: ProcessExit['reason'], error: unknown, settle: (e: ProcessExit) => void): void {
    this.#live.delete(pid);
    if (reason === 'crashed') this.#events.crashed({ pid, name, error });
    const exit: ProcessExit = reason === 'crashed' ? { pid, name, reason, error } : { pid, name, reason };
    settle(exit);
    this.#events.exited(exit);
    if (this.#live.size === 0) {
      const waiters = this.#idleWaiters;
      this.#idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}

/**
 * Creates a kernel with its machine memory.
 *
 * @example
 * ```ts
 * const kernel = createKernel({ arch: x86_64, frames: 1024, processes: 16 });
 * kernel.spawn({ name: 'hello' }, async (proc) => console.log(proc.pid));
 * await kernel.idle();
 * ```
 */
export function createKernel(options: KernelOptions): Kernel {
  return new Kernel(options);
}

