// Worker-CPU side of the async stress tests: a producer, a consumer or a topic subscriber that
// takes its capability handle from a shared control array (granted by a CPU-0 setup process).
import { IpcError, createMessageBuffer, type Process } from '@veridian/core';

/** Control words: [HANDLE + i] the handle of worker i; [READY] subscribers subscribed; [RESULT + i] its result (1 = ok, -1 = wrong). */
export const CTL = { READY: 0, GO: 1, TAKEN: 2, HANDLE: 8, RESULT: 24, RECEIVED: 40, WORDS: 64 } as const;

export interface AsyncWorkerArgs {
  role: 'producer' | 'consumer' | 'publisher' | 'subscriber';
  /** Index of this worker in the control array. */
  index: number;
  /** Producer id (top 8 bits of each message type). */
  id: number;
  /** Messages to send, or to receive in total. */
  count: number;
  /** Producers the consumer expects messages from (ids 0..producers-1). */
  producers: number;
  /** Send in batches of this many (producers; 0 = one at a time); consumers: take with receiveBatch into this many buffers, blocking in receiveSync when it finds none. */
  batch: number;
  ctl: SharedArrayBuffer;
  /**
   * Consumers sharing one channel: a bitmap of `producers × perProducer` bits, one per message,
   * that each consumer sets for what it takes (`count` is then the total all of them take).
   */
  seen?: SharedArrayBuffer;
  perProducer?: number;
}

/**
 * One of several consumers of a channel: marks each message it takes in the shared bitmap (a
 * bit already set is a duplicate), checks the sequence numbers it sees rise per producer (each
 * consumer's claims move forward), and stops once all consumers together took `count`.
 */
function sharedConsumer(proc: Process, h: number, args: AsyncWorkerArgs, ctl: Int32Array): string {
  const ch = proc.channel(h);
  const seen = new Int32Array(args.seen!);
  const words = Math.ceil(args.perProducer! / 32);
  const last = new Int32Array(args.producers).fill(-1);
  const take = (type: number, bytes: Uint8Array, length: number): string => {
    const id = type >>> 24;
    const seq = type & 0xffffff;
    if (id >= args.producers || seq >= args.perProducer!) return `unknown message ${id}/${seq}`;
    if (length !== 8 || bytes[4] !== id || new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(0, true) !== seq) return `payload of ${id}/${seq} is wrong`;
    if (seq <= last[id]!) return `producer ${id}: seq ${seq} after ${last[id]} (reordered)`;
    last[id] = seq;
    const bit = 1 << (seq & 31);
    if ((Atomics.or(seen, id * words + (seq >>> 5), bit) & bit) !== 0) return `producer ${id}: seq ${seq} taken twice`;
    Atomics.add(ctl, CTL.TAKEN, 1);
    return '';
  };
  const out = Array.from({ length: Math.max(1, args.batch) }, () => createMessageBuffer());
  const bounded = { timeout: 2_000_000 };
  let mine = 0;
  while (Atomics.load(ctl, CTL.TAKEN) < args.count) {
    let n = args.batch > 0 ? ch.receiveBatch(out) : 0;
    for (let i = 0; i < n; i++) {
      const wrong = take(out[i]!.type, out[i]!.bytes, out[i]!.length);
      if (wrong) return wrong;
    }
    if (n === 0) {
      try {
        const m = ch.receiveSync(bounded);
        const wrong = take(m.type, m.bytes, m.length);
        if (wrong) return wrong;
        n = 1;
      } catch (e) {
        // Another consumer took the last ones: the loop's condition says whether all are in.
        if (!(e instanceof IpcError && e.code === 'Timeout')) throw e;
      }
    }
    mine += n;
    Atomics.store(ctl, CTL.RECEIVED + args.index, mine);
  }
  return '';
}

/** A message: type = id << 24 | seq (24 bits), payload = the seq in 8 bytes. */
export function message(id: number, seq: number, data: Uint8Array): { type: number; data: Uint8Array } {
  new DataView(data.buffer, data.byteOffset, 8).setUint32(0, seq, true);
  data[4] = id;
  return { type: ((id << 24) | (seq & 0xffffff)) >>> 0, data };
}

/** Checks messages arriving in FIFO order per producer; returns a description of the first wrong one, or ''. */
export class FifoCheck {
  readonly next: Int32Array;
  total = 0;
  constructor(producers: number) {
    this.next = new Int32Array(producers);
  }
  take(type: number, bytes: Uint8Array, length: number): string {
    const id = type >>> 24;
    const seq = type & 0xffffff;
    if (id >= this.next.length) return `unknown producer ${id}`;
    if (length !== 8 || bytes[4] !== id || new DataView(bytes.buffer, bytes.byteOffset, 8).getUint32(0, true) !== seq) return `payload of ${id}/${seq} is wrong`;
    if (seq !== (this.next[id]! & 0xffffff)) return `producer ${id}: got seq ${seq}, expected ${this.next[id]} (lost, duplicated or reordered)`;
    this.next[id]!++;
    this.total++;
    return '';
  }
}

export default function asyncWorker(proc: Process, args: AsyncWorkerArgs): void {
  const ctl = new Int32Array(args.ctl);
  const hw = CTL.HANDLE + args.index;
  while (Atomics.load(ctl, hw) === 0) Atomics.wait(ctl, hw, 0, 50);
  const h = Atomics.load(ctl, hw) >>> 0;
  const data = new Uint8Array(8);
  if (args.role === 'producer' || args.role === 'publisher') {
    while (Atomics.load(ctl, CTL.GO) === 0) Atomics.wait(ctl, CTL.GO, 0, 50);
    if (args.role === 'producer') {
      const ch = proc.channel(h);
      if (args.batch > 0) {
        const batch: Array<{ type: number; data: Uint8Array }> = Array.from({ length: args.batch }, () => ({ type: 0, data: new Uint8Array(8) }));
        for (let seq = 0; seq < args.count; ) {
          const n = Math.min(args.batch, args.count - seq);
          for (let i = 0; i < n; i++) batch[i] = message(args.id, seq + i, batch[i]!.data);
          let sent = ch.sendBatch(batch.slice(0, n));
          // Full: block for the next one, then go on in batches.
          if (sent < n) {
            ch.sendSync(batch[sent]!);
            sent++;
          }
          seq += sent;
        }
      } else for (let seq = 0; seq < args.count; seq++) ch.sendSync(message(args.id, seq, data));
    } else {
      const topic = proc.topic(h);
      for (let seq = 0; seq < args.count; seq++) topic.publishSync(message(args.id, seq, data));
    }
    Atomics.store(ctl, CTL.RESULT + args.index, 1);
    return;
  }
  const check = new FifoCheck(args.producers);
  let wrong = '';
  if (args.role === 'consumer' && args.seen) {
    wrong = sharedConsumer(proc, h, args, ctl);
  } else if (args.role === 'consumer') {
    const ch = proc.channel(h);
    const out = Array.from({ length: args.batch }, () => createMessageBuffer());
    while (check.total < args.count && !wrong) {
      const n = args.batch > 0 ? ch.receiveBatch(out.slice(0, Math.min(args.batch, args.count - check.total))) : 0;
      for (let i = 0; i < n && !wrong; i++) wrong = check.take(out[i]!.type, out[i]!.bytes, out[i]!.length);
      if (n === 0) {
        const m = ch.receiveSync();
        wrong = check.take(m.type, m.bytes, m.length);
      }
      Atomics.store(ctl, CTL.RECEIVED + args.index, check.total);
    }
  } else {
    const sub = proc.topic(h).subscribe();
    Atomics.add(ctl, CTL.READY, 1);
    Atomics.notify(ctl, CTL.READY);
    while (check.total < args.count && !wrong) {
      const m = sub.receiveSync();
      if (sub.missed) wrong = `missed ${sub.missed} messages on a blocking topic`;
      else wrong = check.take(m.type, m.bytes, m.length);
      if ((check.total & 1023) === 0) Atomics.store(ctl, CTL.RECEIVED + args.index, check.total);
    }
  }
  if (!args.seen) Atomics.store(ctl, CTL.RECEIVED + args.index, check.total);
  if (wrong) throw new Error(`worker ${args.index}: ${wrong}`);
  Atomics.store(ctl, CTL.RESULT + args.index, 1);
}
