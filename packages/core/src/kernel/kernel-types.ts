import type { Arch } from '../contracts/arch.js';
import type { Clock } from '../contracts/clock.js';
import type { Platform } from './platform/platform.js';
import type { Process } from './process.js';

/** Options of {@link createKernel}. */
export interface KernelOptions {
  /** The architecture backend (register fast path and MMU). */
  arch: Arch;
  /** Physical frames of 4 KiB in machine memory (default 4096 = 16 MiB). */
  frames?: number;
  /**
   * Largest buffer (`message.buffer`) one message may carry, in bytes (default 64 MiB, at most
   * 1 GiB); an endpoint may set a lower `maxTransfer`.
   */
  maxTransfer?: number;
  /**
   * NUMA nodes of the machine, each with its own pool of frames (at most 8). `frames` is then
   * their sum + 1 (frame 0 is reserved). A shared region asks for its node
   * (`proc.memory.createRegion({ size, node })`); everything else takes from the lowest node
   * with a free frame.
   *
   * @example
   * ```ts
   * createKernel({ arch: x86_64, numaNodes: [{ frames: 2048 }, { frames: 2048 }] });
   * ```
   */
  numaNodes?: readonly { frames: number }[];
  /** Process records (default 64, at most 32767). */
  processes?: number;
  /** Endpoint records (default 256, at most 65535). */
  endpoints?: number;
  /** Capability slots per process (default 256, at most 4096). */
  capSlots?: number;
  /** Ring records shared by async channels and topics (default 64, at most 4096). */
  rings?: number;
  /** Slots per ring, a power of two (default 256, at most 65536): the largest `bufferSize`. 64 rings × 256 slots take 3 MiB. */
  ringSlots?: number;
  /** Topic subscriber records (default 128, at most 65535). */
  subscribers?: number;
  /** CPUs including the calling thread's (default 8, at most 64): bounds {@link Kernel.spawnWorker}. */
  cpus?: number;
  /** Kernel clock (default: the real monotonic clock). A `ManualClock` makes timeouts deterministic on the main CPU. */
  clock?: Clock;
  /** Seeds the capability-token RNG (tests only; default: the platform's cryptographic RNG). */
  seed?: number;
  /** The host (default: Node.js, {@link nodePlatform}). */
  platform?: Platform;
  /** Endpoint security policies that can be set at once ({@link Process.setPolicy}; default 16, at most 1024). Each holds one token bucket per process record. */
  policies?: number;
  /** The audit trail: a ring of `records` (1 – 2^20) in machine memory ({@link Kernel.audit}). Off when absent. */
  audit?: { records: number };
  /** The message trace ring: `records` (1 – 2^20, default 1024). Tracing itself is off until enabled ({@link Kernel.trace}). */
  trace?: { records?: number };
  /**
   * The fast path of the common call (default `true`): a CPU-0 call with a small message and no
   * capabilities to a passive server of CPU 0, unobserved, skips the general syscall path. Its
   * results are the general path's, word for word; `false` sends every call the general way
   * (to compare, or to debug the general path).
   */
  fastPath?: boolean;
}

/** Options of {@link Kernel.spawn}. */
export interface SpawnOptions {
  /** Process name (1–32 bytes of UTF-8). */
  name: string;
  /** Priority 0–31, higher runs first (default 10). */
  priority?: number;
  /**
   * How a process's thread waits for a wake-up when it blocks (a call's reply, the next request):
   * CPU time traded for latency, chosen per process (default `'adaptive'`).
   *
   * - `'adaptive'` (default): spin for a budget that follows how long this process's wake-ups
   *   take (2–100 µs), then park; a peer that answers in microseconds is caught spinning, an idle
   *   one costs a short spin.
   * - `'spin'`: always spin the whole bounded window (100 µs) before parking: the lowest latency
   *   for a busy peer, up to 100 µs of CPU burnt per idle wait.
   * - `'park'`: park at once (`Atomics.wait`, or the event loop on CPU 0): no CPU burnt while
   *   waiting; every wait pays a wake-up (tens of µs).
   *
   * With one core nothing spins whatever the policy. On CPU 0 the policy of the process that
   * blocks sets how long the main thread polls for a worker's answer before it returns to the
   * event loop (`call`) or parks (`callSync`). Any other value is `InvalidArgument`.
   *
   * @example
   * ```ts
   * // A background logger: never burn a core waiting for the next record.
   * kernel.spawnWorker(new URL('./logger.js', import.meta.url), { name: 'log', wait: 'park' });
   * // A latency-critical server next to a busy client.
   * kernel.spawnWorker(new URL('./kv.js', import.meta.url), { name: 'kv', wait: 'spin' });
   * ```
   */
  wait?: 'adaptive' | 'spin' | 'park';
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
  /** The error a crashed process threw (a string for a worker CPU's process). */
  error?: unknown;
}

/** A spawned process, as its parent sees it. */
export interface ProcessHandle {
  readonly pid: number;
  readonly name: string;
  /** CPU index (0 = the kernel's own thread). */
  readonly cpu: number;
  /** How the process waits when it blocks ({@link SpawnOptions.wait}). */
  readonly wait: NonNullable<SpawnOptions['wait']>;
  /**
   * Times the process's thread has parked in a blocking wait so far (`Atomics.wait`: after its
   * spin window ran out, or at once with `wait: 'park'`); 0 once it has exited.
   *
   * @example
   * ```ts
   * const h = kernel.spawnWorker(url, { name: 'kv', wait: 'park' });
   * // … later: how often its waits ended in a park
   * console.log(h.parks());
   * ```
   */
  parks(): number;
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
  /** Open async channels and topics. */
  rings: number;
  /** Topic subscriptions. */
  subscriptions: number;
  freeFrames: number;
  usedFrames: number;
  /** Bytes of machine memory. */
  memoryBytes: number;
}

/** Counters of the big kernel lock (a fair ticket lock), since the kernel was created. */
export interface LockStats {
  /** Times the lock was taken (only while worker CPUs exist; one CPU needs no lock). */
  acquired: number;
  /** Times a CPU had to wait for it. */
  contended: number;
  /** Spins spent waiting, in total. */
  spins: number;
  /**
   * Worker-CPU calls and reply-receives that took the endpoint fast path: under their
   * endpoint's own lock, not the big one (so they are not in `acquired`).
   */
  fastEntries: number;
  /** Of those, the ones that had to wait for their endpoint's lock. */
  fastContended: number;
}

/** A copy of the kernel's state: two equal snapshots mean nothing in the kernel changed. */
export interface KernelSnapshot {
  /** Every kernel record word (processes, registry, names, endpoints, capability slots, message shadows), not the per-process statistics (a park counter changes whenever a thread parks: it is not kernel state). */
  records: Int32Array;
  /** Free frames. */
  freeFrames: number;
  /** The frame allocator's free list, in order (frame ownership). */
  frames: Int32Array;
}

/** Shape of the code a worker process runs: the default export of the module given to {@link Kernel.spawnWorker}. */
export type WorkerMain = (proc: Process, args: unknown) => unknown;

/** Options of {@link Process.createEndpoint}. */
export interface EndpointOptions {
  /** Registers the endpoint under this name (1–32 bytes of UTF-8), so others can {@link Process.connect}. */
  name?: string;
  /** Callers that may wait in the queue before further callers get `ChannelFull` (default 64, at most 65535). */
  capacity?: number;
  /** Default call timeout in nanoseconds for calls on this endpoint (0 = none). */
  timeout?: number;
  /**
   * Register messages only (the fast-path endpoint type): a message over 64 bytes or 4
   * capabilities sent to it, or replied through it, is `MessageTooLarge` instead of travelling
   * as a large message.
   */
  registerOnly?: boolean;
  /**
   * Largest buffer a message through this endpoint may carry, in bytes (default: the
   * kernel's `maxTransfer`); a larger one is `MessageTooLarge`.
   */
  maxTransfer?: number;
}

/** Options of a blocking operation. */
export interface BlockingOptions {
  /**
   * Nanoseconds of kernel time to wait before failing with `Timeout`: absent = the endpoint's
   * default (none: forever); `0` = do not wait (fail with `Timeout` at once if the operation
   * would block: no receiver waiting for a send or call, no message for a receive); up to
   * 2^31 − 1 ms; `Infinity` = forever. Anything else is `InvalidArgument`.
   */
  timeout?: number;
}
