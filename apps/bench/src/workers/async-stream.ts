import { IpcError, createMessageBuffer, type Process, type SmallMessage } from '@veridian/core';
import { sampleBatches } from './batch.js';

/** Control words of the async stream bench. */
export const STREAM = { HANDLE_PRODUCER: 0, HANDLE_CONSUMER: 1, RECEIVED: 16, STOP: 32, NAP: 40, WORDS: 48 } as const;

/** What the bench hands each side of `async-xcpu-throughput`. */
export interface AsyncStreamArgs {
  role: 'producer' | 'consumer';
  /** Messages per `sendBatch` / `receiveBatch` (0: one at a time, `sendSync` / `receiveSync`). */
  batch: number;
  warmupMs: number;
  samples: number;
  sampleMs: number;
  ctl: SharedArrayBuffer;
  /** Float64 ns/message per sample, then the batch size (producer only). */
  out: SharedArrayBuffer;
}

/**
 * A worker CPU of `async-xcpu-throughput`: the producer streams 64-byte messages into an async
 * channel (blocking when full) and times batches of them until the consumer has taken the last
 * one; the consumer, on another worker CPU, takes them (blocking when empty) and publishes its
 * count.
 */
export default function asyncStream(proc: Process, args: AsyncStreamArgs): void {
  const ctl = new Int32Array(args.ctl);
  const hw = args.role === 'producer' ? STREAM.HANDLE_PRODUCER : STREAM.HANDLE_CONSUMER;
  while (Atomics.load(ctl, hw) === 0) Atomics.wait(ctl, hw, 0, 10);
  const ch = proc.channel(Atomics.load(ctl, hw) >>> 0);
  if (args.role === 'consumer') {
    let count = 0;
    const bufs = Array.from({ length: Math.max(1, args.batch) }, () => createMessageBuffer());
    // Waits are bounded so the consumer notices STOP once the producer is done (one options
    // object for the run, as a real consumer would keep it: not a new one per message).
    const bounded = { timeout: 20_000_000 };
    const take = () => {
      try {
        ch.receiveSync(bounded);
        return 1;
      } catch (e) {
        if (e instanceof IpcError && e.code === 'Timeout') return 0;
        throw e;
      }
    };
    while (Atomics.load(ctl, STREAM.STOP) === 0) {
      const n = args.batch > 0 ? ch.receiveBatch(bufs) : 0;
      count += n > 0 ? n : take();
      Atomics.store(ctl, STREAM.RECEIVED, count);
    }
    return;
  }
  const data = new Uint8Array(64).fill(9);
  const one: SmallMessage = { type: 1, data };
  const batch: SmallMessage[] = Array.from({ length: Math.max(1, args.batch) }, (_, i) => ({ type: i, data }));
  let sent = 0;
  const run = (n: number) => {
    if (args.batch > 0) {
      for (let left = n; left > 0; ) {
        const k = Math.min(left, args.batch);
        let s = ch.sendBatch(k === batch.length ? batch : batch.slice(0, k));
        if (s === 0) {
          ch.sendSync(batch[0]!);
          s = 1;
        }
        left -= s;
      }
    } else for (let i = 0; i < n; i++) ch.sendSync(one);
    sent += n;
    // The batch counts once the consumer has taken its last message (waiting in 20 µs naps: a
    // spin here would take the core the consumer needs on a small machine).
    while (Atomics.load(ctl, STREAM.RECEIVED) < sent) Atomics.wait(ctl, STREAM.NAP, 0, 0.02);
  };
  const r = sampleBatches(run, args, 1024);
  const out = new Float64Array(args.out);
  out.set(r.perOp);
  out[r.perOp.length] = r.batch;
  Atomics.store(ctl, STREAM.STOP, 1);
}
