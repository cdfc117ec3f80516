/**
 * The report: result rows, the ratios of each path to its floor and the targets, all computed on
 * the run's own numbers, and the text table printed beside the VeridianOS design figures.
 */
import { ABSOLUTE_TARGETS, absoluteId, PATHS, RATIOS, ratioId, type Stat } from './benches.js';
import { LARGE_MODES, LARGE_SIZES } from './large-benches.js';
import type { HistogramBucket, Measurement } from './sampler.js';

export type Status = 'ok' | 'unsupported' | 'failed';

/** One measured id (a path on one arch, or a baseline). Times in `unit` (always ns). */
export interface Row {
  id: string;
  /** The arch backend, or `baseline` for the floors and peers. */
  arch: string;
  status: Status;
  /** Why a path is unsupported or failed. */
  reason?: string;
  cpus?: number;
  kind?: 'floor' | 'peer';
  median: number | null;
  p50: number | null;
  p99: number | null;
  unit: 'ns';
  samples: number;
  ops?: number;
  ops_per_s?: number;
  sampling?: Measurement['sampling'];
  histogram?: HistogramBucket[];
  /** Extra figures of some paths: `miss_ratio` (mmu), `clients`, `throughput_ops_s`, `lock_stats` (lock). */
  [extra: string]: unknown;
}

export interface RatioRow {
  id: string;
  arch: string;
  path: string;
  floor: string;
  stat: Stat;
  value: number | null;
  /** The bar (ratio must be ≤ target), or null when the ratio is reported only. */
  target: number | null;
  pass: boolean | null;
  status: Status;
  reason?: string;
}

export interface TargetRow {
  id: string;
  kind: 'ratio' | 'absolute';
  arch: string;
  path: string;
  floor?: string;
  stat: Stat;
  value: number | null;
  /** value ≤ limit passes; `unit` is `x` for a ratio, `ns` for an absolute time. */
  limit: number;
  unit: 'x' | 'ns';
  pass: boolean | null;
  status: 'pass' | 'miss' | 'unsupported' | 'failed';
  reason?: string;
}

/** Builds the row of a measurement, dropping nothing but renaming to the report's fields. */
export function rowOf(id: string, arch: string, m: Measurement & Record<string, unknown>, extra: Partial<Row> = {}): Row {
  const { median_ns, p50_ns, p99_ns, ops_per_s, samples, ops, sampling, histogram, ...rest } = m;
  return { id, arch, status: 'ok', ...extra, median: median_ns, p50: p50_ns, p99: p99_ns, unit: 'ns', samples, ops, ops_per_s, sampling, ...rest, histogram };
}

export function missingRow(id: string, arch: string, status: 'unsupported' | 'failed', reason: string, extra: Partial<Row> = {}): Row {
  return { id, arch, status, reason, ...extra, median: null, p50: null, p99: null, unit: 'ns', samples: 0 };
}

const statOf = (r: Row, stat: Stat) => (stat === 'p99' ? r.p99 : r.p50);

/** Finds a floor: a baseline, or a path of the same arch. */
function floorRow(rows: Row[], baselines: Row[], id: string, arch: string): Row | undefined {
  return baselines.find((b) => b.id === id) ?? rows.find((r) => r.id === id && r.arch === arch);
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** Every ratio of {@link RATIOS} whose path was measured in this run, per arch. */
export function computeRatios(results: Row[], baselines: Row[]): RatioRow[] {
  const out: RatioRow[] = [];
  for (const def of RATIOS) {
    for (const r of results.filter((x) => x.id === def.path)) {
      const f = floorRow(results, baselines, def.floor, r.arch);
      const base = { id: ratioId(def), arch: r.arch, path: def.path, floor: def.floor, stat: def.stat, target: def.max ?? null };
      if (!f) continue; // floor not selected: the ratio is not part of this run
      if (r.status !== 'ok' || f.status !== 'ok') {
        const bad = r.status !== 'ok' ? r : f;
        out.push({ ...base, value: null, pass: null, status: bad.status, reason: `${bad.id}: ${bad.reason ?? bad.status}` });
        continue;
      }
      const value = round3(statOf(r, def.stat)! / statOf(f, def.stat)!);
      out.push({ ...base, value, pass: def.max === undefined ? null : value <= def.max, status: 'ok' });
    }
  }
  return out;
}

/** The targets (the ratios with a bar, and the absolute ones), checked on this run's numbers. */
export function computeTargets(results: Row[], ratios: RatioRow[]): TargetRow[] {
  const out: TargetRow[] = [];
  for (const r of ratios) {
    if (r.target === null) continue;
    const status = r.status === 'ok' ? (r.pass ? 'pass' : 'miss') : r.status;
    const row: TargetRow = { id: r.id, kind: 'ratio', arch: r.arch, path: r.path, floor: r.floor, stat: r.stat, value: r.value, limit: r.target, unit: 'x', pass: r.pass, status };
    if (r.reason) row.reason = r.reason;
    out.push(row);
  }
  for (const def of ABSOLUTE_TARGETS) {
    for (const r of results.filter((x) => x.id === def.path)) {
      const value = r.status === 'ok' ? statOf(r, def.stat) : null;
      const pass = value === null ? null : value <= def.maxNs;
      const row: TargetRow = { id: absoluteId(def), kind: 'absolute', arch: r.arch, path: def.path, stat: def.stat, value, limit: def.maxNs, unit: 'ns', pass, status: r.status === 'ok' ? (pass ? 'pass' : 'miss') : r.status };
      if (r.reason) row.reason = r.reason;
      out.push(row);
    }
  }
  return out;
}

// ------------------------------------------------------------------------------ text output

export function fmtNs(ns: number | null): string {
  if (ns === null) return '—';
  if (ns < 1000) return `${ns.toFixed(ns < 10 ? 2 : 1)} ns`;
  if (ns < 1e6) return `${(ns / 1000).toFixed(2)} µs`;
  return `${(ns / 1e6).toFixed(2)} ms`;
}

export function fmtRatio(x: number | null): string {
  if (x === null) return '—';
  return x >= 100 ? `${x.toFixed(0)}×` : x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`;
}

type Paint = (style: 'bold' | 'green' | 'red' | 'yellow' | 'dim', s: string) => string;

function table(head: string[], rows: string[][], align: Array<'l' | 'r'>): string[] {
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => '  ' + cells.map((c, i) => (align[i] === 'r' ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join('  ').trimEnd();
  return [line(head), line(width.map((w) => '─'.repeat(w))), ...rows.map(line)];
}

/**
 * The zero-copy transfers with their sizes side by side: per arch and mode, the median per
 * transfer and its ratio to `memcpy-<size>` of this run; the memcpy row on top. Empty when no
 * large path ran.
 */
export function largeTable(results: Row[], baselines: Row[], ratios: RatioRow[], paint: Paint): string[] {
  const large = results.filter((r) => r.id.startsWith('large-'));
  if (large.length === 0) return [];
  const cell = (r: Row | undefined, ratio?: RatioRow): string => {
    if (!r) return '';
    if (r.status !== 'ok') return r.status;
    return ratio?.value != null ? `${fmtNs(r.median)} (${fmtRatio(ratio.value)})` : fmtNs(r.median);
  };
  const rows: string[][] = [['memcpy', 'baseline', ...LARGE_SIZES.map((s) => cell(baselines.find((b) => b.id === `memcpy-${s.id}`)))]];
  const archs = [...new Set(large.map((r) => r.arch))];
  for (const arch of archs) {
    for (const mode of LARGE_MODES) {
      const cells = LARGE_SIZES.map((s) => {
        const id = `large-${mode}-${s.id}`;
        return cell(
          results.find((r) => r.id === id && r.arch === arch),
          ratios.find((x) => x.path === id && x.arch === arch && x.floor === `memcpy-${s.id}` && x.stat === 'p50'),
        );
      });
      if (cells.some((c) => c !== '')) rows.push([mode, arch, ...cells]);
    }
    const touch = results.find((r) => r.id === 'large-move-1mib-touch' && r.arch === arch);
    if (touch) rows.push(['move + touch', arch, '', '', cell(touch, ratios.find((x) => x.path === touch.id && x.arch === arch && x.floor === 'memcpy-1mib')), '']);
  }
  return [
    '',
    paint('bold', 'Large transfers by size (median per transfer; in parentheses: ratio to memcpy of the same size, this run)'),
    ...table(['transfer', 'arch', ...LARGE_SIZES.map((s) => s.label)], rows, ['l', 'l', 'r', 'r', 'r', 'r']),
  ];
}

/** The text report: floors and peers, each path beside its floor and the ratio, the targets, the lock figures. */
export function renderText(results: Row[], baselines: Row[], ratios: RatioRow[], targets: TargetRow[], paint: Paint): string[] {
  const lines: string[] = [];
  lines.push(paint('bold', 'Floors and peers (measured in this run)'));
  lines.push(
    ...table(
      ['baseline', 'kind', 'median', 'p99', 'samples'],
      baselines.map((b) => [b.id, b.kind ?? '', b.status === 'ok' ? fmtNs(b.median) : `${b.status}: ${b.reason ?? ''}`, fmtNs(b.p99), String(b.samples)]),
      ['l', 'l', 'r', 'r', 'r'],
    ),
  );
  lines.push('', paint('bold', 'Paths beside their floors'));
  const rows: string[][] = [];
  for (const r of results) {
    const def = PATHS.find((p) => p.id === r.id);
    const ratio = ratios.find((x) => x.path === r.id && x.arch === r.arch && x.floor === def?.floor && x.stat === 'p50');
    const f = def?.floor ? (baselines.find((b) => b.id === def.floor) ?? results.find((x) => x.id === def.floor && x.arch === r.arch)) : undefined;
    const measured = r.status === 'ok' ? fmtNs(r.median) : r.status;
    rows.push([r.id, r.arch, String(r.cpus ?? ''), measured, fmtNs(r.p99), def?.floor ?? '', f ? fmtNs(f.median) : '', ratio ? fmtRatio(ratio.value) : '', ratio?.target != null ? `≤ ${ratio.target}×` : '', def?.design ?? '']);
  }
  lines.push(...table(['path', 'arch', 'cpus', 'median', 'p99', 'floor', 'floor med.', 'ratio', 'target', 'VeridianOS'], rows, ['l', 'l', 'r', 'r', 'r', 'l', 'r', 'r', 'l', 'r']));
  const unsupported = results.filter((r) => r.status !== 'ok');
  for (const r of unsupported) lines.push(paint('dim', `  ${r.id} (${r.arch}) ${r.status}: ${r.reason ?? ''}`));

  const extra = ratios.filter((x) => {
    const def = PATHS.find((p) => p.id === x.path);
    return !(x.floor === def?.floor && x.stat === 'p50');
  });
  if (extra.length > 0) {
    lines.push('', paint('bold', 'Other ratios'));
    lines.push(...table(['ratio', 'arch', 'value', 'target'], extra.map((x) => [x.id, x.arch, x.status === 'ok' ? fmtRatio(x.value) : x.status, x.target !== null ? `≤ ${x.target}×` : '']), ['l', 'l', 'r', 'l']));
  }

  lines.push(...largeTable(results, baselines, ratios, paint));

  const lock = results.filter((r) => r.id.startsWith('lock-') && r.status === 'ok');
  if (lock.length > 0) {
    lines.push('', paint('bold', 'Kernel lock (per-client time of one syscall; throughput of all clients together)'));
    lines.push(
      ...table(
        ['path', 'arch', 'clients', 'per syscall', 'p99', 'throughput', 'lock stats'],
        lock.map((r) => [
          r.id,
          r.arch,
          typeof r.clients === 'number' ? String(r.clients) : '',
          fmtNs(r.median),
          fmtNs(r.p99),
          `${Number(r.throughput_ops_s ?? 0).toLocaleString('en-US')} /s`,
          r.lock_stats ? Object.entries(r.lock_stats as Record<string, number>).map(([k, v]) => `${k}=${v}`).join(' ') : 'n/a (no kernel.lockStats)',
        ]),
        ['l', 'l', 'r', 'r', 'r', 'r', 'l'],
      ),
    );
  }

  lines.push('', paint('bold', 'Targets (ratios to floors measured in this same run)'));
  for (const t of targets) {
    const verdict = t.status === 'pass' ? paint('green', 'PASS') : t.status === 'miss' ? paint('red', 'MISS') : paint('yellow', t.status === 'unsupported' ? 'N/A ' : 'FAIL');
    const value = t.value === null ? (t.reason ?? t.status) : t.unit === 'x' ? fmtRatio(t.value) : fmtNs(t.value);
    const limit = t.unit === 'x' ? `≤ ${t.limit}×` : `≤ ${fmtNs(t.limit)}`;
    lines.push(`  ${verdict}  ${t.id.padEnd(42)} ${t.arch.padEnd(8)} ${limit.padEnd(10)} ${value}`);
  }
  return lines;
}
