import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BASELINES, PATHS, RATIOS, ratioId, select } from '../src/benches.ts';
import { computeRatios, computeTargets, largeTable, type Row } from '../src/report.ts';

// The smoke tests run the built bench (dist) as `pnpm bench` does; they check shapes, never speed.
const MAIN = new URL('../dist/main.js', import.meta.url).pathname;
const ARCHS = ['x86_64', 'aarch64', 'riscv64'];

interface Report {
  machine: Record<string, unknown>;
  results: Row[];
  baselines: Row[];
  ratios: Array<{ id: string; arch: string; value: number | null; target: number | null; pass: boolean | null; status: string }>;
  targets: Array<{ id: string; arch: string; status: string; pass: boolean | null; limit: number }>;
}

function bench(args: string[]): { status: number | null; stdout: string; stderr: string; report?: Report; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-'));
  const out = join(dir, 'bench.json');
  const r = spawnSync(process.execPath, [MAIN, ...args, '--out', out], { encoding: 'utf8', timeout: 170_000, env: { ...process.env, NO_COLOR: '1' } });
  const report = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as Report) : undefined;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, report, dir };
}

function expectMeasured(r: Row | undefined, what: string): void {
  expect(r, what).toBeDefined();
  expect(r!.unit).toBe('ns');
  if (r!.status === 'unsupported') {
    // A path the kernel does not offer yet is reported with its reason, not a crash.
    expect(typeof r!.reason, what).toBe('string');
    expect(r!.median).toBeNull();
    return;
  }
  expect(r!.status, `${what}: ${r!.reason ?? ''}`).toBe('ok');
  expect(r!.median).toBeGreaterThan(0);
  expect(r!.p50).toBe(r!.median);
  expect(r!.p99).toBeGreaterThanOrEqual(r!.median!);
  expect(r!.samples).toBeGreaterThan(0);
}

describe('pnpm bench', () => {
  it('writes a report with every path per arch, every baseline, ratio and target (quick sampling)', () => {
    const { status, stdout, stderr, report, dir } = bench(['--quick']);
    expect(status, stderr).toBe(0);
    expect(report).toBeDefined();
    const m = report!.machine;
    expect(m.cores).toBeGreaterThan(0);
    expect(typeof m.cpu).toBe('string');
    expect(m.node).toBe(process.version);
    expect(m.load_average_start).toHaveLength(3);
    expect(m.load_average_end).toHaveLength(3);
    expect(m.isolation).toBe('process-per-arch');
    for (const arch of ARCHS) {
      for (const p of PATHS) expectMeasured(report!.results.find((x) => x.id === p.id && x.arch === arch), `${p.id} ${arch}`);
      const miss = report!.results.find((x) => x.id === 'mmu-translate-miss' && x.arch === arch)!;
      expect(miss.miss_ratio).toBeGreaterThan(0.9);
      const lock2 = report!.results.find((x) => x.id === 'lock-inspect-2w' && x.arch === arch)!;
      expect(lock2.clients).toBe(2);
      expect(lock2.throughput_ops_s).toBeGreaterThan(0);
    }
    expect(report!.baselines.map((b) => b.id).sort()).toEqual(BASELINES.map((b) => b.id).sort());
    for (const b of report!.baselines) expectMeasured(b, b.id);
    // Every documented ratio, per arch; a target carries its bar and a verdict.
    const ids = new Set(report!.ratios.map((r) => `${r.id} ${r.arch}`));
    for (const def of RATIOS) for (const arch of ARCHS) expect(ids.has(`${ratioId(def)} ${arch}`), `${ratioId(def)} ${arch}`).toBe(true);
    for (const r of report!.ratios) {
      if (r.status === 'ok') expect(r.value).toBeGreaterThan(0);
      if (r.target !== null && r.status === 'ok') expect(typeof r.pass).toBe('boolean');
    }
    expect(report!.ratios.find((r) => r.id === 'small-call-rt/await-floor')!.target).toBe(1.5);
    const targetIds = new Set(report!.targets.map((t) => t.id));
    for (const id of ['registry-lookup/map-get', 'small-call-rt/await-floor', 'small-call-rt-sync/call-floor', 'small-call-rt-xcpu/spin-rt-64b', 'main-to-worker-rt@p50', 'main-to-worker-rt-sync/small-call-rt-xcpu', 'main-to-worker-paced/piscina-paced', 'async-send@p50', 'async-send-batch@p50', 'async-xcpu-throughput/messageport-stream']) {
      expect(targetIds.has(id), id).toBe(true);
    }
    for (const t of report!.targets) expect(['pass', 'miss', 'unsupported']).toContain(t.status);
    // The table, the verdicts and the SVGs.
    expect(stdout).toMatch(/Targets/);
    expect(stdout).toMatch(/(PASS|MISS|N\/A) {2}small-call-rt\/await-floor/);
    expect(existsSync(join(dir, 'bench-ratios.svg'))).toBe(true);
    expect(readFileSync(join(dir, 'bench-small-call-rt.x86_64.svg'), 'utf8')).toMatch(/^<svg [^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect(existsSync(join(dir, 'bench-spin-rt-64b.svg'))).toBe(true);
  });

  it('--filter runs the chosen ids and the floors their ratios need', () => {
    const { status, stderr, report } = bench(['--quick', '--filter', 'registry-lookup,small-call-rt-sync']);
    expect(status, stderr).toBe(0);
    expect(new Set(report!.results.map((r) => r.id))).toEqual(new Set(['registry-lookup', 'small-call-rt-sync']));
    expect(report!.results).toHaveLength(2 * ARCHS.length);
    expect(report!.baselines.map((b) => b.id).sort()).toEqual(['call-floor', 'map-get']);
    for (const arch of ARCHS) {
      expectMeasured(report!.results.find((r) => r.id === 'registry-lookup' && r.arch === arch), `registry-lookup ${arch}`);
      expectMeasured(report!.results.find((r) => r.id === 'small-call-rt-sync' && r.arch === arch), `small-call-rt-sync ${arch}`);
      const ratio = report!.ratios.find((r) => r.id === 'registry-lookup/map-get' && r.arch === arch)!;
      expect(ratio.target).toBe(0.5);
      expect(ratio.value).toBeGreaterThan(0);
      const sync = report!.ratios.find((r) => r.id === 'small-call-rt-sync/call-floor' && r.arch === arch)!;
      expect(sync.target).toBe(2);
      expect(['ok', 'unsupported']).toContain(sync.status);
    }
    expect(report!.ratios.map((r) => r.id).sort()).toEqual([...ARCHS.map(() => 'registry-lookup/map-get'), ...ARCHS.map(() => 'small-call-rt-sync/call-floor')].sort());
  });

  it('--strict fails only on targets: a run without targets exits 0', () => {
    const r = bench(['--quick', '--strict', '--filter', 'mmu-translate-hit']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.report!.targets).toEqual([]);
    expect(r.report!.results.map((x) => x.id)).toEqual(ARCHS.map(() => 'mmu-translate-hit'));
  });

  it('a bad option or an unknown id is one clear line and exit code 2; --help prints the usage', () => {
    const bad = bench(['--frobnicate']);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/frobnicate/);
    const unknown = bench(['--filter', 'no-such-path']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
    expect(unknown.stderr).toMatch(/no-such-path/);
    const help = bench(['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--quick/);
    expect(help.stdout).toMatch(/--filter/);
  });
});

describe('ids, ratios and targets', () => {
  it('select() closes a filter over the floors of its ratios and targets', () => {
    const s = select('main-to-worker-rt-sync');
    expect(s.paths.map((p) => p.id)).toEqual(['small-call-rt-xcpu', 'main-to-worker-rt-sync']);
    expect(s.baselines.map((b) => b.id)).toEqual(['spin-rt-64b']);
    expect(select('nothing-like-this').unmatched).toEqual(['nothing-like-this']);
    expect(select(undefined).paths).toHaveLength(PATHS.length);
  });

  it('ratios compare the run’s own numbers; an unsupported path is a target without a verdict', () => {
    const row = (id: string, arch: string, p50: number, p99 = p50 * 2): Row => ({ id, arch, status: 'ok', median: p50, p50, p99, unit: 'ns', samples: 10 });
    const baselines = [row('await-floor', 'baseline', 100), row('piscina-paced', 'baseline', 50_000, 400_000)];
    const results: Row[] = [
      row('small-call-rt', 'x86_64', 140),
      row('small-call-rt', 'aarch64', 200),
      row('main-to-worker-paced', 'x86_64', 40_000, 100_000),
      { id: 'main-to-worker-rt', arch: 'x86_64', status: 'unsupported', reason: 'InvalidState: not yet', median: null, p50: null, p99: null, unit: 'ns', samples: 0 },
    ];
    const ratios = computeRatios(results, baselines);
    expect(ratios.find((r) => r.id === 'small-call-rt/await-floor' && r.arch === 'x86_64')).toMatchObject({ value: 1.4, target: 1.5, pass: true });
    expect(ratios.find((r) => r.id === 'small-call-rt/await-floor' && r.arch === 'aarch64')).toMatchObject({ value: 2, pass: false });
    expect(ratios.find((r) => r.id === 'main-to-worker-paced/piscina-paced@p99')).toMatchObject({ value: 0.25, target: null, pass: null });
    const targets = computeTargets(results, ratios);
    expect(targets.find((t) => t.id === 'small-call-rt/await-floor' && t.arch === 'aarch64')!.status).toBe('miss');
    expect(targets.find((t) => t.id === 'main-to-worker-paced/piscina-paced')!.status).toBe('pass');
    expect(targets.find((t) => t.id === 'main-to-worker-rt@p50')).toMatchObject({ status: 'unsupported', pass: null, value: null });
  });

  it('large transfers: every mode and size against memcpy of the same size, the four sizes side by side', () => {
    const sizes = ['4kib', '64kib', '1mib', '16mib'];
    for (const mode of ['move', 'share', 'copy']) {
      for (const size of sizes) {
        const p = PATHS.find((x) => x.id === `large-${mode}-${size}`);
        expect(p, `large-${mode}-${size}`).toBeDefined();
        expect(p!.floor).toBe(`memcpy-${size}`);
        expect(p!.what).toMatch(/per transfer \(round trip \/ 2\)/);
        expect(RATIOS.some((r) => r.path === p!.id && r.floor === `memcpy-${size}`)).toBe(true);
      }
    }
    for (const size of sizes) expect(BASELINES.find((b) => b.id === `memcpy-${size}`)?.kind).toBe('peer');
    expect(RATIOS.filter((r) => r.path === 'large-move-1mib-touch').map((r) => r.floor).sort()).toEqual(['large-move-1mib', 'memcpy-1mib']);
    const row = (id: string, arch: string, p50: number): Row => ({ id, arch, status: 'ok', median: p50, p50, p99: p50 * 2, unit: 'ns', samples: 10 });
    const baselines = sizes.map((s, i) => row(`memcpy-${s}`, 'baseline', 100 * 16 ** i));
    const results = sizes.map((s, i) => row(`large-move-${s}`, 'x86_64', 1000 * 4 ** i));
    const ratios = computeRatios(results, baselines);
    expect(ratios.find((r) => r.id === 'large-move-1mib/memcpy-1mib')).toMatchObject({ value: 16000 / 25600, target: 0.05, pass: false });
    expect(ratios.find((r) => r.id === 'large-move-64kib/memcpy-64kib')).toMatchObject({ target: null });
    const text = largeTable(results, baselines, ratios, (_s, x) => x).join('\n');
    expect(text).toMatch(/4 KiB +64 KiB +1 MiB +16 MiB/);
    expect(text).toMatch(/move +x86_64 +1.00 µs \(10.0×\) +4.00 µs \(2.50×\) +16.00 µs \(0.63×\) +64.00 µs \(0.16×\)/);
    expect(largeTable([], baselines, [], (_s, x) => x)).toEqual([]);
  });
});
