import type { Process } from '@veridian/core';
import { Op, encodeEntry } from '../protocol.js';

/** A client on its own worker CPU: `count` GETs straight through the register fast path; reports ns per round trip. */
export default function kvBenchClient(proc: Process, args: { name: string; count: number; out: SharedArrayBuffer }): void {
  const ch = proc.connect(args.name);
  proc.callSync(ch, { type: Op.PUT, data: encodeEntry('motd', 'hello') }); // the server may be a fresh one
  const get = { type: Op.GET, data: encodeEntry('motd') };
  for (let i = 0; i < 1000; i++) proc.callSync(ch, get);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < args.count; i++) proc.callSync(ch, get);
  new Float64Array(args.out)[0] = Number(process.hrtime.bigint() - t0) / args.count;
}
