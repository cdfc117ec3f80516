// Stress tests of the async-channels issue: 1 000 000 messages from two producer workers to one
// consumer worker (single sends, and batches), the same through a topic to four subscriber
// workers, and with CPU 0 as one of the producers. Every message is checked: none lost, none
// duplicated, FIFO per producer. No speed is asserted: a watchdog turns a hang into a failure.
import { describe, expect, it } from 'vitest';
import { Rights, type Kernel, type Process, type ProcessHandle } from '@veridian/core';
import { testKernel } from './support/kernel.ts';
import { CTL, message, type AsyncWorkerArgs } from './support/async-worker.ts';

const worker = new URL('./support/async-worker.ts', import.meta.url);
const TOTAL = 1_000_000;

function watchdog<T>(p: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)))]).finally(() => clearTimeout(timer));
}

interface Setup {
  k: Kernel;
  ctl: Int32Array;
  workers: ProcessHandle[];
  owner: ProcessHandle;
  release: () => void;
}

/**
 * Starts the workers, then a CPU-0 owner process that creates the ring (`create`) and grants
 * each worker a capability (its handle lands in the control array); the owner lives until
 * `release`. `cpu0` runs in the owner after the grants (a CPU-0 producer).
 */
function setup(specs: Array<Omit<AsyncWorkerArgs, 'ctl' | 'index'> & { wait?: 'adaptive' | 'spin' | 'park' }>, create: (p: Process) => number, cpu0?: (p: Process, h: number, ctl: Int32Array) => Promise<void>): Setup {
  const k = testKernel({ cpus: 8, processes: 16 });
  const ctl = new Int32Array(new SharedArrayBuffer(CTL.WORDS * 4));
  const workers = specs.map((s, index) => k.spawnWorker(worker, { name: `${s.role}${index}`, wait: s.wait ?? 'adaptive', args: { ...s, index, ctl: ctl.buffer } }));
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const owner = k.spawn({ name: 'owner' }, async (p) => {
    const h = create(p);
    workers.forEach((w, i) => {
      k.processCapability(p.pid, w.pid);
      const rights = specs[i]!.role === 'producer' || specs[i]!.role === 'publisher' ? Rights.SEND : Rights.RECEIVE;
      Atomics.store(ctl, CTL.HANDLE + i, p.grant(h, w.pid, rights));
      Atomics.notify(ctl, CTL.HANDLE + i);
    });
    if (cpu0) await cpu0(p, h, ctl);
    await released;
  });
  return { k, ctl, workers, owner, release };
}

async function finish(s: Setup, what: string, receivers: number[]): Promise<void> {
  const t0 = performance.now();
  const exits = await watchdog(Promise.all(s.workers.map((w) => w.exited)), 170_000, () => `${what} watchdog: received ${receivers.map((i) => s.ctl[CTL.RECEIVED + i]).join(', ')} after ${Math.round(performance.now() - t0)} ms — a hang`);
  s.release();
  await s.owner.exited;
  const problems = exits.filter((e) => e.reason !== 'returned').map((e) => `${e.name}: ${e.reason} ${e.error instanceof Error ? e.error.message : JSON.stringify(e.error ?? '')}`);
  expect(problems).toEqual([]);
  for (let i = 0; i < s.workers.length; i++) expect(s.ctl[CTL.RESULT + i], `worker ${i}`).toBe(1);
  expect(s.k.stats().rings).toBe(0);
  await s.k.shutdown();
}

const go = (ctl: Int32Array) => {
  Atomics.store(ctl, CTL.GO, 1);
  Atomics.notify(ctl, CTL.GO);
};

describe('async stress', { timeout: 180_000 }, () => {
  it('two producer workers → one consumer worker, 1 000 000 messages: none lost or duplicated, FIFO per producer', async () => {
    const half = TOTAL / 2;
    const s = setup(
      [
        { role: 'consumer', id: 0, count: TOTAL, producers: 2, batch: 0 },
        { role: 'producer', id: 0, count: half, producers: 0, batch: 0 },
        { role: 'producer', id: 1, count: half, producers: 0, batch: 16 },
      ],
      (p) => p.createChannel({ type: 'async', bufferSize: 256, overflow: 'block' }),
      (_p, _h, ctl) => Promise.resolve(go(ctl)),
    );
    await finish(s, 'channel', [0]);
  });

  // Consumers racing for the same messages: receiveBatch claims a run of slots with one
  // compare-and-swap of the tail, so a run claimed twice or a slot freed before it was read
  // shows here as a duplicate, a gap or a reordering.
  it('two producer workers → two consumer workers taking runs (receiveBatch): every message taken exactly once, in order per consumer', async () => {
    const per = 200_000;
    const seen = new SharedArrayBuffer(2 * Math.ceil(per / 32) * 4);
    const shared = { seen, perProducer: per };
    const s = setup(
      [
        { role: 'consumer', id: 0, count: 2 * per, producers: 2, batch: 16, ...shared },
        { role: 'consumer', id: 0, count: 2 * per, producers: 2, batch: 7, ...shared },
        { role: 'producer', id: 0, count: per, producers: 0, batch: 0 },
        { role: 'producer', id: 1, count: per, producers: 0, batch: 16 },
      ],
      (p) => p.createChannel({ type: 'async', bufferSize: 64, overflow: 'block' }),
      (_p, _h, ctl) => Promise.resolve(go(ctl)),
    );
    await finish(s, 'two-consumer channel', [0, 1]);
    const bits = new Int32Array(seen);
    let missing = 0;
    for (let id = 0; id < 2; id++) for (let seq = 0; seq < per; seq++) if ((bits[id * Math.ceil(per / 32) + (seq >>> 5)]! & (1 << (seq & 31))) === 0) missing++;
    expect(missing).toBe(0);
    // Both consumers took part (the race this test is about happened).
    expect(s.ctl[CTL.RECEIVED]! + s.ctl[CTL.RECEIVED + 1]!).toBe(2 * per);
    expect(Math.min(s.ctl[CTL.RECEIVED]!, s.ctl[CTL.RECEIVED + 1]!)).toBeGreaterThan(0);
  });

  // Every wait parks (the 'park' policy) and a 2-slot ring fills and empties all the time:
  // wakes race parks on both words constantly, so a wake skipped because one was pending
  // (R.NOTIFY_PENDING, R.SPACE_PENDING) that left a waiter parked would hang here.
  for (const batch of [0, 16]) {
    it(`parking producers and consumer on a 2-slot ring, ${batch === 0 ? 'single receives' : 'receiveBatch'}: no wake lost`, async () => {
      const n = 100_000;
      const s = setup(
        [
          { role: 'consumer', id: 0, count: 2 * n, producers: 2, batch, wait: 'park' },
          { role: 'producer', id: 0, count: n, producers: 0, batch: 0, wait: 'park' },
          { role: 'producer', id: 1, count: n, producers: 0, batch: 4, wait: 'park' },
        ],
        (p) => p.createChannel({ type: 'async', bufferSize: 2, overflow: 'block' }),
        (_p, _h, ctl) => Promise.resolve(go(ctl)),
      );
      await finish(s, 'parking channel', [0]);
    });
  }

  it('a worker blocked in sendSync on a full ring goes on once one slot is free (its spin waits for a run of room only so long)', async () => {
    const k = testKernel({ cpus: 2 });
    const ctl = new Int32Array(new SharedArrayBuffer(8));
    const w = k.spawnWorker(new URL('./support/async-send-worker.ts', import.meta.url), { name: 'sender', args: { ctl: ctl.buffer, id: 1, count: 65 } });
    let took = -1;
    const owner = k.spawn({ name: 'owner' }, async (p) => {
      const h = p.createChannel({ type: 'async', bufferSize: 64, overflow: 'block' });
      const ch = p.channel(h);
      k.processCapability(p.pid, w.pid);
      Atomics.store(ctl, 0, p.grant(h, w.pid, Rights.SEND));
      Atomics.notify(ctl, 0);
      while (ch.stats().queued < 64) await new Promise((r) => setTimeout(r, 1));
      // One slot (an eighth of the ring is 8): the 65th send must still go in.
      took = ch.tryReceive()!.type & 0xffff;
      const exit = await watchdog(w.exited, 60_000, () => `sender still blocked with ${ch.stats().queued} queued — a hang`);
      expect(exit.reason).toBe('returned');
      expect(ch.stats()).toMatchObject({ queued: 64, messages: 65 });
    });
    expect(await owner.exited).toMatchObject({ reason: 'returned' });
    expect(took).toBe(0);
    await k.shutdown();
  });

  it('a topic with two publisher workers and four subscriber workers: each subscriber sees all 1 000 000 in order', async () => {
    const half = TOTAL / 2;
    const subs = [0, 1, 2, 3].map(() => ({ role: 'subscriber' as const, id: 0, count: TOTAL, producers: 2, batch: 0 }));
    const s = setup(
      [...subs, { role: 'publisher', id: 0, count: half, producers: 0, batch: 0 }, { role: 'publisher', id: 1, count: half, producers: 0, batch: 0 }],
      (p) => p.createTopic({ bufferSize: 256, slowSubscriber: 'block' }),
      async (p, _h, ctl) => {
        // Publishers start once every subscriber has subscribed.
        while (Atomics.load(ctl, CTL.READY) < 4) await p.sleep(1_000_000);
        go(ctl);
      },
    );
    await finish(s, 'topic', [0, 1, 2, 3]);
  });

  it('CPU 0 as one of the producers (sendAsync) with a worker producer → a worker consumer', async () => {
    const half = TOTAL / 2;
    const s = setup(
      [
        { role: 'consumer', id: 0, count: TOTAL, producers: 2, batch: 0 },
        { role: 'producer', id: 1, count: half, producers: 0, batch: 0 },
      ],
      (p) => p.createChannel({ type: 'async', bufferSize: 256, overflow: 'block' }),
      async (p, h, ctl) => {
        go(ctl);
        const ch = p.channel(h);
        const data = new Uint8Array(8);
        for (let seq = 0; seq < half; seq++) await ch.sendAsync(message(0, seq, data));
      },
    );
    await finish(s, 'cpu0 producer', [0]);
  });

  it('killing a worker blocked in receiveSync ends it promptly; the ring ends with its owner', async () => {
    const s = setup([{ role: 'consumer', id: 0, count: 10, producers: 1, batch: 0 }], (p) => p.createChannel({ type: 'async', bufferSize: 4 }));
    await new Promise((r) => setTimeout(r, 200));
    const t0 = performance.now();
    expect(await s.workers[0]!.kill()).toMatchObject({ reason: 'killed' });
    expect(performance.now() - t0).toBeLessThan(5000);
    s.release();
    await s.owner.exited;
    expect(s.k.stats()).toMatchObject({ rings: 0, subscriptions: 0 });
    await s.k.shutdown();
  });
});
