import { describe, expect, it } from 'vitest';
import { DebugFsError, IpcError, ManualClock, type ChromeTrace, type KernelEvent } from '@veridian/core';
import { testKernel } from './support/kernel.ts';
import { flowsOk } from './support/trace.ts';

const here = (f: string) => new URL(`./support/${f}`, import.meta.url);
const ROOT = '/sys/kernel/debug/ipc';

/** An echo server on CPU 0 (receive / replyReceive), named `name`. */
function echo(k: ReturnType<typeof testKernel>, name: string): void {
  k.spawn({ name }, async (p) => {
    const ep = p.createEndpoint({ name });
    let m = await p.receive(ep);
    for (;;) m = await p.replyReceive(m.sender, { type: m.type + 1, data: m.bytes.slice(0, m.length) }, ep);
  });
}

describe('audit trail', () => {
  it('records each operation with its fields and result, as JSON lines', async () => {
    const k = testKernel({ audit: { records: 64 }, clock: new ManualClock(5000) });
    echo(k, 'echo');
    await k.whenNamed('echo');
    const c = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('echo');
      await p.call(ch, { type: 7, data: new Uint8Array(5), caps: [p.createEndpoint()] });
      await expect(p.call(p.derive(ch, 0), { type: 1, data: new Uint8Array(0) })).rejects.toMatchObject({ code: 'PermissionDenied' });
    });
    await c.exited;
    const events = k.audit.export().trim().split('\n').map((l) => JSON.parse(l) as KernelEvent);
    const call = events.find((e) => e.kind === 'call' && e.result === 'ok')!;
    expect(call).toMatchObject({ src: c.pid, type: 7, size: 5, caps: 1, ts: 5000, cpu: 0 });
    expect(call.endpoint).toBe(k.lookupName('echo'));
    expect(events.find((e) => e.kind === 'receive' && e.src === c.pid)).toMatchObject({ type: 7, size: 5, caps: 1 });
    expect(events.find((e) => e.kind === 'reply')).toMatchObject({ dst: c.pid, type: 8, size: 5 });
    expect(events.find((e) => e.result === 'PermissionDenied')).toMatchObject({ kind: 'call', src: c.pid });
    expect(k.audit.stats()).toMatchObject({ capacity: 64, overwritten: 0 });
    // A large message is recorded with its true size and capabilities.
    const l = k.spawn({ name: 'large' }, async (p) => {
      await p.call(p.connect('echo'), { type: 9, data: new Uint8Array(5000), caps: [p.createEndpoint(), p.createEndpoint(), p.createEndpoint(), p.createEndpoint(), p.createEndpoint()] });
    });
    expect(await l.exited).toMatchObject({ reason: 'returned' });
    const large = k.audit.events().filter((e) => e.src === l.pid && e.type === 9);
    expect(large.map((e) => [e.kind, e.size, e.caps])).toEqual([
      ['call', 5000, 5],
      ['receive', 5000, 5],
    ]);
    expect(k.audit.events().find((e) => e.kind === 'reply' && e.dst === l.pid)).toMatchObject({ type: 10, result: 'ok' });
    await k.shutdown();
  });

  it('never grows past its bound: the oldest records are overwritten and counted', async () => {
    const k = testKernel({ audit: { records: 16 } });
    echo(k, 'echo');
    await k.whenNamed('echo');
    const c = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('echo');
      for (let i = 0; i < 50; i++) await p.call(ch, { type: i, data: new Uint8Array(1) });
    });
    await c.exited;
    const s = k.audit.stats();
    expect(s.capacity).toBe(16);
    expect(s.written).toBeGreaterThanOrEqual(150);
    expect(s.overwritten).toBe(s.written - 16);
    const events = k.audit.events();
    expect(events).toHaveLength(16);
    // The newest survive: the last call's events are there.
    expect(events.some((e) => e.kind === 'call' && e.type === 49)).toBe(true);
    await k.shutdown();
  });

  it('stays bounded and well-formed with several worker CPUs writing at once', async () => {
    const k = testKernel({ audit: { records: 64 }, frames: 1024 });
    const server = k.spawnWorker(here('echo-worker.ts'), { name: 'echo', args: { name: 'echo' } });
    await k.whenNamed('echo');
    const clients = [0, 1].map((i) => k.spawnWorker(here('call-worker.ts'), { name: `c${i}`, args: { name: 'echo', count: 300 } }));
    await Promise.all(clients.map((c) => c.exited));
    const s = k.audit.stats();
    expect(s.written).toBeGreaterThanOrEqual(2 * 300 * 3);
    expect(s.overwritten).toBe(s.written - 64);
    const events = k.audit.export().trim().split('\n').map((l) => JSON.parse(l) as KernelEvent);
    expect(events).toHaveLength(64);
    const pids = new Set([server.pid, ...clients.map((c) => c.pid)]);
    for (const e of events) {
      expect(['call', 'receive', 'reply']).toContain(e.kind);
      expect(pids.has(e.src)).toBe(true);
      expect(e.size).toBe(64);
      expect(e.cpu).toBeGreaterThan(0);
    }
    await k.shutdown();
  }, 30_000);

  it('is off by default and validates its option', () => {
    const k = testKernel();
    expect(k.audit.stats()).toEqual({ written: 0, overwritten: 0, capacity: 0 });
    expect(k.audit.export()).toBe('');
    for (const audit of [{ records: 0 }, { records: 1.5 }, 3, null]) expect(() => testKernel({ audit: audit as never })).toThrow(IpcError);
  });
});

describe('debugfs and the message trace', () => {
  it('writing 1 to trace turns tracing on, 0 off; unknown paths are ENOENT', async () => {
    const k = testKernel();
    expect(k.debugfs.read(`${ROOT}/trace`)).toBe('0\n');
    echo(k, 'echo');
    await k.whenNamed('echo');
    const run = (n: number) =>
      k.spawn({ name: 'client' }, async (p) => {
        const ch = p.connect('echo');
        for (let i = 0; i < n; i++) await p.call(ch, { type: i, data: new Uint8Array(3) });
      }).exited;
    await run(2);
    expect(k.trace.events()).toHaveLength(0);
    k.debugfs.write(`${ROOT}/trace`, '1\n');
    expect(k.debugfs.read(`${ROOT}/trace`)).toBe('1\n');
    await run(3);
    k.debugfs.write(`${ROOT}/trace`, '0');
    await run(2);
    const events = k.trace.events();
    expect(events.filter((e) => e.kind === 'call')).toHaveLength(3);
    expect(events.filter((e) => e.kind === 'reply')).toHaveLength(3);
    const lines = k.debugfs.read(`${ROOT}/messages`).trim().split('\n');
    expect(lines).toHaveLength(events.length);
    expect(lines[0]).toMatch(/^\[\s*\d+\.\d{6}\] cpu0 call src=\d+ dst=\d+ ep=\d+ type=0 size=3 caps=0 ok flow=\d+$/);
    expect(k.debugfs.read(ROOT)).toBe('trace\nmessages\nchannels\n');
    for (const bad of [`${ROOT}/nope`, '/sys/kernel/debug/ipc2/trace', `${ROOT}/trace/x`, 'trace']) {
      expect(() => k.debugfs.read(bad)).toThrow(expect.objectContaining({ code: 'ENOENT', errno: -2 }) as Error);
      expect(() => k.debugfs.write(bad, '1')).toThrow(DebugFsError);
    }
    expect(() => k.debugfs.write(`${ROOT}/trace`, 'yes')).toThrow(expect.objectContaining({ code: 'EINVAL' }) as Error);
    expect(() => k.debugfs.write(`${ROOT}/channels`, '1')).toThrow(expect.objectContaining({ code: 'EACCES' }) as Error);
    await k.shutdown();
  });

  it('/channels shows messages, bytes, queue depth, drops, contention and latency percentiles', async () => {
    const clock = new ManualClock(0);
    const k = testKernel({ clock });
    k.trace.enable();
    k.spawn({ name: 'srv' }, async (p) => {
      const ep = p.createEndpoint({ name: 'slow', capacity: 1 });
      p.setPolicy(ep, { filter: { types: [1] } });
      for (;;) {
        const m = await p.receive(ep);
        clock.advance(2000);
        p.reply(m.sender, { type: 1, data: new Uint8Array(0) });
      }
    });
    await k.whenNamed('slow');
    const c = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('slow');
      for (let i = 0; i < 10; i++) await p.call(ch, { type: 1, data: new Uint8Array(10) });
      await expect(p.call(ch, { type: 2, data: new Uint8Array(10) })).rejects.toMatchObject({ code: 'Filtered' });
    });
    await c.exited;
    const [stats] = k.trace.channels().filter((s) => s.name === 'slow');
    expect(stats).toMatchObject({ messages: 10, bytes: 100, queueDepth: 0, drops: 1, p50: 2000, p99: 2000, p999: 2000 });
    const text = k.debugfs.read(`${ROOT}/channels`);
    expect(text.split('\n')[0]).toBe('endpoint name owner messages bytes queue drops contention p50_ns p99_ns p999_ns');
    expect(text).toMatch(new RegExp(`^${stats!.endpoint} slow \\d+ 10 100 0 1 \\d+ 2000 2000 2000$`, 'm'));
    await k.shutdown();
  });

  it('exports a Chrome/Perfetto trace: valid JSON, one event per traced message, every flow id one start and one end', async () => {
    const k = testKernel();
    k.trace.enable();
    echo(k, 'echo');
    k.spawn({ name: 'sink' }, async (p) => {
      const ep = p.createEndpoint({ name: 'sink' });
      for (;;) await p.receive(ep);
    });
    k.spawn({ name: 'passive' }, (p) => p.serve(p.createEndpoint({ name: 'passive' }), (m) => ({ type: m.type, data: new Uint8Array(0) })));
    for (const n of ['echo', 'sink', 'passive']) await k.whenNamed(n);
    const c = k.spawn({ name: 'client' }, async (p) => {
      const e = p.connect('echo');
      const s = p.connect('sink');
      const v = p.connect('passive');
      for (let i = 0; i < 5; i++) {
        await p.call(e, { type: i, data: new Uint8Array(i) });
        await p.send(s, { type: i, data: new Uint8Array(2) });
        await p.call(v, { type: i, data: new Uint8Array(1) });
      }
    });
    await c.exited;
    const events = k.trace.events();
    const trace = JSON.parse(k.trace.export()) as ChromeTrace;
    const slices = trace.traceEvents.filter((e) => e.ph === 'X');
    expect(slices).toHaveLength(events.length);
    expect(events.filter((e) => e.kind === 'call')).toHaveLength(10);
    expect(events.filter((e) => e.kind === 'send')).toHaveLength(5);
    expect(events.filter((e) => e.kind === 'receive')).toHaveLength(15);
    expect(events.filter((e) => e.kind === 'reply')).toHaveLength(10);
    flowsOk(trace);
    // Send → receive for all 15 messages, call → reply for all 10 calls.
    expect(trace.traceEvents.filter((e) => e.ph === 's')).toHaveLength(25);
    const names = trace.traceEvents.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => e.args!.name as string);
    expect(names.some((n) => n.startsWith('client'))).toBe(true);
    expect(trace.traceEvents.some((e) => e.ph === 'M' && e.name === 'thread_name' && e.args!.name === 'CPU 0')).toBe(true);
    await k.shutdown();
  });

  it('traces a call a passive server takes from its queue as it goes back to waiting', async () => {
    const k = testKernel();
    k.trace.enable();
    let workerPid = 0;
    k.spawn({ name: 'srv' }, (p) =>
      p.serve(p.createEndpoint({ name: 'pq' }), (m) => {
        if (m.type === 1000) {
          // Hold the CPU-0 call until the worker's call is queued behind it.
          const t0 = performance.now();
          while (performance.now() - t0 < 10_000 && !k.trace.events().some((e) => e.kind === 'call' && e.src === workerPid)) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
        }
        return { type: m.type + 1, data: m.bytes.slice(0, m.length) };
      }),
    );
    await k.whenNamed('pq');
    const w = k.spawnWorker(here('call-worker.ts'), { name: 'w', args: { name: 'pq', count: 1 } });
    workerPid = w.pid;
    const c = k.spawn({ name: 'c' }, async (p) => {
      await p.call(p.connect('pq'), { type: 1000, data: new Uint8Array(2) });
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    await w.exited;
    const events = k.trace.events();
    const call = events.find((e) => e.kind === 'call' && e.src === w.pid && e.result === 'ok')!;
    expect(call.dst, 'the worker call queued behind the passive one').toBe(0);
    expect(events.find((e) => e.kind === 'receive' && e.src === w.pid)).toMatchObject({ flow: call.flow, size: 64, type: 0 });
    expect(events.find((e) => e.kind === 'reply' && e.dst === w.pid)).toMatchObject({ callFlow: call.callFlow, type: 1, size: 64 });
    expect(events.find((e) => e.kind === 'reply' && e.dst === c.pid)).toMatchObject({ type: 1001, size: 2 });
    flowsOk(JSON.parse(k.trace.export()) as ChromeTrace);
    await k.shutdown();
  }, 30_000);

  it('traces worker CPUs too, and a trace whose ring overflowed still has exact flows', async () => {
    const k = testKernel({ trace: { records: 50 } });
    k.trace.enable();
    k.spawnWorker(here('echo-worker.ts'), { name: 'echo', args: { name: 'echo' } });
    await k.whenNamed('echo');
    const c = k.spawnWorker(here('call-worker.ts'), { name: 'c', args: { name: 'echo', count: 100 } });
    await c.exited;
    expect(k.trace.stats()).toMatchObject({ capacity: 50 });
    expect(k.trace.stats().overwritten).toBeGreaterThan(0);
    const trace = JSON.parse(k.trace.export()) as ChromeTrace;
    expect(trace.traceEvents.filter((e) => e.ph === 'X')).toHaveLength(50);
    flowsOk(trace);
    expect(trace.traceEvents.filter((e) => e.ph === 's').length).toBeGreaterThan(10);
    const lat = k.trace.channels().find((s) => s.name === 'echo')!;
    expect(lat.p50).toBeGreaterThan(0);
    await k.shutdown();
  }, 30_000);
});
