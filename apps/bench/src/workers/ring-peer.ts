import { parentPort, workerData } from 'node:worker_threads';
import { sampleBatches, type BatchOptions } from './batch.js';
import { RING } from './layouts.js';

/**
 * The `spin-stream-64b` floor: a stream of 64-byte messages from one worker to another through
 * a ring of slots in a SharedArrayBuffer, no kernel at all — the least a cross-CPU async
 * channel must do per message on this machine. The producer waits for a free slot, copies the
 * payload in with one `set`, writes the type and publishes the slot's sequence; the consumer
 * spins on that sequence, copies the payload out, checks the type and frees the slot. A batch
 * counts once the consumer freed its last slot. The layout is {@link RING}.
 */
const { role, buffer, ...opts } = workerData as { role: 'producer' | 'consumer'; buffer: SharedArrayBuffer } & BatchOptions;
const i32 = new Int32Array(buffer);
const u8 = new Uint8Array(buffer);
const mask = RING.CAP - 1;
const slot = (pos: number) => RING.SLOT0 + (pos & mask) * RING.SLOT_WORDS;

if (role === 'consumer') {
  const out = new Uint8Array(64);
  const views = Array.from({ length: RING.CAP }, (_, i) => new Uint8Array(buffer, (slot(i) + RING.DATA) * 4, 64));
  let pos = 0;
  for (;;) {
    const sl = slot(pos);
    while (Atomics.load(i32, sl) !== ((pos << 1) | 1)) if (Atomics.load(i32, RING.STOP) !== 0) break;
    if (Atomics.load(i32, RING.STOP) !== 0) break;
    out.set(views[pos & mask]!);
    if (i32[sl + 1] !== pos || out[0] !== (pos & 0xff)) throw new Error(`corrupt stream message at ${pos}`);
    Atomics.store(i32, sl, (pos + RING.CAP) << 1);
    pos = (pos + 1) | 0;
  }
  parentPort!.postMessage('done');
} else {
  const data = new Uint8Array(64);
  let pos = 0;
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      const sl = slot(pos);
      while (Atomics.load(i32, sl) !== pos << 1);
      data[0] = pos;
      u8.set(data, (sl + RING.DATA) * 4);
      i32[sl + 1] = pos;
      Atomics.store(i32, sl, (pos << 1) | 1);
      pos = (pos + 1) | 0;
    }
    // Done once the consumer freed the last message's slot.
    const last = (pos - 1) | 0;
    while (Atomics.load(i32, slot(last)) !== (last + RING.CAP) << 1);
  };
  const result = sampleBatches(run, opts);
  Atomics.store(i32, RING.STOP, 1);
  parentPort!.postMessage(result);
}
