import { parentPort, workerData } from 'node:worker_threads';
import { WAKE } from './layouts.js';

/**
 * The `wake-floor` baseline: this worker parks in `Atomics.wait`; the main thread, after 1 ms
 * of idle time, stamps the clock and calls `Atomics.notify`; this worker stamps the clock as
 * soon as it runs again. The difference is the cost of waking a parked thread on this machine.
 * `process.hrtime` is the system's monotonic clock, the same in every thread. The layout is
 * {@link WAKE}; a sample whose wait did not park is NaN.
 */
const { buffer, samples } = workerData as { buffer: SharedArrayBuffer; samples: number };
const i32 = new Int32Array(buffer);
const stamp = new BigInt64Array(buffer, WAKE.STAMP_BYTE, 1);
const out = new Float64Array(buffer, WAKE.OUT_BYTE, samples);
for (let i = 0; i < samples; i++) {
  Atomics.store(i32, WAKE.READY, i + 1);
  const r = Atomics.wait(i32, WAKE.WORD, 0);
  const t1 = process.hrtime.bigint();
  out[i] = r === 'ok' ? Number(t1 - Atomics.load(stamp, 0)) : Number.NaN;
  Atomics.store(i32, WAKE.WORD, 0);
}
Atomics.store(i32, WAKE.READY, samples + 1);
parentPort!.postMessage('done');
