import { IpcError, type Process } from '@veridian/core';
import { checkReply, encodeRequest } from './stress-server.ts';

/** Error codes a call may honestly fail with while servers and clients are being killed. */
export const ALLOWED_FAILURES: ReadonlySet<string> = new Set(['ChannelClosed', 'ProcessNotFound', 'NotFound', 'Timeout']);

const nap = new Int32Array(new SharedArrayBuffer(4));

/** Connects to `name`, retrying NotFound for up to 30 s (a server may be restarting). */
function connect(proc: Process, name: string): number {
  const deadline = performance.now() + 30_000;
  for (;;) {
    try {
      return proc.connect(name);
    } catch (e) {
      if (!(e instanceof IpcError) || e.code !== 'NotFound' || performance.now() > deadline) throw e;
      Atomics.wait(nap, 0, 0, 1);
    }
  }
}

/**
 * Worker-CPU stress client `client`: makes `count` calls to `name` with sequence numbers 0..count-1,
 * checking every reply (client id, sequence number, derived payload). With `tolerant`, a call that
 * fails with one of {@link ALLOWED_FAILURES} is counted and the client reconnects; any other error,
 * or any wrong reply, ends the client with an error. Int32[0] of `result` := successes, [1] := failures.
 */
export default function stressClient(proc: Process, args: { name: string; client: number; count: number; tolerant: boolean; result: SharedArrayBuffer }): void {
  const result = new Int32Array(args.result);
  const data = new Uint8Array(16);
  let ch = connect(proc, args.name);
  const options = args.tolerant ? { timeout: 10_000_000_000 } : undefined;
  for (let seq = 0; seq < args.count; seq++) {
    const type = encodeRequest(args.client, seq, data);
    let r;
    try {
      r = proc.callSync(ch, { type, data }, options);
    } catch (e) {
      if (!args.tolerant || !(e instanceof IpcError) || !ALLOWED_FAILURES.has(e.code)) throw e;
      Atomics.add(result, 1, 1);
      ch = connect(proc, args.name);
      continue;
    }
    const wrong = checkReply(args.client, seq, r.type, r.length, r.bytes);
    if (wrong) throw new Error(`WRONG REPLY client ${args.client} seq ${seq}: ${wrong}`);
    Atomics.add(result, 0, 1);
  }
}
