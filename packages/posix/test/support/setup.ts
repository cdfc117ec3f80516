import { inspect } from 'node:util';
import { createKernel, type Arch, type Kernel, type KernelOptions, type Process } from '@veridian/core';
import { aarch64 } from '@veridian/arch-aarch64';
import { x86_64 } from '@veridian/arch-x86_64';
import { ERRNO, PosixError, createPosix, posixFor, type Posix, type PosixHost } from '@veridian/posix';

/** Both arch backends: every test runs on each. */
export const ARCHS: ReadonlyArray<readonly [string, Arch]> = [
  ['x86_64', x86_64],
  ['aarch64', aarch64],
];

export interface World {
  kernel: Kernel;
  host: PosixHost;
  /** Runs `body` as a process on CPU 0 and resolves with its result (rejects with its error). */
  run<T>(body: (px: Posix, proc: Process) => Promise<T>, name?: string): Promise<T>;
}

/** A kernel with the POSIX layer, shut down by `dispose`. */
export async function world(arch: Arch, options: Partial<KernelOptions> = {}): Promise<World & AsyncDisposable> {
  const kernel = createKernel({ arch, frames: 2048, processes: 64, endpoints: 512, capSlots: 512, ...options });
  const host = posixFor(kernel);
  await host.ready;
  let n = 0;
  return {
    kernel,
    host,
    run<T>(body: (px: Posix, proc: Process) => Promise<T>, name = `p${n++}`): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        kernel.spawn({ name }, async (proc) => {
          try {
            resolve(await body(createPosix(proc), proc));
          } catch (e) {
            reject(e instanceof Error ? e : new Error(`process ${name} threw ${inspect(e)}`, { cause: e }));
          }
        });
      });
    },
    async [Symbol.asyncDispose]() {
      await kernel.shutdown();
    },
  };
}

/** Bytes 0..n-1 shifted by `salt`. */
export function pattern(n: number, salt = 0): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + salt) & 0xff;
  return b;
}

export const here = (f: string): URL => new URL(`./${f}`, import.meta.url);

/** Asserts that `p` rejects (or `fn` throws) with a PosixError of `code` from `syscall`. */
export async function rejectsWith(p: Promise<unknown> | (() => unknown), code: string, syscall?: string): Promise<void> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  if (!(err instanceof PosixError)) throw new Error(`expected PosixError ${code}, got ${err === undefined ? 'success' : err instanceof Error ? String(err) : inspect(err)}`);
  if (err.code !== code) throw new Error(`expected ${code}, got ${err.code} (${err.message})`);
  if (err.errno !== ERRNO[code as keyof typeof ERRNO]) throw new Error(`errno ${err.errno} is not ${code}'s`);
  if (syscall !== undefined && err.syscall !== syscall) throw new Error(`syscall ${err.syscall}, expected ${syscall}`);
}

/** True when two byte arrays are equal (fast: vitest's deep equality is slow on megabytes). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0;
}

/**
 * The kernel's counts less the endpoints the object server keeps pooled for later descriptions
 * (each one endpoint and one capability of `posixd`, reused, not leaked): what a leak check of
 * frames, capabilities and records compares.
 */
export function settledStats(w: World): ReturnType<Kernel['stats']> {
  const s = w.kernel.stats();
  const pooled = w.host.stats().pooledEndpoints;
  return { ...s, endpoints: s.endpoints - pooled, capabilities: s.capabilities - pooled };
}
