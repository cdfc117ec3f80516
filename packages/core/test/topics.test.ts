// Topics on one CPU: fan-out, late subscribers, slow subscribers (skip / block), rights, cleanup.
import { describe, expect, it } from 'vitest';
import { IpcError, Rights, type Process } from '@veridian/core';
import { testKernel } from './support/kernel.ts';

const msg = (type: number) => ({ type, data: Uint8Array.of(type & 0xff, 1, 2) });

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof IpcError) return e.code;
    throw e;
  }
  return 'ok';
}

async function inProcess(body: (p: Process) => Promise<void> | void): Promise<void> {
  const k = testKernel();
  const h = k.spawn({ name: 't' }, body);
  const exit = await h.exited;
  if (exit.reason !== 'returned') throw exit.error;
  expect(k.stats()).toMatchObject({ rings: 0, subscriptions: 0 });
  await k.shutdown();
}

describe('topics (one CPU)', () => {
  it('every subscriber sees every message published after it subscribed, in order', () =>
    inProcess((p) => {
      const topic = p.topic(p.createTopic({ bufferSize: 16 }));
      const a = topic.subscribe();
      topic.publish(msg(1));
      const b = topic.subscribe();
      topic.publish(msg(2));
      topic.publish(msg(3));
      const read = (s: typeof a) => {
        const out: number[] = [];
        for (let m = s.tryReceive(); m; m = s.tryReceive()) out.push(m.type);
        return out;
      };
      expect(read(a)).toEqual([1, 2, 3]);
      expect(read(b)).toEqual([2, 3]);
      expect(topic.stats()).toMatchObject({ kind: 'topic', messages: 3, subscribers: 2 });
    }));

  it("a 'skip' topic never makes the publisher wait; a lapped subscriber is told how many it missed", () =>
    inProcess((p) => {
      const topic = p.topic(p.createTopic({ bufferSize: 4 }));
      const s = topic.subscribe();
      for (let i = 0; i < 10; i++) expect(topic.publish(msg(i))).toBe(true);
      const m = s.tryReceive()!;
      expect(m.type).toBe(6);
      expect(s.missed).toBe(6);
      expect([s.tryReceive()!.type, s.tryReceive()!.type, s.tryReceive()!.type]).toEqual([7, 8, 9]);
      expect(s.missed).toBe(0);
      expect(s.missedTotal).toBe(6);
      expect(s.tryReceive()).toBeNull();
    }));

  it("a 'block' topic waits for its slowest subscriber", () =>
    inProcess(async (p) => {
      const topic = p.topic(p.createTopic({ bufferSize: 2, slowSubscriber: 'block' }));
      const fast = topic.subscribe();
      const slow = topic.subscribe();
      expect(topic.publish(msg(1))).toBe(true);
      expect(topic.publish(msg(2))).toBe(true);
      fast.tryReceive();
      fast.tryReceive();
      expect(topic.publish(msg(3))).toBe(false);
      let done = false;
      const pending = topic.publishAsync(msg(3)).then(() => (done = true));
      await new Promise((r) => setImmediate(r));
      expect(done).toBe(false);
      expect(slow.tryReceive()!.type).toBe(1);
      await pending;
      expect([slow.tryReceive()!.type, slow.tryReceive()!.type]).toEqual([2, 3]);
      expect(fast.tryReceive()!.type).toBe(3);
      // A subscriber that leaves no longer holds publishers back.
      topic.publish(msg(4));
      topic.publish(msg(5));
      expect(topic.publish(msg(6))).toBe(false);
      slow.unsubscribe();
      fast.unsubscribe();
      expect(topic.publish(msg(6))).toBe(true);
    }));

  it('receive() waits and is woken by a publish; close drains then ChannelClosed; unsubscribe ends the subscription', async () => {
    const k = testKernel();
    let handle = 0;
    const got: number[][] = [[], []];
    const subscribers = [0, 1].map((i) =>
      k.spawn({ name: `sub${i}` }, async (p) => {
        while (handle === 0) await p.yield();
        const sub = p.topic(handle).subscribe();
        for await (const m of sub) got[i]!.push(m.type);
      }),
    );
    const publisher = k.spawn({ name: 'pub' }, async (p) => {
      const own = p.createTopic({ slowSubscriber: 'block', bufferSize: 4 });
      for (const s of subscribers) k.processCapability(p.pid, s.pid);
      // Each subscriber gets its own handle value in its own space; in this test they happen to be equal.
      const hs = subscribers.map((s) => p.grant(own, s.pid, Rights.RECEIVE));
      expect(new Set(hs).size).toBe(1);
      handle = hs[0]!;
      const topic = p.topic(own);
      while (topic.stats().subscribers < 2) await p.yield();
      for (let i = 0; i < 50; i++) await topic.publishAsync(msg(i));
      topic.close();
      expect(code(() => topic.publish(msg(0)))).toBe('ChannelClosed');
      await Promise.all(subscribers.map((s) => s.exited));
    });
    for (const e of await Promise.all([publisher.exited, ...subscribers.map((s) => s.exited)])) if (e.reason !== 'returned') throw e.error;
    expect(got).toEqual([Array.from({ length: 50 }, (_, i) => i), Array.from({ length: 50 }, (_, i) => i)]);
    await k.shutdown();
  });

  it('publish needs SEND, subscribe needs RECEIVE; subscriptions end with their process', async () => {
    const k = testKernel();
    let h = 0;
    const sub = k.spawn({ name: 'sub' }, async (p) => {
      while (h === 0) await p.yield();
      const t = p.topic(h);
      expect(code(() => t.publish(msg(1)))).toBe('PermissionDenied');
      t.subscribe();
      t.subscribe();
      expect(k.stats().subscriptions).toBe(2);
    });
    const owner = k.spawn({ name: 'owner' }, async (p) => {
      const own = p.createTopic();
      const pubOnly = p.topic(p.derive(own, Rights.SEND));
      expect(code(() => pubOnly.subscribe())).toBe('PermissionDenied');
      k.processCapability(p.pid, sub.pid);
      h = p.grant(own, sub.pid, Rights.RECEIVE);
      const t = p.topic(own);
      await sub.exited;
      expect(t.stats().subscribers).toBe(0);
      expect(k.stats().subscriptions).toBe(0);
    });
    for (const e of await Promise.all([owner.exited, sub.exited])) if (e.reason !== 'returned') throw e.error;
    await k.shutdown();
  });
});
