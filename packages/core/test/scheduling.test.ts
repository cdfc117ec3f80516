import { describe, expect, it } from 'vitest';
import type { Process } from '@veridian/core';
import { testKernel } from './support/kernel.ts';

const empty = new Uint8Array();

describe('one-CPU scheduling', () => {
  it('callers queue in priority order, FIFO within a priority', async () => {
    const k = testKernel();
    const order: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    k.spawn({ name: 'server', priority: 20 }, async (p) => {
      const ep = p.createEndpoint({ name: 's' });
      await gate;
      for (let i = 0; i < 5; i++) {
        const m = await p.receive(ep);
        order.push(String(m.type));
        p.reply(m.sender, { type: 0, data: empty });
      }
    });
    const callers: Array<[string, number]> = [
      ['1', 5],
      ['2', 9],
      ['3', 5],
      ['4', 12],
      ['5', 9],
    ];
    for (const [name, priority] of callers) {
      k.spawn({ name: `c${name}`, priority }, (p) => p.call(p.connect('s'), { type: Number(name), data: empty }));
    }
    await new Promise((r) => setTimeout(r, 5));
    release();
    await k.idle();
    expect(order).toEqual(['4', '2', '5', '1', '3']);
  });

  it('a call to a server waiting in receive switches to it directly', async () => {
    const k = testKernel();
    const log: string[] = [];
    k.spawn({ name: 'server', priority: 10 }, async (p) => {
      const ep = p.createEndpoint({ name: 's' });
      const m = await p.receive(ep);
      log.push('server runs');
      p.reply(m.sender, { type: 0, data: empty });
    });
    k.spawn({ name: 'client', priority: 10 }, async (p) => {
      const ch = p.connect('s');
      const other = k.spawn({ name: 'other', priority: 10 }, () => {
        log.push('other runs');
      });
      log.push('call');
      await p.call(ch, { type: 1, data: empty });
      log.push('client back');
      await other.exited;
    });
    await k.idle();
    expect(log.slice(0, 2)).toEqual(['call', 'server runs']);
    expect(log).toContain('other runs');
  });

  it('the server inherits the highest waiting caller priority until it replies (no inversion)', async () => {
    const k = testKernel();
    const log: string[] = [];
    const seenPriorities: number[] = [];
    let server!: Process;
    let lowInService!: () => void;
    const lowCalled = new Promise<void>((r) => (lowInService = r));
    k.spawn({ name: 'server', priority: 1 }, async (p) => {
      server = p;
      const ep = p.createEndpoint({ name: 's' });
      for (;;) {
        const m = await p.receive(ep);
        if (m.type === 1) lowInService();
        // Slow work in chunks: yields let the scheduler decide who runs.
        for (let i = 0; i < 5; i++) {
          seenPriorities.push(p.priority);
          await p.yield();
        }
        log.push(`served ${m.type === 1 ? 'low' : 'high'}`);
        p.reply(m.sender, { type: 0, data: empty });
      }
    });
    await k.whenNamed('s');
    let highDone = false;
    const low = k.spawn({ name: 'low', priority: 1 }, async (p) => {
      await p.call(p.connect('s'), { type: 1, data: empty });
      log.push('low done');
    });
    await lowCalled;
    const medium = k.spawn({ name: 'medium', priority: 5 }, async (p) => {
      // CPU-bound: runs whenever it is the best ready process, until high has been served.
      for (let i = 0; i < 100_000 && !highDone; i++) await p.yield();
      log.push('medium done');
    });
    const high = k.spawn({ name: 'high', priority: 10 }, async (p) => {
      await p.sleep(2e6);
      await p.call(p.connect('s'), { type: 2, data: empty });
      highDone = true;
      log.push('high done');
    });
    await Promise.all([low.exited, medium.exited, high.exited]);
    await k.shutdown();
    // Without inheritance the server (priority 1) would never run while medium (5) is ready,
    // and high would wait for medium. With it, the server ran at high's priority.
    expect(log.slice(0, 3)).toEqual(['served low', 'served high', 'high done']);
    expect(log.indexOf('medium done')).toBeGreaterThan(log.indexOf('high done'));
    expect(seenPriorities).toContain(10);
    expect(seenPriorities.filter((x) => x === 1).length).toBeGreaterThan(0);
    expect(server.basePriority).toBe(1);
  });

  it('without callers the server is back at its base priority', async () => {
    const k = testKernel();
    let after = -1;
    k.spawn({ name: 'server', priority: 2 }, async (p) => {
      const ep = p.createEndpoint({ name: 's' });
      const m = await p.receive(ep);
      expect(p.priority).toBe(9);
      p.reply(m.sender, { type: 0, data: empty });
      after = p.priority;
    });
    await k.whenNamed('s');
    k.spawn({ name: 'c', priority: 9 }, (p) => p.call(p.connect('s'), { type: 0, data: empty }));
    await k.idle();
    expect(after).toBe(2);
  });

  it('a passive server runs its handler on the caller time, with the true sender and capabilities', async () => {
    const k = testKernel();
    const log: string[] = [];
    let clientPid = 0;
    k.spawn({ name: 'server' }, (p) =>
      p.serve(p.createEndpoint({ name: 's' }), (m) => {
        log.push(`handler ${m.type} from ${m.sender === clientPid ? 'client' : m.sender}`);
        return { type: m.type * 2, data: m.bytes.slice(0, m.length) };
      }),
    );
    const c = k.spawn({ name: 'client' }, async (p) => {
      clientPid = p.pid;
      await p.sleep(10);
      const ch = p.connect('s');
      for (let i = 1; i <= 3; i++) {
        const r = await p.call(ch, { type: i, data: new Uint8Array([i]) });
        log.push(`reply ${r.type} ${r.bytes[0]}`);
      }
    });
    await c.exited;
    expect(log).toEqual(['handler 1 from client', 'reply 2 1', 'handler 2 from client', 'reply 4 2', 'handler 3 from client', 'reply 6 3']);
    await k.shutdown();
  });

  it('a passive server moves capabilities both ways and checks SHARE on its reply', async () => {
    const k = testKernel();
    const { Rights } = await import('@veridian/core');
    let serverOwn = 0;
    k.spawn({ name: 'server' }, (p) => {
      serverOwn = p.createEndpoint();
      const shareable = p.derive(serverOwn, Rights.SEND | Rights.SHARE);
      const unshareable = p.derive(serverOwn, Rights.SEND);
      return p.serve(p.createEndpoint({ name: 's' }), (m) => {
        expect(m.capCount).toBe(1);
        expect(p.inspect(m.caps[0]!).permissions).toBe(Rights.RECEIVE | Rights.SHARE);
        return { type: 0, data: empty, caps: [m.type === 1 ? shareable : unshareable] };
      });
    });
    await k.whenNamed('s');
    const c = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('s');
      const mine = p.derive(p.createEndpoint(), Rights.RECEIVE | Rights.SHARE);
      const r = await p.call(ch, { type: 1, data: empty, caps: [mine] });
      expect(r.capCount).toBe(1);
      expect(p.inspect(r.caps[0]!).permissions).toBe(Rights.SEND | Rights.SHARE);
      const before = k.snapshot();
      await expect(p.call(ch, { type: 2, data: empty, caps: [mine] })).rejects.toMatchObject({ code: 'PermissionDenied' });
      // The refused reply undid the whole call: no capability stayed with the server.
      expect(k.snapshot()).toEqual(before);
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    await k.shutdown();
  });

  it('a caller that times out or dies while queued leaves no priority behind', async () => {
    const { ManualClock } = await import('@veridian/core');
    const clock = new ManualClock();
    const k = testKernel({ clock });
    let server!: Process;
    k.spawn({ name: 'server', priority: 1 }, async (p) => {
      server = p;
      p.createEndpoint({ name: 's' });
      await p.sleep(1e12);
    });
    await k.whenNamed('s');
    const timedOut = k.spawn({ name: 'impatient', priority: 20 }, (p) => p.call(p.connect('s'), { type: 0, data: empty }, { timeout: 1000 }).catch((e: unknown) => e));
    await new Promise((r) => setTimeout(r, 1));
    expect(server.priority).toBe(20);
    clock.advance(1000);
    await timedOut.exited;
    expect(server.priority).toBe(1);
    const doomed = k.spawn({ name: 'doomed', priority: 25 }, (p) => p.call(p.connect('s'), { type: 0, data: empty }));
    await new Promise((r) => setTimeout(r, 1));
    expect(server.priority).toBe(25);
    await doomed.kill();
    expect(server.priority).toBe(1);
    await k.shutdown();
  });

  it('a receive/reply server switches back to its caller on reply, before an equal-priority ready process', async () => {
    const k = testKernel();
    const log: string[] = [];
    k.spawn({ name: 'server' }, async (p) => {
      const ep = p.createEndpoint({ name: 's' });
      const m = await p.receive(ep);
      k.spawn({ name: 'bystander' }, () => {
        log.push('bystander');
      });
      p.reply(m.sender, { type: 0, data: empty });
      log.push('server replied');
      await p.receive(ep).catch(() => undefined);
    });
    await k.whenNamed('s');
    const c = k.spawn({ name: 'client' }, async (p) => {
      await p.call(p.connect('s'), { type: 0, data: empty });
      log.push('client back');
    });
    await c.exited;
    await new Promise((r) => setTimeout(r, 1));
    expect(log).toEqual(['server replied', 'client back', 'bystander']);
    await k.shutdown();
  });

  it('a process spawned while the running one awaits something outside the kernel still runs', async () => {
    const k = testKernel();
    let release!: () => void;
    const holder = k.spawn({ name: 'holder' }, () => new Promise<void>((r) => (release = r)));
    await new Promise((r) => setTimeout(r, 1));
    let ran = false;
    const late = k.spawn({ name: 'late' }, () => {
      ran = true;
    });
    await late.exited;
    expect(ran).toBe(true);
    release();
    await holder.exited;
  });

  it('a process awaiting something outside the kernel does not stall the others', async () => {
    const k = testKernel();
    const log: string[] = [];
    k.spawn({ name: 'slow' }, async () => {
      await new Promise((r) => setTimeout(r, 20));
      log.push('slow');
    });
    k.spawn({ name: 'fast' }, () => {
      log.push('fast');
    });
    await k.idle();
    expect(log).toEqual(['fast', 'slow']);
  });
});
