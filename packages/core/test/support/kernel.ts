import { createKernel, type Kernel, type KernelOptions } from '@veridian/core';
import { expect } from 'vitest';
import { testArch } from './test-arch.ts';

/** A small deterministic kernel over the test arch. */
export function testKernel(options: Partial<KernelOptions> = {}): Kernel {
  return createKernel({ arch: testArch, frames: 512, processes: 16, endpoints: 32, capSlots: 32, seed: 42, ...options });
}

/** Bytes 0..n-1 shifted by `salt`. */
export function pattern(n: number, salt = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + salt) & 0xff);
}

/** Every process handle returned normally (a crash shows its error in the failure). */
export async function ok(...hs: Array<{ exited: Promise<{ reason: string; error?: unknown }> }>): Promise<void> {
  const r = await Promise.all(hs.map((h) => h.exited));
  expect(r.map((x) => [x.reason, x.error === undefined ? undefined : String(x.error as Error)])).toEqual(r.map(() => ['returned', undefined]));
}

/** The `IpcError` code `p` rejects or throws with, or undefined when it succeeds. */
export async function code(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}
