// Stress test of the kernel v2 issue: 6 worker clients and 8 CPU-0 clients against one worker
// server, 200 000 calls with every reply checked, at two priorities; and the same shape with random
// kills of clients and of the server (seeded: the seed is printed, replay with STRESS_SEED=<seed>).
// Neither measures speed: a watchdog only turns a hang into a failure with a clear message.
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { IpcError, type Kernel, type Process, type ProcessExit, type ProcessHandle } from '@veridian/core';
import { testKernel } from './support/kernel.ts';
import { C, COUNTERS_BYTES, STOP, checkReply, encodeRequest } from './support/stress-server.ts';
import { ALLOWED_FAILURES } from './support/stress-client.ts';

const here = (f: string) => new URL(`./support/${f}`, import.meta.url);

/** A process's exit error as text: '' for none, a worker CPU's string as is, an `Error` as `String` shows it, anything else through `inspect`. */
const errorText = (error: unknown): string => (error == null ? '' : typeof error === 'string' ? error : error instanceof Error ? String(error) : inspect(error));

interface Client {
  id: number;
  count: number;
  handle: ProcessHandle;
  /** Int32[0] successes, [1] allowed failures. */
  result: Int32Array;
  worker: boolean;
}

/** The kernel for these tests: room for 16 processes on 8 CPUs. */
function stressKernel(): Kernel {
  return testKernel({ cpus: 8, processes: 24, endpoints: 32, frames: 1024 });
}

/** A CPU-0 stress client: the same protocol as support/stress-client.ts. */
function cpu0Client(name: string, id: number, count: number, tolerant: boolean, result: Int32Array, k: Kernel): (p: Process) => Promise<void> {
  return async (p) => {
    const data = new Uint8Array(16);
    const connect = async (): Promise<number> => {
      for (;;) {
        try {
          return p.connect(name);
        } catch (e) {
          if (!(e instanceof IpcError) || e.code !== 'NotFound') throw e;
          await k.whenNamed(name, 30_000);
        }
      }
    };
    let ch = await connect();
    const options = tolerant ? { timeout: 10_000_000_000 } : undefined;
    for (let seq = 0; seq < count; seq++) {
      const type = encodeRequest(id, seq, data);
      let r;
      try {
        r = await p.call(ch, { type, data }, options);
      } catch (e) {
        if (!tolerant || !(e instanceof IpcError) || !ALLOWED_FAILURES.has(e.code)) throw e;
        result[1]!++;
        ch = await connect();
        continue;
      }
      const wrong = checkReply(id, seq, r.type, r.length, r.bytes);
      if (wrong) throw new Error(`WRONG REPLY client ${id} seq ${seq}: ${wrong}`);
      result[0]!++;
    }
  };
}

function spawnClients(k: Kernel, name: string, workers: number, workerCount: number, cpu0: number, cpu0Count: number, tolerant: boolean): Client[] {
  const clients: Client[] = [];
  for (let i = 0; i < workers + cpu0; i++) {
    const worker = i < workers;
    const count = worker ? workerCount : cpu0Count;
    const sab = new SharedArrayBuffer(8);
    const result = new Int32Array(sab);
    const priority = i % 2 === 0 ? 5 : 15;
    const handle = worker
      ? k.spawnWorker(here('stress-client.ts'), { name: `wc${i}`, priority, args: { name, client: i, count, tolerant, result: sab } })
      : k.spawn({ name: `mc${i}`, priority }, cpu0Client(name, i, count, tolerant, result, k));
    clients.push({ id: i, count, handle, result, worker });
  }
  return clients;
}

/** Resolves with `p`, or rejects with `message()` after `ms`. */
function watchdog<T>(p: Promise<T>, ms: number, message: () => string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message())), ms)))]).finally(() => clearTimeout(timer));
}

/** Stops the server through a STOP call from a CPU-0 process. */
async function stopServer(k: Kernel, name: string): Promise<void> {
  const h = k.spawn({ name: 'stopper' }, async (p) => {
    await p.call(p.connect(name), { type: STOP, data: new Uint8Array() }, { timeout: 10_000_000_000 });
  });
  const exit = await h.exited;
  if (exit.reason !== 'returned') throw new Error(`could not stop the server: ${exit.reason} ${String(exit.error)}`);
}

/** mulberry32: a small seeded PRNG. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('stress', () => {
  it('6 worker + 8 CPU-0 clients, 200 000 checked calls at two priorities against one worker server: nothing lost, duplicated or reordered', async () => {
    const k = stressKernel();
    const base = k.stats();
    const counters = new Int32Array(new SharedArrayBuffer(COUNTERS_BYTES));
    const server = k.spawnWorker(here('stress-server.ts'), { name: 'server', priority: 10, args: { name: 'stress', counters: counters.buffer, relaxed: false } });
    await k.whenNamed('stress');
    const clients = spawnClients(k, 'stress', 6, 20_000, 8, 10_000, false);
    const total = clients.reduce((n, c) => n + c.count, 0);
    expect(total).toBe(200_000);
    const done = () => clients.reduce((n, c) => n + c.result[0]!, 0);
    const t0 = performance.now();
    const exits = await watchdog(Promise.all(clients.map((c) => c.handle.exited)), 110_000, () => `stress watchdog: ${done()} of ${total} calls answered after ${Math.round(performance.now() - t0)} ms — a hang`);
    const problems = exits.filter((e) => e.reason !== 'returned').map((e) => `${e.name}: ${e.reason} ${errorText(e.error)}`);
    expect(problems).toEqual([]);
    await stopServer(k, 'stress');
    expect(await server.exited).toMatchObject({ reason: 'returned' });
    for (const c of clients) {
      expect(c.result[0], `client ${c.id} successes`).toBe(c.count);
      expect(counters[C.SERVED + c.id], `client ${c.id}: calls the server saw`).toBe(c.count);
    }
    expect(counters[C.VIOLATIONS], 'order violations or malformed requests seen by the server').toBe(0);
    await k.shutdown();
    expect(k.stats()).toEqual(base);
    console.log(`stress: ${total} calls in ${Math.round(performance.now() - t0)} ms`);
  }, 120_000);

  it('random kills of clients and of the server: every call gets its true reply or an honest IpcError; pools back to baseline', async () => {
    const seed = Number(process.env.STRESS_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`stress kill test seed: ${seed} (replay with STRESS_SEED=${seed})`);
    const random = prng(seed);
    const k = stressKernel();
    const base = k.stats();
    const counters = new Int32Array(new SharedArrayBuffer(COUNTERS_BYTES));
    const spawnServer = () => k.spawnWorker(here('stress-server.ts'), { name: 'server', priority: 10, args: { name: 'stress', counters: counters.buffer, relaxed: true } });
    let server = spawnServer();
    await k.whenNamed('stress');
    const clients = spawnClients(k, 'stress', 6, 2_000, 8, 1_000, true);
    const total = clients.reduce((n, c) => n + c.count, 0);
    expect(total).toBe(20_000);
    const killedClients = new Set<number>();
    const log: string[] = [];
    const serverProblems: string[] = [];
    let serverKills = 0;
    const allExited = Promise.all(clients.map((c) => c.handle.exited));
    let finished = false;
    void allExited.then(() => (finished = true));
    const t0 = performance.now();
    const chaos = (async () => {
      while (!finished && (serverKills < 3 || killedClients.size < 5)) {
        await new Promise((r) => setTimeout(r, 20 + Math.floor(random() * 80)));
        if (finished) break;
        if (random() < 0.35 && serverKills < 3) {
          serverKills++;
          log.push(`kill server ${server.pid}`);
          const exit = await server.kill();
          if (exit.reason !== 'killed') serverProblems.push(`server ${exit.pid}: ${exit.reason} ${errorText(exit.error)}`);
          server = spawnServer();
          await k.whenNamed('stress', 30_000);
        } else if (killedClients.size < 5) {
          const live = clients.filter((c) => !killedClients.has(c.id));
          const victim = live[Math.floor(random() * live.length)]!;
          killedClients.add(victim.id);
          log.push(`kill client ${victim.id}`);
          await victim.handle.kill();
        }
      }
    })();
    const done = () => clients.reduce((n, c) => n + c.result[0]! + c.result[1]!, 0);
    const exits: ProcessExit[] = await watchdog(
      Promise.all([allExited, chaos]).then(([e]) => e),
      110_000,
      () => `stress watchdog (seed ${seed}): ${done()} of ${total} calls settled after ${Math.round(performance.now() - t0)} ms — a hang; kills: ${log.join(', ')}`,
    );
    const problems = exits
      .map((e, i) => ({ e, c: clients[i]! }))
      .filter(({ e, c }) => !(e.reason === 'returned' || (e.reason === 'killed' && killedClients.has(c.id))))
      .map(({ e, c }) => `client ${c.id}: ${e.reason} ${errorText(e.error)}`);
    expect(problems, `seed ${seed}; kills: ${log.join(', ')}`).toEqual([]);
    expect(serverProblems, `servers that had ended before they were killed (seed ${seed})`).toEqual([]);
    for (const c of clients) {
      const settled = c.result[0]! + c.result[1]!;
      if (!killedClients.has(c.id)) expect(settled, `client ${c.id} settled calls (seed ${seed})`).toBe(c.count);
      // Every success was seen by a server; the server never saw more calls than were made.
      expect(counters[C.SERVED + c.id]!, `client ${c.id}: server-side count vs successes (seed ${seed})`).toBeGreaterThanOrEqual(c.result[0]!);
      expect(counters[C.SERVED + c.id]!, `client ${c.id}: server-side count vs calls made (seed ${seed})`).toBeLessThanOrEqual(settled + 1);
    }
    expect(counters[C.VIOLATIONS], `order violations or malformed requests (seed ${seed})`).toBe(0);
    await stopServer(k, 'stress');
    expect(await server.exited).toMatchObject({ reason: 'returned' });
    await k.shutdown();
    expect(k.stats()).toEqual(base);
    console.log(`stress kill test (seed ${seed}): ${done()} calls settled in ${Math.round(performance.now() - t0)} ms; ${log.join(', ')}`);
  }, 120_000);
});
