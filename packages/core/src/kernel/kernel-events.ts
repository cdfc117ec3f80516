import { IpcError } from '../contracts/errors.js';
import type { ProcessExit } from './kernel-types.js';
import type { Platform } from './platform/platform.js';

/** What {@link Kernel.on} reports for `'error'`: a process that crashed (its body threw). */
export interface KernelErrorEvent {
  readonly pid: number;
  readonly name: string;
  readonly error: unknown;
}

/** The listeners of {@link Kernel.on}, by event. */
export interface KernelEventMap {
  /** A process crashed (its body threw). While a listener exists no warning is printed. */
  error: KernelErrorEvent;
  /** A process ended, however it ended (returned, crashed, killed), on any CPU, after its kernel resources were released. */
  exit: ProcessExit;
}

/**
 * The kernel's events on CPU 0: crashes (`'error'`, a warning when nobody listens) and every
 * process's end (`'exit'`: what a service holding per-process state — the POSIX object server's
 * descriptors — needs to clean up after a process that never said goodbye). @internal
 */
export class KernelEvents {
  readonly #errors = new Set<(e: KernelErrorEvent) => void>();
  readonly #exits = new Set<(e: ProcessExit) => void>();
  /** The latest crashes (at most 64), for `whenNamed`. */
  readonly crashes: KernelErrorEvent[] = [];
  readonly #platform: Platform;

  constructor(platform: Platform) {
    this.#platform = platform;
  }

  on(event: keyof KernelEventMap, listener: (e: never) => void): void {
    if (typeof listener !== 'function' || (event !== 'error' && event !== 'exit')) throw new IpcError('InvalidArgument', "on(event, listener): event is 'error' or 'exit', listener a function");
    (event === 'error' ? this.#errors : this.#exits).add(listener as (e: unknown) => void);
  }

  off(event: keyof KernelEventMap, listener: (e: never) => void): void {
    if (event === 'error') this.#errors.delete(listener as (e: KernelErrorEvent) => void);
    else if (event === 'exit') this.#exits.delete(listener as (e: ProcessExit) => void);
  }

  crashed(e: KernelErrorEvent): void {
    this.crashes.push(e);
    if (this.crashes.length > 64) this.crashes.shift();
    if (this.#errors.size === 0) this.#platform.warn(`process "${e.name}" (pid ${e.pid}) crashed: ${e.error instanceof Error ? e.error.message : String(e.error)}`, e.error);
    for (const l of this.#errors) l(e);
  }

  /** A process ended: every `'exit'` listener hears of it (a throwing listener is reported, not rethrown). */
  exited(e: ProcessExit): void {
    for (const l of this.#exits) {
      try {
        l(e);
      } catch (err) {
        this.#platform.warn(`an 'exit' listener threw: ${err instanceof Error ? err.message : String(err)}`, err);
      }
    }
  }
}
