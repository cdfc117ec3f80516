import { Worker } from 'node:worker_threads';

/**
 * Runs a scenario module's default export `(args) => value` on a worker thread of its own, with
 * its own kernel, and bounds it: a scenario that deadlocks its thread (a spinning kernel lock, which
 * no promise-based watchdog on that thread could ever interrupt) is terminated after `timeoutMs`
 * and reported as `hung`. The thread loads TypeScript (tsx) and resolves workspace packages through
 * their `@veridian/source` condition, like the kernel's own worker CPUs do in tests.
 */
export type IsolatedResult = { status: 'ok'; value: unknown } | { status: 'error'; error: string } | { status: 'hung'; ms: number };

const SOURCE_HOOK = 'data:text/javascript,export async function resolve(s, c, n) { return n(s, { ...c, conditions: [...c.conditions, "@veridian/source"] }); }';
const BOOT = `
const { workerData, parentPort } = require('node:worker_threads');
(async () => {
  (await import(workerData.tsx)).register();
  require('node:module').register(workerData.sourceHook);
  const m = await import(workerData.entry);
  const value = await m.default(workerData.args);
  parentPort.postMessage({ status: 'ok', value });
})().catch((e) => parentPort.postMessage({ status: 'error', error: String((e && e.stack) || e) }));
`;

export async function runIsolated(entry: URL, args: unknown, timeoutMs: number): Promise<IsolatedResult> {
  const worker = new Worker(BOOT, { eval: true, workerData: { tsx: import.meta.resolve('tsx/esm/api'), sourceHook: SOURCE_HOOK, entry: entry.href, args } });
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await new Promise<IsolatedResult>((resolve) => {
      worker.once('message', (m: IsolatedResult) => resolve(m));
      worker.once('error', (e) => resolve({ status: 'error', error: String(e) }));
      worker.once('exit', (code) => resolve({ status: 'error', error: `scenario thread exited (${code}) without a result` }));
      timer = setTimeout(() => resolve({ status: 'hung', ms: timeoutMs }), timeoutMs);
    });
  } finally {
    clearTimeout(timer);
    await worker.terminate();
  }
}
