// Defect 4: a client sending `data` whose `length` is negative (plain JS: { length: -1 }) passed
// encode (the info word said 127 bytes) and the server's decode threw after the call was dequeued,
// crashing worker and CPU-0 servers alike. v2: rejected at the sender with InvalidArgument, and the
// kernel validates the info word it delivers.
import { describe, expect, it } from 'vitest';
import { IpcError, MessageInfo, readSlot, writeSlot, type Kernel } from '@veridian/core';
import { testKernel } from '../support/kernel.ts';

const here = (f: string) => new URL(`../support/${f}`, import.meta.url);

const BAD_DATA: Array<[string, unknown]> = [
  ['{ length: -1 }', { length: -1 }],
  ['{ length: -64 }', { length: -64 }],
  ['{ length: 1.5 }', { length: 1.5 }],
  ['{ length: NaN }', { length: NaN }],
];

/** A fresh CPU-0 client sends each bad `data` to `name`, then one good call; returns what happened. */
async function clientRun(k: Kernel, name: string): Promise<string[]> {
  const out: string[] = [];
  const c = k.spawn({ name: 'client' }, async (p) => {
    const ch = p.connect(name);
    for (const [label, data] of BAD_DATA) {
      try {
        const r = await p.call(ch, { type: 1, data: data as Uint8Array }, { timeout: 5_000_000_000 });
        out.push(`${label}: resolved (length ${r.length})`);
      } catch (e) {
        out.push(`${label}: ${e instanceof IpcError ? e.code : String(e)}`);
      }
    }
    try {
      const r = await p.call(ch, { type: 20, data: new Uint8Array([4, 5]) }, { timeout: 5_000_000_000 });
      out.push(`good call: ${r.type} ${r.length} ${r.bytes[0]} ${r.bytes[1]}`);
    } catch (e) {
      out.push(`good call: ${e instanceof IpcError ? e.code : String(e)}`);
    }
  });
  await c.exited;
  return out;
}

const EXPECTED = [...BAD_DATA.map(([label]) => `${label}: InvalidArgument`), 'good call: 21 2 4 5'];

describe('defect 4: a negative data length is refused at the sender', () => {
  it('against a CPU-0 server: InvalidArgument, the server sees only the good call and survives', async () => {
    const k = testKernel();
    const lengths: number[] = [];
    const server = k.spawn({ name: 'server' }, (p) =>
      p.serve(p.createEndpoint({ name: 's' }), (m) => {
        lengths.push(m.length);
        return { type: m.type + 1, data: m.bytes.slice(0, Math.min(m.length, 64)) };
      }),
    );
    await k.whenNamed('s');
    expect(await clientRun(k, 's')).toEqual(EXPECTED);
    expect(lengths).toEqual([2]);
    const alive = await Promise.race([server.exited.then((e) => `exited ${e.reason}`), new Promise((r) => setTimeout(() => r('alive'), 20))]);
    expect(alive).toBe('alive');
    await k.shutdown();
  });

  it('against a worker server: InvalidArgument, the server sees only the good call and survives', async () => {
    const k = testKernel({ cpus: 2 });
    const base = k.stats();
    const flags = new SharedArrayBuffer(12);
    const f = new Int32Array(flags);
    const server = k.spawnWorker(here('slow-serve-worker.ts'), { name: 'server', args: { name: 's', flags } });
    await k.whenNamed('s');
    expect(await clientRun(k, 's')).toEqual(EXPECTED);
    expect(Atomics.load(f, 1), 'requests the worker server took').toBe(1);
    expect(Atomics.load(f, 2), 'length of the last request').toBe(2);
    const alive = await Promise.race([server.exited.then((e) => `exited ${e.reason}`), new Promise((r) => setTimeout(() => r('alive'), 20))]);
    expect(alive).toBe('alive');
    await k.shutdown();
    expect(k.stats()).toEqual(base);
  }, 30_000);

  it('the kernel delivers the info word it checked: a frame rewritten to claim 127 bytes after the call changes nothing', async () => {
    const k = testKernel();
    let gate!: () => void;
    const open = new Promise<void>((r) => (gate = r));
    let got: number | string = 'none';
    let callResult = 'pending';
    k.spawn({ name: 'server' }, async (p) => {
      const ep = p.createEndpoint({ name: 's' });
      await open;
      try {
        const m = await p.receive(ep);
        got = m.length;
        p.reply(m.sender, { type: 0, data: new Uint8Array() });
      } catch (e) {
        got = e instanceof IpcError ? e.code : String(e);
      }
    });
    await k.whenNamed('s');
    const c = k.spawn({ name: 'client' }, async (p) => {
      const pending = p.call(p.connect('s'), { type: 1, data: new Uint8Array([1, 2, 3]) });
      const info = k.arch.fastPath.layout.info;
      const word = readSlot(p.frame, info);
      writeSlot(p.frame, info, (word & ~MessageInfo.LENGTH_MASK) | 127);
      gate();
      try {
        await pending;
        callResult = 'ok';
      } catch (e) {
        callResult = e instanceof IpcError ? e.code : String(e);
      }
    });
    await c.exited;
    await k.shutdown();
    // Either the message is delivered as it was checked (3 bytes), or the kernel refuses the forged
    // info word and the call fails; the server never sees a length the sender did not send.
    if (callResult === 'ok') expect(got).toBe(3);
    else expect({ got, callResult }).toEqual({ got: 'none', callResult: 'InvalidArgument' });
  });
});
