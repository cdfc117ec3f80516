/** Worker CPUs load Outsider-64 from `moduleUrl`/`exportName` and talk to CPU 0 through it. */
import { createKernel, type Process } from '@veridian/core';
import { expect, it } from 'vitest';
import { outsider64 } from '../src/index.ts';

it('a worker CPU runs an echo server on Outsider-64 and a CPU-0 client calls it', async () => {
  const kernel = createKernel({ arch: outsider64, cpus: 2 });
  const w = kernel.spawnWorker(new URL('./fixtures/echo-worker.ts', import.meta.url), { name: 'echo' });
  await kernel.whenNamed('echo');
  const got: number[] = [];
  const c = kernel.spawn({ name: 'client' }, async (proc: Process) => {
    const ch = proc.connect('echo');
    for (let n = 0; n <= 64; n += 8) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 7 + n) & 0xff);
      const r = await proc.call(ch, { type: 0xfeed0000 + n, data });
      expect(r.type).toBe(0xfeed0000 + n);
      expect(Array.from(r.bytes.subarray(0, r.length))).toEqual(Array.from(data));
      expect(r.sender).toBe(w.pid);
      got.push(r.length);
    }
  });
  await c.exited;
  await kernel.shutdown();
  expect(got).toEqual([0, 8, 16, 24, 32, 40, 48, 56, 64]);
}, 30_000);
