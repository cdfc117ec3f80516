// A message's `data` is measured through the typed-array intrinsics on every path: an own
// `length` getter on the array is user code that may lie (-1 packed as a 127-byte info word,
// a small claim hid a large payload) and is never consulted; an object that only inherits from
// `Uint8Array.prototype`, or a `Proxy` of an array, is `InvalidArgument` (the first was a `TypeError`).
import { describe, expect, it } from 'vitest';
import { IpcError, messagePayload, type Kernel, type Process } from '../src/index.js';
import { testKernel } from './support/kernel.js';

const CLAIMS = [-1, 0, 2, 100, 1e9, NaN];

/** A real array of `n` bytes `1..n` whose own `length` claims `claims`; `reads` counts the getter's calls. */
function lying(n: number, claims: number, reads: { n: number }): Uint8Array {
  const d = Uint8Array.from({ length: n }, (_, i) => i + 1);
  Object.defineProperty(d, 'length', { get: () => (reads.n++, claims) });
  return d;
}

const fake = () => Object.create(Uint8Array.prototype) as Uint8Array;
/** A `Proxy` of a real array: `instanceof Uint8Array` holds, but its every read is a trap. */
const proxied = () => new Proxy(new Uint8Array(4), {}) as Uint8Array;

function code(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return e instanceof IpcError ? e.code : `non-IpcError: ${String(e)}`;
  }
}

async function acode(p: () => Promise<unknown>): Promise<string> {
  try {
    await p();
    return 'ok';
  } catch (e) {
    return e instanceof IpcError ? e.code : `non-IpcError: ${String(e)}`;
  }
}

async function run(k: Kernel, body: (p: Process) => Promise<void> | void): Promise<void> {
  const exit = await k.spawn({ name: 'client' }, body).exited;
  await k.shutdown();
  if (exit.reason !== 'returned') throw exit.error;
}

/** A kernel with a passive echo server `echo` (its response's data may be replaced by `respond`). */
async function echoKernel(respond?: (bytes: Uint8Array) => Uint8Array): Promise<Kernel> {
  const k = testKernel();
  k.spawn({ name: 'echo' }, async (p) => {
    const ep = p.createEndpoint({ name: 'echo' });
    await p.serve(ep, (m) => ({ type: m.type, data: respond ? respond(messagePayload(m).slice()) : messagePayload(m).slice() }));
  });
  await k.whenNamed('echo');
  return k;
}

describe('hostile: a lying data.length', () => {
  it('an async send carries the real bytes whatever the getter claims; a fake array is InvalidArgument and queues nothing', async () => {
    const k = testKernel();
    const reads = { n: 0 };
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 8 }));
      for (const claims of CLAIMS) {
        expect(ch.trySend({ type: 1, data: lying(4, claims, reads) })).toBe(true);
        const m = ch.tryReceive()!;
        expect([m.length, ...m.bytes.subarray(0, 5)]).toEqual([4, 1, 2, 3, 4, 0]);
      }
      expect(code(() => ch.trySend({ type: 1, data: fake() }))).toBe('InvalidArgument');
      expect(code(() => ch.trySend({ type: 1, data: proxied() }))).toBe('InvalidArgument');
      expect(ch.stats().queued).toBe(0);
    });
    expect(reads.n).toBe(0);
  });

  it('a topic publish carries the real bytes; a fake array is InvalidArgument', async () => {
    const k = testKernel();
    const reads = { n: 0 };
    await run(k, (p) => {
      const topic = p.topic(p.createTopic({ bufferSize: 8 }));
      const sub = topic.subscribe();
      topic.publish({ type: 2, data: lying(3, -1, reads) });
      const m = sub.tryReceive()!;
      expect([m.length, ...m.bytes.subarray(0, 3)]).toEqual([3, 1, 2, 3]);
      expect(code(() => topic.publish({ type: 2, data: fake() }))).toBe('InvalidArgument');
      expect(sub.tryReceive()).toBe(null);
      sub.unsubscribe();
    });
    expect(reads.n).toBe(0);
  });

  it('a register call delivers the real bytes (a negative claim no longer packs a 127-byte info word)', async () => {
    const k = await echoKernel();
    const reads = { n: 0 };
    await run(k, async (p) => {
      const ch = p.connect('echo');
      for (const claims of CLAIMS) {
        const r = await p.call(ch, { type: 3, data: lying(5, claims, reads) });
        expect(Array.from(messagePayload(r))).toEqual([1, 2, 3, 4, 5]);
      }
      expect(await acode(() => p.call(ch, { type: 3, data: fake() }))).toBe('InvalidArgument');
      expect(await acode(() => p.call(ch, { type: 3, data: proxied() }))).toBe('InvalidArgument');
    });
    expect(reads.n).toBe(0);
  });

  it('a large payload claiming to be small travels as the large message it is', async () => {
    const k = await echoKernel();
    const reads = { n: 0 };
    await run(k, async (p) => {
      const ch = p.connect('echo');
      const r = await p.call(ch, { type: 4, data: lying(300, 4, reads) });
      expect(r.length).toBe(300);
      expect(Array.from(messagePayload(r))).toEqual(Array.from({ length: 300 }, (_, i) => (i + 1) & 0xff));
    });
    expect(reads.n).toBe(0);
  });

  it("a passive server's response is measured the same way", async () => {
    const reads = { n: 0 };
    const k = await echoKernel((bytes) => lying(bytes.length, -1, reads));
    await run(k, async (p) => {
      const r = await p.call(p.connect('echo'), { type: 5, data: Uint8Array.of(9, 9) });
      expect([r.length, ...messagePayload(r)]).toEqual([2, 1, 2]);
    });
    expect(reads.n).toBe(0);
  });
});
