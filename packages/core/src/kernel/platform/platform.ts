/**
 * What the kernel needs from its host, in one small interface: starting a CPU thread (and
 * loading modules in it), waiting and waking on shared memory, a clock, entropy, the core
 * count, a macrotask turn and a warning channel. `platform/node.ts` implements it for Node.js;
 * a port to Web Workers in a browser or to Deno is one file implementing this interface (plus
 * its worker entry), passed as `createKernel({ platform })` — nothing else in core changes.
 *
 * @example
 * ```ts
 * import { createKernel, nodePlatform } from '@veridian/core';
 * const kernel = createKernel({ arch, platform: nodePlatform });
 * ```
 */
export interface Platform {
  /** Host name for messages, e.g. `node`. */
  readonly name: string;
  /** Cores the host can run threads on (the spin policy never spins with one core). */
  cpuCount(): number;
  /** Monotonic time in milliseconds (fractional). */
  now(): number;
  /** Fills `out` with cryptographically strong random words. */
  randomFill(out: Uint32Array): void;
  /** Runs `fn` on a later turn of the event loop (after I/O and timers get a chance). */
  macrotask(fn: () => void): void;
  /** Blocks the calling thread until `i32[index] !== value`, a notify, or `timeoutMs`. Worker threads only. */
  wait(i32: Int32Array, index: number, value: number, timeoutMs: number): 'ok' | 'not-equal' | 'timed-out';
  /** Resolves when `i32[index]` is notified (or already differs from `value`). */
  waitAsync(i32: Int32Array, index: number, value: number): Promise<unknown> | undefined;
  /** Wakes threads waiting on `i32[index]`. */
  notify(i32: Int32Array, index: number): void;
  /**
   * Starts a CPU thread running the kernel's worker entry with `data`. The thread reports
   * through the callbacks; the returned handle stops it.
   */
  startCpu(data: CpuThreadData, events: CpuThreadEvents): CpuThread;
  /**
   * Turns a worker module argument into a URL string the CPU thread can import: a `URL` or an
   * absolute path. Throws `InvalidArgument` with a hint for a relative path, a missing file, or
   * a TypeScript module without a loader.
   */
  resolveWorkerModule(module: string | URL): string;
  /** Reports a problem the user should see (Node: `process.emitWarning`). */
  warn(message: string, error?: unknown): void;
}

/** What a CPU thread is started with (structured-cloneable). */
export interface CpuThreadData {
  readonly buffer: SharedArrayBuffer;
  /** Process record the thread runs. */
  readonly p: number;
  readonly cpu: number;
  /** URL of the user's module (its default export is the process body). */
  readonly module: string;
  readonly archUrl: string;
  readonly archExport: string;
  /** `Arch.name` on CPU 0: the export a worker loads must be the same backend. */
  readonly archName: string;
  readonly args: unknown;
}

/** Callbacks of a CPU thread. */
export interface CpuThreadEvents {
  /** The thread's own exit report (after it cleaned its process up). */
  report(message: { reason: 'returned' | 'crashed' | 'killed'; error?: string }): void;
  /** The thread failed to start or threw outside the process body. */
  error(error: unknown): void;
  /** The thread has stopped. */
  exit(): void;
}

/** A running CPU thread. */
export interface CpuThread {
  /** Stops the thread at once (resolves when it has stopped). */
  terminate(): Promise<void>;
  /** Lets the host exit while the thread is parked with nothing to do. */
  unref(): void;
  /** Keeps the host alive while the thread may still run. */
  ref(): void;
}
