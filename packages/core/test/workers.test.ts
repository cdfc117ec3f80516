import { describe, expect, it } from 'vitest';
import { Rights, messagePayload } from '@veridian/core';
import { testKernel } from './support/kernel.ts';

const here = (f: string) => new URL(`./support/${f}`, import.meta.url);

describe('worker CPUs', () => {
  it('a worker moves 1 MiB to a main-CPU server: the server maps the very frames the worker wrote, no byte copied', async () => {
    const k = testKernel({ frames: 2048 });
    const base = k.stats();
    const s = k.spawn({ name: 'server', priority: 20 }, async (p) => {
      const m = await p.receive(p.createEndpoint({ name: 'mv' }));
      const sent = new Int32Array(messagePayload(m).slice().buffer);
      expect(Array.from(p.memory.frames(m.buffer!.va, 16))).toEqual(Array.from(sent));
      for (let i = 0; i < 256; i += 51) expect(p.memory.read(m.buffer!.va + i * 4096, 1)[0]).toBe(i & 0xff);
      p.memory.unmap(m.buffer!.va, m.buffer!.length);
      p.reply(m.sender, { type: 0, data: new Uint8Array(0) });
    });
    const w = k.spawnWorker(here('move-worker.ts'), { name: 'mover', args: { name: 'mv', pages: 256 } });
    expect(await w.exited).toMatchObject({ reason: 'returned' });
    expect(await s.exited).toMatchObject({ reason: 'returned' });
    expect(k.stats()).toEqual(base);
  });

  it('a worker moves buffers through a one-slot async channel to a main-CPU consumer: the very frames, in order, blocking while full', async () => {
    const k = testKernel({ frames: 2048 });
    const base = k.stats();
    const ctl = new Int32Array(new SharedArrayBuffer(4));
    const w = k.spawnWorker(here('async-move-worker.ts'), { name: 'async-mover', args: { ctl: ctl.buffer, pages: 64, count: 8 } });
    const c = k.spawn({ name: 'consumer' }, async (p) => {
      const h = p.createChannel({ type: 'async', bufferSize: 1, overflow: 'block' });
      k.processCapability(p.pid, w.pid);
      Atomics.store(ctl, 0, p.grant(h, w.pid, Rights.SEND));
      Atomics.notify(ctl, 0);
      const ch = p.channel(h);
      for (let j = 0; j < 8; j++) {
        const m = await ch.receiveAsync();
        expect(m.type).toBe(j);
        const sent = new Int32Array(m.bytes.slice(0, m.length).buffer);
        expect(Array.from(p.memory.frames(m.buffer!.va, 16))).toEqual(Array.from(sent));
        for (let i = 0; i < 64; i += 9) expect(p.memory.read(m.buffer!.va + i * 4096, 1)[0]).toBe((j + i) & 0xff);
        p.memory.unmap(m.buffer!.va, m.buffer!.length);
      }
    });
    expect(await w.exited).toMatchObject({ reason: 'returned' });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    expect(k.stats()).toEqual(base);
  });

  it('a main-CPU client calls a server on a worker CPU', async () => {
    const k = testKernel();
    const base = k.stats();
    const w = k.spawnWorker(here('echo-worker.ts'), { name: 'echo', args: { name: 'echo' } });
    expect(w.cpu).toBeGreaterThan(0);
    await k.whenNamed('echo');
    const c = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('echo');
      for (let i = 0; i < 200; i++) {
        const r = await p.call(ch, { type: i, data: new Uint8Array([i & 0xff, 7]) });
        expect([r.type, r.bytes[0], r.bytes[1], r.length]).toEqual([i + 1, i & 0xff, 7, 2]);
      }
      await p.call(ch, { type: 0xffffffff, data: new Uint8Array() });
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    expect(await w.exited).toMatchObject({ reason: 'returned' });
    expect(k.stats()).toEqual(base);
  });

  it('two worker CPUs do 100 000 call/reply round trips, every payload checked', async () => {
    const k = testKernel();
    const base = k.stats();
    const server = k.spawnWorker(here('echo-worker.ts'), { name: 'echo', args: { name: 'echo' } });
    const client = k.spawnWorker(here('call-worker.ts'), { name: 'caller', args: { name: 'echo', count: 100_000, stop: true } });
    const exit = await client.exited;
    // The caller reports its elapsed time by ending with a RESULT error; anything else is a failure.
    expect(String(exit.error)).toMatch(/^Error: RESULT \d/);
    expect(await server.exited).toMatchObject({ reason: 'returned' });
    expect(k.stats()).toEqual(base);
  }, 90_000);

  it('killing the server worker mid-call wakes the client with an error, and memory returns to baseline', async () => {
    for (const busy of [false, true]) {
      const k = testKernel();
      const base = k.stats();
      const server = k.spawnWorker(here('kill-target.ts'), { name: 'victim', args: { name: 'victim', busy } });
      await k.whenNamed('victim');
      const client = k.spawn({ name: 'client' }, (p) => p.call(p.connect('victim'), { type: 1, data: new Uint8Array() }));
      await new Promise((r) => setTimeout(r, 20));
      const t0 = performance.now();
      expect(await server.kill()).toMatchObject({ reason: 'killed' });
      const exit = await client.exited;
      const waited = performance.now() - t0;
      expect(exit.reason).toBe('crashed');
      expect(exit.error).toMatchObject({ code: 'ChannelClosed' });
      expect(waited).toBeLessThan(5000);
      expect(k.stats()).toEqual(base);
    }
  });

  it('a crashing worker is reported and cleaned up; workers see the same @veridian/core as the kernel', async () => {
    const k = testKernel();
    const base = k.stats();
    const ok = k.spawnWorker(here('identity-worker.ts'), { name: 'id' });
    expect(await ok.exited).toMatchObject({ reason: 'returned' });
    // A module that does not exist is refused at once, with nothing taken.
    expect(() => k.spawnWorker(here('does-not-exist.ts'), { name: 'bad' })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(k.stats()).toEqual(base);
    const errors: unknown[] = [];
    k.on('error', (e) => errors.push(e.error));
    const bad = k.spawnWorker(here('crash-worker.ts'), { name: 'bad' });
    expect(await bad.exited).toMatchObject({ reason: 'crashed', error: expect.stringContaining('crash on purpose') as unknown });
    expect(errors).toEqual([expect.stringContaining('crash on purpose')]);
    expect(k.stats()).toEqual(base);
  });
});
