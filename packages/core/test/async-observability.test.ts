// The async channel and topic paths in the audit trail, the message trace, the Chrome export and debugfs.
import { describe, expect, it } from 'vitest';
import { ManualClock, Rights, type ChromeTrace, type KernelEvent } from '@veridian/core';
import { testKernel } from './support/kernel.ts';
import { flowsOk } from './support/trace.ts';

const ROOT = '/sys/kernel/debug/ipc';
const here = (f: string) => new URL(`./support/${f}`, import.meta.url);
const msg = (type: number, n = 8) => ({ type, data: new Uint8Array(n).fill(type) });

/** A consumer owning a channel and a producer granted SEND on it; `produce` then `consume` run in turn. */
async function pair(k: ReturnType<typeof testKernel>, produce: (ch: ReturnType<Parameters<Parameters<typeof k.spawn>[1]>[0]['channel']>) => void | Promise<void>, consume: (ch: ReturnType<Parameters<Parameters<typeof k.spawn>[1]>[0]['channel']>) => void | Promise<void>) {
  let handle = 0;
  let produced!: () => void;
  const done = new Promise<void>((r) => (produced = r));
  let ids = { consumer: 0, producer: 0, channel: 0 };
  const consumer = k.spawn({ name: 'consumer', priority: 20 }, async (p) => {
    const h = p.createChannel({ type: 'async', bufferSize: 4 });
    k.processCapability(p.pid, producer.pid);
    handle = p.grant(h, producer.pid, Rights.SEND);
    const ch = p.channel(h);
    ids = { consumer: p.pid, producer: producer.pid, channel: ch.stats().id };
    await done;
    await consume(ch);
  });
  const producer = k.spawn({ name: 'producer', priority: 10 }, async (p) => {
    while (handle === 0) await p.yield();
    try {
      await produce(p.channel(handle));
    } finally {
      produced();
    }
  });
  const exits = await Promise.all([consumer.exited, producer.exited]);
  for (const e of exits) if (e.reason !== 'returned') throw e.error;
  return ids;
}

describe('async channels and topics, observed', () => {
  it('the audit trail records each async send and receive with its fields, refusals included', async () => {
    const k = testKernel({ audit: { records: 64 }, clock: new ManualClock(1000) });
    const ids = await pair(
      k,
      (ch) => {
        for (let i = 0; i < 4; i++) expect(ch.trySend(msg(i, i + 1))).toBe(true);
        expect(ch.trySend(msg(9))).toBe(false);
      },
      (ch) => {
        for (let i = 0; i < 4; i++) expect(ch.tryReceive()!.type).toBe(i);
      },
    );
    const events = k.audit.export().trim().split('\n').map((l) => JSON.parse(l) as KernelEvent);
    const sends = events.filter((e) => e.kind === 'async-send');
    const receives = events.filter((e) => e.kind === 'async-receive');
    expect(sends.map((e) => [e.result, e.type, e.size, e.src, e.dst, e.endpoint])).toEqual([
      ...[0, 1, 2, 3].map((i) => ['ok', i, i + 1, ids.producer, 0, ids.channel]),
      ['ChannelFull', 9, 8, ids.producer, 0, ids.channel],
    ]);
    expect(receives.map((e) => [e.result, e.type, e.size, e.src, e.dst, e.endpoint])).toEqual([0, 1, 2, 3].map((i) => ['ok', i, i + 1, ids.producer, ids.consumer, ids.channel]));
    // The audit trail alone stamps no flows; the latency is measured from the send's stamp.
    expect(receives.every((e) => e.flow === 0 && e.latency === 0)).toBe(true);
  });

  it('the trace links each async send to its receive (one flow each), measures the latency, and the export parses', async () => {
    const clock = new ManualClock(1000);
    const k = testKernel({ clock });
    k.trace.enable();
    await pair(
      k,
      (ch) => {
        for (let i = 0; i < 3; i++) ch.trySend(msg(i));
        clock.advance(250);
      },
      (ch) => {
        for (let i = 0; i < 3; i++) ch.tryReceive();
      },
    );
    const events = k.trace.events();
    const sends = events.filter((e) => e.kind === 'async-send');
    const receives = events.filter((e) => e.kind === 'async-receive');
    expect(sends.length).toBe(3);
    expect(new Set(sends.map((e) => e.flow)).size).toBe(3);
    expect(receives.map((e) => e.flow)).toEqual(sends.map((e) => e.flow));
    // Latency: from the send's event to the receive's, on the kernel's time line (the manual clock moved 250 ns between).
    expect(receives.map((e) => e.latency)).toEqual(receives.map((e, i) => e.ts - sends[i]!.ts));
    expect(receives.every((e) => e.latency! >= 250)).toBe(true);
    const chrome = JSON.parse(k.trace.export()) as ChromeTrace;
    expect(flowsOk(chrome)).toBe(3);
    expect(chrome.traceEvents.filter((e) => e.ph === 'X').length).toBe(events.length);
    // debugfs: the header stays; the channel's line went with its owner.
    const lines = k.debugfs.read(`${ROOT}/channels`).trim().split('\n');
    expect(lines[0]).toBe('endpoint name owner messages bytes queue drops contention p50_ns p99_ns p999_ns');
    expect(k.trace.channels().find((c) => c.kind === 'async')).toBeUndefined();
  });

  it('topics: one publish event, one receive event per subscriber, no flows; nothing is written with observation off', async () => {
    const k = testKernel({ audit: { records: 64 } });
    const h = k.spawn({ name: 'pub' }, (p) => {
      const t = p.topic(p.createTopic({ bufferSize: 8 }));
      const subs = [t.subscribe(), t.subscribe()];
      expect(t.publish(msg(5, 3))).toBe(true);
      for (const s of subs) expect(s.tryReceive()!.type).toBe(5);
      expect(subs[0]!.tryReceive()).toBe(null);
    });
    expect((await h.exited).reason).toBe('returned');
    const events = k.audit.events().filter((e) => e.kind === 'publish' || e.kind === 'topic-receive');
    expect(events.map((e) => [e.kind, e.type, e.size, e.flow])).toEqual([
      ['publish', 5, 3, 0],
      ['topic-receive', 5, 3, 0],
      ['topic-receive', 5, 3, 0],
    ]);
    const quiet = testKernel();
    const q = quiet.spawn({ name: 'q' }, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async' }));
      ch.trySend(msg(1));
      ch.tryReceive();
    });
    expect((await q.exited).reason).toBe('returned');
    expect([quiet.audit.stats().written, quiet.trace.stats().written]).toEqual([0, 0]);
  });

  it('an open channel has a debugfs line while it lives, named (async), with the ring counters', async () => {
    const k = testKernel();
    k.trace.enable();
    let text = '';
    const h = k.spawn({ name: 'owner' }, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 2, overflow: 'drop-oldest' }));
      for (let i = 0; i < 5; i++) ch.trySend(msg(i));
      ch.tryReceive();
      text = k.debugfs.read(`${ROOT}/channels`);
      const row = k.trace.channels().find((c) => c.kind === 'async')!;
      expect(row).toMatchObject({ endpoint: ch.stats().id, owner: p.pid, messages: 5, bytes: 40, queueDepth: 1, drops: 3 });
      expect(row.p50).not.toBeNull();
    });
    expect((await h.exited).reason).toBe('returned');
    expect(text).toMatch(/\n\d+ \(async\) \d+ 5 40 1 3 0 \d+ \d+ \d+\n/);
  });

  it('audit records from two worker CPUs at once: bounded, every record whole, sends from both CPUs, receives on CPU 0', async () => {
    const k = testKernel({ audit: { records: 128 } });
    const each = 300;
    const ctls = [0, 1].map(() => new Int32Array(new SharedArrayBuffer(4)));
    const ws = ctls.map((c, id) => k.spawnWorker(here('async-send-worker.ts'), { name: `w${id}`, args: { ctl: c.buffer, id, count: each } }));
    const consumer = k.spawn({ name: 'consumer' }, async (p) => {
      const h = p.createChannel({ type: 'async', bufferSize: 16, overflow: 'block' });
      ws.forEach((w, i) => {
        k.processCapability(p.pid, w.pid);
        Atomics.store(ctls[i]!, 0, p.grant(h, w.pid, Rights.SEND));
        Atomics.notify(ctls[i]!, 0);
      });
      const ch = p.channel(h);
      for (let n = 0; n < 2 * each; n++) await ch.receiveAsync();
    });
    for (const h of [consumer, ...ws]) expect((await h.exited).reason).toBe('returned');
    const st = k.audit.stats();
    expect(st.written).toBe(4 * each);
    expect(st.overwritten).toBe(4 * each - 128);
    const events = k.audit.events();
    expect(events.length).toBe(128);
    const pids = new Set(ws.map((w) => w.pid));
    for (const e of events) {
      expect(['async-send', 'async-receive']).toContain(e.kind);
      expect(e.result).toBe('ok');
      expect(pids.has(e.src)).toBe(true);
      expect(e.size).toBe(8);
      if (e.kind === 'async-send') expect(e.cpu).toBeGreaterThan(0);
      else expect([e.cpu, e.dst]).toEqual([0, consumer.pid]);
    }
  }, 60_000);
});
