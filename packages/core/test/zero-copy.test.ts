import { describe, expect, it } from 'vitest';
import { PagePerm, SharedBuffer, messagePayload } from '../src/index.js';
import { testKernel } from './support/kernel.js';

const MiB = 1 << 20;

describe('zero-copy buffers', () => {
  it('Move: the receiver maps the sender\'s former frames, lazily; the sender faults', async () => {
    const k = testKernel({ frames: 2048 });
    const base = k.stats();
    let senderFrames: Int32Array | undefined;
    const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
      const m = await p.receive(p.createEndpoint({ name: 'zc' }));
      const b = m.buffer!;
      expect(b.length).toBe(MiB);
      expect(Array.from(p.memory.frames(b.va, 256))).toEqual(Array.from(senderFrames!));
      const bytes = p.memory.read(b.va + 4096 * 7, 4);
      expect(Array.from(bytes)).toEqual([7, 7, 7, 7]);
      p.memory.unmap(b.va, b.length);
      p.reply(m.sender, { type: 1, data: new Uint8Array(0) });
    });
    const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
      const va = p.memory.map(MiB);
      for (let i = 0; i < 256; i++) p.memory.write(va + i * 4096, Uint8Array.of(i & 255, i & 255, i & 255, i & 255));
      senderFrames = p.memory.frames(va, 256);
      await p.call(p.connect('zc'), { type: 1, data: new Uint8Array(0), buffer: new SharedBuffer(va, MiB), transfer: 'move' });
      expect(() => p.memory.read(va, 1)).toThrow(expect.objectContaining({ code: 'AccessFault' }));
      p.memory.unmap(va, MiB);
    });
    await Promise.all([server.exited, client.exited]).then((r) => expect(r.map((x) => x.reason)).toEqual(['returned', 'returned']));
    expect(k.stats()).toEqual(base);
  });

  it('Share: same frames until a write, then exactly one page differs', async () => {
    const k = testKernel({ frames: 2048 });
    const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
      const ep = p.createEndpoint({ name: 'zs' });
      const m = await p.receive(ep);
      const b = m.buffer!;
      const before = p.memory.frames(b.va, 16);
      p.memory.write(b.va + 4096 * 3, Uint8Array.of(99));
      const after = p.memory.frames(b.va, 16);
      const differ = Array.from(before).filter((f, i) => f !== after[i]).length;
      expect(differ).toBe(1);
      p.reply(m.sender, { type: 0, data: new Uint8Array(0) });
    });
    const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
      const va = p.memory.map(16 * 4096);
      p.memory.write(va + 4096 * 3, Uint8Array.of(5));
      const mine = p.memory.frames(va, 16);
      await p.call(p.connect('zs'), { type: 1, data: new Uint8Array(0), buffer: new SharedBuffer(va, 16 * 4096), transfer: 'share' });
      expect(Array.from(p.memory.frames(va, 16))).toEqual(Array.from(mine));
      expect(p.memory.read(va + 4096 * 3, 1)[0]).toBe(5);
    });
    const r = await Promise.all([server.exited, client.exited]);
    expect(r.map((x) => [x.reason, x.error && String(x.error)])).toEqual([['returned', undefined], ['returned', undefined]]);
  });
});
