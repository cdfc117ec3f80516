import type { KernelEvent } from './events.js';

/** One Chrome trace event (the fields this exporter writes). */
export interface ChromeTraceEvent {
  name: string;
  ph: 'X' | 's' | 'f' | 'M';
  cat?: string;
  ts?: number;
  dur?: number;
  pid: number;
  tid: number;
  id?: number;
  bp?: 'e';
  args?: Record<string, unknown>;
}

/** The JSON object format of the trace-event spec, as ui.perfetto.dev and chrome://tracing load it. */
export interface ChromeTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: 'ns';
}

/** The process whose track an event belongs to: the one whose kernel entry acted, or the receiver. */
function actor(e: KernelEvent): number {
  return e.kind === 'receive' || e.kind === 'async-receive' || e.kind === 'topic-receive' ? e.dst : e.src;
}

/**
 * Turns kernel events into the Chrome trace-event format: one `X` slice per event on the track
 * of its process (`pid`) and CPU (`tid`), `M` metadata naming each, and flow events (`s` → `f`)
 * linking each message's send to its receive (`message`; an async channel's: `async message`) and
 * each call to its reply (`call→reply`). A flow is written only
 * when both its ends are among `events` (the ring may have dropped one), so every flow id in
 * the output has exactly one start and one end.
 */
export function toChromeTrace(events: readonly KernelEvent[], processName: (pid: number) => string): ChromeTrace {
  const out: ChromeTraceEvent[] = [];
  const starts = new Map<number, KernelEvent>();
  const ends = new Map<number, KernelEvent>();
  const tracks = new Map<number, Set<number>>();
  for (const e of events) {
    if ((e.kind === 'send' || e.kind === 'call' || e.kind === 'async-send') && e.result === 'ok') {
      if (e.flow !== 0) starts.set(e.flow, e);
      if (e.callFlow !== 0) starts.set(e.callFlow, e);
    } else if ((e.kind === 'receive' || e.kind === 'async-receive') && e.flow !== 0) ends.set(e.flow, e);
    else if ((e.kind === 'reply' || e.kind === 'reply-error') && e.callFlow !== 0) ends.set(e.callFlow, e);
  }
  const us = (ns: number) => ns / 1000;
  for (const e of events) {
    const pid = actor(e);
    let cpus = tracks.get(pid);
    if (!cpus) tracks.set(pid, (cpus = new Set()));
    cpus.add(e.cpu);
    out.push({
      name: e.result === 'ok' ? e.kind : `${e.kind} ${e.result}`,
      cat: 'ipc',
      ph: 'X',
      ts: us(e.ts),
      dur: 0.001,
      pid,
      tid: e.cpu,
      args: { src: e.src, dst: e.dst, endpoint: e.endpoint, type: e.type, size: e.size, caps: e.caps, result: e.result, ...(e.latency === null ? {} : { latencyNs: e.latency }) },
    });
  }
  for (const [id, s] of starts) {
    const f = ends.get(id);
    if (!f) continue;
    const name = id === s.callFlow ? 'call→reply' : s.kind === 'async-send' ? 'async message' : 'message';
    out.push({ name, cat: 'flow', ph: 's', id, ts: us(s.ts), pid: actor(s), tid: s.cpu });
    out.push({ name, cat: 'flow', ph: 'f', bp: 'e', id, ts: us(f.ts), pid: actor(f), tid: f.cpu });
  }
  for (const [pid, cpus] of tracks) {
    out.push({ name: 'process_name', ph: 'M', pid, tid: 0, args: { name: processName(pid) } });
    for (const cpu of cpus) out.push({ name: 'thread_name', ph: 'M', pid, tid: cpu, args: { name: `CPU ${cpu}` } });
  }
  return { traceEvents: out, displayTimeUnit: 'ns' };
}
