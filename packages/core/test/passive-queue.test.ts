// A passive server's handler runs with the kernel lock released, so a call from another CPU can
// queue while it runs; when the handler is done the server must take that call, not go back to
// waiting with a caller left in its queue.
import { describe, expect, it } from 'vitest';
import { testKernel } from './support/kernel.ts';

describe('passive server and callers from other CPUs', () => {
  it('a call queued by a worker CPU while the passive handler runs is served right after it', async () => {
    const k = testKernel({ cpus: 2 });
    const base = k.stats();
    const flag = new Int32Array(new SharedArrayBuffer(4));
    let handled = 0;
    const server = k.spawn({ name: 'server' }, (p) =>
      p.serve(p.createEndpoint({ name: 's' }), (m) => {
        handled++;
        if (m.type === 1) {
          // The first call (from CPU 0) waits here until the worker has called: its call queues.
          const until = performance.now() + 5000;
          while (Atomics.load(flag, 0) === 0 && performance.now() < until);
          const settle = performance.now() + 50;
          while (performance.now() < settle);
        }
        return { type: m.type + 1, data: m.bytes.slice(0, m.length) };
      }),
    );
    await k.whenNamed('s');
    const worker = k.spawnWorker(new URL('./support/flag-caller.ts', import.meta.url), { name: 'caller', args: { name: 's', flag: flag.buffer } });
    const client = k.spawn({ name: 'client' }, async (p) => {
      const r = await p.call(p.connect('s'), { type: 1, data: new Uint8Array([1]) });
      expect(r.type).toBe(2);
    });
    expect(await client.exited).toMatchObject({ reason: 'returned' });
    expect(await worker.exited).toMatchObject({ reason: 'returned' });
    expect(Atomics.load(flag, 0)).toBe(2);
    expect(handled).toBe(2);
    await server.kill();
    expect(k.stats()).toEqual(base);
  }, 30_000);
});
