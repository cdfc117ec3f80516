/**
 * Hand-written SVGs for `reports/`: a latency histogram per measured id and one chart of every
 * ratio against its floor. No charting dependency: a few rectangles, lines and labels.
 */
import { fmtNs, fmtRatio, type RatioRow, type Row } from './report.js';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const FONT = 'font-family="ui-monospace, Menlo, Consolas, monospace" font-size="11"';

/** File name of the histogram of `row` (beside bench.json). */
export const histogramFile = (row: Row) => `bench-${row.id}${row.arch === 'baseline' ? '' : `.${row.arch}`}.svg`;

/** A latency histogram (log-spaced buckets on a log time axis) with the median and p99 marked. */
export function histogramSvg(row: Row, note: string): string {
  const W = 640;
  const H = 280;
  const L = 56;
  const R = 36;
  const T = 44;
  const B = 40;
  const buckets = row.histogram ?? [];
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  const title = `${row.id}${row.arch === 'baseline' ? ' (baseline)' : ` (${row.arch})`}`;
  parts.push(`<text x="${L}" y="18" font-size="13" font-weight="bold">${esc(title)}</text>`);
  const sub = row.status === 'ok' ? `median ${fmtNs(row.median)} · p99 ${fmtNs(row.p99)} · ${row.samples} ${row.sampling === 'single' ? 'single calls' : 'batch means'} · ${note}` : `${row.status}: ${row.reason ?? ''}`;
  parts.push(`<text x="${L}" y="34" fill="#555">${esc(sub)}</text>`);
  if (buckets.length > 0 && row.status === 'ok') {
    const lo = Math.log(buckets[0]!.from_ns);
    const hi = Math.log(buckets[buckets.length - 1]!.to_ns);
    const span = Math.max(hi - lo, 1e-9);
    const x = (ns: number) => L + ((Math.log(ns) - lo) / span) * (W - L - R);
    const maxCount = Math.max(1, ...buckets.map((b) => b.count));
    const y = (c: number) => H - B - (c / maxCount) * (H - T - B);
    for (const b of buckets) {
      if (b.count === 0) continue;
      const x0 = x(b.from_ns);
      const x1 = x(b.to_ns);
      parts.push(`<rect x="${x0.toFixed(1)}" y="${y(b.count).toFixed(1)}" width="${Math.max(1, x1 - x0 - 1).toFixed(1)}" height="${(H - B - y(b.count)).toFixed(1)}" fill="#4a7fb5"><title>${esc(`${fmtNs(b.from_ns)} – ${fmtNs(b.to_ns)}: ${b.count}`)}</title></rect>`);
    }
    // Axes and ticks: the ends and the middle of the time axis, the max count.
    parts.push(`<line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#333"/>`);
    parts.push(`<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#333"/>`);
    for (const t of [0, 0.25, 0.5, 0.75, 1]) {
      const ns = Math.exp(lo + t * span);
      const xt = x(ns);
      parts.push(`<line x1="${xt.toFixed(1)}" y1="${H - B}" x2="${xt.toFixed(1)}" y2="${H - B + 4}" stroke="#333"/>`);
      parts.push(`<text x="${xt.toFixed(1)}" y="${H - B + 16}" text-anchor="middle">${esc(fmtNs(ns))}</text>`);
    }
    parts.push(`<text x="${L - 6}" y="${T + 4}" text-anchor="end">${maxCount}</text>`);
    parts.push(`<text x="${L - 6}" y="${H - B}" text-anchor="end">0</text>`);
    parts.push(`<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle" fill="#555">time per operation (log scale); bars: samples</text>`);
    for (const [label, ns, color] of [
      ['median', row.median!, '#2a8a2a'],
      ['p99', row.p99!, '#c0392b'],
    ] as const) {
      const xm = Math.min(W - R, Math.max(L, x(Math.max(ns, buckets[0]!.from_ns))));
      parts.push(`<line x1="${xm.toFixed(1)}" y1="${T}" x2="${xm.toFixed(1)}" y2="${H - B}" stroke="${color}" stroke-dasharray="4 3"/>`);
      const right = xm > W - R - 60;
      parts.push(`<text x="${(right ? xm - 3 : xm + 3).toFixed(1)}" y="${label === 'median' ? T + 10 : T + 22}" fill="${color}"${right ? ' text-anchor="end"' : ''}>${label}</text>`);
    }
  }
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

/** Every ratio of the run on one log-scale chart: a bar per (ratio, arch), 1× and each target marked. */
export function ratioChartSvg(ratios: RatioRow[], note: string): string {
  const W = 900;
  const rowH = 20;
  const L = 360;
  const R = 90;
  const T = 50;
  const H = T + rowH * Math.max(1, ratios.length) + 36;
  const values = ratios.flatMap((r) => (r.value !== null ? [r.value] : [])).concat(ratios.flatMap((r) => (r.target !== null ? [r.target] : [])));
  const lo = Math.log10(Math.min(0.1, ...values.map((v) => v / 1.5)));
  const hi = Math.log10(Math.max(10, ...values.map((v) => v * 1.5)));
  const x = (v: number) => L + ((Math.log10(v) - lo) / (hi - lo)) * (W - L - R);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT}>`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="12" y="18" font-size="13" font-weight="bold">Every path against its floor (ratio of times, log scale; lower is better)</text>`);
  parts.push(`<text x="12" y="34" fill="#555">${esc(`green: target met · red: target missed · grey: reported only · | target · ${note}`)}</text>`);
  for (let d = Math.ceil(lo); d <= Math.floor(hi); d++) {
    const xv = x(10 ** d);
    parts.push(`<line x1="${xv.toFixed(1)}" y1="${T - 4}" x2="${xv.toFixed(1)}" y2="${H - 30}" stroke="${d === 0 ? '#333' : '#ddd'}"/>`);
    parts.push(`<text x="${xv.toFixed(1)}" y="${H - 16}" text-anchor="middle">${esc(fmtRatio(10 ** d))}</text>`);
  }
  ratios.forEach((r, i) => {
    const y = T + i * rowH;
    parts.push(`<text x="${L - 8}" y="${y + 13}" text-anchor="end">${esc(`${r.id} (${r.arch})`)}</text>`);
    if (r.value === null) {
      parts.push(`<text x="${L + 4}" y="${y + 13}" fill="#999">${esc(r.status)}</text>`);
      return;
    }
    const color = r.pass === null ? '#999' : r.pass ? '#2a8a2a' : '#c0392b';
    const x0 = x(10 ** lo);
    parts.push(`<rect x="${x0.toFixed(1)}" y="${y + 3}" width="${Math.max(1, x(r.value) - x0).toFixed(1)}" height="${rowH - 6}" fill="${color}" opacity="0.8"/>`);
    parts.push(`<text x="${(x(r.value) + 4).toFixed(1)}" y="${y + 13}">${esc(fmtRatio(r.value))}</text>`);
    if (r.target !== null) parts.push(`<line x1="${x(r.target).toFixed(1)}" y1="${y + 1}" x2="${x(r.target).toFixed(1)}" y2="${y + rowH - 1}" stroke="#000" stroke-width="2"/>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
