// Issue #19 for the rings of issue #15: a topic's publish and a subscriber's tryReceive, and an
// async channel's batch send and receive, allocate nothing per message once warm (counted as in
// no-alloc.test.ts: heap growth plus what every GC in between freed). receiveBatch used to build
// an error label string for every buffer it checked: 384 bytes per batch of 8.
import { describe, expect, it } from 'vitest';
import { createMessageBuffer, type SmallMessage } from '@veridian/core';
import { testKernel } from './support/kernel.ts';
import { allocationOf } from './support/heap.ts';

const NOTHING = 1;

describe('no allocation per ring message (issues #15, #19)', () => {
  it('topic publish + two subscribers\' tryReceive allocate nothing', async () => {
    const k = testKernel();
    try {
      let bytes = NaN;
      const h = k.spawn({ name: 'pub' }, (p) => {
        const t = p.topic(p.createTopic({ bufferSize: 16 }));
        const a = t.subscribe();
        const b = t.subscribe();
        const msg: SmallMessage = { type: 0, data: new Uint8Array(64) };
        bytes = allocationOf((n) => {
          for (let i = 0; i < n; i++) {
            msg.data[0] = i;
            // One check, no message built from `i`: with two checks that each format `i`, V8 boxed
            // the counter on every iteration (24 bytes — the test loop's, not the ring's).
            if (!t.publish(msg) || a.tryReceive()!.bytes[0] !== (i & 0xff) || b.tryReceive()!.bytes[0] !== (i & 0xff)) throw new Error('a message was refused or came back wrong');
          }
        }).bytesPerCall;
        console.log(`no-alloc: topic publish + 2 tryReceive: ${bytes.toFixed(3)} B/message`);
      });
      const exit = await h.exited;
      if (exit.reason !== 'returned') throw exit.error;
      expect(bytes).toBeLessThan(NOTHING);
    } finally {
      await k.shutdown();
    }
  });

  it('async channel sendBatch + receiveBatch of 8 allocate nothing', async () => {
    const k = testKernel();
    try {
      let bytes = NaN;
      const h = k.spawn({ name: 'batch' }, (p) => {
        const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 16 }));
        const batch: SmallMessage[] = Array.from({ length: 8 }, (_, i) => ({ type: i, data: new Uint8Array(64) }));
        const out = Array.from({ length: 8 }, () => createMessageBuffer());
        bytes = allocationOf((n) => {
          for (let i = 0; i < n; i++) {
            batch[0]!.data[0] = i;
            if (ch.sendBatch(batch) !== 8 || ch.receiveBatch(out) !== 8 || out[0]!.bytes[0] !== (i & 0xff) || out[7]!.type !== 7) throw new Error('a batch was refused or came back wrong');
          }
        }, 50_000, 20_000).bytesPerCall;
        console.log(`no-alloc: sendBatch + receiveBatch of 8: ${bytes.toFixed(3)} B/batch`);
      });
      const exit = await h.exited;
      if (exit.reason !== 'returned') throw exit.error;
      expect(bytes).toBeLessThan(NOTHING);
    } finally {
      await k.shutdown();
    }
  });
});
