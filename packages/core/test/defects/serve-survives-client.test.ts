// Defect 3: Process.serve() rethrew InvalidState / ProcessNotFound from replyReceive, so one caller
// that timed out (or exited) while the handler ran crashed the server, and every other client then
// got ChannelClosed. A server must survive any one client, on CPU 0 and on a worker CPU.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { IpcError, type Kernel } from '@veridian/core';
import { testKernel } from '../support/kernel.ts';

const here = (f: string) => new URL(`../support/${f}`, import.meta.url);
const HOLD = 0x484f4c44;

/** A process's exit error as text: '' for none, a worker CPU's string as is, an `Error` as `String` shows it, anything else through `inspect`. */
const errorText = (error: unknown): string => (error == null ? '' : typeof error === 'string' ? error : error instanceof Error ? String(error) : inspect(error));

/** A fresh CPU-0 client makes one ordinary call to `name`: its reply type, or the error code. */
async function probeCall(k: Kernel, name: string): Promise<number | string> {
  let out: number | string = 'no result';
  const c = k.spawn({ name: 'probe' }, async (p) => {
    try {
      out = (await p.call(p.connect(name), { type: 10, data: new Uint8Array([1]) }, { timeout: 5_000_000_000 })).type;
    } catch (e) {
      out = e instanceof IpcError ? e.code : String(e);
    }
  });
  await c.exited;
  return out;
}

describe('defect 3: serve() survives a caller that gives up', () => {
  for (const exitAfterTimeout of [false, true]) {
    it(`CPU-0 server, worker caller times out during the handler${exitAfterTimeout ? ' and exits' : ' and calls again'}: the server keeps serving`, async () => {
      const k = testKernel({ cpus: 2 });
      const base = k.stats();
      const flags = new SharedArrayBuffer(8);
      const f = new Int32Array(flags);
      let workerPid = -1;
      const server = k.spawn({ name: 'server' }, (p) =>
        p.serve(p.createEndpoint({ name: 's' }), (m) => {
          if (m.type === HOLD) {
            // Hold the call until the caller has timed out (and, for the exit case, is gone).
            const deadline = performance.now() + 10_000;
            while (performance.now() < deadline && (Atomics.load(f, 0) === 0 || (exitAfterTimeout && k.stats().processes > 1))) Atomics.wait(f, 1, 0, 1);
          }
          return { type: m.type + 1, data: new Uint8Array() };
        }),
      );
      await k.whenNamed('s');
      const w = k.spawnWorker(here('timeout-caller.ts'), { name: 'caller', args: { name: 's', timeoutNs: 30_000_000, flags, exitAfterTimeout } });
      workerPid = w.pid;
      const wExit = await Promise.race([w.exited, new Promise<undefined>((r) => setTimeout(() => r(undefined), 20_000))]);
      expect(wExit, 'watchdog: the worker caller did not finish').toBeDefined();
      expect(wExit!.error).toBeUndefined();
      expect(wExit!.reason).toBe('returned');
      expect(workerPid).toBeGreaterThan(0);
      // Another client is still served.
      expect(await probeCall(k, 's')).toBe(11);
      const alive = await Promise.race([server.exited.then((e) => `server exited: ${e.reason} ${errorText(e.error)}`), new Promise<string>((r) => setTimeout(() => r('alive'), 20))]);
      expect(alive).toBe('alive');
      await k.shutdown();
      expect(k.stats()).toEqual(base);
    }, 40_000);
  }

  for (const exitAfterTimeout of [false, true]) {
    it(`worker server, CPU-0 caller times out during the handler${exitAfterTimeout ? ' and exits' : ' and calls again'}: the server keeps serving`, async () => {
      const k = testKernel({ cpus: 2 });
      const base = k.stats();
      const flags = new SharedArrayBuffer(12);
      const f = new Int32Array(flags);
      const server = k.spawnWorker(here('slow-serve-worker.ts'), { name: 'server', args: { name: 's', flags } });
      await k.whenNamed('s');
      let first = 'none';
      let second: number | string = 'not tried';
      const c = k.spawn({ name: 'client' }, async (p) => {
        const ch = p.connect('s');
        try {
          await p.call(ch, { type: HOLD, data: new Uint8Array([1]) }, { timeout: 30_000_000 });
          first = 'replied';
        } catch (e) {
          first = e instanceof IpcError ? e.code : String(e);
        }
        if (exitAfterTimeout) return;
        Atomics.store(f, 0, 1); // the held call may be answered now
        try {
          second = (await p.call(ch, { type: 5, data: new Uint8Array([5]) }, { timeout: 5_000_000_000 })).type;
        } catch (e) {
          second = e instanceof IpcError ? e.code : String(e);
        }
      });
      await c.exited;
      if (exitAfterTimeout) Atomics.store(f, 0, 1); // the caller is gone: now answer it
      expect(first).toBe('Timeout');
      if (!exitAfterTimeout) expect(second).toBe(6);
      // Give the server time to fail its reply to the departed caller, then check it still serves.
      for (let i = 0; i < 5000 && Atomics.load(f, 1) < 1; i++) await new Promise((r) => setTimeout(r, 1));
      await new Promise((r) => setTimeout(r, 50));
      expect(await probeCall(k, 's')).toBe(11);
      const alive = await Promise.race([server.exited.then((e) => `server exited: ${e.reason} ${errorText(e.error)}`), new Promise<string>((r) => setTimeout(() => r('alive'), 20))]);
      expect(alive).toBe('alive');
      await k.shutdown();
      expect(k.stats()).toEqual(base);
    }, 40_000);
  }
});
