import type { Process } from '@veridian/core';

/** What the bench hands the calling worker. */
export interface CallerArgs {
  name: string;
  warmupMs: number;
  samples: number;
  sampleMs: number;
  /** Float64Array over this buffer receives ns/op per sample, then the batch size. */
  out: SharedArrayBuffer;
}

/** Worker-CPU client measuring call + reply round trips to `name` in batches; results go to `out`. */
export default function caller(proc: Process, args: CallerArgs): void {
  let ch = -1;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (ch < 0) {
    try {
      ch = proc.connect(args.name);
    } catch {
      Atomics.wait(pause, 0, 0, 1);
    }
  }
  const data = new Uint8Array(64);
  const msg = { type: 1, data };
  const run = (n: number) => {
    for (let i = 0; i < n; i++) {
      data[0] = i;
      msg.type = i & 0xffff;
      const r = proc.callSync(ch, msg);
      if (r.type !== (i & 0xffff) || r.bytes[0] !== (i & 0xff)) throw new Error(`corrupt reply at ${i}`);
    }
  };
  const warmEnd = performance.now() + args.warmupMs;
  while (performance.now() < warmEnd) run(256);
  let batch = 256;
  for (;;) {
    const t0 = performance.now();
    run(batch);
    const dt = performance.now() - t0;
    if (dt >= args.sampleMs / 4) {
      batch = Math.max(1, Math.round((batch * args.sampleMs) / dt));
      break;
    }
    batch *= 4;
  }
  const out = new Float64Array(args.out);
  for (let s = 0; s < args.samples; s++) {
    const t0 = process.hrtime.bigint();
    run(batch);
    out[s] = Number(process.hrtime.bigint() - t0) / batch;
  }
  out[args.samples] = batch;
  proc.callSync(ch, { type: 0xffffffff, data: new Uint8Array(0) });
}
