/**
 * Floors of the async paths: what a message through a ring of slots costs with no kernel —
 * written into a slot on one thread (`slot-write-64b`), and streamed from one worker to another
 * (`spin-stream-64b`). They say how close `async-send-batch` and `async-xcpu-throughput` are to
 * what this engine and machine allow.
 */
import { workerPair } from './floors.js';
import { measureSync, type Measurement, type SamplerOptions } from './sampler.js';
import { RING, ringBytes } from './workers/layouts.js';

/**
 * `slot-write-64b`: one thread writes 64-byte messages into the slots of a ring in a
 * SharedArrayBuffer as a one-CPU channel send does — the payload with one `set`, the info,
 * type and two sender words, then the slot's sequence — per message (no consumer, no checks).
 */
export function slotWrite(opts: SamplerOptions): Measurement {
  const buffer = new SharedArrayBuffer(ringBytes());
  const i32 = new Int32Array(buffer);
  const u8 = new Uint8Array(buffer);
  const data = new Uint8Array(64).fill(5);
  const mask = RING.CAP - 1;
  let pos = 0;
  const m = measureSync((n) => {
    for (let i = 0; i < n; i++) {
      const sl = RING.SLOT0 + (pos & mask) * RING.SLOT_WORDS;
      i32[sl + 1] = data.length;
      i32[sl + 2] = i;
      i32[sl + 3] = 7;
      i32[sl + 4] = 0;
      u8.set(data, (sl + RING.DATA) * 4);
      i32[sl] = (pos << 1) | 1;
      pos = (pos + 1) | 0;
    }
  }, opts);
  if (u8[(RING.SLOT0 + RING.DATA) * 4] !== 5) throw new Error('slot-write-64b wrote nothing');
  return m;
}

/** `spin-stream-64b`: 64-byte messages streamed between two workers through a ring of slots in a SharedArrayBuffer (workers/ring-peer.ts), per message at the producer. */
export function spinStream(opts: SamplerOptions): Promise<Measurement> {
  const buffer = new SharedArrayBuffer(ringBytes());
  // Every slot starts free for its first position (its sequence is twice that position).
  const i32 = new Int32Array(buffer);
  for (let i = 0; i < RING.CAP; i++) i32[RING.SLOT0 + i * RING.SLOT_WORDS] = i << 1;
  return workerPair('ring-peer', ['consumer', 'producer'], buffer, RING.STOP, opts);
}
