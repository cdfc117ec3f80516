import type { Process } from '@veridian/core';

/** Worker-CPU producer: waits for a SEND handle in `ctl[0]`, then `sendSync`s `count` 8-byte messages of type `id << 16 | i`. */
export default function asyncSender(proc: Process, args: { ctl: SharedArrayBuffer; id: number; count: number }): void {
  const ctl = new Int32Array(args.ctl);
  while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0, 10);
  const ch = proc.channel(Atomics.load(ctl, 0) >>> 0);
  const data = new Uint8Array(8);
  for (let i = 0; i < args.count; i++) ch.sendSync({ type: (args.id << 16) | i, data });
}
