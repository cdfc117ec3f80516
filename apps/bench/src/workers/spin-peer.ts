import { parentPort, workerData } from 'node:worker_threads';
import { sampleBatches, type BatchOptions } from './batch.js';
import { SPIN } from './layouts.js';

/**
 * The `spin-rt-64b` floor: two workers in a spin ping-pong over a SharedArrayBuffer, 64 bytes
 * each way, no kernel at all. The client writes 64 bytes and bumps the request sequence; the
 * echo spins on it, copies the 64 bytes into the reply area and bumps the reply sequence; the
 * client spins on that, copies the reply out and checks it. The layout is {@link SPIN}.
 */
const { REQ, REP, STOP } = SPIN;

const { role, buffer, ...opts } = workerData as { role: 'echo' | 'client'; buffer: SharedArrayBuffer } & BatchOptions;
const i32 = new Int32Array(buffer);
const req = new Uint8Array(buffer, SPIN.REQ_BYTE, 64);
const rep = new Uint8Array(buffer, SPIN.REP_BYTE, 64);

if (role === 'echo') {
  let seen = 0;
  for (;;) {
    let s: number;
    while ((s = Atomics.load(i32, REQ)) === seen) if (Atomics.load(i32, STOP) !== 0) break;
    if (Atomics.load(i32, STOP) !== 0) break;
    seen = s;
    rep.set(req);
    Atomics.store(i32, REP, s);
  }
  parentPort!.postMessage('done');
} else {
  const out = new Uint8Array(64);
  const data = new Uint8Array(64);
  let seq = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      data[0] = i;
      req.set(data);
      const s = (seq = (seq + 1) | 0 || 1);
      Atomics.store(i32, REQ, s);
      while (Atomics.load(i32, REP) !== s);
      out.set(rep);
      if (out[0] !== (i & 0xff)) throw new Error(`corrupt spin reply at ${i}`);
    }
  };
  const result = sampleBatches(run, opts);
  Atomics.store(i32, STOP, 1);
  parentPort!.postMessage(result);
}
