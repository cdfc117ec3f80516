// Defect 10: replyError(to, unknownCode) sent status 0, so the caller's call resolved with its own
// request. An unknown code must be InvalidArgument, and the caller must still be waiting.
import { describe, expect, it } from 'vitest';
import { IpcError, type IpcErrorCode } from '@veridian/core';
import { testKernel } from '../support/kernel.ts';

describe('defect 10: replyError with an unknown code', () => {
  for (const code of ['Bogus', 12345, undefined, 'toString'] as unknown[]) {
    it(`replyError(to, ${JSON.stringify(code) ?? 'undefined'}) is InvalidArgument and a later reply still reaches the caller`, async () => {
      const k = testKernel();
      const base = k.stats();
      let thrown: unknown;
      let laterReply = 'not tried';
      k.spawn({ name: 'server' }, async (p) => {
        const m = await p.receive(p.createEndpoint({ name: 's' }));
        const caller = m.sender;
        const before = k.snapshot();
        try {
          p.replyError(caller, code as IpcErrorCode);
        } catch (e) {
          thrown = e;
        }
        expect(k.snapshot()).toEqual(before);
        try {
          p.reply(caller, { type: 77, data: new Uint8Array([1, 2]) });
          laterReply = 'delivered';
        } catch (e) {
          laterReply = `failed: ${String(e)}`;
        }
      });
      await k.whenNamed('s');
      let got: unknown;
      const c = k.spawn({ name: 'client' }, async (p) => {
        try {
          const r = await p.call(p.connect('s'), { type: 5, data: new Uint8Array([9]) });
          got = { type: r.type, length: r.length, bytes: [r.bytes[0], r.bytes[1]] };
        } catch (e) {
          got = e instanceof IpcError ? e.code : String(e);
        }
      });
      await c.exited;
      await k.idle();
      expect(thrown).toBeInstanceOf(IpcError);
      expect((thrown as IpcError).code).toBe('InvalidArgument');
      expect(laterReply).toBe('delivered');
      expect(got).toEqual({ type: 77, length: 2, bytes: [1, 2] });
      expect(k.stats()).toEqual(base);
    });
  }

  it('a known code still fails the call with that code', async () => {
    const k = testKernel();
    k.spawn({ name: 'server' }, async (p) => {
      const m = await p.receive(p.createEndpoint({ name: 's' }));
      p.replyError(m.sender, 'RateLimited');
    });
    await k.whenNamed('s');
    const c = k.spawn({ name: 'client' }, (p) => p.call(p.connect('s'), { type: 5, data: new Uint8Array() }));
    expect((await c.exited).error).toMatchObject({ code: 'RateLimited' });
  });
});
