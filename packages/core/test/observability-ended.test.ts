// Blocked synchronous operations that end without their peer (timeout, kill, endpoint closed,
// server gone) are in the audit trail and the trace with that result.
import { describe, expect, it } from 'vitest';
import { IpcError, type KernelEvent } from '@veridian/core';
import { testKernel } from './support/kernel.ts';

const here = (f: string) => new URL(`./support/${f}`, import.meta.url);
const of = (events: readonly KernelEvent[], pid: number) => events.filter((e) => e.src === pid);
/** Resolves once the audit trail holds an event `pred` accepts (bounded by the test's timeout). */
async function seen(k: ReturnType<typeof testKernel>, pred: (e: KernelEvent) => boolean): Promise<void> {
  while (!k.audit.events().some(pred)) await new Promise((r) => setTimeout(r, 1));
}

describe('blocked operations that end without their peer', () => {
  it('a call whose reply never comes: ok when delivered, then Timeout', async () => {
    const k = testKernel({ audit: { records: 64 } });
    const server = k.spawn({ name: 'mute' }, async (p) => {
      const ep = p.createEndpoint({ name: 'mute' });
      await p.receive(ep); // takes the call and never replies
      await p.sleep(50e6);
    });
    await k.whenNamed('mute');
    const c = k.spawn({ name: 'client' }, async (p) => {
      await expect(p.call(p.connect('mute'), { type: 3, data: new Uint8Array(4) }, { timeout: 1e6 })).rejects.toMatchObject({ code: 'Timeout' });
    });
    await c.exited;
    await server.kill();
    const calls = of(k.audit.events(), c.pid).filter((e) => e.kind === 'call');
    expect(calls.map((e) => e.result)).toEqual(['ok', 'Timeout']);
    expect(calls[1]).toMatchObject({ dst: server.pid, endpoint: calls[0]!.endpoint });
  });

  it('a receive that times out, and a queued send whose endpoint closes', async () => {
    const k = testKernel({ audit: { records: 64 } });
    const r = k.spawn({ name: 'r' }, async (p) => {
      await expect(p.receive(p.createEndpoint(), { timeout: 1e6 })).rejects.toMatchObject({ code: 'Timeout' });
      // A sender queues on `q` (nobody receives); closing the endpoint ends its send.
      const q = p.createEndpoint({ name: 'q' });
      while (!k.audit.events().some((e) => e.kind === 'send')) await p.sleep(1e6);
      p.close(q);
    });
    await k.whenNamed('q');
    const s = k.spawn({ name: 's' }, async (p) => {
      await expect(p.send(p.connect('q'), { type: 9, data: new Uint8Array(12) })).rejects.toMatchObject({ code: 'ChannelClosed' });
    });
    await Promise.all([r.exited, s.exited]);
    const events = k.audit.events();
    expect(of(events, r.pid).filter((e) => e.kind === 'receive').map((e) => e.result)).toEqual(['Timeout']);
    const sends = of(events, s.pid).filter((e) => e.kind === 'send');
    expect(sends.map((e) => e.result)).toEqual(['ok', 'ChannelClosed']);
    // The second record describes the message that never arrived.
    expect(sends[1]).toMatchObject({ type: 9, size: 12, caps: 0 });
  });

  it('a caller whose server is killed, and a process killed while it waits', async () => {
    const k = testKernel({ audit: { records: 64 } });
    const server = k.spawn({ name: 'srv' }, async (p) => {
      const ep = p.createEndpoint({ name: 'srv' });
      await p.receive(ep);
      await p.sleep(1e12);
    });
    await k.whenNamed('srv');
    const caller = k.spawn({ name: 'caller' }, async (p) => {
      await expect(p.call(p.connect('srv'), { type: 1, data: new Uint8Array(0) })).rejects.toBeInstanceOf(IpcError);
    });
    const waiter = k.spawn({ name: 'waiter' }, async (p) => {
      await p.receive(p.createEndpoint({ name: 'w' }));
    });
    await k.whenNamed('w');
    await seen(k, (e) => e.kind === 'call' && e.src === caller.pid);
    await server.kill();
    await caller.exited;
    await waiter.kill();
    const events = k.audit.events();
    expect(of(events, caller.pid).filter((e) => e.kind === 'call').map((e) => e.result)).toEqual(['ok', 'ChannelClosed']);
    expect(of(events, waiter.pid).filter((e) => e.kind === 'receive').map((e) => e.result)).toEqual(['ProcessNotFound']);
  });

  it('a worker CPU whose receive times out, in the trace too', async () => {
    const k = testKernel({ audit: { records: 64 } });
    k.trace.enable();
    const w = k.spawnWorker(here('timed-receiver.ts'), { name: 'timed', args: { timeoutNs: 2e6 } });
    expect((await w.exited).reason).toBe('returned');
    for (const events of [k.audit.events(), k.trace.events()]) {
      expect(of(events, w.pid).filter((e) => e.kind === 'receive')).toMatchObject([{ result: 'Timeout', cpu: w.cpu }]);
    }
  });

  it('nothing is written with the audit and the trace off', async () => {
    const k = testKernel();
    const c = k.spawn({ name: 'c' }, async (p) => {
      await expect(p.receive(p.createEndpoint(), { timeout: 1e5 })).rejects.toMatchObject({ code: 'Timeout' });
    });
    await c.exited;
    expect([k.audit.stats().written, k.trace.stats().written]).toEqual([0, 0]);
  });
});
