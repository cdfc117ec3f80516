/** Names of the worker modules in `src/workers/`. */
export type WorkerModule = 'echo-server' | 'echo-client' | 'hold-server' | 'identity-server' | 'crash' | 'async-producer' | 'zero-copy-mover';

// From source (vitest) the workers are `.ts` files next to this one's folder; from dist, `.js`.
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** URL of a testkit worker module, for `Kernel.spawnWorker`. */
export function workerUrl(name: WorkerModule): URL {
  return new URL(`../workers/${name}${EXT}`, import.meta.url);
}
