/** Conformance cases of multicast topics: one ring, a cursor per subscriber. */
import { Rights } from '@veridian/core';
import { expect } from 'vitest';
import { codeOf, pattern, rejection, returned, settle } from '../support/harness.js';
import { fifoPerProducer, withProducers } from './async.js';
import type { CaseTable } from './types.js';

const msg = (type: number) => ({ type, data: pattern(3, type) });

type Sub = { tryReceive(): { type: number } | null };
const drain = (s: Sub): number[] => {
  const out: number[] = [];
  for (let m = s.tryReceive(); m; m = s.tryReceive()) out.push(m.type);
  return out;
};

export const topicCases: CaseTable<'topic'> = {
  'topic.fanout': {
    checks: 'every message published reaches each of eight subscribers once, in order; counters count each message once (no copy per subscriber); subscribers on CPU 0 are woken by a worker-CPU publisher',
    timeout: 60_000,
    async run(ctx) {
      const k = ctx.kernel();
      await withProducers(
        k,
        [{ id: 0, count: 2000 }],
        (p) => p.createTopic({ bufferSize: 64, slowSubscriber: 'block' }),
        async (p, h, go) => {
          const t = p.topic(h);
          const subs = Array.from({ length: 8 }, () => t.subscribe());
          go();
          const got = await Promise.all(
            subs.map(async (s) => {
              const types: number[] = [];
              while (types.length < 2000) types.push((await s.receive({ timeout: 30_000_000_000 })).type);
              return types;
            }),
          );
          for (const types of got) fifoPerProducer(types, 1, 2000);
          expect(t.stats()).toMatchObject({ messages: 2000, subscribers: 8 });
        },
        true,
      );
    },
  },
  'topic.late-subscriber': {
    checks: 'a subscriber sees exactly the messages published after it subscribed',
    async run(ctx) {
      const k = ctx.kernel();
      await returned(
        k.spawn({ name: 'topic' }, (p) => {
          const t = p.topic(p.createTopic({ bufferSize: 16 }));
          const early = t.subscribe();
          t.publish(msg(1));
          t.publish(msg(2));
          const late = t.subscribe();
          t.publish(msg(3));
          expect(drain(early)).toEqual([1, 2, 3]);
          expect(drain(late)).toEqual([3]);
        }),
      );
    },
  },
  'topic.slow-subscriber': {
    checks: "'skip': the publisher never waits and a lapped subscriber is told how many it missed; 'block': the publisher waits for the slowest subscriber",
    async run(ctx) {
      const k = ctx.kernel();
      await returned(
        k.spawn({ name: 'topic' }, async (p) => {
          const skip = p.topic(p.createTopic({ bufferSize: 4 }));
          const s = skip.subscribe();
          for (let i = 0; i < 11; i++) expect(skip.publish(msg(i))).toBe(true);
          expect(s.tryReceive()!.type).toBe(7);
          expect(s.missed).toBe(7);
          expect(drain(s)).toEqual([8, 9, 10]);
          expect(s.missedTotal).toBe(7);
          const block = p.topic(p.createTopic({ bufferSize: 2, slowSubscriber: 'block' }));
          const fast = block.subscribe();
          const slow = block.subscribe();
          block.publish(msg(0));
          block.publish(msg(1));
          expect(drain(fast)).toEqual([0, 1]);
          expect(block.publish(msg(2))).toBe(false);
          let done = false;
          const waiting = block.publishAsync(msg(2)).then(() => (done = true));
          await settle();
          expect(done).toBe(false);
          expect(slow.tryReceive()!.type).toBe(0);
          await waiting;
          expect(drain(slow)).toEqual([1, 2]);
          expect(slow.missedTotal).toBe(0);
        }),
      );
    },
  },
  'topic.unsubscribe': {
    checks: 'an ended subscription reports ChannelClosed and no longer holds a blocking publisher back; closing a topic lets subscribers drain, then ChannelClosed',
    async run(ctx) {
      const k = ctx.kernel();
      await returned(
        k.spawn({ name: 'topic' }, async (p) => {
          const t = p.topic(p.createTopic({ bufferSize: 2, slowSubscriber: 'block' }));
          const a = t.subscribe();
          const b = t.subscribe();
          t.publish(msg(0));
          t.publish(msg(1));
          expect(t.publish(msg(2))).toBe(false);
          a.unsubscribe();
          a.unsubscribe();
          expect(codeOf(() => a.tryReceive())).toBe('ChannelClosed');
          expect(drain(b)).toEqual([0, 1]);
          expect(t.publish(msg(2))).toBe(true);
          t.close();
          expect(codeOf(() => t.publish(msg(3)))).toBe('ChannelClosed');
          expect(b.tryReceive()!.type).toBe(2);
          expect(await rejection(b.receive())).toBe('ChannelClosed');
          expect(k.stats().subscriptions).toBe(1);
        }),
      );
      expect(k.stats().subscriptions).toBe(0);
    },
  },
  'topic.publish-requires-send': {
    checks: 'publish needs SEND and subscribe needs RECEIVE on the topic capability (PermissionDenied otherwise); a revoked capability publishes nothing',
    async run(ctx) {
      const k = ctx.kernel();
      await returned(
        k.spawn({ name: 'topic' }, (p) => {
          const h = p.createTopic();
          const t = p.topic(h);
          const sub = t.subscribe();
          const recvOnly = p.topic(p.derive(h, Rights.RECEIVE));
          const sendOnly = p.topic(p.derive(h, Rights.SEND));
          expect(codeOf(() => recvOnly.publish(msg(1)))).toBe('PermissionDenied');
          expect(codeOf(() => sendOnly.subscribe())).toBe('PermissionDenied');
          expect(sendOnly.publish(msg(2))).toBe(true);
          recvOnly.subscribe().unsubscribe();
          p.revoke(h);
          expect(codeOf(() => sendOnly.publish(msg(3)))).toBe('InvalidCapability');
          expect(drain(sub)).toEqual([2]);
          expect(codeOf(() => p.topic(p.createChannel({ type: 'async' })))).toBe('InvalidCapability');
        }),
      );
    },
  },
  'topic.cleanup-on-exit': {
    checks: "a process's subscriptions end when it exits; a topic ends with its owner (holders see ChannelClosed) and its records return to the pools",
    async run(ctx) {
      const k = ctx.kernel();
      const base = k.stats();
      let h = 0;
      const sub = k.spawn({ name: 'sub' }, async (p) => {
        while (h === 0) await settle(1);
        const t = p.topic(h);
        t.subscribe();
        t.subscribe();
        expect(k.stats().subscriptions).toBe(2);
      });
      const owner = k.spawn({ name: 'owner' }, async (p) => {
        const own = p.createTopic();
        k.processCapability(p.pid, sub.pid);
        h = p.grant(own, sub.pid, Rights.RECEIVE | Rights.SEND);
        await sub.exited;
        expect(k.stats().subscriptions).toBe(0);
        expect(p.topic(own).stats().subscribers).toBe(0);
        p.topic(own).subscribe();
      });
      await returned(owner, sub);
      const after = k.stats();
      expect(after.rings).toBe(base.rings);
      expect(after.subscriptions).toBe(base.subscriptions);
      expect(after.capabilities).toBe(base.capabilities);
    },
  },
};
