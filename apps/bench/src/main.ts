/**
 * `pnpm bench`: reproduces the VeridianOS IPC performance table on this machine, on every arch
 * backend, with floors and peers measured in the same run; prints each path beside its floor and
 * the ratio, checks the targets on the run's own numbers, and writes reports/bench.json plus an
 * SVG per path.
 */
import { fork } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { styleText } from 'node:util';
import cliProgress from 'cli-progress';
import { ARCHS } from './archs.js';
import { BASELINES, DESIGN_ONLY, PATHS, select } from './benches.js';
import { parseCli, USAGE } from './cli.js';
import type { ArchJob, ArchReport } from './arch-runner.js';
import { measureRow } from './measure.js';
import { computeRatios, computeTargets, missingRow, renderText, type Row } from './report.js';
import { DEFAULT_SAMPLING, QUICK_SAMPLING } from './sampler.js';
import { histogramFile, histogramSvg, ratioChartSvg } from './svg.js';

const parsed = parseCli(process.argv.slice(2), new URL('../../../reports/bench.json', import.meta.url).pathname);
if ('error' in parsed) {
  console.error(`bench: ${parsed.error}`);
  process.exit(2);
}
const options = parsed.options;
if (options.help) {
  console.log(USAGE);
  process.exit(0);
}
if (options.list) {
  for (const b of BASELINES) console.log(`${b.id.padEnd(24)} baseline (${b.kind})  ${b.what}`);
  for (const p of PATHS) console.log(`${p.id.padEnd(24)} path, per arch    ${p.what}`);
  process.exit(0);
}
const selection = select(options.filter);
if (selection.unmatched.length > 0) {
  console.error(`bench: --filter '${selection.unmatched.join(',')}' matches no id (see --list)`);
  process.exit(2);
}

const sampling = options.quick ? QUICK_SAMPLING : DEFAULT_SAMPLING;
const tty = process.stdout.isTTY === true;
const color = tty && !process.env.NO_COLOR;
const paint = (style: Parameters<typeof styleText>[0], s: string) => (color ? styleText(style, s) : s);
const loadStart = loadavg();
const started = performance.now();

console.log(
  paint('bold', 'VeridianOS IPC benchmarks') +
    ` — ${options.quick ? 'quick' : 'full'} sampling (${sampling.samples} samples of ~${sampling.sampleMs} ms after ${sampling.warmupMs} ms warm-up; ${sampling.pacedSamples} paced calls), ` +
    `${ARCHS.map((a) => a.name).join(' + ')}, ${availableParallelism()} cores, load ${loadStart.map((l) => l.toFixed(2)).join(' ')}`,
);

// Progress on a terminal only (cli-progress writes nothing when stdout is not a TTY).
const steps = selection.baselines.length + selection.paths.length * ARCHS.length;
const bar = new cliProgress.SingleBar(
  { format: '  {bar} {value}/{total}  {step}', hideCursor: true, clearOnComplete: true, stopOnComplete: true, noTTYOutput: false, stream: process.stdout },
  cliProgress.Presets.shades_classic,
);
if (tty) bar.start(steps, 0, { step: '' });

const failures: string[] = [];
async function measure(id: string, arch: string, run: () => unknown, extra: Partial<Row>): Promise<Row> {
  if (tty) bar.update({ step: `${id} ${arch === 'baseline' ? '' : arch}` });
  const row = await measureRow(id, arch, run, extra, failures);
  if (tty) bar.increment();
  return row;
}

/**
 * Runs the selected paths of one arch in a forked process of its own (see arch-runner.ts for
 * why). A runner that dies reports each path it did not finish as failed.
 */
function runArch(arch: string, ids: string[]): Promise<Row[]> {
  return new Promise((resolve) => {
    const child = fork(new URL('./arch-runner.js', import.meta.url), [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'pipe', 'ipc'] });
    let stderr = '';
    const rows: Row[] = [];
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('message', (m: ArchReport) => {
      if (m.type === 'start') {
        if (tty) bar.update({ step: `${m.id} ${arch}` });
        return;
      }
      rows.push(m.row);
      failures.push(...m.failures);
      if (tty) bar.increment();
    });
    child.on('exit', (code, signal) => {
      if (rows.length < ids.length) {
        const why = `the ${arch} runner exited (${signal ?? `code ${String(code)}`})${stderr.trim() === '' ? '' : `: ${stderr.trim().split('\n').slice(-3).join(' | ')}`}`;
        for (const id of ids.slice(rows.length)) {
          failures.push(`${id} (${arch}): ${why}`);
          rows.push(missingRow(id, arch, 'failed', why, { cpus: selection.paths.find((x) => x.id === id)!.cpus }));
        }
      }
      resolve(rows);
    });
    const job: ArchJob = { arch, ids, sampling };
    child.send(job);
  });
}

const baselines: Row[] = [];
for (const b of selection.baselines) baselines.push(await measure(b.id, 'baseline', () => b.run(sampling), { kind: b.kind }));
const results: Row[] = [];
for (const arch of ARCHS) {
  if (selection.paths.length > 0) results.push(...(await runArch(arch.name, selection.paths.map((p) => p.id))));
}
if (tty) bar.stop();
const loadEnd = loadavg();

const ratios = computeRatios(results, baselines);
const targets = computeTargets(results, ratios);
const underLoad = `load ${loadStart[0]!.toFixed(2)} → ${loadEnd[0]!.toFixed(2)} on ${availableParallelism()} cores`;

console.log('');
for (const line of renderText(results, baselines, ratios, targets, paint)) console.log(line);
if (DESIGN_ONLY.length > 0) console.log(paint('dim', `\n  VeridianOS design figures not measured by this harness: ${DESIGN_ONLY.map((d) => `${d.operation} ${d.design}`).join('; ')}.`));
console.log(paint('dim', `  Absolute figures depend on the machine and its load (${underLoad}); the targets compare ratios within this run.`));

const machine = {
  cpu: cpus()[0]?.model ?? 'unknown',
  cores: availableParallelism(),
  memory_bytes: totalmem(),
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  load_average_start: loadStart,
  load_average_end: loadEnd,
  sampling: { mode: options.quick ? 'quick' : 'full', ...sampling },
  filter: options.filter ?? null,
  archs: ARCHS.map((a) => a.name),
  /** Each arch's paths ran in a forked process of their own (arch-runner.ts); the floors and peers in this one. */
  isolation: 'process-per-arch',
  date: new Date().toISOString(),
  duration_s: Math.round((performance.now() - started) / 100) / 10,
};
const outDir = dirname(options.out);
mkdirSync(outDir, { recursive: true });
writeFileSync(options.out, JSON.stringify({ machine, results, baselines, ratios, targets }, null, 2) + '\n');
const svgs: string[] = [];
for (const row of [...baselines, ...results]) {
  const file = histogramFile(row);
  writeFileSync(join(outDir, file), histogramSvg(row, underLoad));
  svgs.push(file);
}
writeFileSync(join(outDir, 'bench-ratios.svg'), ratioChartSvg(ratios, underLoad));
console.log(`\nwrote ${options.out} and ${svgs.length + 1} SVGs in ${outDir} (${machine.duration_s} s)`);

const missed = targets.filter((t) => t.status !== 'pass');
if (failures.length > 0) {
  console.error(paint('red', `\n${failures.length} measurement(s) failed:`));
  for (const f of failures) console.error(`  ${f}`);
  process.exitCode = 1;
} else if (options.strict && missed.length > 0) {
  console.error(paint('red', `\n--strict: ${missed.length} target(s) not met (${missed.map((t) => `${t.id} ${t.arch}: ${t.status}`).join(', ')})`));
  process.exitCode = 1;
}
