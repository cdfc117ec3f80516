import type { Process } from '@veridian/core';
import { echoType, pattern } from '../support/bytes.js';

/** Arguments of the echo client worker. */
export interface EchoClientArgs {
  /** Name of the echo server's endpoint. */
  name: string;
  /** Calls to make. */
  count: number;
  /** Pid the replies must come from. */
  serverPid: number;
}

/**
 * Worker-CPU client of the echo server: `count` calls with payload lengths cycling through
 * 0..64 and varied types (the last one 0xFFFFFFFF); throws on the first wrong reply.
 */
export default function echoClient(proc: Process, args: EchoClientArgs): void {
  const ch = proc.connect(args.name);
  for (let i = 0; i < args.count; i++) {
    const n = i % 65;
    const data = pattern(n, i);
    const type = i === args.count - 1 ? 0xffffffff : Math.imul(i + 1, 0x9e3779b1) >>> 0;
    const r = proc.callSync(ch, { type, data });
    if (r.type !== echoType(type)) throw new Error(`call ${i}: reply type ${r.type}, want ${echoType(type)}`);
    if (r.sender !== args.serverPid) throw new Error(`call ${i}: reply from ${r.sender}, want ${args.serverPid}`);
    if (r.length !== n) throw new Error(`call ${i}: reply length ${r.length}, want ${n}`);
    for (let b = 0; b < n; b++) if (r.bytes[b] !== data[n - 1 - b]) throw new Error(`call ${i}: reply byte ${b} wrong`);
  }
}
