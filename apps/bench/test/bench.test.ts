import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('pnpm bench', () => {
  it('writes a report with every result, baseline and bar (quick sampling)', () => {
    const out = join(mkdtempSync(join(tmpdir(), 'bench-')), 'bench.json');
    execFileSync(process.execPath, [new URL('../dist/main.js', import.meta.url).pathname, '--quick', '--out', out], { encoding: 'utf8' });
    const report = JSON.parse(readFileSync(out, 'utf8'));
    expect(report.machine.cores).toBeGreaterThan(0);
    const ids = ['registry-lookup', 'small-call-rt', 'small-call-rt-xcpu', 'mmu-translate-hit', 'mmu-translate-miss', 'mmu-map-unmap-256'];
    for (const arch of ['x86_64', 'aarch64']) {
      for (const id of ids) {
        const r = report.results.find((x: { id: string; arch: string }) => x.id === id && x.arch === arch);
        expect(r, `${id} ${arch}`).toBeDefined();
        expect(r.median_ns).toBeGreaterThan(0);
        expect(r.p99_ns).toBeGreaterThanOrEqual(r.median_ns);
        expect(r.ops_per_s).toBeGreaterThan(0);
      }
      const miss = report.results.find((x: { id: string; arch: string }) => x.id === 'mmu-translate-miss' && x.arch === arch);
      expect(miss.miss_ratio).toBeGreaterThan(0.9);
    }
    expect(report.baselines.map((b: { id: string }) => b.id).sort()).toEqual(['map-get', 'messageport-rt']);
    expect(report.bars).toHaveLength(6);
  });
});
