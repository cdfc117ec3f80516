// A large request to a passive server (serve() on CPU 0) is handed to its handler directly,
// as a small one is: no task switch, the buffer still zero-copy, a failing handler undone
// as far as it can be, every frame back when the processes are gone.
import { describe, expect, it } from 'vitest';
import { IpcError, SharedBuffer } from '../src/index.js';
import { testKernel } from './support/kernel.js';
import { ok } from './support/outcome.js';

const PAGE = 4096;
const EMPTY = new Uint8Array(0);

describe('large requests to a passive server', () => {
  it("Move: the handler runs at once with the sender's own frames, its reply moves them back", async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    let seen: number[] = [];
    const server = k.spawn({ name: 'server' }, (p) =>
      p.serve(p.createEndpoint({ name: 'zc' }), (m) => {
        const b = m.buffer!;
        seen = Array.from(p.memory.frames(b.va, 16));
        p.memory.write(b.va + PAGE * 3, new Uint8Array([m.large![0]!]));
        return { type: m.type + 1, data: EMPTY, buffer: b, transfer: 'move' };
      }),
    );
    await k.whenNamed('zc');
    const client = k.spawn({ name: 'client' }, (p) => {
      const ch = p.connect('zc');
      const va = p.memory.map(16 * PAGE);
      p.memory.write(va, new Uint8Array(16 * PAGE).fill(1));
      const mine = Array.from(p.memory.frames(va, 16));
      // A payload over 64 bytes and a buffer, with no await: the handler answered before callSync returned.
      const r = p.callSync(ch, { type: 1, data: new Uint8Array(100).fill(9), buffer: new SharedBuffer(va, 16 * PAGE), transfer: 'move' });
      expect(seen).toEqual(mine);
      expect(r.type).toBe(2);
      const back = r.buffer!;
      expect(Array.from(p.memory.frames(back.va, 16))).toEqual(mine);
      expect(Array.from(p.memory.read(back.va + PAGE * 3, 2))).toEqual([9, 1]);
      p.memory.unmap(back.va, back.length);
      p.close(ch);
    });
    await ok(client);
    void server.kill();
    await server.exited;
    expect(k.stats()).toEqual(base);
    await k.shutdown();
  });

  it("a handler that fails: the caller gets its error, the server keeps the moved buffer (as an active server would) and serves the next call", async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    let kept: SharedBuffer | null = null;
    const server = k.spawn({ name: 'server' }, (p) =>
      p.serve(p.createEndpoint({ name: 'zc' }), (m) => {
        if (m.type === 1) {
          kept = m.buffer;
          throw new IpcError('PermissionDenied', 'not this one');
        }
        return { type: 7, data: kept === null ? EMPTY : p.memory.read(kept.va, 4) };
      }),
    );
    await k.whenNamed('zc');
    const client = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('zc');
      const va = p.memory.map(4 * PAGE);
      p.memory.write(va, new Uint8Array([5, 6, 7, 8]));
      expect(() => p.callSync(ch, { type: 1, data: EMPTY, buffer: new SharedBuffer(va, 4 * PAGE), transfer: 'move' })).toThrow(expect.objectContaining({ code: 'PermissionDenied' }) as Error);
      const r = await p.call(ch, { type: 2, data: EMPTY });
      expect(Array.from(r.bytes.subarray(0, r.length))).toEqual([5, 6, 7, 8]);
      p.close(ch);
    });
    await ok(client);
    void server.kill();
    await server.exited;
    expect(k.stats()).toEqual(base);
    await k.shutdown();
  });
});
