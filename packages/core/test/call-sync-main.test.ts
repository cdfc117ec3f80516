// callSync on CPU 0 (the main thread blocks, as synckit offers): to a passive server it needs
// no wait at all; to a worker server the thread parks until the reply; to an active CPU-0
// server it is refused up front (it could never be answered), with nothing changed.
import { describe, expect, it } from 'vitest';
import { testKernel } from './support/kernel.ts';

const here = (f: string) => new URL(`./support/${f}`, import.meta.url);

describe('callSync on CPU 0', () => {
  it('a passive server answers without any promise', async () => {
    const k = testKernel();
    k.spawn({ name: 'server' }, (p) => p.serve(p.createEndpoint({ name: 's' }), (m) => ({ type: m.type + 1, data: m.bytes.slice(0, m.length) })));
    await k.whenNamed('s');
    const c = k.spawn({ name: 'client' }, (p) => {
      const ch = p.connect('s');
      for (let i = 0; i < 100; i++) {
        const r = p.callSync(ch, { type: i, data: new Uint8Array([i]) });
        expect(r.type).toBe(i + 1);
        expect(r.bytes[0]).toBe(i);
      }
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    await k.shutdown();
  });

  it('a worker server: the main thread blocks until the reply, every payload checked', async () => {
    const k = testKernel();
    const base = k.stats();
    const w = k.spawnWorker(here('echo-worker.ts'), { name: 'echo', args: { name: 'echo' } });
    await k.whenNamed('echo');
    const c = k.spawn({ name: 'client' }, (p) => {
      const ch = p.connect('echo');
      const data = new Uint8Array(64);
      for (let i = 0; i < 2000; i++) {
        data.fill(i & 0xff);
        const r = p.callSync(ch, { type: i, data });
        expect(r.type).toBe(i + 1);
        expect(r.bytes.every((b) => b === (i & 0xff))).toBe(true);
      }
      p.callSync(ch, { type: 0xffffffff, data: new Uint8Array() });
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    expect(await w.exited).toMatchObject({ reason: 'returned' });
    expect(k.stats()).toEqual(base);
  });

  it('an active server on CPU 0 is refused with InvalidState before anything is sent', async () => {
    const k = testKernel();
    k.spawn({ name: 'server' }, async (p) => {
      const ep = p.createEndpoint({ name: 's' });
      const m = await p.receive(ep);
      p.reply(m.sender, { type: 2, data: new Uint8Array() });
    });
    await k.whenNamed('s');
    const c = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('s');
      const before = k.snapshot();
      expect(() => p.callSync(ch, { type: 1, data: new Uint8Array() })).toThrow(expect.objectContaining({ code: 'InvalidState' }));
      expect(k.snapshot()).toEqual(before);
      expect((await p.call(ch, { type: 1, data: new Uint8Array() })).type).toBe(2);
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    await k.shutdown();
  });
});
