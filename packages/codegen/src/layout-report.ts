/** The `vidl layout` report: each method's message sizes, alignment, capabilities and path per arch. */
import type { ArchLimits } from './arch.js';
import { Layout, type MessageLayout, type MethodLayout } from './layout.js';
import type { ProgramModel } from './model.js';

/** Layout of every method of every library, for text or JSON output. */
export interface LayoutReport {
  readonly arches: readonly ArchLimits[];
  readonly libraries: ReadonlyArray<{ readonly library: string; readonly methods: readonly MethodLayout[] }>;
}

/** Computes the layout report of a checked program. */
export function layoutReport(program: ProgramModel, arches: readonly ArchLimits[]): LayoutReport {
  const layout = new Layout(arches);
  return { arches, libraries: program.libraries.map((library) => ({ library: library.name, methods: layout.library(library) })) };
}

const size = (n: number) => (Number.isFinite(n) ? String(n) : 'unbounded');
const KIND: Record<MethodLayout['kind'], string> = { twoWay: 'two-way', oneway: 'one-way', event: 'event' };

/** A fixed-width table, one row per message (request, reply or event payload). */
export function formatLayoutReport(report: LayoutReport): string {
  const header = ['method', 'kind', 'type', 'message', 'max bytes', 'align', 'caps', ...report.arches.map((a) => a.name)];
  const out: string[] = [];
  const limits = report.arches.map((a) => `${a.name} ≤ ${a.maxSmallData} bytes and ≤ ${a.maxSmallCaps} caps`).join('; ');
  for (const { library, methods } of report.libraries) {
    if (methods.length === 0) continue;
    const rows: string[][] = [header];
    for (const m of methods) {
      const messages: Array<[string, MessageLayout]> = [[m.kind === 'event' ? 'event' : 'request', m.request]];
      if (m.reply) messages.push(['reply', m.reply]);
      messages.forEach(([label, message], i) => {
        rows.push([
          i === 0 ? `${m.protocol}.${m.method}` : '',
          i === 0 ? KIND[m.kind] : '',
          i === 0 ? `0x${m.messageType.toString(16).padStart(8, '0')}` : '',
          label,
          size(message.maxSize),
          String(message.alignment),
          size(message.maxCaps),
          ...report.arches.map((a) => message.paths[a.name] ?? '?'),
        ]);
      });
    }
    const widths = header.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
    const numeric = new Set([4, 5, 6]);
    out.push(`library ${library} (fast path: ${limits})`);
    for (const row of rows) out.push(row.map((cell, c) => (numeric.has(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd());
    out.push('');
  }
  return out.join('\n').trimEnd();
}

/** The JSON form of a report (`unbounded` sizes are `null`, ordinals hex strings). */
export function layoutReportToJson(report: LayoutReport): unknown {
  const message = (m: MessageLayout) => ({
    maxSize: Number.isFinite(m.maxSize) ? m.maxSize : null,
    alignment: m.alignment,
    maxCaps: Number.isFinite(m.maxCaps) ? m.maxCaps : null,
    paths: m.paths,
  });
  return {
    arches: report.arches,
    libraries: report.libraries.map(({ library, methods }) => ({
      library,
      methods: methods.map((m) => ({
        protocol: m.protocol,
        method: m.method,
        kind: m.kind,
        ordinal: `0x${m.ordinal.toString(16).padStart(16, '0')}`,
        messageType: m.messageType,
        request: message(m.request),
        reply: m.reply ? message(m.reply) : null,
      })),
    })),
  };
}
