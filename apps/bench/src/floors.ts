/**
 * Floors: what the kernel's paths are judged against, measured in the same run. Each one is the
 * least that a path of its kind must do on this machine (an await, a plain call, a spin ping-pong
 * between two threads, a `Map` lookup, a wake-up of a parked thread) or what Node offers without
 * the kernel (`MessagePort`).
 */
import { MessageChannel, Worker } from 'node:worker_threads';
import { idle, measureAsync, measureSync, summarize, type Measurement, type SamplerOptions } from './sampler.js';
import type { BatchResult } from './workers/batch.js';
import { SPIN, WAKE, wakeBytes } from './workers/layouts.js';

export const workerUrl = (name: string) => new URL(`./workers/${name}.js`, import.meta.url);

/** The request and reply of the floors, shaped like the kernel's: a type and 64 bytes each way. */
interface Req {
  type: number;
  data: Uint8Array;
}
interface Rep {
  type: number;
  bytes: Uint8Array;
}

/** A "server" that copies the 64 request bytes in and 64 reply bytes out, allocating nothing. */
function copyServer(): (req: Req) => Rep {
  const inBuf = new Uint8Array(64);
  const reply: Rep = { type: 0, bytes: new Uint8Array(64) };
  return (req) => {
    inBuf.set(req.data);
    reply.bytes.set(inBuf);
    reply.type = req.type;
    return reply;
  };
}

/** `await-floor`: an awaited `async` function that copies 64 bytes in and 64 out. */
export function awaitFloor(opts: SamplerOptions): Promise<Measurement> {
  const copy = copyServer();
  // eslint-disable-next-line @typescript-eslint/require-await -- the floor is the cost of awaiting an `async` function itself
  const server = async (req: Req): Promise<Rep> => copy(req);
  const data = new Uint8Array(64);
  const msg: Req = { type: 7, data };
  return measureAsync(async (n) => {
    for (let i = 0; i < n; i++) {
      data[0] = i;
      const r = await server(msg);
      if (r.bytes[0] !== (i & 0xff)) throw new Error('corrupt await-floor reply');
    }
  }, opts);
}

/** `call-floor`: the same as a plain function. */
export function callFloor(opts: SamplerOptions): Measurement {
  const server = copyServer();
  const data = new Uint8Array(64);
  const msg: Req = { type: 7, data };
  return measureSync((n) => {
    for (let i = 0; i < n; i++) {
      data[0] = i;
      const r = server(msg);
      if (r.bytes[0] !== (i & 0xff)) throw new Error('corrupt call-floor reply');
    }
  }, opts);
}

/** `map-get`: a `Map` of the same size as the registry (256 entries). */
export function mapGet(opts: SamplerOptions): Measurement {
  const map = new Map<number, { id: number }>();
  const keys = Float64Array.from({ length: 256 }, (_, i) => (i + 1) * 0x10000 + i);
  for (const key of keys) map.set(key, { id: key });
  let sink = 0;
  const m = measureSync((n) => {
    for (let i = 0; i < n; i++) if (map.get(keys[i & 255]!) !== undefined) sink++;
  }, opts);
  if (sink === 0) throw new Error('map lookups failed');
  return m;
}

/**
 * Waits for a worker's first message (its result), failing on an error or an early exit. The
 * promise is marked handled at once, so a worker that fails before anyone awaits it is reported
 * by the await, not as an unhandled rejection.
 */
export function resultOf<T>(w: Worker): Promise<T> {
  const p = new Promise<T>((resolve, reject) => {
    w.once('message', resolve);
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`worker exited (${code}) before reporting`)));
  });
  p.catch(() => {});
  return p;
}

/**
 * Runs a floor measured by two copies of worker `name` sharing `buffer`: `peer` (reports a
 * string when it ends) starts first, then `measured` (reports its {@link BatchResult}); at the
 * end word `stop` of `buffer` is set and both are terminated.
 */
export async function workerPair(name: string, roles: readonly [peer: string, measured: string], buffer: SharedArrayBuffer, stop: number, opts: SamplerOptions): Promise<Measurement> {
  const common = { buffer, warmupMs: opts.warmupMs, samples: opts.samples, sampleMs: opts.sampleMs };
  const peer = new Worker(workerUrl(name), { workerData: { role: roles[0], ...common } });
  const peerDone = resultOf<string>(peer);
  const measured = new Worker(workerUrl(name), { workerData: { role: roles[1], ...common } });
  try {
    const r = await resultOf<BatchResult>(measured);
    await peerDone;
    return summarize(r.perOp, r.batch * r.perOp.length);
  } finally {
    Atomics.store(new Int32Array(buffer), stop, 1);
    await Promise.all([peer.terminate(), measured.terminate()]);
  }
}

/** `spin-rt-64b`: two workers in a spin ping-pong over a SharedArrayBuffer, 64 bytes each way. */
export function spinRoundTrip(opts: SamplerOptions): Promise<Measurement> {
  return workerPair('spin-peer', ['echo', 'client'], new SharedArrayBuffer(SPIN.BYTES), SPIN.STOP, opts);
}

/**
 * `wake-floor`: the latency from `Atomics.notify` to a parked `Atomics.wait` running again
 * (1 ms of idle time before each, so the waiter is really parked). This is the floor of every
 * path that wakes a sleeping thread: no spin policy can answer a parked peer faster.
 */
export async function wakeFloor(opts: SamplerOptions): Promise<Measurement> {
  const samples = opts.pacedSamples;
  const buffer = new SharedArrayBuffer(wakeBytes(samples));
  const i32 = new Int32Array(buffer);
  const stamp = new BigInt64Array(buffer, WAKE.STAMP_BYTE, 1);
  const waiter = new Worker(workerUrl('wake-peer'), { workerData: { buffer, samples } });
  let failed: Error | undefined;
  const done = resultOf<string>(waiter);
  done.catch((e: unknown) => (failed = e instanceof Error ? e : new Error(`the wake-floor waiter failed: ${String(e)}`, { cause: e })));
  try {
    for (let i = 0; i < samples; i++) {
      await idle(1);
      const deadline = performance.now() + 10_000;
      while (Atomics.load(i32, WAKE.READY) !== i + 1) {
        if (failed !== undefined) throw failed;
        if (performance.now() > deadline) throw new Error('the wake-floor waiter stopped answering');
        await idle(1);
      }
      Atomics.store(stamp, 0, process.hrtime.bigint());
      Atomics.store(i32, WAKE.WORD, 1);
      Atomics.notify(i32, WAKE.WORD, 1);
    }
    await done;
  } finally {
    await waiter.terminate();
  }
  const values = Array.from(new Float64Array(buffer, WAKE.OUT_BYTE, samples)).filter((v) => Number.isFinite(v) && v > 0);
  if (values.length === 0) throw new Error('the waiter never parked');
  return summarize(values, values.length, 'single');
}

/** `messageport-rt`: a `MessagePort` round trip between two workers. */
export async function messagePortRoundTrip(opts: SamplerOptions): Promise<Measurement> {
  const { port1, port2 } = new MessageChannel();
  const common = { warmupMs: opts.warmupMs, samples: opts.samples, sampleMs: opts.sampleMs };
  const echo = new Worker(workerUrl('message-port-peer'), { workerData: { role: 'echo', port: port1, ...common }, transferList: [port1] });
  const client = new Worker(workerUrl('message-port-peer'), { workerData: { role: 'client', port: port2, ...common }, transferList: [port2] });
  try {
    const result = await resultOf<BatchResult>(client);
    return summarize(result.perOp, result.batch * result.perOp.length);
  } finally {
    await Promise.all([echo.terminate(), client.terminate()]);
  }
}
