import { createKernel, type Arch } from '@veridian/core';
import { FD_CLOEXEC, F_SETFD, O_CREAT, O_RDWR, createPosix, posixFor } from '@veridian/posix';
import { inspect } from 'node:util';
import { MessageChannel, Worker } from 'node:worker_threads';
import { resultOf, workerUrl } from './floors.js';
import { summarize, type Measurement, type SamplerOptions } from './sampler.js';
import type { NativeStreamArgs } from './workers/native-stream.js';
import type { PosixStreamArgs } from './workers/posix-stream.js';
import { MIB, type StreamArgs } from './workers/stream-sink.js';

/**
 * Stream throughput: a producer and a consumer on two worker CPUs move bytes in 1 MiB chunks;
 * each sample is the time per MiB received (so `ops_per_s` is MiB/s). The same bytes go through
 * a POSIX pipe, a POSIX message queue, the native channels (`callSync` with large messages) and
 * a Node `MessagePort` stream.
 */
export interface StreamMeasurement extends Measurement {
  /** MiB per second at the median. */
  throughput_mib_s: number;
  bytes_per_op: number;
}

const CHUNK = MIB;

/** How a process that did not return ended, for an error message: what it threw (as `String` would show an `Error` or a string), else its exit reason. */
function exitText(e: { reason: string; error?: unknown }): string {
  const what = e.error ?? e.reason;
  if (typeof what === 'string') return what;
  if (what instanceof Error) return String(what);
  return inspect(what);
}

function streamArgs(opts: SamplerOptions): StreamArgs {
  // Quick runs: 12 samples of 1 MiB; full runs: 60 samples of 2 MiB (120 MiB per path).
  const perSample = opts.samples > 20 ? 2 : 1;
  return { warmup: Math.max(2, Math.round(opts.warmupMs / 50)), samples: opts.samples, perSample, out: new SharedArrayBuffer(8 * opts.samples) };
}

function result(a: StreamArgs): StreamMeasurement {
  const perMiB = new Float64Array(a.out);
  const m = summarize(perMiB, a.samples * a.perSample);
  return { ...m, throughput_mib_s: Math.round((1e9 / m.p50_ns) * 10) / 10, bytes_per_op: MIB };
}

/** `posix-pipe-throughput` / `posix-mq-throughput`: through a POSIX pipe or message queue between two worker CPUs. */
export async function posixStream(arch: Arch, opts: SamplerOptions, kind: 'pipe' | 'mq'): Promise<StreamMeasurement> {
  const kernel = createKernel({ arch, frames: 4096 });
  try {
    const host = posixFor(kernel);
    await host.ready;
    const a = streamArgs(opts);
    const chunk = kind === 'mq' ? 512 << 10 : CHUNK;
    const exits = await new Promise<Array<{ reason: string; error?: unknown }>>((resolve, reject) => {
      host.spawn({ name: 'bench' }, async (proc) => {
        try {
          const px = createPosix(proc);
          let rd: number;
          let wr: number;
          if (kind === 'pipe') [rd, wr] = await px.pipe();
          else {
            wr = await px.mq_open('/bench', O_CREAT | O_RDWR, 0o600, { mq_maxmsg: 8, mq_msgsize: chunk });
            rd = px.dup(wr);
          }
          if (kind === 'pipe') px.fcntl(rd, F_SETFD, FD_CLOEXEC);
          const common = { ...a, kind, chunk };
          const p = host.spawnWorker(workerUrl('posix-stream'), { name: 'producer', args: { ...common, role: 'producer', fd: wr } satisfies PosixStreamArgs }, { from: px });
          if (kind === 'pipe') {
            px.fcntl(rd, F_SETFD, 0);
            px.fcntl(wr, F_SETFD, FD_CLOEXEC);
          }
          const c = host.spawnWorker(workerUrl('posix-stream'), { name: 'consumer', args: { ...common, role: 'consumer', fd: rd } satisfies PosixStreamArgs }, { from: px });
          await px.close(rd);
          if (kind === 'pipe') await px.close(wr);
          resolve(await Promise.all([p.exited, c.exited]));
        } catch (e) {
          reject(e instanceof Error ? e : new Error(`posix ${kind} stream setup failed: ${inspect(e)}`, { cause: e }));
        }
      });
    });
    for (const e of exits) if (e.reason !== 'returned') throw new Error(`posix ${kind} stream: ${exitText(e)}`);
    return result(a);
  } finally {
    await kernel.shutdown();
  }
}

/** `native-stream-throughput`: the same bytes as `callSync` large messages (1 MiB) between two worker CPUs. */
export async function nativeStream(arch: Arch, opts: SamplerOptions): Promise<StreamMeasurement> {
  const kernel = createKernel({ arch, frames: 4096 });
  try {
    const a = streamArgs(opts);
    const c = kernel.spawnWorker(workerUrl('native-stream'), { name: 'consumer', args: { ...a, role: 'consumer', chunk: CHUNK } satisfies NativeStreamArgs });
    const p = kernel.spawnWorker(workerUrl('native-stream'), { name: 'producer', args: { ...a, role: 'producer', chunk: CHUNK } satisfies NativeStreamArgs });
    const exits = await Promise.all([p.exited, c.exited]);
    for (const e of exits) if (e.reason !== 'returned') throw new Error(`native stream: ${exitText(e)}`);
    return result(a);
  } finally {
    await kernel.shutdown();
  }
}

/** `messageport-stream-1mib`: the same bytes posted (copied) through a `MessagePort` between two workers, 8 chunks in flight. */
export async function messagePortStream(opts: SamplerOptions): Promise<StreamMeasurement> {
  const a = streamArgs(opts);
  const { port1, port2 } = new MessageChannel();
  const common = { ...a, chunk: CHUNK, window: 8 };
  const consumer = new Worker(workerUrl('port-stream'), { workerData: { ...common, role: 'consumer', port: port1 }, transferList: [port1] });
  const producer = new Worker(workerUrl('port-stream'), { workerData: { ...common, role: 'producer', port: port2 }, transferList: [port2] });
  try {
    await resultOf<string>(consumer);
    return result(a);
  } finally {
    await Promise.all([consumer.terminate(), producer.terminate()]);
  }
}
