// Defect 11: a worker module that leaves a timer (or an open handle) running: its process was
//   destroyed but the thread lived on; exited, kill(), shutdown() and idle() never settled and the
//   CPU slot was lost.
// Defect 13: a kill request was looked at only when a worker blocked, so a worker server with a
//   backlog was always terminated after the 100 ms grace; and #checkAlive resetting the futex word
//   erased kill's wake-up. A kill must be seen at the next kernel entry; the worker then unwinds and
//   reports reason 'killed' itself, cleanly.
import { describe, expect, it } from 'vitest';
import { IpcError, type ProcessExit } from '@veridian/core';
import { testKernel } from '../support/kernel.ts';

const here = (f: string) => new URL(`../support/${f}`, import.meta.url);
const K = { READY: 0, GO: 1, SERVED_AFTER_GO: 2, UNWOUND: 3, ERRNO: 4 } as const;

/** Resolves with `p`'s value, or with `undefined` after `ms` (the watchdog). */
function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), ms)))]).finally(() => clearTimeout(timer));
}

describe('defect 11: a worker that leaves its thread busy is still terminated', () => {
  for (const keep of ['timer', 'socket'] as const) {
    it(`a worker returning with a ${keep} left open: exited, idle() and shutdown() settle and the CPU slot comes back`, async () => {
      const k = testKernel({ cpus: 2 });
      const base = k.stats();
      const w = k.spawnWorker(here('lingering-worker.ts'), { name: 'lingering', args: { keep, block: false } });
      const exit = await within(w.exited, 15_000);
      expect(exit, `watchdog: exited did not settle within 15 s (the ${keep} keeps the thread alive)`).toMatchObject({ reason: 'returned' });
      expect(await within(w.kill(), 5_000), 'kill() after exit settles').toBeDefined();
      expect(await within(k.idle().then(() => 'idle'), 5_000)).toBe('idle');
      expect(await within(k.shutdown().then(() => 'down'), 5_000)).toBe('down');
      // The only worker CPU is free again.
      const again = k.spawnWorker(here('identity-worker.ts'), { name: 'again' });
      expect(await within(again.exited, 15_000)).toMatchObject({ reason: 'returned' });
      expect(k.stats()).toEqual(base);
    }, 60_000);

    it(`killing a worker blocked in the kernel with a ${keep} left open: kill(), idle(), shutdown() settle; the CPU slot comes back`, async () => {
      const k = testKernel({ cpus: 2 });
      const base = k.stats();
      const w = k.spawnWorker(here('lingering-worker.ts'), { name: 'lingering', args: { keep, block: true } });
      for (let i = 0; i < 15_000 && k.stats().endpoints === 0; i++) await new Promise((r) => setTimeout(r, 1));
      expect(k.stats().endpoints, 'the worker never started').toBe(1);
      expect(await within(w.kill(), 15_000), 'watchdog: kill() did not settle').toMatchObject({ reason: 'killed' });
      expect(await within(k.idle().then(() => 'idle'), 5_000)).toBe('idle');
      expect(await within(k.shutdown().then(() => 'down'), 5_000)).toBe('down');
      const again = k.spawnWorker(here('identity-worker.ts'), { name: 'again' });
      expect(await within(again.exited, 15_000)).toMatchObject({ reason: 'returned' });
      expect(k.stats()).toEqual(base);
    }, 60_000);
  }
});

describe('defect 13: a kill is seen at the worker\'s next kernel entry', () => {
  it('a worker server with a backlog of queued calls takes none of them after kill(); it unwinds itself', async () => {
    const k = testKernel({ cpus: 2 });
    const base = k.stats();
    const flags = new SharedArrayBuffer(20);
    const f = new Int32Array(flags);
    const server = k.spawnWorker(here('kill-probe-worker.ts'), { name: 'server', args: { name: 's', flags } });
    await k.whenNamed('s');
    // Six CPU-0 callers queue on the server's endpoint while it spins in its own code.
    const outcomes: string[] = [];
    const clients = Array.from({ length: 6 }, (_, i) =>
      k.spawn({ name: `c${i}` }, async (p) => {
        try {
          await p.call(p.connect('s'), { type: i, data: new Uint8Array() }, { timeout: 10_000_000_000 });
          outcomes.push('replied');
        } catch (e) {
          outcomes.push(e instanceof IpcError ? e.code : String(e));
        }
      }),
    );
    await new Promise((r) => setTimeout(r, 50));
    const killed = server.kill();
    Atomics.store(f, K.GO, 1); // now the server enters the kernel: that entry must see the kill
    const exit = await within(killed, 15_000);
    await Promise.all(clients.map((c) => c.exited));
    await k.shutdown();
    expect(exit, 'watchdog: kill() did not settle').toMatchObject({ reason: 'killed' });
    expect(Atomics.load(f, K.SERVED_AFTER_GO), 'queued calls the killed server still took').toBe(0);
    expect(Atomics.load(f, K.UNWOUND), 'the worker unwound itself (was not terminated)').toBe(1);
    expect(outcomes.sort()).toEqual(Array(6).fill('ChannelClosed'));
    expect(k.stats()).toEqual(base);
  }, 40_000);

  it('a kill that arrives while the worker runs its own code is not lost when it next blocks', async () => {
    const k = testKernel({ cpus: 2 });
    const base = k.stats();
    const flags = new SharedArrayBuffer(20);
    const f = new Int32Array(flags);
    const server = k.spawnWorker(here('kill-probe-worker.ts'), { name: 'server', args: { name: 's', flags } });
    await k.whenNamed('s');
    const killed = server.kill();
    Atomics.store(f, K.GO, 1); // the server now blocks in receive on an empty endpoint
    const exit: ProcessExit | undefined = await within(killed, 15_000);
    await k.shutdown();
    expect(exit, 'watchdog: kill() did not settle').toMatchObject({ reason: 'killed' });
    expect(Atomics.load(f, K.UNWOUND), 'the worker unwound itself (was not terminated)').toBe(1);
    expect(Atomics.load(f, K.SERVED_AFTER_GO)).toBe(0);
    expect(k.stats()).toEqual(base);
  }, 40_000);
});
