import hdr from 'hdr-histogram-js';

/** Result of one measured operation. */
export interface Measurement {
  median_ns: number;
  p99_ns: number;
  ops_per_s: number;
  samples: number;
  ops: number;
}

/** How long to warm up and how many samples to take. */
export interface SamplerOptions {
  warmupMs: number;
  samples: number;
  /** Target duration of one sample (a batch of operations), in ms. */
  sampleMs: number;
}

export const DEFAULT_SAMPLING: SamplerOptions = { warmupMs: 300, samples: 60, sampleMs: 5 };

/**
 * Turns per-sample ns/op values into a median and p99. Each sample is the mean of a batch, since
 * one operation of a few nanoseconds is far below the timer's resolution; the histogram keeps
 * hundredths of a nanosecond.
 */
export function summarize(perOpNs: number[], ops: number): Measurement {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e12, numberOfSignificantValueDigits: 3 });
  for (const v of perOpNs) h.recordValue(Math.max(1, Math.round(v * 100)));
  const median = h.getValueAtPercentile(50) / 100;
  const p99 = h.getValueAtPercentile(99) / 100;
  return { median_ns: round(median), p99_ns: round(p99), ops_per_s: Math.round(1e9 / median), samples: perOpNs.length, ops };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}

/** Picks a batch size so one batch of `run` takes about `targetMs`. */
function calibrate(run: (n: number) => void, targetMs: number): number {
  let n = 1;
  for (;;) {
    const t0 = performance.now();
    run(n);
    const dt = performance.now() - t0;
    if (dt >= targetMs / 4 || n >= 1 << 26) return Math.max(1, Math.round((n * targetMs) / Math.max(dt, 1e-3)));
    n *= 4;
  }
}

/** Measures a synchronous operation: `run(n)` performs it n times. */
export function measureSync(run: (n: number) => void, opts: SamplerOptions = DEFAULT_SAMPLING): Measurement {
  const warmEnd = performance.now() + opts.warmupMs;
  while (performance.now() < warmEnd) run(64);
  const batch = calibrate(run, opts.sampleMs);
  const perOp: number[] = [];
  for (let s = 0; s < opts.samples; s++) {
    const t0 = process.hrtime.bigint();
    run(batch);
    perOp.push(Number(process.hrtime.bigint() - t0) / batch);
  }
  return summarize(perOp, batch * opts.samples);
}

/** Measures an asynchronous operation: `run(n)` performs it n times and resolves. */
export async function measureAsync(run: (n: number) => Promise<void>, opts: SamplerOptions = DEFAULT_SAMPLING): Promise<Measurement> {
  const warmEnd = performance.now() + opts.warmupMs;
  while (performance.now() < warmEnd) await run(64);
  let batch = 1;
  for (;;) {
    const t0 = performance.now();
    await run(batch);
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
    await run(batch);
    perOp.push(Number(process.hrtime.bigint() - t0) / batch);
  }
  return summarize(perOp, batch * opts.samples);
}
