import { IpcError, type Process } from '@veridian/core';

/** A `timeout` option value as it travels to the worker (structured clone keeps NaN, ±Infinity, numbers, strings). */
export type ProbeValue = number | string | null;

export interface TimeoutProbeArgs {
  /** Name of an endpoint served on another CPU that replies to every call after about 100 ms. */
  slowServer: string;
  /** Int32[0] := index of the case being run (so a hang can be located); bytes 8.. := the results so far as JSON (length in Int32[1]). */
  progress: SharedArrayBuffer;
  cases: Array<{ op: 'callSync' | 'receiveSync' | 'send' | 'callSlow'; timeout: ProbeValue }>;
}

/**
 * Worker CPU: runs each case and reports every outcome (`ok`, or the IpcError code) as
 * `RESULT <json>` in the error it exits with. `callSync`, `receiveSync` and `send` go to an endpoint
 * of its own that nobody serves (the operation would block); `callSlow` calls `slowServer`.
 */
export default async function timeoutProbe(proc: Process, args: TimeoutProbeArgs): Promise<void> {
  const progress = new Int32Array(args.progress);
  const own = proc.createEndpoint();
  let slow = -1;
  for (let i = 0; i < 10_000 && slow < 0; i++) {
    try {
      slow = proc.connect(args.slowServer);
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
  const results: string[] = [];
  for (let i = 0; i < args.cases.length; i++) {
    Atomics.store(progress, 0, i);
    const { op, timeout } = args.cases[i]!;
    const options = { timeout: timeout as number };
    try {
      if (op === 'callSync') proc.callSync(own, { type: 1, data: new Uint8Array() }, options);
      else if (op === 'receiveSync') proc.receiveSync(own, options);
      else if (op === 'send') await proc.send(own, { type: 1, data: new Uint8Array() }, options);
      else {
        const r = proc.callSync(slow, { type: 41, data: new Uint8Array() }, options);
        if (r.type !== 42) throw new Error(`wrong reply type ${r.type}`);
      }
      results.push('ok');
    } catch (e) {
      results.push(e instanceof IpcError ? e.code : `${(e as Error).name}: ${(e as Error).message}`);
    }
    const json = new TextEncoder().encode(JSON.stringify(results));
    new Uint8Array(args.progress, 8).set(json.subarray(0, args.progress.byteLength - 8));
    Atomics.store(progress, 1, Math.min(json.length, args.progress.byteLength - 8));
  }
  Atomics.store(progress, 0, -1);
  throw new Error(`RESULT ${JSON.stringify(results)}`);
}
