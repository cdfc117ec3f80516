import { IpcError, type Process } from '@veridian/core';

/** Worker-CPU client: `count` calls to `name` as fast as it can; Int32[0] of `result` := successes, [1] := RateLimited, [2] := other failures. */
export default function flood(proc: Process, args: { name: string; count: number; result: SharedArrayBuffer }): void {
  const result = new Int32Array(args.result);
  const ch = proc.connect(args.name);
  const data = new Uint8Array(8);
  for (let i = 0; i < args.count; i++) {
    try {
      proc.callSync(ch, { type: 1, data });
      result[0]!++;
    } catch (e) {
      if (e instanceof IpcError && e.code === 'RateLimited') result[1]!++;
      else result[2]!++;
    }
  }
}
