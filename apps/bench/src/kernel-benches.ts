import { inspect } from 'node:util';
import { createKernel, IpcError, Rights, type Arch, type Kernel, type Process, type ProcessExit, type SmallMessage } from '@veridian/core';
import { workerUrl } from './floors.js';
import { measureAsync, measurePaced, measureSync, summarize, type Measurement, type SamplerOptions } from './sampler.js';
import { LOCK_GO, LOCK_READY, type LockClientArgs } from './workers/lock-client.js';

/** A path the kernel cannot run yet (e.g. `callSync` on CPU 0): reported with the reason, never a crash. */
export interface Unsupported {
  unsupported: string;
}
export type Outcome<M = Measurement> = M | Unsupported;
export const isUnsupported = (o: object): o is Unsupported => 'unsupported' in o;

/** Lock figures: the per-client latency plus the throughput of all clients together. */
export interface LockMeasurement extends Measurement {
  clients: number;
  /** Syscalls per second of all clients together. */
  throughput_ops_s: number;
  /** Deltas of `kernel.lockStats()` over the run, when the kernel has it (kernel v2). */
  lock_stats?: Record<string, number>;
}

const STOP: SmallMessage = { type: 0xffffffff, data: new Uint8Array(0) };

/** `InvalidState` and friends from a path the kernel does not offer yet become {@link Unsupported}. */
function unsupportedFrom(e: unknown): Unsupported {
  if (e instanceof IpcError) return { unsupported: e.message.startsWith(e.code) ? e.message : `${e.code}: ${e.message}` };
  throw e;
}

/**
 * The error of a process that did not return, to rethrow: the one it threw when that is an
 * `Error`, else a new one naming `what` and how it ended (with whatever it threw, e.g. the
 * string a worker CPU reports, as its text and `cause`).
 */
function exitError(exit: ProcessExit, what: string): Error {
  if (exit.error instanceof Error) return exit.error;
  if (exit.error === undefined) return new Error(`${what} ${exit.reason}`);
  const text = typeof exit.error === 'string' ? exit.error : inspect(exit.error);
  return new Error(`${what} ${exit.reason}: ${text}`, { cause: exit.error });
}

/** Runs `body` as a process on the kernel's own CPU and returns what it returns. */
async function inProcess<T>(arch: Arch, body: (proc: Process, kernel: Kernel) => T | Promise<T>, setup?: (k: Kernel) => Promise<void>): Promise<T> {
  const kernel = createKernel({ arch, endpoints: 300, capSlots: 512 });
  try {
    if (setup) await setup(kernel);
    let result!: T;
    const h = kernel.spawn({ name: 'bench' }, async (p) => {
      result = await body(p, kernel);
    });
    const exit = await h.exited;
    if (exit.reason !== 'returned') throw exitError(exit, 'bench process');
    return result;
  } finally {
    await kernel.shutdown();
  }
}

/** `registry-lookup`: resolve an endpoint id and validate a capability, over 256 endpoints. */
export function registryLookup(arch: Arch, opts: SamplerOptions): Promise<Measurement> {
  return inProcess(arch, (p, k) => {
    const handles = Int32Array.from({ length: 256 }, (_, i) => p.createEndpoint({ name: `ep${i}` }));
    const ids = Float64Array.from({ length: 256 }, (_, i) => k.lookupName(`ep${i}`)!);
    let sink = 0;
    const m = measureSync((n) => {
      for (let i = 0; i < n; i++) {
        const j = i & 255;
        if (k.lookupEndpoint(ids[j]!) && p.validate(handles[j]!, Rights.SEND)) sink++;
      }
    }, opts);
    if (sink === 0) throw new Error('lookups failed');
    return m;
  });
}

/** Spawns the one-CPU echo server: passive (`serve`) or active (`receive`/`replyReceive`). */
async function oneCpuEcho(k: Kernel, passive: boolean): Promise<void> {
  k.spawn({ name: 'echo' }, async (p) => {
    const ep = p.createEndpoint({ name: 'echo' });
    const reply: SmallMessage = { type: 0, data: new Uint8Array(0) };
    if (passive) {
      await p.serve(ep, (m) => {
        // Every request carries 64 bytes: echo the buffer itself, allocating nothing.
        reply.type = m.type;
        reply.data = m.bytes;
        return reply;
      });
      return;
    }
    let m = await p.receive(ep);
    for (;;) {
      reply.type = m.type;
      reply.data = m.bytes;
      m = await p.replyReceive(m.sender, reply, ep);
    }
  });
  await k.whenNamed('echo');
}

/**
 * `small-call-rt`: call + reply on one CPU. With `passive`, the server is a passive server
 * (`serve`): the call switches to its handler directly. Otherwise (`small-call-rt-active`) it is
 * an active server looping on `receive`/`replyReceive`, resumed through the scheduler each time.
 */
export function smallCallOneCpu(arch: Arch, opts: SamplerOptions, passive: boolean): Promise<Measurement> {
  return inProcess(
    arch,
    async (p) => {
      const ch = p.connect('echo');
      const data = new Uint8Array(64);
      const msg = { type: 7, data };
      return measureAsync(async (n) => {
        for (let i = 0; i < n; i++) {
          data[0] = i;
          const r = await p.call(ch, msg);
          if (r.bytes[0] !== (i & 0xff)) throw new Error('corrupt reply');
        }
      }, opts);
    },
    (k) => oneCpuEcho(k, passive),
  );
}

/**
 * `small-call-rt-sync`: `proc.callSync` on CPU 0 to a passive server — no promise at all. A kernel
 * that refuses `callSync` on CPU 0 (`InvalidState`) makes it {@link Unsupported}.
 */
export function smallCallSyncOneCpu(arch: Arch, opts: SamplerOptions): Promise<Outcome> {
  return inProcess(
    arch,
    (p) => {
      const ch = p.connect('echo');
      const data = new Uint8Array(64);
      const msg = { type: 7, data };
      try {
        p.callSync(ch, msg);
      } catch (e) {
        return unsupportedFrom(e);
      }
      return measureSync((n) => {
        for (let i = 0; i < n; i++) {
          data[0] = i;
          const r = p.callSync(ch, msg);
          if (r.bytes[0] !== (i & 0xff)) throw new Error('corrupt reply');
        }
      }, opts);
    },
    (k) => oneCpuEcho(k, true),
  );
}

/** `small-call-rt-xcpu`: call + reply between two worker CPUs (64-byte payload, every reply checked). */
export async function smallCallCrossCpu(arch: Arch, opts: SamplerOptions): Promise<Measurement> {
  const kernel = createKernel({ arch });
  try {
    const out = new SharedArrayBuffer(8 * (opts.samples + 1));
    const server = kernel.spawnWorker(workerUrl('echo-server'), { name: 'echo', args: { name: 'echo' } });
    const client = kernel.spawnWorker(workerUrl('caller'), { name: 'caller', args: { name: 'echo', out, warmupMs: opts.warmupMs, samples: opts.samples, sampleMs: opts.sampleMs } });
    const [c, s] = await Promise.all([client.exited, server.exited]);
    if (c.reason !== 'returned' || s.reason !== 'returned') throw new Error(`cross-CPU bench failed: ${String(c.error ?? s.error)}`);
    const values = new Float64Array(out);
    return summarize(values.subarray(0, opts.samples), values[opts.samples]! * opts.samples);
  } finally {
    await kernel.shutdown();
  }
}

/** Runs `body` on CPU 0 against the worker-CPU echo server `echo`, which it stops afterwards. */
async function againstWorkerServer<T>(arch: Arch, body: (p: Process, ch: number) => T | Promise<T>): Promise<T> {
  const kernel = createKernel({ arch });
  try {
    const server = kernel.spawnWorker(workerUrl('echo-server'), { name: 'echo', args: { name: 'echo' } });
    await kernel.whenNamed('echo');
    let result!: T;
    const h = kernel.spawn({ name: 'bench' }, async (p) => {
      const ch = p.connect('echo');
      try {
        result = await body(p, ch);
      } finally {
        await p.call(ch, STOP);
      }
    });
    const [c, s] = await Promise.all([h.exited, server.exited]);
    if (c.reason !== 'returned') throw exitError(c, 'bench process');
    if (s.reason !== 'returned') throw exitError(s, 'echo server');
    return result;
  } finally {
    await kernel.shutdown();
  }
}

/** `main-to-worker-rt`: CPU 0 (the main thread) calling a worker-CPU server with `await`, steady stream. */
export function mainToWorker(arch: Arch, opts: SamplerOptions): Promise<Measurement> {
  return againstWorkerServer(arch, (p, ch) => {
    const data = new Uint8Array(64);
    const msg = { type: 7, data };
    return measureAsync(async (n) => {
      for (let i = 0; i < n; i++) {
        data[0] = i;
        msg.type = i & 0xffff;
        const r = await p.call(ch, msg);
        if (r.type !== (i & 0xffff) || r.bytes[0] !== (i & 0xff)) throw new Error('corrupt reply');
      }
    }, opts);
  });
}

/** `main-to-worker-rt-sync`: the same with a blocking `callSync` from the main thread, when the kernel offers it. */
export function mainToWorkerSync(arch: Arch, opts: SamplerOptions): Promise<Outcome> {
  return againstWorkerServer(arch, (p, ch) => {
    const data = new Uint8Array(64);
    const msg = { type: 7, data };
    try {
      p.callSync(ch, msg);
    } catch (e) {
      return unsupportedFrom(e);
    }
    return measureSync((n) => {
      for (let i = 0; i < n; i++) {
        data[0] = i;
        msg.type = i & 0xffff;
        const r = p.callSync(ch, msg);
        if (r.type !== (i & 0xffff) || r.bytes[0] !== (i & 0xff)) throw new Error('corrupt reply');
      }
    }, opts);
  });
}

/** `main-to-worker-paced`: `main-to-worker-rt` with 1 ms of idle time before each call (p50 and p99 of single calls). */
export function mainToWorkerPaced(arch: Arch, opts: SamplerOptions): Promise<Measurement> {
  return againstWorkerServer(arch, (p, ch) => {
    const data = new Uint8Array(64);
    const msg = { type: 7, data };
    let i = 0;
    return measurePaced(async () => {
      data[0] = ++i;
      const r = await p.call(ch, msg);
      if (r.bytes[0] !== (i & 0xff)) throw new Error('corrupt reply');
    }, opts);
  });
}

/** Numeric fields of whatever `kernel.lockStats()` returns (kernel v2), or undefined without it. */
function lockStatsOf(kernel: Kernel): Record<string, number> | undefined {
  const fn = (kernel as unknown as { lockStats?: () => unknown }).lockStats;
  if (typeof fn !== 'function') return undefined;
  const raw = fn.call(kernel);
  if (typeof raw !== 'object' || raw === null) return undefined;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw)) if (typeof v === 'number') out[k] = v;
  return out;
}

/**
 * `lock-inspect-{1,2}w`, `lock-call-{1,2}w` and `lock-call-2pairs`: `clients` worker CPUs hammering
 * one cheap syscall at once — `proc.inspect` of an own capability (all kernel lock, no queue), or
 * `callSync` to a worker-CPU echo server (one for all, or one per client: `servers`). Per-client
 * ns/op (median, p99) and the throughput of all together.
 */
export async function lockContention(arch: Arch, opts: SamplerOptions, mode: LockClientArgs['mode'], clients: number, servers = 1): Promise<LockMeasurement> {
  const kernel = createKernel({ arch });
  try {
    // Client c calls server `echo<c % servers>`: with as many servers as clients, every pair has an endpoint of its own.
    const names = Array.from({ length: mode === 'call' ? servers : 0 }, (_, i) => `echo${i}`);
    const serverHandles = names.map((name) => kernel.spawnWorker(workerUrl('echo-server'), { name, args: { name } }));
    for (const name of names) await kernel.whenNamed(name);
    const sync = new SharedArrayBuffer(8);
    const outs = Array.from({ length: clients }, () => new SharedArrayBuffer(8 * (opts.samples + 2)));
    const handles = outs.map((out, c) => {
      const args: LockClientArgs = { mode, name: `echo${c % servers}`, warmupMs: opts.warmupMs, samples: opts.samples, sampleMs: opts.sampleMs, sync, out };
      return kernel.spawnWorker(workerUrl('lock-client'), { name: `client${c}`, args });
    });
    const s32 = new Int32Array(sync);
    const deadline = performance.now() + 30_000;
    while (Atomics.load(s32, LOCK_READY) < clients) {
      if (performance.now() > deadline) throw new Error('lock clients never became ready');
      await new Promise((r) => setTimeout(r, 1));
    }
    const before = lockStatsOf(kernel);
    Atomics.store(s32, LOCK_GO, 1);
    Atomics.notify(s32, LOCK_GO);
    const exits = await Promise.all(handles.map((h) => h.exited));
    const after = lockStatsOf(kernel);
    const bad = exits.find((e) => e.reason !== 'returned');
    if (bad) throw new Error(`lock client ${bad.name} ${bad.reason}: ${String(bad.error)}`);
    for (const server of serverHandles) await server.kill();
    const perOp: number[] = [];
    let throughput = 0;
    let ops = 0;
    for (const out of outs) {
      const v = new Float64Array(out);
      perOp.push(...v.subarray(0, opts.samples));
      ops += v[opts.samples]!;
      throughput += v[opts.samples]! / (v[opts.samples + 1]! / 1e9);
    }
    const m: LockMeasurement = { ...summarize(perOp, ops), clients, throughput_ops_s: Math.round(throughput) };
    if (before && after) {
      m.lock_stats = {};
      for (const k of Object.keys(after)) m.lock_stats[k] = after[k]! - (before[k] ?? 0);
    }
    return m;
  } finally {
    await kernel.shutdown();
  }
}
