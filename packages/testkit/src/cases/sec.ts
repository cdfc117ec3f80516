/** Security cases: per-sender rate limits, message filters, the audit trail. */
import { expect } from 'vitest';
import { ManualClock, Rights, type EndpointPolicy, type Kernel, type KernelEvent, type Process } from '@veridian/core';
import { EMPTY, codeOf, expectSameState, rejection, returned, within } from '../support/harness.js';
import { workerUrl } from '../support/worker-url.js';
import type { EchoClientArgs } from '../workers/echo-client.js';
import type { EchoServerArgs } from '../workers/echo-server.js';
import type { CaseTable } from './types.js';

const WORKER_BOUND_MS = 20_000;

/** A server on CPU 0 named `name` with `policy`, taking one-way messages and answering calls; `got` collects payload lengths. */
async function policyServer(k: Kernel, name: string, policy: (p: Process) => EndpointPolicy, got: number[] = []): Promise<number[]> {
  k.spawn({ name }, async (p) => {
    const ep = p.createEndpoint({ name });
    p.setPolicy(ep, policy(p));
    for (;;) {
      const m = await p.receive(ep);
      got.push(m.length);
      if (m.flags & 0x04) p.reply(m.sender, { type: m.type, data: EMPTY });
    }
  });
  await k.whenNamed(name);
  return got;
}

/** Outcomes of calls from a fresh client process (`body` returns them). */
async function client(k: Kernel, name: string, body: (p: Process) => Promise<string[]>): Promise<string[]> {
  let out: string[] = [];
  const c = k.spawn({ name }, async (p) => {
    out = await body(p);
  });
  await returned(c);
  return out;
}

/** The `sec.*` cases. */
export const secCases: CaseTable<'sec'> = {
  'sec.rate-limit-messages': {
    checks: 'a flood at 10× a message rate limit delivers only the burst (RateLimited for the rest, nothing delivered, state unchanged); after the clock refills the bucket traffic is delivered again, at the rate',
    async run(ctx) {
      const clock = new ManualClock(1e9);
      const k = ctx.kernel({ clock });
      const got = await policyServer(k, 'sec.rl', () => ({ rate: { messagesPerSecond: 10 } }));
      const out = await client(k, 'flood', async (p) => {
        const ch = p.connect('sec.rl');
        const r: string[] = [];
        for (let i = 0; i < 100; i++) {
          const before = i === 50 ? k.snapshot() : undefined;
          r.push(await rejection(p.send(ch, { type: 1, data: new Uint8Array(8) })));
          if (before) expectSameState(k.snapshot(), before, 'a refused send');
        }
        await p.yield();
        clock.advance(0.3e9);
        for (let i = 0; i < 30; i++) r.push(await rejection(p.send(ch, { type: 1, data: new Uint8Array(8) })));
        await p.yield();
        return r;
      });
      expect(out.slice(0, 100).filter((r) => r === 'ok')).toHaveLength(10);
      expect(out.slice(0, 100).filter((r) => r === 'RateLimited')).toHaveLength(90);
      expect(out.slice(100).filter((r) => r === 'ok')).toHaveLength(3);
      expect(got).toHaveLength(13);
    },
  },
  'sec.rate-limit-bytes-refill': {
    checks: 'a byte budget (bytes per second, burst) runs out, refills from the monotonic clock in exact integer tokens, and never refills past its burst',
    async run(ctx) {
      const clock = new ManualClock(0);
      const k = ctx.kernel({ clock });
      const got = await policyServer(k, 'sec.rb', () => ({ rate: { bytesPerSecond: 1000, burstBytes: 100 } }));
      const out = await client(k, 'bytes', async (p) => {
        const ch = p.connect('sec.rb');
        const send = async (n: number) => {
          const r = await rejection(p.send(ch, { type: 1, data: new Uint8Array(n) }));
          await p.yield();
          return r;
        };
        const r = [await send(60), await send(60)]; // ok, then 40 left: refused
        clock.advance(19_999_999); // 19.99… bytes: 59 — still short
        r.push(await send(60));
        clock.advance(1); // 60 exactly
        r.push(await send(60));
        clock.advance(3600e9); // an hour: full, but only the burst
        r.push(await send(60), await send(60));
        return r;
      });
      expect(out).toEqual(['ok', 'RateLimited', 'RateLimited', 'ok', 'ok', 'RateLimited']);
      expect(got).toEqual([60, 60, 60]);
    },
  },
  'sec.filter-size': {
    checks: 'a filter maxSize refuses a bigger message (small or large) with Filtered and lets one of exactly that size through',
    async run(ctx) {
      const k = ctx.kernel();
      const got = await policyServer(k, 'sec.size', () => ({ filter: { maxSize: 16 } }));
      const out = await client(k, 'c', async (p) => {
        const ch = p.connect('sec.size');
        return [await rejection(p.call(ch, { type: 1, data: new Uint8Array(16) })), await rejection(p.call(ch, { type: 1, data: new Uint8Array(17) })), await rejection(p.call(ch, { type: 1, data: new Uint8Array(5000) }))];
      });
      expect(out).toEqual(['ok', 'Filtered', 'Filtered']);
      expect(got).toEqual([16]);
    },
  },
  'sec.filter-type': {
    checks: 'a filter list of message types lets exactly those types through; any other type is Filtered',
    async run(ctx) {
      const k = ctx.kernel();
      const got = await policyServer(k, 'sec.type', () => ({ filter: { types: [3, 0xffffffff] } }));
      const out = await client(k, 'c', async (p) => {
        const ch = p.connect('sec.type');
        const r: string[] = [];
        for (const type of [3, 4, 0xffffffff, 0]) r.push(await rejection(p.call(ch, { type, data: new Uint8Array(type & 7) })));
        return r;
      });
      expect(out).toEqual(['ok', 'Filtered', 'ok', 'Filtered']);
      expect(got).toEqual([3, 7]);
    },
  },
  'sec.filter-source': {
    checks: 'a filter list of source pids lets only those processes send; another process is Filtered',
    async run(ctx) {
      const k = ctx.kernel();
      let go!: () => void;
      const ready = new Promise<void>((r) => (go = r));
      let allowed: string[] = [];
      const a = k.spawn({ name: 'allowed' }, async (p) => {
        await ready;
        allowed = [await rejection(p.call(p.connect('sec.src'), { type: 1, data: EMPTY }))];
      });
      await policyServer(k, 'sec.src', () => ({ filter: { sources: [a.pid] } }));
      go();
      await returned(a);
      const other = await client(k, 'other', async (p) => [await rejection(p.call(p.connect('sec.src'), { type: 1, data: EMPTY }))]);
      expect(allowed).toEqual(['ok']);
      expect(other).toEqual(['Filtered']);
    },
  },
  'sec.filter-required-cap': {
    checks: 'a filter naming a required capability refuses senders that do not hold a live capability to that object with the required rights, and accepts those that do; setPolicy needs RECEIVE and validates its argument',
    async run(ctx) {
      const k = ctx.kernel();
      k.spawn({ name: 'ticket' }, async (p) => {
        p.createEndpoint({ name: 'sec.ticket' });
        await new Promise(() => {});
      });
      await k.whenNamed('sec.ticket');
      const setup: string[] = [];
      await policyServer(k, 'sec.cap', (p) => {
        const t = p.connect('sec.ticket');
        const ep = p.createEndpoint();
        setup.push(codeOf(() => p.setPolicy(p.derive(ep, Rights.SEND), { filter: { maxSize: 1 } })));
        setup.push(codeOf(() => p.setPolicy(ep, { filter: { types: [] } })));
        setup.push(codeOf(() => p.setPolicy(ep, { rate: { messagesPerSecond: -1 } })));
        return { filter: { requiredCapability: t, requiredRights: Rights.SEND } };
      });
      expect(setup).toEqual(['PermissionDenied', 'InvalidArgument', 'InvalidArgument']);
      const out = await client(k, 'c', async (p) => {
        const ch = p.connect('sec.cap');
        const r = [await rejection(p.call(ch, { type: 1, data: EMPTY }))];
        const t = p.connect('sec.ticket');
        r.push(await rejection(p.call(ch, { type: 1, data: EMPTY })));
        p.close(t);
        r.push(await rejection(p.call(ch, { type: 1, data: EMPTY })));
        return r;
      });
      expect(out).toEqual(['Filtered', 'ok', 'Filtered']);
    },
  },
  'sec.audit-records': {
    checks: 'with an audit ring every operation leaves one record (monotonic timestamp, source, destination, endpoint, operation, type, size, capabilities, result), refusals included; export is JSON lines',
    async run(ctx) {
      const k = ctx.kernel({ audit: { records: 256 }, clock: new ManualClock(777) });
      await policyServer(k, 'sec.audit', () => ({ filter: { types: [1] } }));
      let pid = 0;
      await client(k, 'c', async (p) => {
        pid = p.pid;
        const ch = p.connect('sec.audit');
        return [await rejection(p.call(ch, { type: 1, data: new Uint8Array(9), caps: [p.createEndpoint()] })), await rejection(p.call(ch, { type: 2, data: new Uint8Array(3) }))];
      });
      const lines = k.audit.export().trim().split('\n');
      const events = lines.map((l) => JSON.parse(l) as KernelEvent);
      const ep = k.lookupName('sec.audit');
      expect(events.find((e) => e.kind === 'call' && e.result === 'ok')).toMatchObject({ ts: 777, src: pid, endpoint: ep, type: 1, size: 9, caps: 1 });
      expect(events.find((e) => e.kind === 'receive' && e.src === pid)).toMatchObject({ endpoint: ep, type: 1, size: 9, caps: 1, result: 'ok' });
      expect(events.find((e) => e.kind === 'reply' && e.dst === pid)).toMatchObject({ endpoint: ep, result: 'ok' });
      expect(events.find((e) => e.result === 'Filtered')).toMatchObject({ kind: 'call', src: pid, type: 2, size: 3, endpoint: ep });
      for (let i = 1; i < events.length; i++) expect(events[i]!.ts).toBeGreaterThanOrEqual(events[i - 1]!.ts);
      expect(k.audit.stats()).toEqual({ written: events.length, overwritten: 0, capacity: 256 });
      const off = ctx.kernel();
      expect(off.audit.stats().capacity).toBe(0);
    },
  },
  'sec.audit-bounded': {
    checks: 'the audit ring never exceeds its bound while several worker CPUs write at once: the oldest records are overwritten and counted, every record stays whole',
    timeout: 60_000,
    async run(ctx) {
      const k = ctx.kernel({ audit: { records: 32 } });
      const count = 100;
      const server = k.spawnWorker(workerUrl('echo-server'), { name: 'echo', args: { name: 'sec.echo', count: 2 * count } satisfies EchoServerArgs });
      await within(WORKER_BOUND_MS, 'echo server', k.whenNamed('sec.echo'));
      const clients = [0, 1].map((i) => k.spawnWorker(workerUrl('echo-client'), { name: `c${i}`, args: { name: 'sec.echo', count, serverPid: server.pid } satisfies EchoClientArgs }));
      await within(WORKER_BOUND_MS, 'worker clients', returned(server, ...clients));
      const s = k.audit.stats();
      expect(s.capacity).toBe(32);
      expect(s.written).toBeGreaterThanOrEqual(2 * count * 3);
      expect(s.overwritten).toBe(s.written - 32);
      const events = k.audit.events();
      expect(events).toHaveLength(32);
      const pids = new Set([server.pid, ...clients.map((c) => c.pid)]);
      for (const e of events) {
        expect(pids.has(e.src), `source ${e.src}`).toBe(true);
        expect(['call', 'receive', 'reply']).toContain(e.kind);
        expect(e.result).toBe('ok');
        expect(e.cpu).toBeGreaterThan(0);
      }
    },
  },
};
