// A receiver that read a ring's "carries capabilities" flag just before the first message with
// capabilities was sent must still get those capabilities minted: the flag is only a hint, the
// slot itself says whether a take needs the kernel lock. (White-box: the race is replayed by
// clearing the flag word, as the receiver saw it, after the send.)
import { describe, expect, it } from 'vitest';
import { ObjectKind } from '../../src/index.js';
import { R } from '../../src/kernel/records/layout.js';
import { testKernel } from '../support/kernel.js';

describe('capabilities sent while a receiver skipped the flag', () => {
  for (const kind of ['channel', 'topic'] as const) {
    it(`${kind}: the message arrives with its capability minted and live`, async () => {
      const k = testKernel();
      const h = k.spawn({ name: 'p' }, (p) => {
        const ep = p.createEndpoint();
        const epId = p.inspect(ep).resource;
        const ringIndex = (id: number) => id % 0x10000;
        if (kind === 'channel') {
          const ch = p.channel(p.createChannel({ type: 'async' }));
          expect(ch.trySend({ type: 1, data: new Uint8Array(2), caps: [ep] })).toBe(true);
          k.memory.i32[k.memory.ringBase + ringIndex(ch.stats().id) * R.SIZE + R.HAS_CAPS] = 0;
          const m = ch.tryReceive()!;
          expect(m.capCount).toBe(1);
          expect(p.inspect(m.caps[0]!)).toMatchObject({ kind: ObjectKind.Endpoint, resource: epId });
        } else {
          const t = p.topic(p.createTopic({}));
          const sub = t.subscribe();
          expect(t.publish({ type: 1, data: new Uint8Array(2), caps: [ep] })).toBe(true);
          k.memory.i32[k.memory.ringBase + ringIndex(t.stats().id) * R.SIZE + R.HAS_CAPS] = 0;
          const m = sub.tryReceive()!;
          expect(m.capCount).toBe(1);
          expect(p.inspect(m.caps[0]!)).toMatchObject({ kind: ObjectKind.Endpoint, resource: epId });
        }
      });
      const exit = await h.exited;
      if (exit.reason !== 'returned') throw exit.error;
    });
  }
});
