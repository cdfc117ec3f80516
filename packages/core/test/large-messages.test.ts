import { describe, expect, it } from 'vitest';
import { MessageFlags, Rights, messageCaps, messagePayload } from '@veridian/core';
import { pattern, testKernel } from './support/kernel.ts';

const here = (f: string) => new URL(`./support/${f}`, import.meta.url);

describe('large messages', () => {
  it('carry any payload up to 1 MiB both ways, exactly, and free their frames', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    k.spawn({ name: 'server' }, async (p) => {
      const ep = p.createEndpoint({ name: 's' });
      let m = await p.receive(ep);
      for (;;) {
        const data = messagePayload(m).slice().reverse();
        m = await p.replyReceive(m.sender, { type: m.type, data }, ep);
      }
    });
    await k.whenNamed('s');
    const c = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('s');
      for (const n of [65, 100, 4095, 4096, 4097, 70_000, 1 << 20]) {
        const data = pattern(n, n);
        const r = await p.call(ch, { type: n, data });
        expect(r.flags & MessageFlags.LARGE).toBeTruthy();
        expect(r.length).toBe(n);
        expect(messagePayload(r)).toEqual(data.slice().reverse());
      }
      // A small reply after large ones is small again.
      const small = await p.call(ch, { type: 1, data: pattern(3) });
      expect(small.large).toBeNull();
      expect(messagePayload(small)).toEqual(pattern(3).reverse());
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    await k.shutdown();
    expect(k.stats()).toEqual(base);
  });

  it('move capabilities as a batch, each needing SHARE', async () => {
    const k = testKernel();
    k.spawn({ name: 'server' }, (p) =>
      p.serve(p.createEndpoint({ name: 's' }), (m) => {
        const caps = messageCaps(m);
        expect(caps.length).toBe(10);
        for (const h of caps) expect(p.inspect(h).permissions).toBe(Rights.SEND | Rights.SHARE);
        return { type: caps.length, data: new Uint8Array() };
      }),
    );
    await k.whenNamed('s');
    const c = k.spawn({ name: 'client' }, async (p) => {
      const own = p.createEndpoint();
      const caps = Array.from({ length: 10 }, () => p.derive(own, Rights.SEND | Rights.SHARE));
      expect((await p.call(p.connect('s'), { type: 0, data: new Uint8Array(), caps })).type).toBe(10);
      const before = k.snapshot();
      await expect(p.call(p.connect('s'), { type: 0, data: new Uint8Array(), caps: [...caps, p.derive(own, Rights.SEND)] })).rejects.toMatchObject({ code: 'PermissionDenied' });
      await expect(p.call(p.connect('s'), { type: 0, data: new Uint8Array(), caps: Array.from({ length: 65 }, () => caps[0]!) })).rejects.toMatchObject({ code: 'MessageTooLarge' });
      expect(k.snapshot().freeFrames).toBe(before.freeFrames);
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    await k.shutdown();
  });

  it('a passive server answers with a large reply', async () => {
    const k = testKernel({ frames: 256 });
    k.spawn({ name: 'server' }, (p) => p.serve(p.createEndpoint({ name: 's' }), (m) => ({ type: 0, data: pattern(m.type, 1) })));
    await k.whenNamed('s');
    const c = k.spawn({ name: 'client' }, async (p) => {
      const r = await p.call(p.connect('s'), { type: 10_000, data: new Uint8Array() });
      expect(messagePayload(r)).toEqual(pattern(10_000, 1));
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    await k.shutdown();
  });

  it('free everything on failure: out of frames, timeout, closed endpoint, register-only endpoint, exit', async () => {
    const { ManualClock } = await import('@veridian/core');
    const clock = new ManualClock();
    const k = testKernel({ frames: 64, clock });
    let serverExit!: () => void;
    const server = k.spawn({ name: 'server' }, async (p) => {
      p.createEndpoint({ name: 'slow' });
      p.createEndpoint({ name: 'regs', registerOnly: true });
      await new Promise<void>((r) => (serverExit = r));
    });
    await k.whenNamed('regs');
    const c = k.spawn({ name: 'client' }, async (p) => {
      const free = k.stats().freeFrames;
      const before = k.snapshot();
      // More frames than exist: nothing taken.
      await expect(p.call(p.connect('slow'), { type: 0, data: new Uint8Array(200 * 4096) })).rejects.toMatchObject({ code: 'OutOfMemory' });
      expect(k.stats().freeFrames).toBe(free);
      // Register-only endpoint: refused before anything changes.
      const regs = p.connect('regs');
      const frameBefore = p.frame.slice();
      const before2 = k.snapshot();
      await expect(p.call(regs, { type: 0, data: new Uint8Array(65) })).rejects.toMatchObject({ code: 'MessageTooLarge' });
      expect(p.frame).toEqual(frameBefore);
      expect(k.snapshot()).toEqual(before2);
      // Queued then timed out: the staged frames come back.
      const t = p.call(p.connect('slow'), { type: 0, data: new Uint8Array(10_000) }, { timeout: 100 });
      // Three payload frames and the kernel-owned descriptor frame.
      expect(k.stats().freeFrames).toBe(free - 4);
      clock.advance(100);
      await expect(t).rejects.toMatchObject({ code: 'Timeout' });
      expect(k.stats().freeFrames).toBe(free);
      // Queued when the server exits: ChannelClosed, frames back.
      const pending = p.call(p.connect('slow'), { type: 0, data: new Uint8Array(10_000) });
      serverExit();
      await expect(pending).rejects.toMatchObject({ code: 'ChannelClosed' });
      // The staged frames are back, and so are the exited server's three (its root and leaf tables and IPC buffer).
      expect(k.stats().freeFrames).toBe(free + 3);
      expect(before.freeFrames).toBe(free);
    });
    const exit = await c.exited;
    serverExit();
    expect(exit.error).toBeUndefined();
    expect(exit.reason).toBe('returned');
    await server.exited;
    await k.idle();
    expect(k.stats().processes).toBe(0);
  });

  it('travel between worker CPUs', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    const w = k.spawnWorker(here('echo-worker.ts'), { name: 'echo', args: { name: 'echo' } });
    await k.whenNamed('echo');
    const c = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('echo');
      const data = pattern(1 << 20, 5);
      const r = await p.call(ch, { type: 41, data });
      expect(r.type).toBe(42);
      expect(messagePayload(r)).toEqual(data);
      await p.call(ch, { type: 0xffffffff, data: new Uint8Array() });
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    expect(await w.exited).toMatchObject({ reason: 'returned' });
    expect(k.stats()).toEqual(base);
  });
});
