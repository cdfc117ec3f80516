// The endpoint fast path of worker CPUs (kernel/ipc/endpoint-fastpath.ts, issue #19): a call to
// a waiting worker server and the server's reply-receive take only their endpoint's lock. These
// tests check that the common case really leaves the big lock alone, that every case it does
// not take still goes through the general path (observed calls, queued callers, fastPath: false),
// that independent endpoints run at once, and that exclusive entries racing with it from CPU 0
// leave the kernel consistent (every reply checked by the callers, pools back to baseline).
import { describe, expect, it } from 'vitest';
import { Rights, type Kernel, type LockStats, type ProcessHandle } from '@veridian/core';
import { testKernel } from './support/kernel.ts';

const here = (f: string) => new URL(`./support/${f}`, import.meta.url);

/** The caller ends by throwing `RESULT <ms>` once all its calls were answered correctly. */
async function expectAllAnswered(h: ProcessHandle): Promise<void> {
  const exit = await h.exited;
  expect(String(exit.error)).toMatch(/^Error: RESULT \d/);
}

function delta(after: LockStats, before: LockStats): LockStats {
  return {
    acquired: after.acquired - before.acquired,
    contended: after.contended - before.contended,
    spins: after.spins - before.spins,
    fastEntries: after.fastEntries - before.fastEntries,
    fastContended: after.fastContended - before.fastContended,
  };
}

/** Starts echo server(s) `echo<i>` and waits until each is named (it then waits in receive). */
async function servers(k: Kernel, n: number): Promise<ProcessHandle[]> {
  const hs = Array.from({ length: n }, (_, i) => k.spawnWorker(here('echo-worker.ts'), { name: `echo${i}`, args: { name: `echo${i}` } }));
  for (let i = 0; i < n; i++) await k.whenNamed(`echo${i}`);
  return hs;
}

/** One worker pair on `echo0`: `calls` checked round trips, the server stopped after; the lock counters' change. */
async function onePair(k: Kernel, calls: number): Promise<LockStats> {
  const [server] = await servers(k, 1);
  const before = k.lockStats();
  await expectAllAnswered(k.spawnWorker(here('call-worker.ts'), { name: 'caller', args: { name: 'echo0', count: calls, stop: true } }));
  expect(await server!.exited).toMatchObject({ reason: 'returned' });
  return delta(k.lockStats(), before);
}

describe('endpoint fast path (worker CPUs)', () => {
  it('a round trip between two worker CPUs takes the endpoint lock only, never the big lock', async () => {
    const k = testKernel();
    const base = k.stats();
    const calls = 20_000;
    const d = await onePair(k, calls);
    // The call and the reply-receive of each round trip: the server is always back in its
    // receive queue before the caller can take the endpoint's lock again.
    // (An entry that finds the big lock held — spawn, connect, exit bookkeeping — falls back.)
    expect(d.fastEntries).toBeGreaterThanOrEqual(0.95 * 2 * calls);
    // The big lock: connect, spawn and exit bookkeeping, the final plain reply — not per call.
    expect(d.acquired).toBeLessThan(calls / 100);
    expect(k.stats()).toEqual(base);
  });

  it('with fastPath: false every call takes the big lock (and still gets its reply)', async () => {
    const k = testKernel({ fastPath: false });
    const base = k.stats();
    const calls = 2_000;
    const d = await onePair(k, calls);
    expect(d.fastEntries).toBe(0);
    expect(d.acquired).toBeGreaterThanOrEqual(2 * calls);
    expect(k.stats()).toEqual(base);
  });

  it('observed calls (the message trace on) take the general path, and every one is traced', async () => {
    const k = testKernel();
    const [server] = await servers(k, 1);
    k.trace.enable();
    const before = k.lockStats();
    const calls = 300;
    await expectAllAnswered(k.spawnWorker(here('call-worker.ts'), { name: 'caller', args: { name: 'echo0', count: calls } }));
    expect(delta(k.lockStats(), before).fastEntries).toBe(0);
    // Payload bytes sent into a channel are counted only by the observed path: 64 per call.
    const echo = k.trace.channels().find((c) => c.name === 'echo0');
    expect(echo?.bytes).toBeGreaterThanOrEqual(64 * calls);
    await server!.kill();
  });

  it('three worker clients against one worker server: queued callers are handed over by the general path, every reply right', async () => {
    const k = testKernel();
    const base = k.stats();
    const [server] = await servers(k, 1);
    const before = k.lockStats();
    const clients = [0, 1, 2].map((i) => k.spawnWorker(here('call-worker.ts'), { name: `caller${i}`, args: { name: 'echo0', count: 4_000 } }));
    for (const c of clients) await expectAllAnswered(c);
    const d = delta(k.lockStats(), before);
    expect(d.fastEntries).toBeGreaterThan(0);
    await server!.kill();
    expect(k.stats()).toEqual(base);
  });

  it('two pairs on two endpoints run at once without the big lock', async () => {
    const k = testKernel();
    const base = k.stats();
    const ss = await servers(k, 2);
    const before = k.lockStats();
    const calls = 5_000;
    const cs = [0, 1].map((i) => k.spawnWorker(here('call-worker.ts'), { name: `caller${i}`, args: { name: `echo${i}`, count: calls, stop: true } }));
    for (const c of cs) await expectAllAnswered(c);
    for (const s of ss) expect(await s.exited).toMatchObject({ reason: 'returned' });
    const d = delta(k.lockStats(), before);
    expect(d.fastEntries).toBeGreaterThanOrEqual(0.95 * 2 * 2 * calls);
    expect(d.acquired).toBeLessThan(calls / 10);
    expect(k.stats()).toEqual(base);
  });

  it('exclusive entries from CPU 0 racing with the fast path (endpoint churn, snapshots) leave every reply right and the pools at baseline', async () => {
    const k = testKernel();
    const base = k.stats();
    const [server] = await servers(k, 1);
    let stop = false;
    let rounds = 0;
    const churn = k.spawn({ name: 'churn' }, async (p) => {
      const own = p.createEndpoint({});
      while (!stop) {
        const h = p.derive(own, Rights.SEND);
        if (p.inspect(h).permissions !== Rights.SEND) throw new Error('derived the wrong rights');
        p.close(h);
        k.snapshot();
        rounds++;
        await new Promise((r) => setImmediate(r));
      }
    });
    await expectAllAnswered(k.spawnWorker(here('call-worker.ts'), { name: 'caller', args: { name: 'echo0', count: 20_000, stop: true } }));
    stop = true;
    expect(await churn.exited).toMatchObject({ reason: 'returned' });
    expect(await server!.exited).toMatchObject({ reason: 'returned' });
    expect(rounds).toBeGreaterThan(0);
    expect(k.stats()).toEqual(base);
  });
});
