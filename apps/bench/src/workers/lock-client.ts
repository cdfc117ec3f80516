import type { Process } from '@veridian/core';

/** What the bench hands a lock client (one of one or two running at once). */
export interface LockClientArgs {
  /** `inspect`: `proc.inspect` of an own capability (read-only: the lock's shared mode on a worker CPU); `call`: `callSync` to the server `name`. */
  mode: 'inspect' | 'call';
  name: string;
  warmupMs: number;
  samples: number;
  sampleMs: number;
  /** Int32 [LOCK_READY] clients ready, [LOCK_GO] go (set by the bench once all are ready). */
  sync: SharedArrayBuffer;
  /** Float64: this client's ns/op per sample, then its ops and ns over all the samples. */
  out: SharedArrayBuffer;
}

export const LOCK_READY = 0;
export const LOCK_GO = 1;

/**
 * A client worker CPU hammering one cheap syscall. All clients start on the same `go` and sample
 * over the same wall-clock windows (warm-up, then `samples` windows of `sampleMs`), so their
 * throughputs add up to the kernel's throughput with that many clients.
 */
export default function lockClient(proc: Process, args: LockClientArgs): void {
  let op: (i: number) => void;
  if (args.mode === 'inspect') {
    const h = proc.createEndpoint({});
    op = () => {
      if (proc.inspect(h).permissions === 0) throw new Error('inspect returned no rights');
    };
  } else {
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
    op = (i) => {
      data[0] = i;
      msg.type = i & 0xffff;
      const r = proc.callSync(ch, msg);
      if (r.type !== (i & 0xffff) || r.bytes[0] !== (i & 0xff)) throw new Error(`corrupt reply at ${i}`);
    };
  }
  const sync = new Int32Array(args.sync);
  Atomics.add(sync, LOCK_READY, 1);
  while (Atomics.load(sync, LOCK_GO) === 0) Atomics.wait(sync, LOCK_GO, 0, 5);
  const runFor = (ms: number): [ops: number, ns: number] => {
    let ops = 0;
    const t0 = process.hrtime.bigint();
    const end = performance.now() + ms;
    do {
      for (let k = 0; k < 64; k++) op(ops++);
    } while (performance.now() < end);
    return [ops, Number(process.hrtime.bigint() - t0)];
  };
  runFor(args.warmupMs);
  const out = new Float64Array(args.out);
  let totalOps = 0;
  let totalNs = 0;
  for (let s = 0; s < args.samples; s++) {
    const [ops, ns] = runFor(args.sampleMs);
    out[s] = ns / ops;
    totalOps += ops;
    totalNs += ns;
  }
  out[args.samples] = totalOps;
  out[args.samples + 1] = totalNs;
}
