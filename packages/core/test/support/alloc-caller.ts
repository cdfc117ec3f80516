import type { Process } from '@veridian/core';
import { allocationOf } from './heap.ts';

/**
 * Worker-CPU client for the no-allocation test: connects to `name`, counts the heap bytes of
 * `calls` callSync round trips (64-byte request, every reply checked) on its own isolate, stops
 * the server, and reports by ending with an `ALLOC <bytes per call> <calls> <gcs>` error.
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
  const req = { type: 0, data: new Uint8Array(64) };
  const a = allocationOf((n) => {
    for (let i = 0; i < n; i++) {
      req.type = i;
      req.data[0] = i;
      const r = proc.callSync(ch, req);
      if (r.type !== i + 1 || r.bytes[0] !== (i & 0xff)) throw new Error(`bad reply at ${i}`);
    }
  }, args.calls, 20_000);
  proc.callSync(ch, { type: 0xffffffff, data: new Uint8Array(0) });
  throw new Error(`ALLOC ${a.bytesPerCall} ${a.calls} ${a.gcs}`);
}
