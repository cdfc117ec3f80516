import type { Process } from '@veridian/core';

/** Arguments of the async producer worker. */
export interface AsyncProducerArgs {
  /** Int32 [0]: the channel or topic handle in this worker's space (0 until granted); [1]: go. */
  ctl: SharedArrayBuffer;
  /** Producer id: the top 8 bits of each message type. */
  id: number;
  /** Messages to send; type = id << 24 | seq, payload = 4 bytes of seq. */
  count: number;
  /** Publish on a topic instead of sending on a channel. */
  topic?: boolean;
  /** Wait this many ms before the first message (a consumer gets to wait first). */
  delayMs?: number;
}

/** Worker-CPU producer: waits for its handle and the go word, then sends `count` messages, blocking when the ring is full. */
export default function asyncProducer(proc: Process, args: AsyncProducerArgs): void {
  const ctl = new Int32Array(args.ctl);
  while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0, 20);
  while (Atomics.load(ctl, 1) === 0) Atomics.wait(ctl, 1, 0, 20);
  if (args.delayMs) Atomics.wait(ctl, 2, 0, args.delayMs);
  const h = Atomics.load(ctl, 0) >>> 0;
  const data = new Uint8Array(4);
  const view = new DataView(data.buffer);
  const send = args.topic ? ((t) => (m: { type: number; data: Uint8Array }) => t.publishSync(m))(proc.topic(h)) : ((c) => (m: { type: number; data: Uint8Array }) => c.sendSync(m))(proc.channel(h));
  for (let seq = 0; seq < args.count; seq++) {
    view.setUint32(0, seq, true);
    send({ type: ((args.id << 24) | seq) >>> 0, data });
  }
}
