/**
 * A server that replies and then awaits something outside the kernel (a timer, I/O, another
 * promise) must not keep CPU 0 from the caller its reply woke: the caller waits as the switch
 * target of the reply, not in the ready queue, and the off-kernel check used to re-arm only for
 * the ready queue — so the caller never ran (a hang, whatever the priorities).
 */
import { describe, expect, it } from 'vitest';
import { testKernel } from '../support/kernel.js';

const EMPTY = new Uint8Array(0);

/** Resolves with `p`, or rejects once `ms` pass (a watchdog for a hang, not a timing assertion). */
function watchdog<T>(p: Promise<T>, ms = 10_000): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('hang: the caller never ran')), ms).unref())]);
}

describe('a reply followed by an await outside the kernel', () => {
  for (const [server, caller] of [[30, 20], [20, 30], [20, 20]] as const) {
    it(`lets the caller run (server priority ${server}, caller ${caller})`, async () => {
      const k = testKernel();
      let done!: () => void;
      const doneP = new Promise<void>((r) => (done = r));
      const order: string[] = [];
      const s = k.spawn({ name: 'server', priority: server }, async (p) => {
        const m = await p.receive(p.createEndpoint({ name: 'srv' }));
        p.reply(m.sender, { type: 7, data: EMPTY });
        order.push('replied');
        await doneP; // resolved by the caller: only if the caller gets CPU 0
        order.push('server resumed');
      });
      await k.whenNamed('srv');
      const c = k.spawn({ name: 'caller', priority: caller }, async (p) => {
        const r = await p.call(p.connect('srv'), { type: 1, data: EMPTY });
        order.push(`reply ${r.type}`);
        done();
      });
      const exits = await watchdog(Promise.all([s.exited, c.exited]));
      expect(exits.map((e) => e.reason)).toEqual(['returned', 'returned']);
      expect(order).toEqual(['replied', 'reply 7', 'server resumed']);
    });
  }
});
