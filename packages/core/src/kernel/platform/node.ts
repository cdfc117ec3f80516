import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { IpcError } from '../../contracts/errors.js';
import type { CpuThread, CpuThreadData, CpuThreadEvents, Platform } from './platform.js';

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
  await m.runNodeWorker(workerData.cpuData);
})().catch((e) => { console.error(e); process.exitCode = 1; });
`;

const fromSource = import.meta.url.endsWith('.ts');
const entry = new URL(fromSource ? './node-worker.ts' : './node-worker.js', import.meta.url).href;

function isTypeScript(url: string): boolean {
  return /\.[mc]?ts$/.test(url);
}

function resolveTsx(): string {
  try {
    return import.meta.resolve('tsx/esm/api');
  } catch (e) {
    throw new IpcError('InvalidArgument', 'a TypeScript module on a worker CPU needs the tsx package: `npm install -D tsx` (or compile the module to .js)', { cause: e });
  }
}

/** The Node.js host: `worker_threads` CPUs, `Atomics`, `performance.now`, WebCrypto, `setImmediate`. */
export const nodePlatform: Platform = Object.freeze({
  name: 'node',
  cpuCount: () => availableParallelism(),
  now: () => performance.now(),
  randomFill: (out: Uint32Array) => {
    crypto.getRandomValues(out);
  },
  macrotask: (fn: () => void) => {
    setImmediate(fn);
  },
  wait: (i32: Int32Array, index: number, value: number, timeoutMs: number) => Atomics.wait(i32, index, value, timeoutMs),
  waitAsync: (i32: Int32Array, index: number, value: number) => {
    const r = Atomics.waitAsync(i32, index, value);
    return r.async ? r.value : undefined;
  },
  notify: (i32: Int32Array, index: number) => {
    Atomics.notify(i32, index);
  },
  resolveWorkerModule(module: string | URL): string {
    let url: string;
    if (module instanceof URL) url = module.href;
    else if (typeof module !== 'string' || module.length === 0) throw new IpcError('InvalidArgument', 'the worker module must be a URL or an absolute path');
    else if (/^[a-z][a-z0-9+.-]+:/i.test(module) && !/^[a-z]:[\\/]/i.test(module)) url = module;
    else if (isAbsolute(module)) url = pathToFileURL(module).href;
    else {
      throw new IpcError('InvalidArgument', `worker module "${module}" is a relative path: it would resolve against @veridian/core, not your code — pass new URL('${module}', import.meta.url)`);
    }
    if (url.startsWith('file:')) {
      let path: string;
      try {
        path = fileURLToPath(url);
      } catch (e) {
        throw new IpcError('InvalidArgument', `not a file URL: ${url}`, { cause: e });
      }
      if (!existsSync(path)) throw new IpcError('InvalidArgument', `worker module not found: ${path}`);
    }
    if (isTypeScript(url) || fromSource) resolveTsx();
    return url;
  },
  startCpu(data: CpuThreadData, events: CpuThreadEvents): CpuThread {
    const needsTsx = fromSource || isTypeScript(data.module) || isTypeScript(data.archUrl);
    const worker = new Worker(WORKER_BOOT, {
      eval: true,
      workerData: { entry, tsx: needsTsx ? resolveTsx() : undefined, sourceHook: fromSource ? SOURCE_CONDITION_HOOK : undefined, cpuData: data },
    });
    worker.on('message', (m: { veridianExit?: true; reason: 'returned' | 'crashed' | 'killed'; error?: string }) => {
      // Only the kernel's own exit report; the process's module may post messages of its own.
      if (m?.veridianExit === true) events.report(m.error === undefined ? { reason: m.reason } : { reason: m.reason, error: m.error });
    });
    worker.on('error', (e) => events.error(e));
    worker.once('exit', () => events.exit());
    return {
      terminate: async () => {
        await worker.terminate();
      },
      unref: () => worker.unref(),
      ref: () => worker.ref(),
    };
  },
  warn(message: string, error?: unknown): void {
    const detail = error instanceof Error ? (error.stack ?? `${error.name}: ${error.message}`) : typeof error === 'string' ? error : undefined;
    process.emitWarning(message, { type: 'VeridianWarning', ...(detail === undefined ? {} : { detail }) });
  },
});
