// Process memory copies from and into a caller's byte arrays measure them through the
// typed-array intrinsics: own properties that shadow `length`, `set` or `subarray` are user
// code, which must never run under the kernel lock, and may lie about the array.
import { describe, expect, it } from 'vitest';
import { type Process } from '../src/index.js';
import { testKernel } from './support/kernel.js';

const PAGE = 4096;

/** Runs `body` as a CPU-0 process of a fresh kernel; resolves with the kernel's frame counts before and after. */
async function inProcess(body: (p: Process) => void): Promise<{ before: number; after: number }> {
  const k = testKernel({ frames: 256 });
  const before = k.stats().freeFrames;
  let after = -1;
  await new Promise<void>((resolve, reject) =>
    k.spawn({ name: 'm' }, (p) => {
      try {
        body(p);
        after = k.stats().freeFrames;
        resolve();
      } catch (e) {
        reject(e instanceof Error ? e : new Error(String(e)));
      }
    }),
  );
  await k.shutdown();
  return { before, after };
}

describe('process memory and hostile byte arrays', () => {
  it("write copies the array's real bytes and runs none of its own properties under the lock", async () => {
    const calls: string[] = [];
    await inProcess((p) => {
      const va = p.memory.map(4 * PAGE);
      const data = Uint8Array.of(1, 2, 3, 4);
      // Own properties that would be user code under the kernel lock (a syscall from there
      // would find the kernel entered twice), and a length that claims three pages.
      Object.defineProperty(data, 'length', { get: () => (calls.push('length'), 3 * PAGE) });
      Object.defineProperty(data, 'subarray', { value: () => (calls.push('subarray'), p.memory.read(va, 1)) });
      Object.defineProperty(data, 'set', { value: () => calls.push('set') });
      p.memory.write(va + 10, data);
      expect(Array.from(p.memory.read(va + 8, 8))).toEqual([0, 0, 1, 2, 3, 4, 0, 0]);
    });
    expect(calls).toEqual([]);
  });

  it('a length claiming pages past the mapping does not make a write of bytes inside it fault', async () => {
    await inProcess((p) => {
      const va = p.memory.map(PAGE);
      const data = Uint8Array.of(9, 8);
      Object.defineProperty(data, 'length', { get: () => 4 * PAGE });
      p.memory.write(va + PAGE - 2, data);
      expect(Array.from(p.memory.read(va + PAGE - 2, 2))).toEqual([9, 8]);
    });
  });

  it('readInto fills the real bytes of the target and ignores its own set and length', async () => {
    const calls: string[] = [];
    await inProcess((p) => {
      const va = p.memory.map(PAGE);
      p.memory.write(va, Uint8Array.of(5, 6, 7, 8, 9));
      const target = new Uint8Array(3);
      Object.defineProperty(target, 'length', { get: () => (calls.push('length'), 2 * PAGE) });
      Object.defineProperty(target, 'set', { value: () => calls.push('set') });
      p.memory.readInto(va + 1, target);
      expect(Array.from(new Uint8Array(target.buffer))).toEqual([6, 7, 8]);
    });
    expect(calls).toEqual([]);
  });

  it('an object that only inherits from Uint8Array.prototype is InvalidArgument', async () => {
    await inProcess((p) => {
      const va = p.memory.map(PAGE);
      const fake = Object.create(Uint8Array.prototype) as Uint8Array;
      expect(() => p.memory.write(va, fake)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
      expect(() => p.memory.readInto(va, fake)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    });
  });
});
