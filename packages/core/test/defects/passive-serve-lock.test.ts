// Defect 1: a passive serve() handler ran under the kernel lock. With a worker CPU attached, a
// handler that makes any syscall (inspect, close, derive, connect, lookupName, spawn) deadlocked
// CPU 0 forever (the lock word stays 1), and a slow handler stalled every worker CPU.
// The deadlock is synchronous on CPU 0's thread, so each case runs on a thread of its own
// (support/isolated.ts) that is terminated if it does not finish: a hang fails, it does not hang the suite.
import { describe, expect, it } from 'vitest';
import { testKernel } from '../support/kernel.ts';
import { runIsolated } from '../support/isolated.ts';

const here = (f: string) => new URL(`../support/${f}`, import.meta.url);

describe('defect 1: a passive handler runs outside the kernel lock', () => {
  it('control: the isolated scenario itself finishes when the handler makes no syscall', async () => {
    const r = await runIsolated(here('passive-syscall-scenario.ts'), { syscall: 'none' }, 20_000);
    expect(r).toEqual({ status: 'ok', value: { reply: 2, handler: 'ok', echoExit: 'returned' } });
  }, 40_000);

  for (const syscall of ['inspect', 'close', 'derive', 'connect', 'lookupName', 'spawn'] as const) {
    it(`a handler that calls ${syscall}() with a worker CPU attached: the call is answered, nothing deadlocks`, async () => {
      const r = await runIsolated(here('passive-syscall-scenario.ts'), { syscall }, 12_000);
      expect(r, r.status === 'hung' ? `CPU 0 deadlocked: the scenario did not finish within ${r.ms} ms` : '').toEqual({
        status: 'ok',
        value: { reply: 2, handler: 'ok', echoExit: 'returned' },
      });
    }, 40_000);
  }

  it('a slow passive handler does not stall worker CPUs', async () => {
    const k = testKernel({ cpus: 3 });
    const base = k.stats();
    const progress = new SharedArrayBuffer(8);
    const counters = new Int32Array(progress);
    const echo = k.spawnWorker(here('echo-worker.ts'), { name: 'echo', args: { name: 'echo' } });
    const caller = k.spawnWorker(here('progress-caller.ts'), { name: 'caller', args: { name: 'echo', progress } });
    // Wait until the worker pair is really talking.
    for (let i = 0; i < 20_000 && Atomics.load(counters, 0) < 10; i++) await new Promise((r) => setTimeout(r, 1));
    expect(Atomics.load(counters, 0), 'the worker client never got going').toBeGreaterThanOrEqual(10);
    let during = -1;
    k.spawn({ name: 'server' }, (p) =>
      p.serve(p.createEndpoint({ name: 's' }), (m) => {
        // Runs for as long as it takes the workers to make 50 more round trips (at most 5 s).
        const start = Atomics.load(counters, 0);
        const deadline = performance.now() + 5000;
        while (Atomics.load(counters, 0) - start < 50 && performance.now() < deadline);
        during = Atomics.load(counters, 0) - start;
        return { type: m.type + 1, data: new Uint8Array() };
      }),
    );
    await k.whenNamed('s');
    const c = k.spawn({ name: 'client' }, (p) => p.call(p.connect('s'), { type: 1, data: new Uint8Array() }));
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    Atomics.store(counters, 1, 1);
    expect(await caller.exited).toMatchObject({ reason: 'returned' });
    void echo.kill();
    await k.shutdown();
    expect(during, 'worker round trips completed while the passive handler ran').toBeGreaterThanOrEqual(50);
    expect(k.stats()).toEqual(base);
  }, 40_000);
});
