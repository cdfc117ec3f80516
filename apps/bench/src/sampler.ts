import hdr from 'hdr-histogram-js';

/** Result of one measured operation. All times are nanoseconds. */
export interface Measurement {
  /** Median over the samples (equal to `p50`; kept under both names for readers of either). */
  median_ns: number;
  p50_ns: number;
  p99_ns: number;
  ops_per_s: number;
  /** How many samples the percentiles are over. */
  samples: number;
  /** Operations performed in all the samples. */
  ops: number;
  /** `batch`: each sample is the mean of a batch of operations; `single`: each sample is one operation. */
  sampling: 'batch' | 'single';
  /** Latency histogram of the samples (log-spaced buckets, from the HDR histogram), for the SVGs. */
  histogram: HistogramBucket[];
}

/** One bucket of a latency histogram: samples in [from_ns, to_ns). */
export interface HistogramBucket {
  from_ns: number;
  to_ns: number;
  count: number;
}

/** How long to warm up and how many samples to take. */
export interface SamplerOptions {
  warmupMs: number;
  samples: number;
  /** Target duration of one sample (a batch of operations), in ms. */
  sampleMs: number;
  /** Samples of the paced paths (one operation each, with idle time before it). */
  pacedSamples: number;
}

export const DEFAULT_SAMPLING: SamplerOptions = { warmupMs: 300, samples: 60, sampleMs: 5, pacedSamples: 400 };
export const QUICK_SAMPLING: SamplerOptions = { warmupMs: 30, samples: 12, sampleMs: 2, pacedSamples: 40 };

const HISTOGRAM_BUCKETS = 24;

/**
 * Turns per-sample ns/op values into percentiles. A batch sample is the mean of a batch, since
 * one operation of a few nanoseconds is far below the timer's resolution; the HDR histogram
 * keeps hundredths of a nanosecond with 3 significant digits. The histogram buckets the same
 * samples on a log scale.
 */
export function summarize(perOpNs: ArrayLike<number>, ops: number, sampling: Measurement['sampling'] = 'batch'): Measurement {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 1e14, numberOfSignificantValueDigits: 3 });
  for (let i = 0; i < perOpNs.length; i++) h.recordValue(Math.max(1, Math.round(perOpNs[i]! * 100)));
  const p50 = round(h.getValueAtPercentile(50) / 100);
  const p99 = round(h.getValueAtPercentile(99) / 100);
  let min = Infinity;
  let max = 0;
  for (let i = 0; i < perOpNs.length; i++) {
    min = Math.min(min, perOpNs[i]!);
    max = Math.max(max, perOpNs[i]!);
  }
  // Log-spaced buckets between the smallest and largest sample.
  const histogram: HistogramBucket[] = [];
  if (perOpNs.length > 0) {
    const lo = Math.max(0.01, min);
    const hi = Math.max(lo * 1.01, max);
    const step = Math.pow(hi / lo, 1 / HISTOGRAM_BUCKETS);
    const counts = new Array<number>(HISTOGRAM_BUCKETS).fill(0);
    for (let i = 0; i < perOpNs.length; i++) {
      const b = Math.floor(Math.log(Math.max(lo, perOpNs[i]!) / lo) / Math.log(step));
      counts[Math.min(HISTOGRAM_BUCKETS - 1, Math.max(0, b))]!++;
    }
    for (let b = 0; b < HISTOGRAM_BUCKETS; b++) histogram.push({ from_ns: round(lo * Math.pow(step, b)), to_ns: round(lo * Math.pow(step, b + 1)), count: counts[b]! });
  }
  h.destroy();
  return { median_ns: p50, p50_ns: p50, p99_ns: p99, ops_per_s: Math.round(1e9 / Math.max(p50, 0.01)), samples: perOpNs.length, ops, sampling, histogram };
}

export function round(x: number): number {
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

/** Idle time before each call of a paced path, in ms. */
export const PACE_MS = 1;

/** Resolves after about `ms` of idle time on the event loop (the thread sleeps in the poller). */
export function idle(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Measures one operation at a time with {@link PACE_MS} of idle time before each, so the peer
 * has gone to sleep (parked) by the time the call arrives: every sample pays a wake-up.
 * `once()` performs the operation once; only its own time is recorded.
 */
export async function measurePaced(once: () => Promise<void>, opts: SamplerOptions = DEFAULT_SAMPLING): Promise<Measurement> {
  const warm = Math.max(3, Math.round(opts.pacedSamples / 10));
  for (let i = 0; i < warm; i++) {
    await idle(PACE_MS);
    await once();
  }
  const perOp: number[] = [];
  for (let s = 0; s < opts.pacedSamples; s++) {
    await idle(PACE_MS);
    const t0 = process.hrtime.bigint();
    await once();
    perOp.push(Number(process.hrtime.bigint() - t0));
  }
  return summarize(perOp, opts.pacedSamples, 'single');
}
