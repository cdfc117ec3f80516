import hdr from 'hdr-histogram-js';
import { isRingKind } from './events.js';
import type { EventRing } from './ring.js';

/** Highest latency a histogram tracks (60 s in ns); larger values are clamped. */
const HIGHEST = 60e9;

/**
 * Latency histograms per endpoint (HDR, `hdr-histogram-js`), on CPU 0 only (JavaScript
 * objects, not machine memory). They are fed from the message trace: each drain reads the
 * latency word of the trace records written since the last one — the IPC paths themselves
 * only write the ring. A histogram is made once per endpoint with a fixed range (no
 * auto-resize), so recording allocates nothing. Records overwritten before a drain are
 * counted in {@link LatencyHistograms.missed}.
 */
export class LatencyHistograms {
  readonly #ring: EventRing;
  readonly #byEndpoint = new Map<number, hdr.Histogram>();
  #cursor = 0;
  /** Trace records that were overwritten before a drain could read them. */
  missed = 0;

  constructor(ring: EventRing) {
    this.#ring = ring;
  }

  /** Reads the trace records written since the last drain into the histograms. */
  drain(): void {
    const ring = this.#ring;
    const end = ring.written;
    const first = Math.max(this.#cursor, end - ring.capacity);
    this.missed += first - this.#cursor;
    for (let n = first; n < end; n++) {
      const lat = ring.latencyOf(n);
      if (lat < 0) continue;
      // Ring ids and endpoint ids are separate spaces: rings are keyed −1 − id.
      const id = ring.endpointOf(n);
      const ep = isRingKind(ring.kindOf(n)) ? -1 - id : id;
      let h = this.#byEndpoint.get(ep);
      if (h === undefined) {
        h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST, numberOfSignificantValueDigits: 3, autoResize: false });
        this.#byEndpoint.set(ep, h);
      }
      h.recordValue(Math.min(Math.max(lat, 1), HIGHEST));
    }
    this.#cursor = end;
  }

  /** Latency percentile `p` (0–100) of endpoint id `ep` (or `−1 − id` for an async channel or topic) in ns, or `null` when nothing was recorded. */
  percentile(ep: number, p: number): number | null {
    const h = this.#byEndpoint.get(ep);
    return h === undefined || h.totalCount === 0 ? null : h.getValueAtPercentile(p);
  }

  /** Latencies recorded for endpoint id `ep`. */
  count(ep: number): number {
    return this.#byEndpoint.get(ep)?.totalCount ?? 0;
  }
}
