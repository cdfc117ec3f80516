/** Tracing cases: the debugfs view, the message trace, channel statistics, the Chrome trace export. */
import { expect } from 'vitest';
import { DEBUGFS_ROOT, ManualClock, type ChromeTrace, type Kernel } from '@veridian/core';
import { EMPTY, rejection, returned, within } from '../support/harness.js';
import { workerUrl } from '../support/worker-url.js';
import type { EchoClientArgs } from '../workers/echo-client.js';
import type { EchoServerArgs } from '../workers/echo-server.js';
import type { CaseTable } from './types.js';

const TRACE = `${DEBUGFS_ROOT}/trace`;

/** An echo server on CPU 0 (receive / replyReceive). */
async function echo(k: Kernel, name: string): Promise<void> {
  k.spawn({ name }, async (p) => {
    const ep = p.createEndpoint({ name });
    let m = await p.receive(ep);
    for (;;) m = await p.replyReceive(m.sender, { type: m.type, data: m.bytes.slice(0, m.length) }, ep);
  });
  await k.whenNamed(name);
}

async function calls(k: Kernel, name: string, n: number, size = 4): Promise<void> {
  await returned(
    k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect(name);
      for (let i = 0; i < n; i++) await p.call(ch, { type: i, data: new Uint8Array(size) });
    }),
  );
}

/** Every flow id of `trace` has exactly one start and one end; returns the number of flows. */
function expectExactFlows(trace: ChromeTrace): number {
  const seen = new Map<number, string>();
  for (const e of trace.traceEvents) {
    if (e.ph !== 's' && e.ph !== 'f') continue;
    seen.set(e.id!, (seen.get(e.id!) ?? '') + e.ph);
  }
  for (const [id, phases] of seen) expect(phases, `flow ${id}`).toBe('sf');
  return seen.size;
}

/** The `trace.*` cases. */
export const traceCases: CaseTable<'trace'> = {
  'trace.debugfs-toggle': {
    checks: 'writing 1 to /sys/kernel/debug/ipc/trace turns tracing on for every CPU and 0 off (read back as text); unknown paths fail with ENOENT, bad writes with EINVAL / EACCES',
    async run(ctx) {
      const k = ctx.kernel();
      await echo(k, 'trace.t');
      expect(k.debugfs.read(TRACE)).toBe('0\n');
      await calls(k, 'trace.t', 2);
      expect(k.trace.events()).toHaveLength(0);
      k.debugfs.write(TRACE, '1\n');
      expect(k.debugfs.read(TRACE)).toBe('1\n');
      await calls(k, 'trace.t', 2);
      k.debugfs.write(TRACE, '0');
      await calls(k, 'trace.t', 2);
      expect(k.trace.events().filter((e) => e.kind === 'call')).toHaveLength(2);
      for (const path of [`${DEBUGFS_ROOT}/nope`, '/sys/kernel/debug/ipc2/trace', 'trace']) {
        expect(() => k.debugfs.read(path)).toThrow(expect.objectContaining({ code: 'ENOENT' }) as Error);
        expect(() => k.debugfs.write(path, '1')).toThrow(expect.objectContaining({ code: 'ENOENT' }) as Error);
      }
      expect(() => k.debugfs.write(TRACE, 'on')).toThrow(expect.objectContaining({ code: 'EINVAL' }) as Error);
      expect(() => k.debugfs.write(`${DEBUGFS_ROOT}/messages`, '1')).toThrow(expect.objectContaining({ code: 'EACCES' }) as Error);
    },
  },
  'trace.messages': {
    checks: '/sys/kernel/debug/ipc/messages reads the traced message flow as text lines: operation, source, destination, endpoint, type, size, result, across worker CPUs too',
    timeout: 60_000,
    async run(ctx) {
      const k = ctx.kernel();
      k.trace.enable();
      await echo(k, 'trace.m');
      await calls(k, 'trace.m', 3, 5);
      const lines = k.debugfs.read(`${DEBUGFS_ROOT}/messages`).trim().split('\n');
      const events = k.trace.events();
      expect(lines).toHaveLength(events.length);
      expect(lines.filter((l) => / call /.test(l))).toHaveLength(3);
      expect(lines.filter((l) => / receive /.test(l))).toHaveLength(3);
      expect(lines.filter((l) => / reply /.test(l))).toHaveLength(3);
      const ep = k.lookupName('trace.m')!;
      for (const l of lines) expect(l).toMatch(new RegExp(`^\\[\\s*\\d+\\.\\d{6}\\] cpu0 (call|receive|reply) src=\\d+ dst=\\d+ ep=${ep} type=\\d size=5 caps=0 ok`));
      // Worker CPUs write to the same trace.
      const server = k.spawnWorker(workerUrl('echo-server'), { name: 'w-echo', args: { name: 'trace.w', count: 5 } satisfies EchoServerArgs });
      await within(20_000, 'worker echo', k.whenNamed('trace.w'));
      const c = k.spawnWorker(workerUrl('echo-client'), { name: 'w-client', args: { name: 'trace.w', count: 5, serverPid: server.pid } satisfies EchoClientArgs });
      await within(20_000, 'worker calls', returned(server, c));
      const worker = k.trace.events().filter((e) => e.src === c.pid && e.kind === 'call');
      expect(worker).toHaveLength(5);
      expect(worker.every((e) => e.cpu === c.cpu)).toBe(true);
    },
  },
  'trace.channel-stats': {
    checks: '/sys/kernel/debug/ipc/channels reads per-endpoint messages, bytes, queue depth, drops, contention and latency p50/p99/p999 (HDR histograms)',
    async run(ctx) {
      const clock = new ManualClock(0);
      const k = ctx.kernel({ clock });
      k.debugfs.write(TRACE, '1');
      k.spawn({ name: 'srv' }, async (p) => {
        const ep = p.createEndpoint({ name: 'trace.s' });
        p.setPolicy(ep, { filter: { maxSize: 10 } });
        for (;;) {
          const m = await p.receive(ep);
          clock.advance(2000); // below 2048: exact in an HDR histogram of 3 significant digits
          p.reply(m.sender, { type: 0, data: EMPTY });
        }
      });
      await k.whenNamed('trace.s');
      let refused = '';
      await returned(
        k.spawn({ name: 'c' }, async (p) => {
          const ch = p.connect('trace.s');
          for (let i = 0; i < 20; i++) await p.call(ch, { type: 0, data: new Uint8Array(10) });
          refused = await rejection(p.call(ch, { type: 0, data: new Uint8Array(11) }));
        }),
      );
      expect(refused).toBe('Filtered');
      const s = k.trace.channels().find((c) => c.name === 'trace.s')!;
      expect(s).toMatchObject({ messages: 20, bytes: 200, queueDepth: 0, drops: 1, p50: 2000, p99: 2000, p999: 2000 });
      const text = k.debugfs.read(`${DEBUGFS_ROOT}/channels`);
      const [header, ...rows] = text.trim().split('\n');
      expect(header).toBe('endpoint name owner messages bytes queue drops contention p50_ns p99_ns p999_ns');
      expect(rows.find((r) => r.split(' ')[1] === 'trace.s')).toMatch(/^\d+ trace\.s \d+ 20 200 0 1 \d+ 2000 2000 2000$/);
    },
  },
  'trace.chrome-export': {
    checks: 'the trace exports as Chrome trace-event JSON (ui.perfetto.dev, chrome://tracing): it parses, holds one slice per traced message on a track per process and CPU, and every flow id (send → receive, call → reply) has exactly one start and one end',
    async run(ctx) {
      const k = ctx.kernel();
      k.trace.enable();
      await echo(k, 'trace.e');
      k.spawn({ name: 'sink' }, async (p) => {
        const ep = p.createEndpoint({ name: 'trace.sink' });
        for (;;) await p.receive(ep);
      });
      k.spawn({ name: 'passive' }, (p) => p.serve(p.createEndpoint({ name: 'trace.p' }), (m) => ({ type: m.type, data: EMPTY })));
      await k.whenNamed('trace.sink');
      await k.whenNamed('trace.p');
      await returned(
        k.spawn({ name: 'client' }, async (p) => {
          const [e, s, v] = [p.connect('trace.e'), p.connect('trace.sink'), p.connect('trace.p')];
          for (let i = 0; i < 4; i++) {
            await p.call(e, { type: i, data: new Uint8Array(i) });
            await p.send(s, { type: i, data: EMPTY });
            await p.call(v, { type: i, data: EMPTY });
          }
        }),
      );
      const events = k.trace.events();
      const trace = JSON.parse(k.trace.export()) as ChromeTrace;
      expect(Array.isArray(trace.traceEvents)).toBe(true);
      expect(trace.traceEvents.filter((e) => e.ph === 'X')).toHaveLength(events.length);
      expect(events.filter((e) => e.kind === 'receive')).toHaveLength(12);
      // 12 messages send → receive, 8 calls → reply.
      expect(expectExactFlows(trace)).toBe(20);
      const tracks = new Set(trace.traceEvents.filter((e) => e.ph === 'X').map((e) => `${e.pid}/${e.tid}`));
      expect(tracks.size).toBeGreaterThanOrEqual(4);
      const meta = trace.traceEvents.filter((e) => e.ph === 'M');
      expect(meta.some((e) => e.name === 'process_name' && String(e.args!.name).startsWith('client'))).toBe(true);
      expect(meta.some((e) => e.name === 'thread_name' && e.args!.name === 'CPU 0')).toBe(true);
    },
  },
};
