import { IpcError, type Process } from '@veridian/core';

/** Request type that stops the server (it replies, then returns). */
export const STOP = 0xffffffff;
/** Reply type = request type XOR this. */
export const REPLY_XOR = 0xa5a5a5a5;
/** Int32 indices in the shared counters: order violations, then per-client served counts from SERVED. */
export const C = { VIOLATIONS: 0, SERVED: 16 } as const;
export const MAX_CLIENTS = 240;
export const COUNTERS_BYTES = (C.SERVED + MAX_CLIENTS) * 4;

/** The 8 payload bytes derived from (client, seq), as two u32 words. */
export function mix(client: number, seq: number): [number, number] {
  return [(Math.imul(client ^ 0x9e3779b9, 0x85ebca6b) ^ seq) >>> 0, (Math.imul((seq + 0x632be5ab) | 0, 0xc2b2ae35) ^ client) >>> 0];
}

/** Request: type = client * 2^20 + (seq mod 2^20); data = client u32, seq u32, mix (8 bytes). */
export function encodeRequest(client: number, seq: number, out: Uint8Array): number {
  const v = new DataView(out.buffer, out.byteOffset, 16);
  const [a, b] = mix(client, seq);
  v.setUint32(0, client, true);
  v.setUint32(4, seq, true);
  v.setUint32(8, a, true);
  v.setUint32(12, b, true);
  return client * 0x100000 + (seq % 0x100000);
}

/** Checks a reply against the request (client, seq); returns a description of what is wrong, or ''. */
export function checkReply(client: number, seq: number, type: number, length: number, bytes: Uint8Array): string {
  const wantType = ((client * 0x100000 + (seq % 0x100000)) ^ REPLY_XOR) >>> 0;
  if (type !== wantType) return `type 0x${type.toString(16)} != 0x${wantType.toString(16)}`;
  if (length !== 16) return `length ${length} != 16`;
  const v = new DataView(bytes.buffer, bytes.byteOffset, 16);
  const [a, b] = mix(client, seq);
  const got = [v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true), v.getUint32(12, true)];
  if (got[0] !== client || got[1] !== seq || got[2] !== a || got[3] !== b) return `payload ${JSON.stringify(got)} != ${JSON.stringify([client, seq, a, b])}`;
  return '';
}

/**
 * Worker-CPU server for the stress tests on endpoint `name` (receiveSync / replyReceiveSync loop).
 * Echoes client id and sequence number with the derived payload, after checking the request's own
 * payload; counts requests per client and order violations (per client, each sequence number must
 * be the previous + 1, or with `relaxed` greater than the previous, within this server's life).
 * A reply to a caller that is gone (ProcessNotFound / InvalidState) is dropped and the server goes on.
 */
export default function stressServer(proc: Process, args: { name: string; counters: SharedArrayBuffer; relaxed: boolean }): void {
  const counters = new Int32Array(args.counters);
  const last = new Float64Array(MAX_CLIENTS).fill(-1);
  const ep = proc.createEndpoint({ name: args.name, capacity: 256 });
  const out = new Uint8Array(16);
  const res = { type: 0, data: out };
  let m = proc.receiveSync(ep);
  for (;;) {
    if (m.type === STOP) {
      proc.reply(m.sender, { type: 0, data: new Uint8Array() });
      return;
    }
    const v = new DataView(m.bytes.buffer, m.bytes.byteOffset, 16);
    const client = v.getUint32(0, true);
    const seq = v.getUint32(4, true);
    const [a, b] = mix(client, seq);
    if (m.length !== 16 || client >= MAX_CLIENTS || v.getUint32(8, true) !== a || v.getUint32(12, true) !== b || m.type !== client * 0x100000 + (seq % 0x100000)) {
      Atomics.add(counters, C.VIOLATIONS, 1);
    } else {
      const prev = last[client]!;
      if (args.relaxed ? seq <= prev : seq !== prev + 1) Atomics.add(counters, C.VIOLATIONS, 1);
      last[client] = seq;
      Atomics.add(counters, C.SERVED + client, 1);
    }
    out.set(m.bytes.subarray(0, 16));
    res.type = (m.type ^ REPLY_XOR) >>> 0;
    try {
      m = proc.replyReceiveSync(m.sender, res, ep);
    } catch (e) {
      // The caller was killed (or gave up) before the reply: nothing was received; serve on.
      if (!(e instanceof IpcError) || (e.code !== 'ProcessNotFound' && e.code !== 'InvalidState')) throw e;
      m = proc.receiveSync(ep);
    }
  }
}
