import type { Process } from '@veridian/core';

/**
 * Worker-CPU client for stall checks: calls `name` in a loop, checking each echo, and counts
 * completed calls in Int32[0] of `progress` until Int32[1] becomes non-zero.
 */
export default function progressCaller(proc: Process, args: { name: string; progress: SharedArrayBuffer }): void {
  const counters = new Int32Array(args.progress);
  let ch = -1;
  for (let i = 0; i < 10_000 && ch < 0; i++) {
    try {
      ch = proc.connect(args.name);
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
  const data = new Uint8Array(8);
  for (let i = 0; Atomics.load(counters, 1) === 0; i++) {
    data[0] = i & 0xff;
    const r = proc.callSync(ch, { type: i, data });
    if (r.type !== i + 1 || r.bytes[0] !== (i & 0xff)) throw new Error(`bad echo at ${i}`);
    Atomics.add(counters, 0, 1);
  }
}
