import { describe, expect, it } from 'vitest';
import { IpcError } from '@veridian/core';
import { FutexWaiter, WaitCode } from '../src/kernel/sched/futex.ts';
import { testKernel } from './support/kernel.ts';

const here = (f: string) => new URL(`./support/${f}`, import.meta.url);
const STOP = { type: 0xffffffff, data: new Uint8Array(0) };

/** Lets the event loop turn until `cond()` holds (at most `turns` turns of ~1 ms). */
async function until(cond: () => boolean, turns = 10_000): Promise<boolean> {
  for (let i = 0; i < turns && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
  return cond();
}

describe('wait policy (spawn option `wait`)', () => {
  it('a bad policy is InvalidArgument and changes nothing', async () => {
    const k = testKernel();
    const before = k.snapshot();
    const stats = k.stats();
    for (const wait of ['fast', '', 'SPIN', 1, null, {}]) {
      let caught: unknown;
      try {
        k.spawn({ name: 'bad', wait: wait as never }, () => undefined);
      } catch (e) {
        caught = e;
      }
      expect(caught).toBeInstanceOf(IpcError);
      expect((caught as IpcError).code).toBe('InvalidArgument');
      expect(() => k.spawnWorker(here('echo-worker.ts'), { name: 'bad', wait: wait as never })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    }
    expect(k.snapshot()).toEqual(before);
    expect(k.stats()).toEqual(stats);
    await k.shutdown();
  });

  it('the handle says which policy a process got (adaptive by default)', async () => {
    const k = testKernel();
    const hs = [k.spawn({ name: 'a' }, () => undefined), k.spawn({ name: 'b', wait: 'spin' }, () => undefined), k.spawn({ name: 'c', wait: 'park' }, () => undefined)];
    expect(hs.map((h) => h.wait)).toEqual(['adaptive', 'spin', 'park']);
    await Promise.all(hs.map((h) => h.exited));
    expect(hs.map((h) => h.parks())).toEqual([0, 0, 0]);
  });

  it('a parking worker server parks while idle and still answers every call; its count is 0 once it has exited', async () => {
    const k = testKernel();
    const base = k.stats();
    const w = k.spawnWorker(here('echo-worker.ts'), { name: 'echo', wait: 'park', args: { name: 'echo' } });
    expect(w.wait).toBe('park');
    await k.whenNamed('echo');
    // Idle, with nothing to receive: a parking waiter parks (no spin window to run out first).
    expect(await until(() => w.parks() > 0)).toBe(true);
    const c = k.spawn({ name: 'client', wait: 'park' }, async (p) => {
      const ch = p.connect('echo');
      for (let i = 0; i < 50; i++) {
        const r = await p.call(ch, { type: i, data: new Uint8Array([i]) });
        expect([r.type, r.bytes[0]]).toEqual([i + 1, i]);
      }
      // callSync from CPU 0 with `park`: the main thread parks at once instead of spinning.
      for (let i = 0; i < 20; i++) expect(p.callSync(ch, { type: i, data: new Uint8Array([i]) }).type).toBe(i + 1);
      await p.call(ch, STOP);
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    expect(c.parks()).toBe(0);
    expect(await w.exited).toMatchObject({ reason: 'returned' });
    expect(w.parks()).toBe(0);
    expect(k.stats()).toEqual(base);
  });

  it('spin and adaptive worker servers answer every call too', async () => {
    const k = testKernel();
    for (const wait of ['spin', 'adaptive'] as const) {
      const w = k.spawnWorker(here('echo-worker.ts'), { name: `echo-${wait}`, wait, args: { name: `echo-${wait}` } });
      await k.whenNamed(`echo-${wait}`);
      const c = k.spawn({ name: 'client', wait }, async (p) => {
        const ch = p.connect(`echo-${wait}`);
        for (let i = 0; i < 50; i++) expect((await p.call(ch, { type: i, data: new Uint8Array([i]) })).type).toBe(i + 1);
        for (let i = 0; i < 50; i++) expect(p.callSync(ch, { type: i, data: new Uint8Array([i]) }).type).toBe(i + 1);
        await p.call(ch, STOP);
      });
      expect(await c.exited).toMatchObject({ reason: 'returned' });
      expect(await w.exited).toMatchObject({ reason: 'returned' });
    }
  });
});

describe('FutexWaiter modes', () => {
  const cell = () => new Int32Array(new SharedArrayBuffer(8));

  it('park never spins: a wait that is not answered parks at once', () => {
    const w = new FutexWaiter(2, WaitCode.PARK);
    expect(w.spins).toBe(false);
    expect(w.wait(cell(), 0, 1, 0)).toBe(false);
    expect(w.parks).toBe(1);
    expect(w.spinNs).toBe(0);
  });

  it('spin keeps the whole bounded window whatever the waits did; adaptive moves its budget', () => {
    const spin = new FutexWaiter(2, WaitCode.SPIN);
    const adaptive = new FutexWaiter(2, WaitCode.ADAPTIVE);
    const answered = cell();
    answered[0] = 1;
    for (let i = 0; i < 300; i++) {
      spin.wait(answered, 0, 1, Infinity);
      adaptive.wait(answered, 0, 1, Infinity);
    }
    expect(spin.spinNs).toBe(100_000);
    // Answered at once every time: the adaptive budget drifted down.
    expect(adaptive.spinNs).toBeLessThan(50_000);
    expect(spin.parks + adaptive.parks).toBe(0);
  });

  it('one core never spins, whatever the mode', () => {
    for (const mode of [WaitCode.ADAPTIVE, WaitCode.SPIN, WaitCode.PARK]) expect(new FutexWaiter(1, mode).spins).toBe(false);
  });
});
