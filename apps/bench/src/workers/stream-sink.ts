/**
 * Shared by the stream benches: the receiving side counts MiB and records ns per MiB for each
 * sample of `perSample` MiB after `warmup` MiB, into a Float64Array over `out`.
 */
export interface StreamArgs {
  /** MiB sent before measuring. */
  warmup: number;
  samples: number;
  /** MiB per sample. */
  perSample: number;
  out: SharedArrayBuffer;
}

export const MIB = 1 << 20;

/** Total MiB a stream bench moves. */
export const totalMiB = (a: StreamArgs): number => a.warmup + a.samples * a.perSample;

/** Returns a function to call with the byte count of each chunk received; it records the samples. */
export function sink(a: StreamArgs): (bytes: number) => void {
  const out = new Float64Array(a.out);
  let got = 0;
  let sample = -1;
  let t0 = 0n;
  let mark = a.warmup * MIB;
  return (bytes: number) => {
    got += bytes;
    while (got >= mark && sample < a.samples) {
      const now = process.hrtime.bigint();
      if (sample >= 0) out[sample] = Number(now - t0) / a.perSample;
      sample++;
      t0 = now;
      mark += a.perSample * MIB;
    }
  };
}
