// Defect 8: a second call while the first is still queued is rejected with InvalidState, but it had
// already re-encoded the frame (the server then received the rejected message), and a large rejected
// call leaked the frames it staged.
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { IpcError, messagePayload } from '@veridian/core';
import { testKernel } from '../support/kernel.ts';

describe('defect 8: a rejected second call leaves the queued first call intact', () => {
  for (const size of [1, 64, 10_000]) {
    it(`second call with ${size} bytes while the first is queued: InvalidState, nothing changed, the server gets the first`, async () => {
      const k = testKernel();
      const base = k.stats();
      let gate!: () => void;
      const open = new Promise<void>((r) => (gate = r));
      let received: { type: number; payload: number[] } | undefined;
      k.spawn({ name: 'server' }, async (p) => {
        const ep = p.createEndpoint({ name: 's' });
        await open; // not receiving yet: the first call queues
        const m = await p.receive(ep);
        received = { type: m.type, payload: Array.from(messagePayload(m).subarray(0, 4)) };
        p.reply(m.sender, { type: m.type + 100, data: new Uint8Array() });
      });
      await k.whenNamed('s');
      let second: string | undefined;
      let firstReply: number | undefined;
      let snapshotUnchanged: boolean | undefined;
      const c = k.spawn({ name: 'client' }, async (p) => {
        const ch = p.connect('s');
        const first = p.call(ch, { type: 1, data: new Uint8Array([1, 1, 1, 1]) });
        const stats = k.stats();
        const snap = k.snapshot();
        try {
          await p.call(ch, { type: 2, data: new Uint8Array(size).fill(2) });
          second = 'accepted';
        } catch (e) {
          second = e instanceof IpcError ? e.code : String(e);
        }
        snapshotUnchanged = isDeepStrictEqual(k.stats(), stats) && isDeepStrictEqual(k.snapshot(), snap);
        gate();
        firstReply = (await first).type;
      });
      expect(await c.exited).toMatchObject({ reason: 'returned' });
      await k.idle();
      expect(second).toBe('InvalidState');
      expect(snapshotUnchanged).toBe(true);
      expect(received).toEqual({ type: 1, payload: [1, 1, 1, 1] });
      expect(firstReply).toBe(101);
      expect(k.stats()).toEqual(base);
    });
  }
});
