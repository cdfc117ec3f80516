// Security policies on async channels and topics: rate limits that refill, filters, refusals
// that change nothing and reach the audit trail, a policy that ends with its channel.
import { describe, expect, it } from 'vitest';
import { IpcError, ManualClock, Rights, SharedBuffer } from '@veridian/core';
import { testKernel } from './support/kernel.ts';

function code(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof IpcError) return e.code;
    throw e;
  }
}

const msg = (type: number, n = 4) => ({ type, data: new Uint8Array(n) });

describe('security policies on async channels and topics', () => {
  it('a flood at 10× the rate delivers only the burst; after refill traffic flows again; refusals are audited', async () => {
    const clock = new ManualClock(1e9);
    const k = testKernel({ clock, audit: { records: 256 } });
    let handle = 0;
    const got: number[] = [];
    const consumer = k.spawn({ name: 'consumer', priority: 20 }, async (p) => {
      const h = p.createChannel({ type: 'async', bufferSize: 256 });
      p.setPolicy(h, { rate: { messagesPerSecond: 10 } });
      k.processCapability(p.pid, producer.pid);
      handle = p.grant(h, producer.pid, Rights.SEND);
      const ch = p.channel(h);
      while (got.length < 15) got.push((await ch.receiveAsync()).type);
    });
    const results: string[] = [];
    const producer = k.spawn({ name: 'producer', priority: 10 }, async (p) => {
      while (handle === 0) await p.yield();
      const ch = p.channel(handle);
      for (let i = 0; i < 100; i++) results.push(code(() => ch.trySend(msg(i))));
      expect(ch.stats().messages).toBe(10);
      clock.advance(0.5e9); // half a second: 5 tokens
      for (let i = 100; i < 120; i++) results.push(code(() => ch.trySend(msg(i))));
      // Every async variant is policed: a batch and an awaited send are refused the same way.
      expect(code(() => ch.sendBatch([msg(1), msg(2)]))).toBe('RateLimited');
      expect(await ch.sendAsync(msg(3)).then(() => 'ok', (e: IpcError) => e.code)).toBe('RateLimited');
    });
    for (const h of [consumer, producer]) expect((await h.exited).reason).toBe('returned');
    expect(results.slice(0, 100).filter((r) => r === 'ok').length).toBe(10);
    expect(results.slice(0, 100).filter((r) => r === 'RateLimited').length).toBe(90);
    expect(results.slice(100).filter((r) => r === 'ok').length).toBe(5);
    expect(got).toEqual([...Array.from({ length: 10 }, (_, i) => i), 100, 101, 102, 103, 104]);
    const refused = k.audit.events().filter((e) => e.kind === 'async-send' && e.result === 'RateLimited');
    expect(refused.length).toBe(90 + 15 + 1 + 1);
  });

  it('byte budgets refill, filters reject by size, type and source, and a refused send (with a buffer) changes nothing', async () => {
    const clock = new ManualClock(1e9);
    const k = testKernel({ clock, frames: 512 });
    const h = k.spawn({ name: 'p' }, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 64 }));
      p.setPolicy(ch.handle, { rate: { bytesPerSecond: 100 }, filter: { maxSize: 2 * 4096, types: [1, 2], sources: [p.pid] } });
      expect(code(() => ch.trySend(msg(1, 60)))).toBe('ok');
      expect(code(() => ch.trySend(msg(1, 60)))).toBe('RateLimited'); // 40 left
      expect(code(() => ch.trySend(msg(2, 40)))).toBe('ok');
      clock.advance(1e9);
      expect(code(() => ch.trySend(msg(2, 64)))).toBe('ok');
      expect(code(() => ch.trySend(msg(3, 1)))).toBe('Filtered');
      const va = p.memory.map(4 * 4096);
      const before = k.snapshot();
      const frames = Array.from(p.memory.frames(va, 4));
      expect(code(() => ch.trySend({ type: 1, data: new Uint8Array(0), buffer: new SharedBuffer(va, 4 * 4096), transfer: 'move' }))).toBe('Filtered');
      expect(code(() => ch.trySend({ type: 1, data: new Uint8Array(0), buffer: new SharedBuffer(va, 4096), transfer: 'move' }))).toBe('RateLimited');
      const after = k.snapshot();
      expect([after.freeFrames, after.frames]).toEqual([before.freeFrames, before.frames]);
      expect(Array.from(p.memory.frames(va, 4))).toEqual(frames);
      expect(ch.stats().messages).toBe(3);
      expect([ch.tryReceive()!.length, ch.tryReceive()!.length, ch.tryReceive()!.length, ch.tryReceive()]).toEqual([60, 40, 64, null]);
      // Clearing the policy lets everything through again.
      p.setPolicy(ch.handle, null);
      expect(code(() => ch.trySend(msg(9, 64)))).toBe('ok');
    });
    const exit = await h.exited;
    if (exit.reason !== 'returned') throw exit.error;
  });

  it('topics: publish is policed; a source filter admits only the listed publisher; setting a policy needs RECEIVE', async () => {
    const k = testKernel();
    let handle = 0;
    let finished!: () => void;
    const done = new Promise<void>((r) => (finished = r));
    const owner = k.spawn({ name: 'owner', priority: 20 }, async (p) => {
      const t = p.topic(p.createTopic({ bufferSize: 16 }));
      const sub = t.subscribe();
      p.setPolicy(t.handle, { filter: { sources: [p.pid] } });
      k.processCapability(p.pid, other.pid);
      handle = p.grant(t.handle, other.pid, Rights.SEND);
      expect(t.publish(msg(1))).toBe(true);
      await done;
      expect(sub.tryReceive()!.type).toBe(1);
      expect(sub.tryReceive()).toBe(null);
    });
    const other = k.spawn({ name: 'other', priority: 10 }, async (p) => {
      while (handle === 0) await p.yield();
      const t = p.topic(handle);
      expect(code(() => t.publish(msg(2)))).toBe('Filtered');
      expect(code(() => p.setPolicy(handle, null))).toBe('PermissionDenied');
      finished();
    });
    for (const h of [owner, other]) expect((await h.exited).reason).toBe('returned');
  });

  it('a policy ends with its channel: a new channel in the same record starts without one', async () => {
    const k = testKernel({ rings: 1 });
    const h = k.spawn({ name: 'p' }, (p) => {
      const a = p.channel(p.createChannel({ type: 'async' }));
      p.setPolicy(a.handle, { filter: { types: [1] } });
      expect(code(() => a.trySend(msg(2)))).toBe('Filtered');
      p.close(a.handle);
    });
    expect((await h.exited).reason).toBe('returned');
    const h2 = k.spawn({ name: 'q' }, (p) => {
      const b = p.channel(p.createChannel({ type: 'async' }));
      expect(code(() => b.trySend(msg(2)))).toBe('ok');
    });
    expect((await h2.exited).reason).toBe('returned');
  });
});
