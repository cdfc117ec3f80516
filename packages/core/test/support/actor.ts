import type { Kernel, Process, ProcessHandle } from '@veridian/core';

/** What a job run by an {@link Actor} ended with: its value, or the `IpcError` code (or message) it failed with. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: string };

function codeOf(e: unknown): string {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : `non-IpcError: ${String(e)}`;
}

/**
 * A main-CPU process driven from outside: its body is a loop that runs the jobs a test hands
 * it with {@link Actor.run}, one at a time and in order, inside the process (so a blocking
 * call blocks this process only). {@link Actor.close} ends the loop, and with it the process.
 */
export class Actor {
  readonly handle: ProcessHandle;
  /** Resolves with the process once its body started (after `setup` ran). */
  readonly ready: Promise<Process>;
  readonly #jobs: Array<(p: Process) => Promise<void>> = [];
  #wake: (() => void) | undefined;
  #closed = false;

  constructor(k: Kernel, name: string, setup: (p: Process) => void, priority = 10) {
    let started!: (p: Process) => void;
    this.ready = new Promise((r) => (started = r));
    this.handle = k.spawn({ name, priority }, async (p) => {
      setup(p);
      started(p);
      for (;;) {
        const job = this.#jobs.shift();
        if (job !== undefined) {
          await job(p);
          continue;
        }
        if (this.#closed) return;
        await new Promise<void>((r) => (this.#wake = r));
        this.#wake = undefined;
      }
    });
  }

  /** Runs `fn` in the process after the jobs queued before it; never rejects. */
  run<T>(fn: (p: Process) => Promise<T> | T): Promise<Outcome<T>> {
    return new Promise((resolve) => {
      this.#jobs.push(async (p) => {
        try {
          resolve({ ok: true, value: await fn(p) });
        } catch (e) {
          resolve({ ok: false, code: codeOf(e) });
        }
      });
      this.#wake?.();
    });
  }

  /** Ends the process once its queued jobs are done. */
  close(): void {
    this.#closed = true;
    this.#wake?.();
  }
}

/** Runs `fn` synchronously, returning what it ended with (the `IpcError` code when it threw). */
export function attempt<T>(fn: () => T): Outcome<T> {
  try {
    return { ok: true, value: fn() };
  } catch (e) {
    return { ok: false, code: codeOf(e) };
  }
}

/** Lets pending macrotasks (the main CPU's scheduling checks) run `n` times. */
export async function settle(n = 2): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r));
}
