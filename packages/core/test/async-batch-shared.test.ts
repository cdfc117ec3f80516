// Batches on a kernel that has a worker CPU: with another CPU present every ring operation takes
// the shared protocol (compare-and-swap claims, atomic sequence words), so these run sendBatch
// and receiveBatch through `ipc/async-batch.ts` from CPU 0 while a worker idles in the kernel.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IpcError, Rights, createMessageBuffer, type Kernel, type Process, type ProcessHandle } from '@veridian/core';
import { testKernel } from './support/kernel.ts';

const msg = (type: number, n = 8) => ({ type, data: Uint8Array.from({ length: n }, (_, i) => (type * 3 + i) & 0xff) });

let k: Kernel;
let idle: ProcessHandle;

beforeEach(() => {
  k = testKernel({ cpus: 2 });
  // Waits in the kernel until killed: its CPU makes the machine shared.
  idle = k.spawnWorker(new URL('./support/lingering-worker.ts', import.meta.url), { name: 'idle', args: { keep: 'timer', block: true } });
});

afterEach(async () => {
  expect(await idle.kill()).toMatchObject({ reason: 'killed' });
  expect(k.stats().rings).toBe(0);
  await k.shutdown();
});

async function inProcess(body: (p: Process) => void): Promise<void> {
  const exit = await k.spawn({ name: 't' }, body).exited;
  if (exit.reason !== 'returned') throw exit.error;
}

describe('async batches with a worker CPU present (shared ring protocol)', () => {
  it('receiveBatch takes plain runs around a message with a capability, in order, minting the capability', () =>
    inProcess((p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 8 }));
      const ep = p.createEndpoint();
      for (const m of [msg(0), msg(1), { ...msg(2), caps: [ep] }, msg(3), msg(4)]) expect(ch.trySend(m)).toBe(true);
      const out = Array.from({ length: 8 }, () => createMessageBuffer());
      expect(ch.receiveBatch(out)).toBe(5);
      expect(out.slice(0, 5).map((m) => m.type)).toEqual([0, 1, 2, 3, 4]);
      for (let i = 0; i < 5; i++) expect(out[i]!.bytes.subarray(0, out[i]!.length)).toEqual(msg(i).data);
      expect(out.slice(0, 5).map((m) => m.capCount)).toEqual([0, 0, 1, 0, 0]);
      // The capability arrived as a new handle of this process to the same endpoint.
      expect(p.validate(out[2]!.caps[0]!, Rights.SEND)).toBe(true);
      expect(ch.receiveBatch(out)).toBe(0);
      expect(ch.stats()).toMatchObject({ messages: 5, queued: 0 });
    }));

  it('sendBatch fills a ring to the brim and no further; receiveBatch drains it whole, in order, across the wrap', () =>
    inProcess((p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 4 }));
      const out = Array.from({ length: 8 }, () => createMessageBuffer());
      let next = 0;
      for (let lap = 0; lap < 5; lap++) {
        const sent = ch.sendBatch(Array.from({ length: 6 }, (_, i) => msg(next + i)));
        expect(sent).toBe(4);
        expect(ch.receiveBatch(out.slice(0, 3))).toBe(3);
        expect(ch.receiveBatch(out.slice(3))).toBe(1);
        expect(out.slice(0, 4).map((m) => m.type)).toEqual([next, next + 1, next + 2, next + 3]);
        next += 4;
      }
      expect(ch.receiveBatch(out)).toBe(0);
      expect(ch.stats()).toMatchObject({ messages: 20, queued: 0 });
    }));

  it('a closed channel drains through receiveBatch, then says ChannelClosed', () =>
    inProcess((p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 8 }));
      expect(ch.sendBatch([msg(7), msg(8), msg(9)])).toBe(3);
      ch.close();
      const out = Array.from({ length: 2 }, () => createMessageBuffer());
      expect(ch.receiveBatch(out)).toBe(2);
      expect(ch.receiveBatch(out)).toBe(1);
      expect(out[0]!.type).toBe(9);
      let code = '';
      try {
        ch.receiveBatch(out);
      } catch (e) {
        code = e instanceof IpcError ? e.code : String(e);
      }
      expect(code).toBe('ChannelClosed');
    }));
});
