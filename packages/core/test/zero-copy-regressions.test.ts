import { describe, expect, it } from 'vitest';
import { ManualClock, SharedBuffer, type Process } from '../src/index.js';
import { testKernel } from './support/kernel.js';

// Regressions found by the model-based test (zero-copy-model.test.ts).
const PAGE = 4096;
const EMPTY = new Uint8Array(0);
const code = async (f: () => unknown): Promise<string | undefined> => {
  try {
    await f();
    return 'ok';
  } catch (e) {
    return (e as { code?: string }).code;
  }
};

describe('zero-copy regressions', () => {
it('while A\'s Move of a shared frame is queued, C still reads and unmaps its own mapping of that frame (parking is per mapping, not per frame)', async () => {
  const clock = new ManualClock();
  const k = testKernel({ frames: 256, clock });
  let c!: Process; let cva = 0;
  let step!: () => void; const stepP = new Promise<void>((r) => (step = r));
  let done!: () => void; const doneP = new Promise<void>((r) => (done = r));
  const hc = k.spawn({ name: 'c', priority: 10 }, async (p) => { c = p; cva = (await p.receive(p.createEndpoint({ name: 'c' }))).buffer!.va; step(); await doneP; });
  const hb = k.spawn({ name: 'b', priority: 10 }, async (p) => { p.createEndpoint({ name: 'b' }); await doneP; });
  const ha = k.spawn({ name: 'a', priority: 10 }, async (p) => {
    const va = p.memory.map(PAGE);
    p.memory.write(va, Uint8Array.of(7));
    await p.send(p.connect('c'), { type: 1, data: EMPTY, buffer: new SharedBuffer(va, PAGE), transfer: 'share' });
    await stepP;                                            // C holds the frame, LAZY|COW, untouched
    const pending = p.send(p.connect('b'), { type: 1, data: EMPTY, buffer: new SharedBuffer(va, PAGE), transfer: 'move' }, { timeout: 1000 });
    const read = await code(() => c.memory.read(cva, 1));
    const unmap = await code(() => c.memory.unmap(cva, PAGE));
    clock.advance(1000);
    await code(() => pending);
    done();
    expect([read, unmap]).toEqual(['ok', 'ok']);
  });
  const r = await Promise.all([ha.exited, hb.exited, hc.exited]);
  expect(r.map((x) => [x.reason, String((x.error as Error | undefined) ?? '')])).toEqual(r.map(() => ['returned', '']));
});

it('a timed-out Copy gives its frames back last taken first: the frame allocator is exactly as before', async () => {
  const clock = new ManualClock();
  const k = testKernel({ frames: 96, clock });
  let stop!: () => void;
  const server = k.spawn({ name: 'server', priority: 10 }, async (p) => { p.createEndpoint({ name: 'zc' }); await new Promise<void>((r) => (stop = r)); });
  const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
    const va = p.memory.map(2 * PAGE);
    const ch = p.connect('zc');
    const before = k.snapshot().frames;
    const pending = p.send(ch, { type: 1, data: EMPTY, buffer: new SharedBuffer(va, 2 * PAGE), transfer: 'copy' }, { timeout: 1000 });
    clock.advance(1000);
    expect(await code(() => pending)).toBe('Timeout');
    stop();
    expect(Array.from(k.snapshot().frames)).toEqual(Array.from(before));
  });
  const r = await Promise.all([server.exited, client.exited]);
  expect(r.map((x) => [x.reason, String((x.error as Error | undefined) ?? '')])).toEqual(r.map(() => ['returned', '']));
});
});
