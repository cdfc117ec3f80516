// Defect 15: plain-JS bad input must be an IpcError('InvalidArgument') with kernel state unchanged —
// not a TypeError, not data sent as zeros, not a capability minted with no rights.
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { IpcError, Rights, type Kernel, type Process } from '@veridian/core';
import { testKernel } from '../support/kernel.ts';

/** Runs `body` as a CPU-0 process and rethrows whatever it threw (so expect() failures inside surface). */
async function run(k: Kernel, body: (p: Process) => unknown): Promise<void> {
  const exit = await k.spawn({ name: 'probe' }, body).exited;
  if (exit.reason !== 'returned') throw exit.error instanceof Error ? exit.error : new Error(`probe ${exit.reason}`, { cause: exit.error });
}

/** Describes what `fn` did: a synchronous throw, or its returned promise's settlement. */
async function outcome(fn: () => unknown): Promise<string> {
  let r: unknown;
  try {
    r = fn();
  } catch (e) {
    return `throws ${describeError(e)}`;
  }
  if (r instanceof Promise) {
    try {
      await r;
      return 'resolves';
    } catch (e) {
      return `rejects ${describeError(e)}`;
    }
  }
  return 'returns';
}

/** `what`, plus a note for each kind of kernel state that changed since `stats`/`snap`. */
function withChanges(k: Kernel, what: string, stats: unknown, snap: unknown): string {
  let s = what;
  if (!isDeepStrictEqual(k.stats(), stats)) s += ' +stats changed';
  if (!isDeepStrictEqual(k.snapshot(), snap)) s += ' +snapshot changed';
  return s;
}

function describeError(e: unknown): string {
  return e instanceof IpcError ? `IpcError ${e.code}` : `${(e as Error)?.name ?? typeof e}: ${(e as Error)?.message ?? String(e)}`;
}

// A non-message, or a message with a field of the wrong type. (Plain JS can pass any of these.)
const BAD_MESSAGES: Array<[string, unknown]> = [
  ['undefined', undefined],
  ['null', null],
  ['a number', 42],
  ['missing data', { type: 1 }],
  ['data is a string', { type: 1, data: 'abc' }],
  ['data is an array of numbers', { type: 1, data: [1, 2, 3] }],
  ['data with length -1', { type: 1, data: { length: -1 } }],
  ['type missing', { data: new Uint8Array(1) }],
  ['type negative', { type: -1, data: new Uint8Array(1) }],
  ['type 2^32', { type: 2 ** 32, data: new Uint8Array(1) }],
  ['type fractional', { type: 1.5, data: new Uint8Array(1) }],
  ['type NaN', { type: NaN, data: new Uint8Array(1) }],
  ['type a string', { type: '1', data: new Uint8Array(1) }],
  ['caps not an array', { type: 1, data: new Uint8Array(1), caps: 5 }],
  ['caps with a fraction', { type: 1, data: new Uint8Array(1), caps: [1.5] }],
  ['caps with a negative', { type: 1, data: new Uint8Array(1), caps: [-1] }],
  ['caps with a string', { type: 1, data: new Uint8Array(1), caps: ['x'] }],
];

describe('defect 15: every public entry validates its arguments', () => {
  it('call() and send() reject a malformed message with InvalidArgument and change nothing', async () => {
    const k = testKernel();
    const seen: number[] = [];
    k.spawn({ name: 'server' }, (p) => p.serve(p.createEndpoint({ name: 's' }), (m) => (seen.push(m.type), { type: m.type + 1, data: new Uint8Array() })));
    await k.whenNamed('s');
    const results: string[] = [];
    await run(k, async (p) => {
      const ch = p.connect('s');
      for (const [label, msg] of BAD_MESSAGES) {
        for (const op of ['call', 'send'] as const) {
          const beforeStats = k.stats();
          const before = k.snapshot();
          const got = await outcome(() => (op === 'call' ? p.call(ch, msg as never) : p.send(ch, msg as never)));
          results.push(`${op} ${label}: ${withChanges(k, got, beforeStats, before)}`);
        }
      }
      // The channel still works and the server saw none of the malformed messages.
      const r = await p.call(ch, { type: 7, data: new Uint8Array(1) });
      expect(r.type).toBe(8);
    });
    expect(results).toEqual(BAD_MESSAGES.flatMap(([label]) => [`call ${label}: rejects IpcError InvalidArgument`, `send ${label}: rejects IpcError InvalidArgument`]));
    expect(seen).toEqual([7]);
    await k.shutdown();
  });

  it('reply() and replyReceive() with a malformed message fail with InvalidArgument; the caller still waits', async () => {
    const k = testKernel();
    const results: string[] = [];
    let answered = 0;
    k.spawn({ name: 'server' }, async (p) => {
      const ep = p.createEndpoint({ name: 's' });
      const m = await p.receive(ep);
      const caller = m.sender;
      for (const [label, msg] of BAD_MESSAGES) {
        let stats = k.stats();
        let before = k.snapshot();
        results.push(`reply ${label}: ${withChanges(k, await outcome(() => p.reply(caller, msg as never)), stats, before)}`);
        stats = k.stats();
        before = k.snapshot();
        results.push(`replyReceive ${label}: ${withChanges(k, await outcome(() => p.replyReceive(caller, msg as never, ep)), stats, before)}`);
      }
      p.reply(caller, { type: 99, data: new Uint8Array([9]) });
      answered++;
    });
    await k.whenNamed('s');
    let reply: number[] = [];
    await run(k, async (p) => {
      const r = await p.call(p.connect('s'), { type: 1, data: new Uint8Array() });
      reply = [r.type, r.length, r.bytes[0]!];
    });
    expect(results).toEqual(
      BAD_MESSAGES.flatMap(([label]) => [`reply ${label}: throws IpcError InvalidArgument`, `replyReceive ${label}: rejects IpcError InvalidArgument`]),
    );
    // The one well-formed reply is what the caller got.
    expect(reply).toEqual([99, 1, 9]);
    expect(answered).toBe(1);
    await k.shutdown();
  });

  it('derive() with NaN, fractional, negative or out-of-range rights is InvalidArgument and mints nothing', async () => {
    const k = testKernel();
    const results: string[] = [];
    await run(k, (p) => {
      const ep = p.createEndpoint();
      for (const rights of [NaN, 1.5, -1, 0x100, Rights.ALL + 1, Infinity, '1', undefined, null]) {
        const before = k.snapshot();
        const beforeStats = k.stats();
        let got: string;
        try {
          const h = p.derive(ep, rights as never);
          got = `minted rights 0x${p.inspect(h).permissions.toString(16)}`;
        } catch (e) {
          got = describeError(e);
        }
        results.push(`${String(rights)}: ${withChanges(k, got, beforeStats, before)}`);
      }
      // A valid subset still works.
      expect(p.inspect(p.derive(ep, Rights.SEND)).permissions).toBe(Rights.SEND);
    });
    expect(results).toEqual(['NaN', '1.5', '-1', '256', '256', 'Infinity', '1', 'undefined', 'null'].map((r) => `${r}: IpcError InvalidArgument`));
  });

  it('kernel.spawn() with missing options or a non-function body is InvalidArgument and leaks nothing', async () => {
    const k = testKernel();
    const base = k.stats();
    const before = k.snapshot();
    const cases: Array<[string, () => unknown]> = [
      ['spawn(undefined)', () => k.spawn(undefined as never, () => {})],
      ['spawn(null)', () => k.spawn(null as never, () => {})],
      ['spawn("name")', () => k.spawn('name' as never, () => {})],
      ['spawn({})', () => k.spawn({} as never, () => {})],
      ['body undefined', () => k.spawn({ name: 'x' }, undefined as never)],
      ['body a number', () => k.spawn({ name: 'x' }, 5 as never)],
      ['priority NaN', () => k.spawn({ name: 'x', priority: NaN }, () => {})],
    ];
    const results: string[] = [];
    for (const [label, fn] of cases) {
      const stats = k.stats();
      const snap = k.snapshot();
      results.push(`${label}: ${withChanges(k, await outcome(fn), stats, snap)}`);
    }
    expect(results).toEqual(cases.map(([label]) => `${label}: throws IpcError InvalidArgument`));
    expect(k.stats()).toEqual(base);
    expect(k.snapshot()).toEqual(before);
    await k.shutdown();
    expect(k.stats()).toEqual(base);
  });

  it('receive() and inspect()/close() with non-handle arguments are IpcErrors, not TypeErrors', async () => {
    const k = testKernel();
    const results: string[] = [];
    await run(k, async (p) => {
      for (const h of [undefined, null, 'x', 1.5, -1, NaN]) {
        const stats = k.stats();
        const before = k.snapshot();
        results.push(`receive ${String(h)}: ${withChanges(k, await outcome(() => p.receive(h as never)), stats, before)}`);
      }
    });
    // A non-handle names no capability: either code is an honest answer, a TypeError is not.
    for (const r of results) expect(r).toMatch(/: rejects IpcError (InvalidArgument|InvalidCapability)$/);
  });
});
