import type { Process } from '@veridian/core';

/** Worker-CPU client: raises `flag[0]`, calls `name` once and returns (a crash if the reply is wrong). */
export default function flagCaller(proc: Process, args: { name: string; flag: SharedArrayBuffer }): void {
  const flag = new Int32Array(args.flag);
  const ch = proc.connect(args.name);
  Atomics.store(flag, 0, 1);
  const r = proc.callSync(ch, { type: 5, data: new Uint8Array([9]) }, { timeout: 10e9 });
  if (r.type !== 6 || r.bytes[0] !== 9) throw new Error(`bad reply ${r.type}`);
  Atomics.store(flag, 0, 2);
}
