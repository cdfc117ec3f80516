// Async channels and topics on one CPU: API behaviour, policies, capabilities, cleanup.
import { describe, expect, it } from 'vitest';
import { IpcError, Rights, createMessageBuffer, type Process } from '@veridian/core';
import { testKernel } from './support/kernel.ts';

const msg = (type: number, n = 8) => ({ type, data: Uint8Array.from({ length: n }, (_, i) => (type + i) & 0xff) });

async function code(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    if (e instanceof IpcError) return e.code;
    throw e;
  }
  return 'ok';
}

/** Runs `body` as one CPU-0 process and waits for it (rethrowing what it threw). */
async function inProcess(body: (p: Process) => Promise<void> | void, opts = {}): Promise<void> {
  const k = testKernel(opts);
  const h = k.spawn({ name: 't' }, body);
  const exit = await h.exited;
  if (exit.reason !== 'returned') throw exit.error;
  expect(k.stats().rings).toBe(0);
  expect(k.stats().subscriptions).toBe(0);
  await k.shutdown();
}

describe('async channels (one CPU)', () => {
  it('FIFO through trySend / tryReceive, payload, type and true sender', () =>
    inProcess((p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 8 }));
      for (let i = 0; i < 8; i++) expect(ch.trySend(msg(i, i * 8))).toBe(true);
      expect(ch.trySend(msg(99))).toBe(false);
      for (let i = 0; i < 8; i++) {
        const m = ch.tryReceive()!;
        expect(m.type).toBe(i);
        expect(m.length).toBe(i * 8);
        expect(m.bytes.subarray(0, m.length)).toEqual(msg(i, i * 8).data);
        expect(m.bytes.subarray(m.length).every((b) => b === 0)).toBe(true);
        expect(m.sender).toBe(p.pid);
      }
      expect(ch.tryReceive()).toBeNull();
      const s = ch.stats();
      expect(s).toMatchObject({ kind: 'channel', messages: 8, bytes: 8 * 7 * 4, fullEvents: 1, drops: 0, queued: 0, capacity: 8 });
    }));

  it('overflow policies: reject, drop-oldest, drop-newest, block', () =>
    inProcess(async (p) => {
      const rej = p.channel(p.createChannel({ type: 'async', bufferSize: 2, overflow: 'reject' }));
      await rej.sendAsync(msg(1));
      await rej.sendAsync(msg(2));
      expect(await code(rej.sendAsync(msg(3)))).toBe('ChannelFull');
      const old = p.channel(p.createChannel({ type: 'async', bufferSize: 2, overflow: 'drop-oldest' }));
      for (let i = 1; i <= 5; i++) await old.sendAsync(msg(i));
      expect([old.tryReceive()!.type, old.tryReceive()!.type]).toEqual([4, 5]);
      expect(old.stats().drops).toBe(3);
      const nw = p.channel(p.createChannel({ type: 'async', bufferSize: 2, overflow: 'drop-newest' }));
      for (let i = 1; i <= 5; i++) await nw.sendAsync(msg(i));
      expect([nw.tryReceive()!.type, nw.tryReceive()!.type]).toEqual([1, 2]);
      expect(nw.stats().drops).toBe(3);
      const blk = p.channel(p.createChannel({ type: 'async', bufferSize: 2, overflow: 'block' }));
      await blk.sendAsync(msg(1));
      await blk.sendAsync(msg(2));
      let sent = false;
      const third = blk.sendAsync(msg(3)).then(() => (sent = true));
      await new Promise((r) => setImmediate(r));
      expect(sent).toBe(false);
      expect(blk.tryReceive()!.type).toBe(1);
      await third;
      expect([blk.tryReceive()!.type, blk.tryReceive()!.type]).toEqual([2, 3]);
      expect(await code(blk.sendAsync(msg(1)).then(() => blk.sendAsync(msg(2))).then(() => blk.sendAsync(msg(3), { timeout: 1_000_000 })))).toBe('Timeout');
    }));

  it('batches: sendBatch and receiveBatch keep order and stop at full', () =>
    inProcess((p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 16 }));
      expect(ch.sendBatch(Array.from({ length: 10 }, (_, i) => msg(i)))).toBe(10);
      expect(ch.sendBatch(Array.from({ length: 10 }, (_, i) => msg(10 + i)))).toBe(6);
      const out = Array.from({ length: 32 }, () => createMessageBuffer());
      expect(ch.receiveBatch(out)).toBe(16);
      expect(out.slice(0, 16).map((m) => m.type)).toEqual(Array.from({ length: 16 }, (_, i) => i));
      expect(ch.receiveBatch(out)).toBe(0);
    }));

  it('a send refused by a full ring, a receive from an empty one and a closed send change no kernel state (contention counts are statistics)', async () => {
    const k = testKernel();
    const h = k.spawn({ name: 't' }, async (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 2, overflow: 'reject' }));
      ch.trySend(msg(1));
      ch.trySend(msg(2));
      const before = k.snapshot();
      expect(ch.trySend(msg(3))).toBe(false);
      expect(await code(ch.sendAsync(msg(4)))).toBe('ChannelFull');
      expect(ch.sendBatch([msg(5)])).toBe(0);
      expect(k.snapshot()).toEqual(before);
      expect(ch.stats().fullEvents).toBe(3);
      const empty = p.channel(p.createChannel({ type: 'async' }));
      const before2 = k.snapshot();
      expect(empty.tryReceive()).toBe(null);
      expect(await code(empty.receiveAsync({ timeout: 0 }))).toBe('Timeout');
      expect(k.snapshot()).toEqual(before2);
    });
    const exit = await h.exited;
    if (exit.reason !== 'returned') throw exit.error;
  });

  it('a one-slot channel holds exactly one message under every policy (its slot is never taken twice)', () =>
    inProcess((p) => {
      const one = (overflow: 'reject' | 'drop-oldest' | 'drop-newest' | 'block') => p.channel(p.createChannel({ type: 'async', bufferSize: 1, overflow }));
      const rej = one('reject');
      expect(rej.trySend(msg(1))).toBe(true);
      expect(rej.trySend(msg(2))).toBe(false);
      expect(rej.sendBatch([msg(3), msg(4)])).toBe(0);
      expect(rej.stats().queued).toBe(1);
      expect(rej.tryReceive()!.type).toBe(1);
      expect(rej.tryReceive()).toBe(null);
      const old = one('drop-oldest');
      for (let i = 0; i < 5; i++) expect(old.trySend(msg(i))).toBe(true);
      expect([old.stats().queued, old.stats().drops, old.tryReceive()!.type]).toEqual([1, 4, 4]);
      const nw = one('drop-newest');
      for (let i = 0; i < 5; i++) nw.trySend(msg(i));
      expect([nw.stats().queued, nw.stats().drops, nw.tryReceive()!.type]).toEqual([1, 4, 0]);
      // Many laps through the one slot: every message once, in order.
      const blk = one('block');
      for (let i = 0; i < 300; i++) {
        expect(blk.trySend(msg(i & 0xff))).toBe(true);
        expect(blk.trySend(msg(0))).toBe(false);
        expect(blk.tryReceive()!.type).toBe(i & 0xff);
      }
    }));

  it('receiveAsync waits and is woken by a send from another process; close drains then ChannelClosed; for await ends', async () => {
    const k = testKernel();
    let handle = 0;
    const got: number[] = [];
    const consumer = k.spawn({ name: 'consumer', priority: 20 }, async (p) => {
      const h = p.createChannel({ type: 'async', bufferSize: 4, overflow: 'block' });
      k.processCapability(p.pid, producer.pid);
      handle = p.grant(h, producer.pid, Rights.SEND);
      const ch = p.channel(h);
      for await (const m of ch) got.push(m.type);
      expect(await code(ch.receiveAsync())).toBe('ChannelClosed');
    });
    const producer = k.spawn({ name: 'producer', priority: 10 }, async (p) => {
      while (handle === 0) await p.yield();
      await new Promise((r) => setTimeout(r, 5));
      const ch = p.channel(handle);
      for (let i = 0; i < 20; i++) await ch.sendAsync(msg(i));
      ch.close();
      expect(await code(ch.sendAsync(msg(0)))).toBe('ChannelClosed');
    });
    k.on('error', () => undefined);
    const exits = await Promise.all([consumer.exited, producer.exited]);
    for (const e of exits) if (e.reason !== 'returned') throw e.error;
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await k.shutdown();
  });

  it('AbortSignal and timeouts on receiveAsync', () =>
    inProcess(async (p) => {
      const ch = p.channel(p.createChannel({ type: 'async' }));
      const ac = new AbortController();
      const r = ch.receiveAsync({ signal: ac.signal });
      ac.abort(new Error('stop'));
      const e = await r.catch((x: unknown) => x);
      expect((e as Error).name).toBe('AbortError');
      expect(await code(ch.receiveAsync({ timeout: 0 }))).toBe('Timeout');
      expect(await code(ch.receiveAsync({ timeout: 2_000_000 }))).toBe('Timeout');
      expect(await code(() => ch.receiveSync())).toBe('InvalidState');
    }));

  it('rights, revocation and bad arguments', () =>
    inProcess(async (p) => {
      expect(await code(() => p.createChannel({ type: 'async', bufferSize: 3 }))).toBe('InvalidArgument');
      expect(await code(() => p.createChannel({ type: 'sync' } as never))).toBe('InvalidArgument');
      expect(await code(() => p.createChannel({ type: 'async', overflow: 'nope' } as never))).toBe('InvalidArgument');
      expect(await code(() => p.createChannel({ type: 'async', bufferSize: 1024 }))).toBe('InvalidArgument');
      const h = p.createChannel({ type: 'async' });
      const ch = p.channel(h);
      expect(await code(() => ch.trySend({ type: 1, data: new Uint8Array(65) }))).toBe('MessageTooLarge');
      expect(await code(() => ch.trySend({ type: -1, data: new Uint8Array(1) } as never))).toBe('InvalidArgument');
      const sendOnly = p.channel(p.derive(h, Rights.SEND));
      expect(sendOnly.trySend(msg(1))).toBe(true);
      expect(await code(() => sendOnly.tryReceive())).toBe('PermissionDenied');
      const other = p.channel(p.derive(h, Rights.SEND | Rights.RECEIVE));
      p.revoke(h);
      expect(await code(() => other.trySend(msg(2)))).toBe('InvalidCapability');
      expect(ch.trySend(msg(3))).toBe(true);
      expect(ch.tryReceive()!.type).toBe(1);
      expect(await code(() => p.channel(p.createEndpoint()))).toBe('InvalidCapability');
      expect(await code(() => p.channel('x' as never))).toBe('InvalidArgument');
    }));

  it('capabilities travel in the slot and are minted into the receiver', () =>
    inProcess((p) => {
      const ch = p.channel(p.createChannel({ type: 'async' }));
      const ep = p.createEndpoint();
      const share = p.derive(ep, Rights.SEND | Rights.SHARE);
      expect(ch.trySend({ type: 1, data: new Uint8Array(2), caps: [share, share] })).toBe(true);
      expect(() => ch.trySend({ type: 1, data: new Uint8Array(2), caps: [p.derive(ep, Rights.SEND)] })).toThrow(/SHARE/);
      const m = ch.tryReceive()!;
      expect(m.capCount).toBe(2);
      expect(p.inspect(m.caps[0]!).permissions).toBe(Rights.SEND | Rights.SHARE);
      expect(p.validate(m.caps[1]!, Rights.SEND)).toBe(true);
    }));

  it('a ring ends with its owner: holders see ChannelClosed, the record is reused', async () => {
    const k = testKernel({ rings: 2 });
    let h = 0;
    const owner = k.spawn({ name: 'owner' }, (p) => {
      const own = p.createChannel({ type: 'async' });
      k.processCapability(p.pid, user.pid);
      h = p.grant(own, user.pid, Rights.SEND | Rights.RECEIVE);
    });
    const user = k.spawn({ name: 'user' }, async (p) => {
      while (h === 0) await p.yield();
      await owner.exited;
      expect(await code(() => p.channel(h))).toBe('ChannelClosed');
      // Two records: the owner's came back to the pool (records live as long as their owner).
      p.createChannel({ type: 'async' });
      p.createChannel({ type: 'async' });
      expect(await code(() => p.createChannel({ type: 'async' }))).toBe('OutOfMemory');
    });
    for (const e of await Promise.all([owner.exited, user.exited])) if (e.reason !== 'returned') throw e.error;
    expect(k.stats().rings).toBe(0);
    await k.shutdown();
  });
});
