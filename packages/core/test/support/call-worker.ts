import type { Process } from '@veridian/core';

/**
 * Worker-CPU client: connects to `name`, makes `count` calls with a 64-byte payload whose
 * every byte is derived from the call number, checks every reply, and returns the elapsed ns.
 */
export default function caller(proc: Process, args: { name: string; count: number; stop?: boolean }): void {
  let ch = -1;
  for (let i = 0; i < 10_000 && ch < 0; i++) {
    try {
      ch = proc.connect(args.name);
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
  const data = new Uint8Array(64);
  const t0 = performance.now();
  for (let i = 0; i < args.count; i++) {
    for (let b = 0; b < 64; b++) data[b] = (i + b) & 0xff;
    const r = proc.callSync(ch, { type: i, data });
    if (r.type !== i + 1 || r.length !== 64) throw new Error(`bad reply header at ${i}`);
    for (let b = 0; b < 64; b++) if (r.bytes[b] !== ((i + b) & 0xff)) throw new Error(`bad payload at ${i}`);
  }
  const ms = performance.now() - t0;
  if (args.stop) proc.callSync(ch, { type: 0xffffffff, data: new Uint8Array(0) });
  throw Object.assign(new Error(`RESULT ${ms}`), { ms });
}
