// Defect 12: per-call timeouts were not validated. NaN and -1 waited forever; Infinity or anything
// ≥ 2^31 ms fired Timeout after 1 ms on CPU 0 (Node's timer overflow) but waited forever on a worker.
// v2: absent → endpoint default; 0 → poll (Timeout at once if it would block, nothing changed);
// (0, 2^31−1 ms] → that timeout; Infinity → forever; NaN, negative, larger, non-numbers → InvalidArgument.
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { IpcError, type Kernel, type Process } from '@veridian/core';
import { testKernel } from '../support/kernel.ts';
import type { ProbeValue, TimeoutProbeArgs } from '../support/timeout-probe-worker.ts';

const here = (f: string) => new URL(`../support/${f}`, import.meta.url);

/** Largest accepted finite timeout: 2^31 − 1 ms in ns. */
const MAX_TIMEOUT_NS = 2_147_483_647_000_000;
const BAD: ProbeValue[] = [NaN, -1, -0.5, MAX_TIMEOUT_NS + 1_000_000, 2 ** 31 * 1e6, 1e300, -Infinity, '5', null];

type Settled = { state: 'pending' } | { state: 'ok' } | { state: 'error'; code: string };

/** How `p` settles within `ms` (no settlement = 'pending'). */
async function settleWithin(p: Promise<unknown>, ms: number): Promise<Settled> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const pending = new Promise<Settled>((r) => (timer = setTimeout(() => r({ state: 'pending' }), ms)));
  const settled = p.then(
    (): Settled => ({ state: 'ok' }),
    (e: unknown): Settled => ({ state: 'error', code: e instanceof IpcError ? e.code : `${(e as Error).name}: ${(e as Error).message}` }),
  );
  try {
    return await Promise.race([settled, pending]);
  } finally {
    clearTimeout(timer);
  }
}

function show(s: Settled): string {
  return s.state === 'error' ? s.code : s.state;
}

/**
 * Spawns a fresh CPU-0 client that runs `op` once and reports how it settled within `ms`, and
 * whether kernel state changed when it failed. A client left blocked is killed afterwards.
 */
async function probe(k: Kernel, op: (p: Process, own: number, ch: number) => Promise<unknown>, ms = 1000): Promise<string> {
  let result = 'not run';
  const h = k.spawn({ name: 'probe' }, async (p) => {
    const own = p.createEndpoint();
    // The channel to 's' is taken before the snapshot: only the operation itself is judged.
    const ch = k.lookupName('s') === undefined ? -1 : p.connect('s');
    const stats = k.stats();
    const snap = k.snapshot();
    const s = await settleWithin(op(p, own, ch), ms);
    result = show(s);
    if (s.state === 'error' && (!isDeepStrictEqual(k.stats(), stats) || !isDeepStrictEqual(k.snapshot(), snap))) result += ' +state changed';
  });
  await Promise.race([h.exited, new Promise((r) => setTimeout(r, ms + 200))]);
  await h.kill();
  return result;
}

describe('defect 12: per-call timeouts are validated, on CPU 0', () => {
  it('NaN, negative, > 2^31−1 ms and non-numbers are InvalidArgument (call, send, receive), state unchanged', async () => {
    const k = testKernel();
    // A server that exists but never receives: a call or send to it would block.
    k.spawn({ name: 'server' }, async (p) => {
      p.createEndpoint({ name: 's' });
      await p.sleep(1e12);
    });
    await k.whenNamed('s');
    const results: string[] = [];
    for (const t of BAD) {
      const timeout = t as number;
      // InvalidArgument is decided before anything blocks: 300 ms is a generous bound for it.
      results.push(`call ${String(t)}: ${await probe(k, (p, _own, ch) => p.call(ch, { type: 1, data: new Uint8Array() }, { timeout }), 300)}`);
      results.push(`send ${String(t)}: ${await probe(k, (p, _own, ch) => p.send(ch, { type: 1, data: new Uint8Array() }, { timeout }), 300)}`);
      results.push(`receive ${String(t)}: ${await probe(k, (p, own) => p.receive(own, { timeout }), 300)}`);
    }
    await k.shutdown();
    expect(results).toEqual(BAD.flatMap((t) => ['call', 'send', 'receive'].map((op) => `${op} ${String(t)}: InvalidArgument`)));
  }, 60_000);

  it('timeout 0 polls: an operation that would block fails with Timeout at once, nothing changed', async () => {
    const k = testKernel();
    k.spawn({ name: 'server' }, async (p) => {
      p.createEndpoint({ name: 's' });
      await p.sleep(1e12);
    });
    await k.whenNamed('s');
    const results = [
      await probe(k, (p, _own, ch) => p.call(ch, { type: 1, data: new Uint8Array() }, { timeout: 0 })),
      await probe(k, (p, _own, ch) => p.send(ch, { type: 1, data: new Uint8Array() }, { timeout: 0 })),
      await probe(k, (p, own) => p.receive(own, { timeout: 0 })),
    ];
    await k.shutdown();
    expect(results).toEqual(['Timeout', 'Timeout', 'Timeout']);
  });

  for (const timeout of [Infinity, MAX_TIMEOUT_NS]) {
    it(`timeout ${timeout} waits (no early Timeout) and the reply arrives`, async () => {
      const k = testKernel();
      let gate!: () => void;
      const open = new Promise<void>((r) => (gate = r));
      k.spawn({ name: 'server' }, async (p) => {
        const ep = p.createEndpoint({ name: 's' });
        await open;
        const m = await p.receive(ep);
        p.reply(m.sender, { type: m.type + 1, data: new Uint8Array() });
      });
      await k.whenNamed('s');
      let after50 = 'not run';
      let final = 'not run';
      const c = k.spawn({ name: 'client' }, async (p) => {
        const pending = p.call(p.connect('s'), { type: 1, data: new Uint8Array() }, { timeout });
        after50 = show(await settleWithin(pending, 50));
        gate();
        final = show(await settleWithin(pending, 5000));
      });
      await c.exited;
      await k.shutdown();
      expect([after50, final]).toEqual(['pending', 'ok']);
    });
  }

  it("an absent timeout takes the endpoint's default; an explicit Infinity overrides it and waits", async () => {
    const k = testKernel();
    let gate!: () => void;
    const open = new Promise<void>((r) => (gate = r));
    k.spawn({ name: 'server' }, async (p) => {
      const ep = p.createEndpoint({ name: 's', timeout: 20_000_000 });
      await open;
      const m = await p.receive(ep);
      p.reply(m.sender, { type: m.type + 1, data: new Uint8Array() });
    });
    await k.whenNamed('s');
    const results: string[] = [];
    const c = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('s');
      results.push(`absent: ${show(await settleWithin(p.call(ch, { type: 1, data: new Uint8Array() }), 3000))}`);
      const forever = p.call(ch, { type: 1, data: new Uint8Array() }, { timeout: Infinity });
      results.push(`Infinity after 100 ms: ${show(await settleWithin(forever, 100))}`);
      gate();
      results.push(`Infinity: ${show(await settleWithin(forever, 5000))}`);
    });
    await c.exited;
    await k.shutdown();
    expect(results).toEqual(['absent: Timeout', 'Infinity after 100 ms: pending', 'Infinity: ok']);
  });

  it('replyReceive with a bad timeout fails with InvalidArgument before replying; the caller still waits', async () => {
    const k = testKernel();
    const results: string[] = [];
    k.spawn({ name: 'server' }, async (p) => {
      const ep = p.createEndpoint({ name: 's' });
      const m = await p.receive(ep);
      const caller = m.sender;
      for (const t of [NaN, -1, '5']) {
        const snap = k.snapshot();
        const s = await settleWithin(p.replyReceive(caller, { type: 7, data: new Uint8Array() }, ep, { timeout: t as number }), 500);
        results.push(`${String(t)}: ${show(s)}${isDeepStrictEqual(k.snapshot(), snap) ? '' : ' +state changed'}`);
        if (s.state !== 'error') break;
      }
      p.reply(caller, { type: 8, data: new Uint8Array() });
    });
    await k.whenNamed('s');
    let got = 'not run';
    const c = k.spawn({ name: 'client' }, async (p) => {
      got = String((await p.call(p.connect('s'), { type: 1, data: new Uint8Array() })).type);
    });
    await Promise.race([c.exited, new Promise((r) => setTimeout(r, 5000))]);
    await k.shutdown();
    expect(results).toEqual(['NaN: InvalidArgument', '-1: InvalidArgument', '5: InvalidArgument']);
    expect(got).toBe('8');
  });
});

describe('defect 12: per-call timeouts are validated, on a worker CPU (same rules)', () => {
  it('bad values are InvalidArgument, 0 polls, Infinity and 2^31−1 ms wait for the reply', async () => {
    const k = testKernel({ cpus: 2 });
    // CPU-0 server: replies to every call after ~100 ms.
    k.spawn({ name: 'slow' }, async (p) => {
      const ep = p.createEndpoint({ name: 'slow' });
      for (;;) {
        const m = await p.receive(ep);
        const caller = m.sender;
        const type = m.type;
        await new Promise((r) => setTimeout(r, 100));
        p.reply(caller, { type: type + 1, data: new Uint8Array() });
      }
    });
    await k.whenNamed('slow');
    const cases: TimeoutProbeArgs['cases'] = [
      ...BAD.flatMap((timeout) => (['callSync', 'receiveSync', 'send'] as const).map((op) => ({ op, timeout }))),
      { op: 'callSync', timeout: 0 },
      { op: 'receiveSync', timeout: 0 },
      { op: 'send', timeout: 0 },
      { op: 'callSlow', timeout: Infinity },
      { op: 'callSlow', timeout: MAX_TIMEOUT_NS },
      { op: 'receiveSync', timeout: 20_000_000 },
    ];
    const progress = new SharedArrayBuffer(8 + 16_384);
    const w = k.spawnWorker(here('timeout-probe-worker.ts'), { name: 'probe', args: { slowServer: 'slow', progress, cases } satisfies TimeoutProbeArgs });
    const exit = await Promise.race([w.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 20_000))]);
    const at = new Int32Array(progress)[0]!;
    const soFar = new TextDecoder().decode(new Uint8Array(progress, 8, new Int32Array(progress)[1]!).slice());
    await k.shutdown();
    expect(exit, `watchdog: the worker hung in case ${at} (${cases[at]?.op}, timeout ${String(cases[at]?.timeout)}); results before it: ${soFar}`).toBeDefined();
    const m = /^Error: RESULT (.*)$/.exec(String(exit!.error));
    expect(m, String(exit!.error)).not.toBeNull();
    const results = JSON.parse(m![1]!) as string[];
    expect(results.map((r, i) => `${cases[i]!.op} ${String(cases[i]!.timeout)}: ${r}`)).toEqual([
      ...BAD.flatMap((t) => ['callSync', 'receiveSync', 'send'].map((op) => `${op} ${String(t)}: InvalidArgument`)),
      'callSync 0: Timeout',
      'receiveSync 0: Timeout',
      'send 0: Timeout',
      'callSlow Infinity: ok',
      `callSlow ${MAX_TIMEOUT_NS}: ok`,
      'receiveSync 20000000: Timeout',
    ]);
  }, 60_000);
});
