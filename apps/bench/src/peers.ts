/**
 * Peers: what Node users pick today for a round trip to a worker, measured in the same run —
 * a piscina task and a comlink call — each carrying 64 bytes each way.
 */
import { Worker } from 'node:worker_threads';
import { releaseProxy, wrap } from 'comlink';
import { nodeEndpoint } from './comlink-node.js';
import { Piscina } from 'piscina';
import { workerUrl } from './floors.js';
import { measureAsync, measurePaced, type Measurement, type SamplerOptions } from './sampler.js';
import type { EchoApi } from './workers/comlink-echo.js';

/** A piscina pool of one thread running the echo task, as a Node user would set it up. */
async function withPiscina<T>(body: (run: (data: Uint8Array) => Promise<Uint8Array>) => Promise<T>): Promise<T> {
  const pool = new Piscina({ filename: workerUrl('piscina-echo').href, minThreads: 1, maxThreads: 1, idleTimeout: 60_000 });
  try {
    return await body((data) => pool.run(data) as Promise<Uint8Array>);
  } finally {
    await pool.destroy();
  }
}

/** `piscina-rt`: a piscina task round trip (main thread → pool worker → main thread), steady stream. */
export function piscinaRoundTrip(opts: SamplerOptions): Promise<Measurement> {
  return withPiscina((run) => {
    const data = new Uint8Array(64);
    return measureAsync(async (n) => {
      for (let i = 0; i < n; i++) {
        data[0] = i;
        const r = await run(data);
        if (r[0] !== (i & 0xff)) throw new Error('corrupt piscina reply');
      }
    }, opts);
  });
}

/** `piscina-paced`: the same round trip with 1 ms of idle time before each call. */
export function piscinaPaced(opts: SamplerOptions): Promise<Measurement> {
  return withPiscina((run) => {
    const data = new Uint8Array(64);
    let i = 0;
    return measurePaced(async () => {
      data[0] = ++i;
      const r = await run(data);
      if (r[0] !== (i & 0xff)) throw new Error('corrupt piscina reply');
    }, opts);
  });
}

/** `comlink-rt`: a comlink call to an object exposed by a worker, steady stream. */
export async function comlinkRoundTrip(opts: SamplerOptions): Promise<Measurement> {
  const worker = new Worker(workerUrl('comlink-echo'));
  const api = wrap<EchoApi>(nodeEndpoint(worker));
  try {
    const data = new Uint8Array(64);
    return await measureAsync(async (n) => {
      for (let i = 0; i < n; i++) {
        data[0] = i;
        const r = await api.echo(data);
        if (r[0] !== (i & 0xff)) throw new Error('corrupt comlink reply');
      }
    }, opts);
  } finally {
    api[releaseProxy]();
    await worker.terminate();
  }
}
