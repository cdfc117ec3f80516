import { createKernel, type Kernel, type KernelOptions } from '@veridian/core';
import { testArch } from './test-arch.ts';

/** A small deterministic kernel over the test arch. */
export function testKernel(options: Partial<KernelOptions> = {}): Kernel {
  return createKernel({ arch: testArch, frames: 512, processes: 16, endpoints: 32, capSlots: 32, seed: 42, ...options });
}

/** Bytes 0..n-1 shifted by `salt`. */
export function pattern(n: number, salt = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 7 + salt) & 0xff);
}
