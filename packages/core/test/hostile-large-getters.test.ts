// A large message's fields are read before the kernel lock: a getter on the message (or its
// capability array) is user code — it may make a syscall of its own, or take its time — and
// none runs while a CPU holds the kernel (a syscall from one used to be refused as "kernel
// entered twice" once a worker CPU was attached, and a slow one stalled every other CPU).
import { describe, expect, it } from 'vitest';
import { IpcError, ObjectKind, messagePayload, type Kernel, type Process } from '../src/index.js';
import { testKernel } from './support/kernel.js';

const payload = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7) & 0xff);

async function run(k: Kernel, body: (p: Process) => Promise<void> | void): Promise<void> {
  const exit = await k.spawn({ name: 'client' }, body).exited;
  if (exit.reason !== 'returned') throw exit.error;
}

/** A kernel with a passive echo server `echo`; `respond` may replace its response object. */
async function echoKernel(respond?: (p: Process, m: { type: number; data: Uint8Array }) => object): Promise<Kernel> {
  const k = testKernel();
  // A worker CPU attached, so the kernel lock is really taken (with CPU 0 alone it is not needed).
  k.spawnWorker(new URL('./support/echo-worker.ts', import.meta.url), { name: 'worker', args: { name: 'wecho' } });
  await k.whenNamed('wecho');
  k.spawn({ name: 'echo' }, async (p) => {
    const ep = p.createEndpoint({ name: 'echo' });
    await p.serve(ep, (m) => {
      const r = { type: m.type, data: messagePayload(m).slice() };
      return (respond ? respond(p, r) : r) as never;
    });
  });
  await k.whenNamed('echo');
  return k;
}

describe('hostile: getters of a large message run outside the kernel lock', () => {
  it('a caps getter that makes a syscall does not find the kernel entered', async () => {
    const k = await echoKernel();
    const before = k.stats().freeFrames;
    await run(k, async (p) => {
      const ch = p.connect('echo');
      let inspected = -1;
      const message = {
        type: 1,
        data: payload(300),
        get caps() {
          inspected = p.inspect(ch).kind;
          return undefined;
        },
      };
      const r = await p.call(ch, message as never);
      expect(inspected).toBe(ObjectKind.Endpoint);
      expect(Array.from(messagePayload(r))).toEqual(Array.from(payload(300)));
    });
    expect(k.stats().freeFrames).toBe(before);
    await k.shutdown();
  });

  it('a data getter that sends a large message itself: every outcome is a whole message or an IpcError, nothing leaks', async () => {
    const k = await echoKernel();
    const before = k.stats().freeFrames;
    await run(k, async (p) => {
      const ch = p.connect('echo');
      const inner: Promise<unknown>[] = [];
      const message = {
        type: 2,
        get data() {
          // Re-entrant: the outer message is being read.
          inner.push(p.call(ch, { type: 3, data: payload(200) }).then((m) => Array.from(messagePayload(m)), (e: unknown) => e));
          return payload(400);
        },
      };
      const outer = await p.call(ch, message as never).then((m) => Array.from(messagePayload(m)), (e: unknown) => e);
      const all = [outer, ...(await Promise.all(inner))];
      for (const x of all) {
        if (Array.isArray(x)) expect([Array.from(payload(200)), Array.from(payload(400))]).toContainEqual(x);
        else expect(x).toBeInstanceOf(IpcError);
      }
      expect(all.some(Array.isArray)).toBe(true);
    });
    expect(k.stats().freeFrames).toBe(before);
    await k.shutdown();
  });

  it("a passive server's large response with a getter that makes a syscall is delivered", async () => {
    let seen = -1;
    const k = await echoKernel((p, r) => ({
      type: r.type,
      get data() {
        seen = p.inspect(p.connect('echo')).kind;
        return payload(500);
      },
    }));
    await run(k, async (p) => {
      const r = await p.call(p.connect('echo'), { type: 4, data: Uint8Array.of(1) });
      expect(Array.from(messagePayload(r))).toEqual(Array.from(payload(500)));
    });
    expect(seen).toBe(ObjectKind.Endpoint);
    await k.shutdown();
  });
});

describe('hostile: a getter that starts another blocking operation of the same process', () => {
  /** A CPU-0 echo server with a receive loop (its callers wait: the call stays pending). */
  async function loopKernel(): Promise<Kernel> {
    const k = testKernel();
    k.spawn({ name: 'srv' }, async (p) => {
      const ep = p.createEndpoint({ name: 'srv' });
      let m = await p.receive(ep);
      for (;;) m = await p.replyReceive(m.sender, { type: m.type, data: messagePayload(m).slice() }, ep);
    });
    await k.whenNamed('srv');
    return k;
  }

  for (const size of [8, 300]) {
    it(`is refused with InvalidState while the first (${size} bytes) goes through whole`, async () => {
      const k = await loopKernel();
      const before = k.stats().freeFrames;
      await run(k, async (p) => {
        const ch = p.connect('srv');
        const inner: Promise<unknown>[] = [];
        // Every read of the message starts another call (the first reads run before the
        // pending check, the later ones after it, while the frame is being written).
        const message = {
          get type() {
            inner.push(p.call(ch, { type: 9, data: Uint8Array.of(1) }).then(() => 'ok', (e: unknown) => (e instanceof IpcError ? e.code : String(e))));
            return 5;
          },
          get data() {
            inner.push(p.call(ch, { type: 9, data: Uint8Array.of(1) }).then(() => 'ok', (e: unknown) => (e instanceof IpcError ? e.code : String(e))));
            return payload(size);
          },
        };
        const r = await p.call(ch, message as never);
        expect([r.type, ...messagePayload(r)]).toEqual([5, ...payload(size)]);
        const outcomes = await Promise.all(inner);
        // The reads before the pending check may start one call that is then served; every
        // later one is refused.
        expect(outcomes.filter((o) => o !== 'ok').every((o) => o === 'InvalidState')).toBe(true);
        expect(outcomes.filter((o) => o === 'InvalidState').length).toBeGreaterThan(0);
      });
      expect(k.stats().freeFrames).toBe(before);
      await k.shutdown();
    });
  }
});
