// The call fast path (kernel/ipc/fastpath.ts) must be invisible: every program gives the same
// replies, the same errors and the same kernel state, word for word, with it on and off.
import { IpcError, Rights, type Kernel, type MessageBuffer, type Process, type SmallMessage } from '@veridian/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { testKernel } from '../support/kernel.ts';

type Handle = 'ch' | 'noSend' | 'closed' | 'garbage';
type Op =
  | { kind: 'call'; handle: Handle; garbage: number; type: number; len: number; caps: number; sync: boolean }
  | { kind: 'filter'; on: boolean };

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('call' as const),
      handle: fc.constantFrom<Handle>('ch', 'ch', 'ch', 'ch', 'noSend', 'closed', 'garbage'),
      garbage: fc.nat(),
      type: fc.nat({ max: 40 }),
      len: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.constant(64), fc.integer({ min: 65, max: 200 })),
      caps: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 2 }) }),
      sync: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('filter' as const), on: fc.boolean() }) },
);

/** What a call came back with: the whole reply, or the error code. */
type Reply = { ok: true; type: number; length: number; bytes: number[]; capCount: number; flags: number; sender: number; fast: number };
type Outcome = Reply | { ok: false; code: string };

function outcome(r: MessageBuffer): Reply {
  return { ok: true, type: r.type, length: r.length, bytes: [...r.bytes], capCount: r.capCount, flags: r.flags, sender: r.sender, fast: 0 };
}

/**
 * The server's handler, chosen by the request type: echo, reply with a capability, fail with
 * an IpcError, return something that is not a message, call a second passive server (nested).
 */
function handler(p: Process, own: number, nested: () => number): (m: MessageBuffer) => SmallMessage {
  return (m) => {
    switch (m.type % 6) {
      case 1:
        return { type: 1, data: m.bytes.subarray(0, m.length), caps: [p.derive(own, Rights.SEND | Rights.SHARE)] };
      case 2:
        throw new IpcError('PermissionDenied', 'the handler says no');
      case 3:
        return { type: -1, data: new Uint8Array(1) } as SmallMessage;
      case 4: {
        const r = p.callSync(nested(), { type: 9, data: m.bytes.subarray(0, m.length) });
        return { type: 4, data: r.bytes.slice(0, r.length) };
      }
      default:
        m.bytes[0] = (m.bytes[0]! + 1) & 0xff; // the handler may write its own request buffer
        return { type: m.type, data: m.bytes.subarray(0, m.length) };
    }
  };
}

async function run(program: Op[], fastPath: boolean): Promise<{ outcomes: Outcome[]; snapshots: Int32Array[]; fastCalls: number }> {
  const k: Kernel = testKernel({ fastPath });
  const outcomes: Outcome[] = [];
  const snapshots: Int32Array[] = [];
  let serverEp = 0;
  let serverProc: Process | undefined;
  k.spawn({ name: 'inner' }, (p) => p.serve(p.createEndpoint({ name: 'inner' }), (m) => ({ type: m.type + 100, data: m.bytes.subarray(0, m.length) })));
  await k.whenNamed('inner');
  k.spawn({ name: 'server' }, (p) => {
    serverProc = p;
    serverEp = p.createEndpoint({ name: 's' });
    let inner = 0;
    return p.serve(serverEp, handler(p, serverEp, () => (inner ||= p.connect('inner'))));
  });
  await k.whenNamed('s');
  const client = k.spawn({ name: 'client' }, async (p) => {
    const ch = p.connect('s');
    const share = p.createEndpoint(); // every right, SHARE included: a capability to pass
    const noSend = p.derive(ch, 0);
    const closed = p.derive(ch, Rights.SEND);
    p.close(closed);
    for (const o of program) {
      if (o.kind === 'filter') {
        serverProc!.setPolicy(serverEp, o.on ? { filter: { types: [0, 1, 2, 3, 4, 6, 7] } } : null);
        continue;
      }
      const h = o.handle === 'ch' ? ch : o.handle === 'noSend' ? noSend : o.handle === 'closed' ? closed : o.garbage;
      const data = Uint8Array.from({ length: o.len }, (_, i) => (i * 13 + o.type) & 0xff);
      const msg: SmallMessage = o.caps === 0 ? { type: o.type, data } : { type: o.type, data, caps: Array.from({ length: o.caps }, () => share) };
      const before = k.fastPathCalls;
      try {
        const r = o.sync ? p.callSync(h, msg) : await p.call(h, msg);
        outcomes.push({ ...outcome(r), fast: k.fastPathCalls - before });
        for (let i = 0; i < r.capCount; i++) p.close(r.caps[i]!);
      } catch (e) {
        if (!(e instanceof IpcError)) throw e;
        outcomes.push({ ok: false, code: e.code });
      }
      snapshots.push(k.snapshot().records);
    }
  });
  const exit = await client.exited;
  if (exit.reason !== 'returned') throw exit.error instanceof Error ? exit.error : new Error(`client ${exit.reason}`);
  const fastCalls = k.fastPathCalls;
  await k.shutdown();
  return { outcomes, snapshots, fastCalls };
}

describe('the call fast path', () => {
  it('a plain small call to a passive server takes it; capabilities, large messages and a policy do not', async () => {
    const base: Op = { kind: 'call', handle: 'ch', garbage: 0, type: 0, len: 64, caps: 0, sync: true };
    const { outcomes, fastCalls } = await run(
      [base, { ...base, sync: false }, { ...base, caps: 1 }, { ...base, len: 100 }, { kind: 'filter', on: true }, base, { kind: 'filter', on: false }, { ...base, len: 0 }],
      true,
    );
    expect(outcomes.map((o) => (o.ok ? o.fast : o.code))).toEqual([1, 1, 0, 0, 0, 1]);
    expect(fastCalls).toBe(3);
  });

  it('is invisible: the same replies, errors and kernel records with it on and off', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 25 }), async (program) => {
        const on = await run(program, true);
        const off = await run(program, false);
        expect(off.fastCalls).toBe(0);
        const strip = (o: Outcome) => (o.ok ? { ...o, fast: 0 } : o);
        expect(on.outcomes.map(strip)).toEqual(off.outcomes.map(strip));
        expect(on.snapshots.length).toBe(off.snapshots.length);
        for (let i = 0; i < on.snapshots.length; i++) expect(Buffer.from(on.snapshots[i]!.buffer).equals(Buffer.from(off.snapshots[i]!.buffer)), `records after step ${i}`).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('a large callSync on CPU 0 to a passive server runs its handler; one carrying capabilities is refused up front, changing nothing', async () => {
    const k = testKernel();
    k.spawn({ name: 'server' }, (p) => p.serve(p.createEndpoint({ name: 's' }), (m) => ({ type: m.type, data: m.large ?? m.bytes.subarray(0, m.length) })));
    await k.whenNamed('s');
    const c = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('s');
      const r = p.callSync(ch, { type: 1, data: new Uint8Array(1000).fill(3) });
      expect([r.type, r.large?.length, r.large?.[999]]).toEqual([1, 1000, 3]);
      // Capabilities in a large message are not handed to a handler directly: the call would
      // queue for the server's own loop, which runs on this very thread.
      const own = p.createEndpoint();
      const before = k.snapshot();
      expect(() => p.callSync(ch, { type: 2, data: new Uint8Array(8), caps: [own, own, own, own, own] })).toThrow(expect.objectContaining({ code: 'InvalidState' }) as Error);
      expect(k.snapshot()).toEqual(before);
      // The same message awaited is served by the server's loop.
      const r2 = await p.call(ch, { type: 3, data: new Uint8Array(1000).fill(7), caps: [own, own, own, own, own] });
      expect([r2.type, r2.large?.length, r2.large?.[999]]).toEqual([3, 1000, 7]);
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    await k.shutdown();
  });

  it('refuses a fastPath option that is not a boolean, creating nothing', () => {
    expect(() => testKernel({ fastPath: 1 as unknown as boolean })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }) as Error);
  });
});
