import { expect, it } from 'vitest';
import { createKernel } from '@veridian/core';
import { testArch } from './support/test-arch.ts';

it('main-cpu client calls worker server', async () => {
  const k = createKernel({ arch: testArch, frames: 256 });
  const w = k.spawnWorker(new URL('./support/echo-worker.ts', import.meta.url), { name: 'echo-w', args: { name: 'echo' } });
  await k.whenNamed('echo');
  const t0 = performance.now();
  const c = k.spawn({ name: 'client' }, async (proc) => {
    const ch = proc.connect('echo');
    const data = new Uint8Array(8);
    for (let i = 0; i < 2000; i++) {
      data[0] = i & 0xff;
      const r = await proc.call(ch, { type: i, data });
      if (r.type !== i + 1 || r.bytes[0] !== (i & 0xff)) throw new Error('bad reply ' + i);
    }
    await proc.call(ch, { type: 0xffffffff, data: new Uint8Array(0) });
  });
  expect((await c.exited).reason).toBe('returned');
  console.log('2000 rt ms', performance.now() - t0);
  expect((await w.exited).reason).toBe('returned');
  expect(k.stats().processes).toBe(0);
});
