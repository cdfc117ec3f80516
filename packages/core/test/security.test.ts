import { describe, expect, it } from 'vitest';
import { IpcError, ManualClock, Rights, type Process } from '@veridian/core';
import { testKernel } from './support/kernel.ts';

/** A server that takes every one-way message on `ep` and counts it. */
async function sink(p: Process, ep: number, got: number[]): Promise<void> {
  for (;;) {
    const m = await p.receive(ep);
    got.push(m.length);
  }
}

async function code(op: Promise<unknown>): Promise<string> {
  try {
    await op;
    return 'ok';
  } catch (e) {
    if (e instanceof IpcError) return e.code;
    throw e;
  }
}

describe('security policies', () => {
  it('a flood at 10× the message rate delivers only the burst, and traffic flows again after refill', async () => {
    const clock = new ManualClock(1e9);
    const k = testKernel({ clock });
    const got: number[] = [];
    k.spawn({ name: 'server' }, (p) => {
      const ep = p.createEndpoint({ name: 'rl' });
      p.setPolicy(ep, { rate: { messagesPerSecond: 10 } });
      return sink(p, ep, got);
    });
    await k.whenNamed('rl');
    const results: string[] = [];
    const client = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('rl');
      for (let i = 0; i < 100; i++) results.push(await code(p.send(ch, { type: 1, data: new Uint8Array(4) })));
      await p.yield();
      expect(got.length).toBe(10);
      clock.advance(0.5e9); // half a second: 5 tokens
      for (let i = 0; i < 20; i++) results.push(await code(p.send(ch, { type: 1, data: new Uint8Array(4) })));
      await p.yield();
    });
    expect(await client.exited).toMatchObject({ reason: 'returned' });
    expect(results.slice(0, 100).filter((r) => r === 'ok').length).toBe(10);
    expect(results.slice(0, 100).filter((r) => r === 'RateLimited').length).toBe(90);
    expect(results.slice(100).filter((r) => r === 'ok').length).toBe(5);
    expect(got.length).toBe(15);
    await k.shutdown();
  });

  it('the byte budget refills from the clock, exactly (no budget that never refills)', async () => {
    const clock = new ManualClock(0);
    const k = testKernel({ clock });
    const got: number[] = [];
    k.spawn({ name: 'server' }, (p) => {
      const ep = p.createEndpoint({ name: 'rb' });
      p.setPolicy(ep, { rate: { bytesPerSecond: 100, burstBytes: 100 } });
      return sink(p, ep, got);
    });
    await k.whenNamed('rb');
    const client = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('rb');
      const send = (n: number) => code(p.send(ch, { type: 1, data: new Uint8Array(n) }));
      expect(await send(64)).toBe('ok');
      await p.yield();
      expect(await send(64)).toBe('RateLimited'); // 36 left
      clock.advance(279_999_999); // 27.99… tokens: 27
      expect(await send(64)).toBe('RateLimited');
      clock.advance(1); // 28 exactly: 64
      expect(await send(64)).toBe('ok');
      await p.yield();
      // Ten seconds later the bucket is full again, not more.
      clock.advance(10e9);
      expect(await send(64)).toBe('ok');
      await p.yield();
      expect(await send(64)).toBe('RateLimited');
    });
    expect(await client.exited).toMatchObject({ reason: 'returned' });
    expect(got).toEqual([64, 64, 64]);
    await k.shutdown();
  });

  it('a refused message changes no kernel record', async () => {
    const k = testKernel({ clock: new ManualClock(0) });
    k.spawn({ name: 'server' }, async (p) => {
      const ep = p.createEndpoint({ name: 'f' });
      p.setPolicy(ep, { rate: { messagesPerSecond: 1 }, filter: { types: [7] } });
      await p.receive(ep);
    });
    await k.whenNamed('f');
    const client = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('f');
      const before = k.snapshot();
      expect(await code(p.send(ch, { type: 8, data: new Uint8Array(1) }))).toBe('Filtered');
      expect(k.snapshot()).toEqual(before);
      expect(await code(p.send(ch, { type: 7, data: new Uint8Array(1) }))).toBe('ok');
      const after = k.snapshot();
      expect(await code(p.send(ch, { type: 7, data: new Uint8Array(1) }))).toBe('RateLimited');
      expect(k.snapshot()).toEqual(after);
    });
    expect(await client.exited).toMatchObject({ reason: 'returned' });
    await k.shutdown();
  });

  it('each filter rule rejects with Filtered and accepts what it allows', async () => {
    const k = testKernel();
    const outcomes: Record<string, string> = {};
    let go!: () => void;
    const ready = new Promise<void>((r) => (go = r));
    const allowed = k.spawn({ name: 'allowed' }, async (p) => {
      await ready;
      const call = (n: string, type: number, len: number) => code(p.call(p.connect(n), { type, data: new Uint8Array(len) }));
      outcomes['size 8'] = await call('size', 1, 8);
      outcomes['size 9'] = await call('size', 1, 9);
      outcomes['size 100 (large)'] = await call('size', 1, 100);
      outcomes['type 2'] = await call('type', 2, 0);
      outcomes['type 3'] = await call('type', 3, 0);
      outcomes['src allowed'] = await call('src', 0, 0);
      outcomes['cap missing'] = await call('cap', 0, 0);
      p.connect('ticket'); // now it holds a SEND capability to the ticket endpoint
      outcomes['cap held'] = await call('cap', 0, 0);
    });
    const serve = (name: string, policy: (p: Process) => Parameters<Process['setPolicy']>[1]) =>
      k.spawn({ name }, (p) => {
        const ep = p.createEndpoint({ name });
        p.setPolicy(ep, policy(p));
        return p.serve(ep, (m) => ({ type: m.type, data: new Uint8Array(0) }));
      });
    k.spawn({ name: 'ticket' }, async (p) => {
      p.createEndpoint({ name: 'ticket' });
      await new Promise(() => {});
    });
    await k.whenNamed('ticket');
    serve('size', () => ({ filter: { maxSize: 8 } }));
    serve('type', () => ({ filter: { types: [1, 2] } }));
    serve('src', () => ({ filter: { sources: [allowed.pid] } }));
    serve('cap', (p) => ({ filter: { requiredCapability: p.connect('ticket'), requiredRights: Rights.SEND } }));
    for (const n of ['size', 'type', 'src', 'cap']) await k.whenNamed(n);
    go();
    await allowed.exited;
    const other = k.spawn({ name: 'other' }, async (p) => {
      outcomes['src other'] = await code(p.call(p.connect('src'), { type: 0, data: new Uint8Array(0) }));
    });
    await other.exited;
    expect(outcomes).toEqual({
      'size 8': 'ok',
      'size 9': 'Filtered',
      'size 100 (large)': 'Filtered',
      'type 2': 'ok',
      'type 3': 'Filtered',
      'src allowed': 'ok',
      'src other': 'Filtered',
      'cap missing': 'Filtered',
      'cap held': 'ok',
    });
    await k.shutdown();
  });

  it('a worker CPU sender is held to the same bucket in machine memory', async () => {
    const k = testKernel();
    k.spawn({ name: 'server' }, (p) => {
      const ep = p.createEndpoint({ name: 'w' });
      p.setPolicy(ep, { rate: { messagesPerSecond: 1, burstMessages: 5 } });
      return p.serve(ep, () => ({ type: 0, data: new Uint8Array(0) }));
    });
    await k.whenNamed('w');
    const result = new SharedArrayBuffer(12);
    const t0 = performance.now();
    const w = k.spawnWorker(new URL('./support/flood-worker.ts', import.meta.url), { name: 'flood', args: { name: 'w', count: 50, result } });
    expect(await w.exited).toMatchObject({ reason: 'returned' });
    const seconds = (performance.now() - t0) / 1000;
    const [ok, limited, other] = new Int32Array(result);
    expect(other).toBe(0);
    expect(ok).toBeGreaterThanOrEqual(5);
    expect(ok).toBeLessThanOrEqual(5 + Math.ceil(seconds));
    expect(ok! + limited!).toBe(50);
    await k.shutdown();
  }, 30_000);

  it('setPolicy needs RECEIVE, validates its argument, and the pool is bounded', async () => {
    const k = testKernel({ policies: 2 });
    const outcomes: string[] = [];
    const srv = k.spawn({ name: 'server' }, (p) => {
      const eps = [p.createEndpoint({ name: 'a' }), p.createEndpoint(), p.createEndpoint()];
      const tryCode = (f: () => void) => {
        try {
          f();
          return 'ok';
        } catch (e) {
          return e instanceof IpcError ? e.code : 'other';
        }
      };
      const bad: unknown[] = [undefined, 5, { rate: { messagesPerSecond: 0 } }, { rate: { messagesPerSecond: 1.5 } }, { filter: { types: [] } }, { filter: { types: [1, 2, 3, 4, 5, 6, 7, 8, 9] } }, { filter: { maxSize: -1 } }, { nope: 1 }, { rate: { burstBytes: 5 } }];
      for (const b of bad) outcomes.push(tryCode(() => p.setPolicy(eps[0]!, b as never)));
      outcomes.push(tryCode(() => p.setPolicy(p.derive(eps[0]!, Rights.SEND), { filter: { maxSize: 1 } })));
      outcomes.push(tryCode(() => p.setPolicy(eps[0]!, { filter: { maxSize: 1 } })));
      outcomes.push(tryCode(() => p.setPolicy(eps[1]!, { filter: { maxSize: 1 } })));
      outcomes.push(tryCode(() => p.setPolicy(eps[2]!, { filter: { maxSize: 1 } })));
      outcomes.push(tryCode(() => p.setPolicy(eps[0]!, null)));
      outcomes.push(tryCode(() => p.setPolicy(eps[2]!, { filter: { maxSize: 1 } })));
    });
    await srv.exited;
    expect(outcomes).toEqual([...Array<string>(9).fill('InvalidArgument'), 'PermissionDenied', 'ok', 'ok', 'OutOfMemory', 'ok', 'ok']);
  });
});

/** The token bucket in exact BigInt arithmetic: what the kernel's integer arithmetic must match. */
class BucketModel {
  tokens: bigint;
  rem = 0n;
  last: bigint;
  constructor(
    readonly rate: bigint,
    readonly burst: bigint,
    now: bigint,
  ) {
    this.tokens = burst;
    this.last = now;
  }
  /** True when a message costing `cost` passes at `now` (then it is debited). */
  take(now: bigint, cost: bigint): boolean {
    const elapsed = now > this.last ? now - this.last : 0n;
    let tokens = this.burst;
    let rem = 0n;
    if (this.tokens < this.burst) {
      const total = this.tokens * 1_000_000_000n + this.rem + elapsed * this.rate;
      if (total < this.burst * 1_000_000_000n) {
        tokens = total / 1_000_000_000n;
        rem = total % 1_000_000_000n;
      }
    }
    if (tokens < cost) return false;
    this.tokens = tokens - cost;
    this.rem = rem;
    this.last = now > this.last ? now : this.last;
    return true;
  }
}

describe('token bucket arithmetic', () => {
  it('matches exact BigInt arithmetic for any rate, burst and clock steps (property)', async () => {
    const { default: fc } = await import('fast-check');
    const seen = { ok: 0, RateLimited: 0 };
    const step = fc.record({ advance: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 2e9 }), fc.constant(0)), size: fc.integer({ min: 0, max: 64 }) });
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 0xffffffff })), fc.oneof(fc.integer({ min: 64, max: 300 }), fc.integer({ min: 64, max: 0xffffffff })), fc.array(step, { minLength: 1, maxLength: 25 }), async (rate, burst, steps) => {
        const clock = new ManualClock(12345);
        const k = testKernel({ clock });
        k.spawn({ name: 'server' }, (p) => {
          const ep = p.createEndpoint({ name: 'b' });
          p.setPolicy(ep, { rate: { bytesPerSecond: rate, burstBytes: burst } });
          return sink(p, ep, []);
        });
        await k.whenNamed('b');
        const model = new BucketModel(BigInt(rate), BigInt(burst), 12345n);
        const c = k.spawn({ name: 'client' }, async (p) => {
          const ch = p.connect('b');
          for (const s of steps) {
            clock.advance(s.advance);
            const want = model.take(BigInt(clock.now()), BigInt(s.size)) ? 'ok' : 'RateLimited';
            seen[want]++;
            expect(await code(p.send(ch, { type: 1, data: new Uint8Array(s.size) }))).toBe(want);
          }
        });
        const exit = await c.exited;
        await k.shutdown();
        if (exit.reason !== 'returned') throw exit.error instanceof Error ? exit.error : new Error(String(exit.error));
      }),
      { numRuns: 60 },
    );
    // Both outcomes were exercised.
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen.RateLimited).toBeGreaterThan(0);
  });
});
