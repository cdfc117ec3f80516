// Defect 2: CPU 0's wake-ring entry of a killed process was applied to the next process that reused
// its record: it was queued twice, dispatched while blocked, and its next call resolved with its own
// request as the "reply" (sender 0, flags 0); the server's real reply then failed.
import { describe, expect, it } from 'vitest';
import { IpcError, MessageFlags } from '@veridian/core';
import { testKernel } from '../support/kernel.ts';

const here = (f: string) => new URL(`../support/${f}`, import.meta.url);
const HOLD = 0x484f4c44;
const F = { RECEIVED: 0, GO: 1, REPLIED: 2, ERRORS: 3 } as const;

describe('defect 2: a stale wake-up never reaches the process that reuses the record', () => {
  it('kill a CPU-0 caller whose reply wake-up is still in the wake ring, reuse its record: every call of the new process gets its own true reply', async () => {
    const k = testKernel({ cpus: 2 });
    const base = k.stats();
    const flags = new SharedArrayBuffer(16);
    const f = new Int32Array(flags);
    const server = k.spawnWorker(here('hold-reply-worker.ts'), { name: 'server', args: { name: 's', flags } });
    await k.whenNamed('s');
    const problems: string[] = [];
    for (let round = 0; round < 10; round++) {
      Atomics.store(f, F.RECEIVED, 0);
      Atomics.store(f, F.GO, 0);
      Atomics.store(f, F.REPLIED, 0);
      const a = k.spawn({ name: 'a' }, (p) => p.call(p.connect('s'), { type: HOLD, data: new Uint8Array([0xaa]) }));
      for (let i = 0; i < 10_000 && Atomics.load(f, F.RECEIVED) === 0; i++) await new Promise((r) => setTimeout(r, 1));
      expect(Atomics.load(f, F.RECEIVED), 'the server never received the held call').toBe(1);
      // Synchronously, so CPU 0 cannot drain its wake ring in between: let the server reply (its
      // wake-up of `a` goes into the ring), kill `a`, and spawn `b`, which may reuse a's record.
      Atomics.store(f, F.GO, 1);
      Atomics.notify(f, F.GO);
      Atomics.wait(f, F.REPLIED, 0, 10_000);
      void a.kill();
      const b = k.spawn({ name: 'b' }, async (p) => {
        const ch = p.connect('s');
        for (let i = 0; i < 30; i++) {
          if (i % 3 === 0) await p.yield();
          let r;
          try {
            r = await p.call(ch, { type: 1000 + i, data: new Uint8Array([i, round]) }, { timeout: 5_000_000_000 });
          } catch (e) {
            problems.push(`round ${round} call ${i}: ${e instanceof IpcError ? e.code : String(e)}`);
            continue;
          }
          const got = [r.type, r.sender, r.flags & MessageFlags.REPLY, r.length, r.bytes[0], r.bytes[1]];
          const want = [1001 + i, server.pid, MessageFlags.REPLY, 2, i, round];
          if (JSON.stringify(got) !== JSON.stringify(want)) problems.push(`round ${round} call ${i}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
        }
      });
      const exit = await Promise.race([b.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 10_000))]);
      if (!exit) problems.push(`round ${round}: b hung`);
      else if (exit.reason !== 'returned') problems.push(`round ${round}: b ${exit.reason} ${String(exit.error)}`);
      await a.exited;
    }
    const serverErrors = Atomics.load(f, F.ERRORS);
    await server.kill();
    await k.shutdown();
    expect(problems).toEqual([]);
    expect(serverErrors, 'replies the server could not deliver').toBe(0);
    expect(k.stats()).toEqual(base);
  }, 60_000);
});
