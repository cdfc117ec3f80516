import type { Process } from '@veridian/core';
import { allocationOf } from './heap.ts';

/**
 * Worker-CPU client for the no-allocation test: connects to `name`, counts the heap bytes of
 * `calls` callSync round trips (64-byte request, every reply checked) on its own isolate, stops
 * the server, and reports by ending with an `ALLOC <bytes/call> <calls> <gcs> <clock reads/call>
 * <bytes/clock read>` error.
 *
 * `performance.now()` allocates on Node 20 (32 bytes a read) and a waiting worker reads the
 * clock once it has spun for a while, which depends on the machine's load: so the clock reads
 * are counted, and what one costs is measured here too, for the test to tell them apart.
 */
export default function allocCaller(proc: Process, args: { name: string; calls: number }): void {
  let ch = -1;
  for (let i = 0; i < 10_000 && ch < 0; i++) {
    try {
      ch = proc.connect(args.name);
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
  const perf = globalThis.performance;
  const now = perf.now.bind(perf);
  let reads = 0;
  perf.now = () => {
    reads++;
    return now();
  };
  let t = 0;
  const clock = allocationOf((n) => {
    for (let i = 0; i < n; i++) t += perf.now();
  }, 100_000, 20_000);
  const req = { type: 0, data: new Uint8Array(64) };
  let measuredReads = 0;
  const a = allocationOf((n) => {
    const r0 = reads;
    for (let i = 0; i < n; i++) {
      req.type = i;
      req.data[0] = i;
      const r = proc.callSync(ch, req);
      if (r.type !== i + 1 || r.bytes[0] !== (i & 0xff)) throw new Error(`bad reply at ${i}`);
    }
    measuredReads = reads - r0; // the last run is the measured one
  }, args.calls, 20_000);
  proc.callSync(ch, { type: 0xffffffff, data: new Uint8Array(0) });
  if (t === 0) throw new Error('no clock');
  throw new Error(`ALLOC ${a.bytesPerCall} ${a.calls} ${a.gcs} ${measuredReads / a.calls} ${clock.bytesPerCall}`);
}
