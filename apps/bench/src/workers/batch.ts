/** What a measuring worker is told: warm-up, sample count and target duration of a sample. */
export interface BatchOptions {
  warmupMs: number;
  samples: number;
  sampleMs: number;
}

/** What a measuring worker reports: ns/op per sample and the batch size. */
export interface BatchResult {
  perOp: number[];
  batch: number;
}

/**
 * The synchronous batch sampler used inside workers: warm up, pick a batch that takes about
 * `sampleMs`, then time `samples` batches. `run(n)` performs the operation n times.
 */
export function sampleBatches(run: (n: number) => void, opts: BatchOptions, firstBatch = 256): BatchResult {
  const warmEnd = performance.now() + opts.warmupMs;
  while (performance.now() < warmEnd) run(firstBatch);
  let batch = firstBatch;
  for (;;) {
    const t0 = performance.now();
    run(batch);
    const dt = performance.now() - t0;
    if (dt >= opts.sampleMs / 4 || batch >= 1 << 24) {
      batch = Math.max(1, Math.round((batch * opts.sampleMs) / Math.max(dt, 1e-3)));
      break;
    }
    batch *= 4;
  }
  const perOp: number[] = [];
  for (let s = 0; s < opts.samples; s++) {
    const t0 = process.hrtime.bigint();
    run(batch);
    perOp.push(Number(process.hrtime.bigint() - t0) / batch);
  }
  return { perOp, batch };
}
