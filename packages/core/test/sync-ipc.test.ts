import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock, MessageFlags, Rights } from '@veridian/core';
import { pattern, testKernel } from './support/kernel.ts';

describe('synchronous IPC', () => {
  it('call/reply carries every payload length 0..64 exactly, with the message type', async () => {
    const k = testKernel();
    k.spawn({ name: 'server' }, async (p) => {
      const ep = p.createEndpoint({ name: 'echo' });
      let m = await p.receive(ep);
      for (;;) {
        expect(m.flags & MessageFlags.CALL).toBeTruthy();
        m = await p.replyReceive(m.sender, { type: (m.type ^ 0xffffffff) >>> 0, data: m.bytes.slice(0, m.length).reverse() }, ep);
      }
    });
    const client = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('echo');
      for (let n = 0; n <= 64; n++) {
        const data = pattern(n, n);
        const r = await p.call(ch, { type: n * 0x01010101, data });
        expect(r.length).toBe(n);
        expect(r.type).toBe(((n * 0x01010101) ^ 0xffffffff) >>> 0);
        expect(r.flags & MessageFlags.REPLY).toBeTruthy();
        expect(Array.from(r.bytes.subarray(0, n))).toEqual(Array.from(data).reverse());
        expect(r.bytes.subarray(n).every((b) => b === 0)).toBe(true);
      }
    });
    expect(await client.exited).toMatchObject({ reason: 'returned' });
  });

  it('random payloads and types round-trip (property)', async () => {
    const k = testKernel();
    k.spawn({ name: 'server' }, (p) => p.serve(p.createEndpoint({ name: 'echo' }), (m) => ({ type: m.type, data: m.bytes.slice(0, m.length) })));
    const client = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('echo');
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ maxLength: 64 }), fc.integer({ min: 0, max: 0xffffffff }), async (data, type) => {
          const r = await p.call(ch, { type, data });
          expect(r.type).toBe(type);
          expect(r.bytes.slice(0, r.length)).toEqual(data);
        }),
      );
    });
    const exit = await client.exited;
    if (exit.reason !== 'returned') throw exit.error instanceof Error ? exit.error : new Error(`client ${exit.reason}`, { cause: exit.error });
  });

  it('receive blocks until a call arrives, and the receiver learns the true sender', async () => {
    const k = testKernel();
    const log: string[] = [];
    let clientPid = 0;
    k.spawn({ name: 'server' }, async (p) => {
      const ep = p.createEndpoint({ name: 's' });
      log.push('receive');
      const m = await p.receive(ep);
      log.push(`got from ${m.sender}`);
      expect(m.sender).toBe(clientPid);
      p.reply(m.sender, { type: 0, data: new Uint8Array() });
    });
    const c = k.spawn({ name: 'client' }, async (p) => {
      clientPid = p.pid;
      await p.sleep(1000);
      log.push('call');
      // A sender cannot claim another identity: the kernel stamps the sender register.
      p.frame.fill(0xffffffff);
      await p.call(p.connect('s'), { type: 1, data: new Uint8Array([1]) });
      log.push('replied');
    });
    await c.exited;
    expect(log).toEqual(['receive', 'call', `got from ${clientPid}`, 'replied']);
  });

  it('a reply is one-shot; replying to a non-caller is InvalidState', async () => {
    const k = testKernel();
    const errors: string[] = [];
    k.spawn({ name: 'server' }, async (p) => {
      const ep = p.createEndpoint({ name: 's' });
      const m = await p.receive(ep);
      const sender = m.sender;
      p.reply(sender, { type: 1, data: new Uint8Array() });
      try {
        p.reply(sender, { type: 2, data: new Uint8Array() });
      } catch (e) {
        errors.push((e as { code: string }).code);
      }
      try {
        p.reply(p.pid, { type: 2, data: new Uint8Array() });
      } catch (e) {
        errors.push((e as { code: string }).code);
      }
    });
    const c = k.spawn({ name: 'client' }, async (p) => {
      const r = await p.call(p.connect('s'), { type: 0, data: new Uint8Array() });
      expect(r.type).toBe(1);
    });
    await c.exited;
    await k.idle();
    expect(errors).toEqual(['InvalidState', 'InvalidState']);
  });

  it('up to four capabilities travel with a small message; each needs SHARE', async () => {
    const k = testKernel();
    k.spawn({ name: 'server' }, async (p) => {
      const ep = p.createEndpoint({ name: 's' });
      const m = await p.receive(ep);
      expect(m.capCount).toBe(4);
      const got = Array.from(m.caps.subarray(0, 4), (h) => p.inspect(h));
      expect(got.map((c) => c.permissions)).toEqual([Rights.SEND | Rights.SHARE, Rights.SHARE, Rights.RECEIVE | Rights.SHARE, Rights.SEND | Rights.SHARE]);
      // The received capability works: call back through it.
      p.reply(m.sender, { type: 0, data: new Uint8Array() });
    });
    const c = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('s');
      const own = p.createEndpoint();
      const caps = [p.derive(own, Rights.SEND | Rights.SHARE), p.derive(own, Rights.SHARE), p.derive(own, Rights.RECEIVE | Rights.SHARE), p.derive(own, Rights.SEND | Rights.SHARE)];
      const noShare = p.derive(own, Rights.SEND);
      const before = k.snapshot();
      await expect(p.call(ch, { type: 0, data: new Uint8Array(), caps: [noShare] })).rejects.toMatchObject({ code: 'PermissionDenied' });
      // Five capabilities make a large message; the one without SHARE is still refused.
      await expect(p.call(ch, { type: 0, data: new Uint8Array(), caps: [...caps, noShare] })).rejects.toMatchObject({ code: 'PermissionDenied' });
      await expect(p.call(ch, { type: 0, data: new Uint8Array((1 << 20) + 1) })).rejects.toMatchObject({ code: 'MessageTooLarge' });
      await expect(p.call(ch, { type: 0, data: new Uint8Array(), caps: [0x12345] })).rejects.toMatchObject({ code: 'InvalidCapability' });
      expect(k.snapshot()).toEqual(before);
      await p.call(ch, { type: 0, data: new Uint8Array(), caps });
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
  });

  it('SEND and RECEIVE rights are enforced', async () => {
    const k = testKernel();
    const c = k.spawn({ name: 'p' }, async (p) => {
      const ep = p.createEndpoint();
      const recvOnly = p.derive(ep, Rights.RECEIVE);
      const sendOnly = p.derive(ep, Rights.SEND);
      await expect(p.call(recvOnly, { type: 0, data: new Uint8Array() })).rejects.toMatchObject({ code: 'PermissionDenied' });
      await expect(p.receive(sendOnly)).rejects.toMatchObject({ code: 'PermissionDenied' });
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
  });

  it('capacity bounds the queue: excess callers get ChannelFull at once', async () => {
    const k = testKernel();
    const results: string[] = [];
    let ep = 0;
    const server = k.spawn({ name: 'server' }, async (p) => {
      ep = p.createEndpoint({ name: 's', capacity: 2 });
      await p.sleep(1e9);
    });
    await new Promise((r) => setTimeout(r, 5));
    for (let i = 0; i < 3; i++) {
      k.spawn({ name: `c${i}` }, async (p) => {
        try {
          await p.call(p.connect('s'), { type: i, data: new Uint8Array() });
          results.push(`c${i} ok`);
        } catch (e) {
          results.push(`c${i} ${(e as { code: string }).code}`);
        }
      });
    }
    await new Promise((r) => setTimeout(r, 5));
    expect(results).toEqual(['c2 ChannelFull']);
    expect(ep).toBeGreaterThan(0);
    await server.kill();
    await k.idle();
    expect(results.sort()).toEqual(['c0 ChannelClosed', 'c1 ChannelClosed', 'c2 ChannelFull']);
  });

  it('a call timeout fails with Timeout and leaves nothing behind', async () => {
    const clock = new ManualClock();
    const k = testKernel({ clock });
    let before!: ReturnType<typeof k.snapshot>;
    k.spawn({ name: 'server' }, async (p) => {
      p.createEndpoint({ name: 's' });
      await p.sleep(1e12);
    });
    const c = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('s');
      before = k.snapshot();
      const t = p.call(ch, { type: 0, data: pattern(10) }, { timeout: 5000 });
      clock.advance(4999);
      clock.advance(1);
      await expect(t).rejects.toMatchObject({ code: 'Timeout' });
      const after = k.snapshot();
      expect(after.freeFrames).toBe(before.freeFrames);
      // The endpoint records (queues, counts) are exactly as before the call.
      const mm = k.memory;
      const endpoints = (s: typeof before) => s.records.subarray(mm.regBase - mm.recordsStart, mm.slotBase - mm.recordsStart);
      expect(endpoints(after)).toEqual(endpoints(before));
      expect(k.stats().endpoints).toBe(1);
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
  });

  it('an endpoint timeout applies to calls without their own; receive can time out', async () => {
    const clock = new ManualClock();
    const k = testKernel({ clock });
    const c = k.spawn({ name: 'p' }, async (p) => {
      const ep = p.createEndpoint({ name: 's', timeout: 100 });
      const r = p.receive(ep, { timeout: 50 });
      clock.advance(50);
      await expect(r).rejects.toMatchObject({ code: 'Timeout' });
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    const server = k.spawn({ name: 'server' }, async (p) => {
      p.createEndpoint({ name: 't', timeout: 100 });
      await p.sleep(1e12);
    });
    const c2 = k.spawn({ name: 'c2' }, async (p) => {
      const call = p.call(p.connect('t'), { type: 0, data: new Uint8Array() });
      clock.advance(100);
      await expect(call).rejects.toMatchObject({ code: 'Timeout' });
    });
    expect(await c2.exited).toMatchObject({ reason: 'returned' });
    await server.kill();
  });

  it('a server that exits wakes its callers with ChannelClosed; a client that exits makes the reply ProcessNotFound', async () => {
    const k = testKernel();
    let replyError = '';
    k.spawn({ name: 'server' }, async (p) => {
      const ep = p.createEndpoint({ name: 's' });
      const m = await p.receive(ep);
      const who = m.sender;
      await p.sleep(2e6);
      try {
        p.reply(who, { type: 0, data: new Uint8Array() });
      } catch (e) {
        replyError = (e as { code: string }).code;
      }
      const m2 = await p.receive(ep);
      void m2;
      // exits with a caller waiting for the reply
    });
    const early = k.spawn({ name: 'early' }, async (p) => {
      await p.call(p.connect('s'), { type: 0, data: new Uint8Array() });
    });
    await new Promise((r) => setTimeout(r, 1));
    await early.kill();
    const late = k.spawn({ name: 'late' }, async (p) => {
      await p.call(p.connect('s'), { type: 0, data: new Uint8Array() });
    });
    const exit = await late.exited;
    expect(replyError).toBe('ProcessNotFound');
    expect(exit.reason).toBe('crashed');
    expect(exit.error).toMatchObject({ code: 'ChannelClosed' });
    await k.idle();
    expect(k.stats()).toMatchObject({ processes: 0, endpoints: 0, capabilities: 0 });
  });

  it('replyError fails the caller with the given code; serve() turns a thrown IpcError into one', async () => {
    const k = testKernel();
    const { IpcError } = await import('@veridian/core');
    k.spawn({ name: 'server' }, (p) =>
      p.serve(p.createEndpoint({ name: 's' }), (m) => {
        if (m.type === 13) throw new IpcError('NotFound', 'unlucky');
        return { type: m.type, data: new Uint8Array() };
      }),
    );
    const c = k.spawn({ name: 'c' }, async (p) => {
      const ch = p.connect('s');
      await expect(p.call(ch, { type: 13, data: new Uint8Array() })).rejects.toMatchObject({ code: 'NotFound' });
      expect((await p.call(ch, { type: 12, data: new Uint8Array() })).type).toBe(12);
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
  });

  it('one-way sends are delivered in order and are not calls', async () => {
    const k = testKernel();
    const got: number[] = [];
    const s = k.spawn({ name: 'sink' }, async (p) => {
      const ep = p.createEndpoint({ name: 'sink' });
      for (let i = 0; i < 5; i++) {
        const m = await p.receive(ep);
        expect(m.flags & MessageFlags.CALL).toBe(0);
        got.push(m.type);
      }
    });
    k.spawn({ name: 'src' }, async (p) => {
      const ch = p.connect('sink');
      for (let i = 0; i < 5; i++) await p.send(ch, { type: i, data: new Uint8Array() });
    });
    await s.exited;
    expect(got).toEqual([0, 1, 2, 3, 4]);
  });

  it('a process has one blocking operation at a time', async () => {
    const k = testKernel();
    const c = k.spawn({ name: 'p' }, async (p) => {
      const ep = p.createEndpoint();
      const pending = p.receive(ep);
      await expect(p.receive(ep)).rejects.toMatchObject({ code: 'InvalidState' });
      void pending;
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
  });

  it('delivering capabilities into a full space fails with OutOfMemory and changes nothing', async () => {
    const k = testKernel({ capSlots: 3 });
    let serverPid = 0;
    k.spawn({ name: 'server' }, async (p) => {
      serverPid = p.pid;
      const ep = p.createEndpoint({ name: 's' });
      p.derive(ep, Rights.SEND);
      p.derive(ep, Rights.SEND); // space now full
      await p.receive(ep).catch((e: unknown) => e);
    });
    const c = k.spawn({ name: 'c' }, async (p) => {
      const ch = p.connect('s');
      const mine = p.createEndpoint();
      expect(serverPid).toBeGreaterThan(0);
      await expect(p.call(ch, { type: 0, data: new Uint8Array(), caps: [mine] })).rejects.toMatchObject({ code: 'OutOfMemory' });
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
  });
});
