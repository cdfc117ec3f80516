/**
 * The async-channel and topic paths (`async-send`, `async-send-batch`, `async-xcpu-throughput`,
 * `async-xcpu-throughput-batch`, `publish-fanout-8`) and their baseline, `messageport-stream`.
 */
import { Worker } from 'node:worker_threads';
import { createKernel, createMessageBuffer, Rights, type Arch, type Process, type SmallMessage } from '@veridian/core';
import { resultOf, workerUrl } from './floors.js';
import type { BatchResult } from './workers/batch.js';
import { STREAM, type AsyncStreamArgs } from './workers/async-stream.js';
import { measureSync, summarize, type Measurement, type SamplerOptions } from './sampler.js';

const DATA = new Uint8Array(64).fill(5);

/** Runs `body` in a CPU-0 process of a fresh kernel and returns its result. */
async function inProcess<T>(arch: Arch, body: (p: Process) => T): Promise<T> {
  const kernel = createKernel({ arch });
  try {
    let result!: T;
    const h = kernel.spawn({ name: 'bench' }, (p) => {
      result = body(p);
    });
    const exit = await h.exited;
    if (exit.reason !== 'returned') throw exit.error instanceof Error ? exit.error : new Error(`bench process ${exit.reason}${exit.error === undefined ? '' : `: ${JSON.stringify(exit.error)}`}`);
    return result;
  } finally {
    await kernel.shutdown();
  }
}

/**
 * `async-send` / `async-send-batch`: one CPU, per message — `sendAsync` of a 64-byte message
 * (not awaited: it returns an already settled promise when the ring has room), or `sendBatch` of
 * 32. Only the sends are timed: the ring is emptied with `receiveBatch` between runs of 256,
 * outside the clock.
 */
export function asyncSend(arch: Arch, opts: SamplerOptions, batched: boolean): Promise<Measurement> {
  return inProcess(arch, (p) => {
    const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 256 }));
    const m: SmallMessage = { type: 1, data: DATA };
    const batch: SmallMessage[] = Array.from({ length: 32 }, (_, i) => ({ type: i, data: DATA }));
    const out = Array.from({ length: 256 }, () => createMessageBuffer());
    let refused = 0;
    /** Sends 256 messages and returns the ns they took; then empties the ring. */
    const run256 = (): number => {
      const t0 = process.hrtime.bigint();
      if (batched) for (let i = 0; i < 8; i++) refused += 32 - ch.sendBatch(batch);
      else for (let i = 0; i < 256; i++) void ch.sendAsync(m);
      const ns = Number(process.hrtime.bigint() - t0);
      if (ch.receiveBatch(out) !== 256) refused++;
      return ns;
    };
    const warmEnd = performance.now() + opts.warmupMs;
    while (performance.now() < warmEnd) run256();
    // Runs of 256 per sample: about sampleMs of sending.
    let runs = 1;
    for (let ns = run256(); ns * runs < opts.sampleMs * 1e6 && runs < 1 << 16; ) runs *= 2;
    const perOp: number[] = [];
    for (let s = 0; s < opts.samples; s++) {
      let ns = 0;
      for (let i = 0; i < runs; i++) ns += run256();
      perOp.push(ns / (runs * 256));
    }
    if (refused > 0) throw new Error(`${refused} runs did not move all their messages`);
    return summarize(perOp, runs * 256 * opts.samples);
  });
}

/** `publish-fanout-8`: one CPU, per message — publish a 64-byte message to 8 subscribers, each reading every message (drained every 32). */
export function publishFanout(arch: Arch, opts: SamplerOptions): Promise<Measurement> {
  return inProcess(arch, (p) => {
    const t = p.topic(p.createTopic({ bufferSize: 64, slowSubscriber: 'block' }));
    const subs = Array.from({ length: 8 }, () => t.subscribe());
    const m: SmallMessage = { type: 1, data: DATA };
    let seen = 0;
    const run = (n: number) => {
      for (let done = 0; done < n; done += 32) {
        for (let i = 0; i < 32; i++) if (!t.publish(m)) throw new Error('publish refused');
        for (const s of subs) while (s.tryReceive()) seen++;
      }
    };
    const r = measureSync(run, opts);
    if (seen === 0) throw new Error('no subscriber received anything');
    return r;
  });
}

/**
 * `async-xcpu-throughput` (and `-batch`): 64-byte messages from a producer worker CPU to a
 * consumer worker CPU through a 256-slot blocking channel owned by a CPU-0 process; ns per
 * message at the producer (its batches count once the consumer took their last message).
 */
export async function asyncCrossCpu(arch: Arch, opts: SamplerOptions, batch: number): Promise<Measurement> {
  const kernel = createKernel({ arch });
  try {
    const ctl = new Int32Array(new SharedArrayBuffer(STREAM.WORDS * 4));
    const out = new SharedArrayBuffer(8 * (opts.samples + 1));
    const common = { batch, warmupMs: opts.warmupMs, samples: opts.samples, sampleMs: opts.sampleMs, ctl: ctl.buffer, out };
    const consumer = kernel.spawnWorker(workerUrl('async-stream'), { name: 'consumer', args: { ...common, role: 'consumer' } satisfies AsyncStreamArgs });
    const producer = kernel.spawnWorker(workerUrl('async-stream'), { name: 'producer', args: { ...common, role: 'producer' } satisfies AsyncStreamArgs });
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const owner = kernel.spawn({ name: 'owner' }, async (p) => {
      const h = p.createChannel({ type: 'async', bufferSize: 256, overflow: 'block' });
      for (const [w, word, rights] of [
        [consumer, STREAM.HANDLE_CONSUMER, Rights.RECEIVE],
        [producer, STREAM.HANDLE_PRODUCER, Rights.SEND],
      ] as const) {
        kernel.processCapability(p.pid, w.pid);
        Atomics.store(ctl, word, p.grant(h, w.pid, rights));
        Atomics.notify(ctl, word);
      }
      await released;
    });
    const exits = await Promise.all([producer.exited, consumer.exited]);
    release();
    await owner.exited;
    const bad = exits.find((e) => e.reason !== 'returned');
    if (bad) throw new Error(`${bad.name} ${bad.reason}: ${String(bad.error)}`);
    const v = new Float64Array(out);
    const perOp = Array.from(v.subarray(0, opts.samples));
    return summarize(perOp, v[opts.samples]! * opts.samples);
  } finally {
    await kernel.shutdown();
  }
}

/** `messageport-stream`: the same 64-byte messages streamed from one worker to another over a `MessagePort`, per message. */
export async function messagePortStream(opts: SamplerOptions): Promise<Measurement> {
  const { port1, port2 } = new MessageChannel();
  const common = { warmupMs: opts.warmupMs, samples: opts.samples, sampleMs: opts.sampleMs };
  const receiver = new Worker(workerUrl('stream-peer'), { workerData: { role: 'receive', port: port1, ...common }, transferList: [port1] });
  const sender = new Worker(workerUrl('stream-peer'), { workerData: { role: 'send', port: port2, ...common }, transferList: [port2] });
  try {
    const result = await resultOf<BatchResult>(sender);
    return summarize(result.perOp, result.batch * result.perOp.length);
  } finally {
    await Promise.all([receiver.terminate(), sender.terminate()]);
  }
}
