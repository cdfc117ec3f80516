import type { KernelContext } from '../context.js';
import { E, H, ObsFlag, R, RingKind, RST } from '../records/layout.js';
import { RegistryWord } from '../records/registry-word.js';
import { toChromeTrace, type ChromeTrace } from './chrome-trace.js';
import type { KernelEvent } from './events.js';
import { LatencyHistograms } from './histograms.js';

/** Occupancy of the audit ring. */
export interface AuditStats {
  /** Records written since the kernel started. */
  written: number;
  /** Records overwritten (the oldest go first once the ring is full). */
  overwritten: number;
  /** Records the ring holds (`KernelOptions.audit.records`; 0 = no audit trail). */
  capacity: number;
}

/**
 * The audit trail (`kernel.audit`): when `KernelOptions.audit` is given, every IPC operation
 * of every CPU — send, call, receive, reply, reply-error, and every refusal — leaves one
 * record in a bounded ring in machine memory (timestamp, source, destination, endpoint,
 * operation, message type, size, capabilities passed, result). The ring never grows: the
 * oldest records are overwritten and counted.
 *
 * @example
 * ```ts
 * const kernel = createKernel({ arch: x86_64, audit: { records: 4096 } });
 * // … run processes …
 * console.log(kernel.audit.stats());     // { written, overwritten, capacity }
 * writeFileSync('audit.jsonl', kernel.audit.export());
 * ```
 */
export class AuditTrail {
  readonly #k: KernelContext;

  /** @internal */
  constructor(k: KernelContext) {
    this.#k = k;
  }

  /** Written, overwritten and capacity of the ring. */
  stats(): AuditStats {
    const r = this.#k.obs.audit;
    return { written: r.written, overwritten: r.overwritten, capacity: r.capacity };
  }

  /** The records still in the ring, oldest first. */
  events(): KernelEvent[] {
    return this.#k.withLock(() => this.#k.obs.audit.events());
  }

  /** The records as JSON lines (one object per line, oldest first; empty string when none). */
  export(): string {
    return this.events()
      .map((e) => JSON.stringify(e) + '\n')
      .join('');
  }
}

/** Statistics of one endpoint, async channel or topic (`/sys/kernel/debug/ipc/channels`). */
export interface ChannelStats {
  /** `'endpoint'` (synchronous), `'async'` (an async channel) or `'topic'`. */
  kind: 'endpoint' | 'async' | 'topic';
  /** Endpoint id, or the channel's or topic's id (a separate id space). */
  endpoint: number;
  name: string | undefined;
  /** Owner pid. */
  owner: number;
  /** Messages delivered through it (always counted). */
  messages: number;
  /** Payload bytes sent into it (while tracing is on). */
  bytes: number;
  /** Callers queued now (async channels: messages in the ring; topics: 0). */
  queueDepth: number;
  /** Messages refused (rate limit, filter, full queue; while tracing is on). Async channels and topics: dropped by the overflow policy or missed by lapped subscribers (always counted). */
  drops: number;
  /** Sends and calls that found no receiver waiting and had to queue (while tracing is on). Async channels and topics: CAS retries (always counted). */
  contention: number;
  /** Latency percentiles in ns (call → reply; send → receive for one-way messages; async: send → receive, publish → each subscriber's receive), `null` before any. */
  p50: number | null;
  p99: number | null;
  p999: number | null;
}

/**
 * The message trace (`kernel.trace`): off by default; {@link MessageTrace.enable} (or writing
 * `1` to `/sys/kernel/debug/ipc/trace`) turns it on for every CPU. Traced events go to a
 * bounded ring in machine memory (`KernelOptions.trace.records`, default 1024); per-endpoint
 * latency histograms (HDR) are fed from it on CPU 0.
 *
 * @example
 * ```ts
 * kernel.trace.enable();
 * // … run processes …
 * writeFileSync('ipc.json', kernel.trace.export()); // open in ui.perfetto.dev
 * ```
 */
export class MessageTrace {
  readonly #k: KernelContext;
  readonly #hist: LatencyHistograms;
  readonly #names: (pid: number) => string | undefined;

  /** @internal */
  constructor(k: KernelContext, names: (pid: number) => string | undefined) {
    this.#k = k;
    this.#hist = new LatencyHistograms(k.obs.trace);
    this.#names = names;
  }

  /** True while tracing is on. */
  get enabled(): boolean {
    return (Atomics.load(this.#k.i32, H.OBS_FLAGS) & ObsFlag.TRACE) !== 0;
  }

  enable(): void {
    this.#k.obs.setTracing(true);
  }

  disable(): void {
    this.#k.obs.setTracing(false);
  }

  /** Records the ring holds, written in total, and overwritten. */
  stats(): AuditStats {
    const r = this.#k.obs.trace;
    return { written: r.written, overwritten: r.overwritten, capacity: r.capacity };
  }

  /** The traced events still in the ring, oldest first. */
  events(): KernelEvent[] {
    return this.#k.withLock(() => this.#k.obs.trace.events());
  }

  /** The trace in the Chrome trace-event format, as a JSON string (see {@link toChromeTrace}). */
  export(): string {
    return JSON.stringify(this.chrome());
  }

  /** The trace as a Chrome trace-event object. */
  chrome(): ChromeTrace {
    return toChromeTrace(this.events(), (pid) => {
      const name = this.#names(pid);
      return name === undefined ? `pid ${pid}` : `${name} (${pid})`;
    });
  }

  /** Statistics of every open endpoint. */
  channels(): ChannelStats[] {
    const k = this.#k;
    return k.withLock(() => {
      this.#hist.drain();
      const out: ChannelStats[] = [];
      for (let e = 0; e < k.eps.count; e++) {
        if (!k.eps.open(e)) continue;
        const id = k.eps.id(e);
        const c = k.obs.counters(e);
        const owner = k.eps.get(e, E.OWNER);
        out.push({
          kind: 'endpoint',
          endpoint: id,
          name: k.endpoints.name(e) || undefined,
          owner: owner >= 0 ? k.procs.pid(owner) : 0,
          messages: k.eps.get(e, E.MSGS) >>> 0,
          bytes: c.bytes,
          queueDepth: k.eps.get(e, E.QLEN),
          drops: c.drops,
          contention: c.queued,
          p50: this.#hist.percentile(id, 50),
          p99: this.#hist.percentile(id, 99),
          p999: this.#hist.percentile(id, 99.9),
        });
      }
      this.#rings(out);
      return out;
    });
  }

  /** Appends a line per open async channel and topic (lock held): the ring's own counters, latencies from the trace. */
  #rings(out: ChannelStats[]): void {
    const k = this.#k;
    const t = k.rings.t;
    for (let r = 0; r < t.count; r++) {
      if (t.registry(r) === RegistryWord.CLOSED) continue;
      const id = t.getU(r, R.GEN) * 0x10000 + r;
      const topic = t.get(r, R.KIND) === RingKind.TOPIC;
      const u = (f: number) => t.get(r, f) >>> 0;
      const key = -1 - id;
      out.push({
        kind: topic ? 'topic' : 'async',
        endpoint: id,
        name: undefined,
        owner: k.procs.pid(t.get(r, R.OWNER)),
        messages: u(R.MSGS),
        bytes: u(R.BYTES),
        queueDepth: topic ? 0 : (t.get(r, R.HEAD) - t.get(r, R.TAIL)) >>> 0,
        drops: u(R.DROPS),
        contention: k.i32[t.stat(r, RST.RETRIES)]! >>> 0,
        p50: this.#hist.percentile(key, 50),
        p99: this.#hist.percentile(key, 99),
        p999: this.#hist.percentile(key, 99.9),
      });
    }
  }
}
