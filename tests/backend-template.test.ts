/**
 * A backend outside the monorepo: the template of docs/backend-template, copied into a temp
 * folder, depending only on the published packages (packed tarballs of @veridian/core and
 * @veridian/testkit), runs the conformance suite with its own golden vectors — and nothing is
 * copied into testkit.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { npmInstall, packTarballs, root } from './support/tarballs.ts';

let work: string;
let project: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'veridian-backend-'));
  const tarballs = packTarballs(['@veridian/core', '@veridian/testkit'], join(work, 'tarballs'));
  project = join(work, 'my-arch-backend');
  cpSync(join(root, 'docs/backend-template'), project, { recursive: true });
  const pkg = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as Record<string, Record<string, string>>;
  // The template names registry versions; install the packed tarballs in their place.
  delete pkg.dependencies!['@veridian/core'];
  delete pkg.devDependencies!['@veridian/testkit'];
  writeFileSync(join(project, 'package.json'), JSON.stringify(pkg, null, 2));
  npmInstall(project, [...tarballs, 'vitest@4.1.12', 'fast-check@4.10.2', 'tsx@4.23.15']);
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('a backend outside the monorepo', () => {
  it('runs the conformance suite with its own goldens from the published packages', () => {
    const report = join(work, 'report.json');
    let failed = false;
    try {
      execFileSync(process.execPath, [join(project, 'node_modules/vitest/vitest.mjs'), 'run', '--reporter=json', `--outputFile=${report}`], { cwd: project, stdio: 'pipe', env: { ...process.env, CI: 'true' } });
    } catch {
      failed = true;
    }
    const r = JSON.parse(readFileSync(report, 'utf8')) as { testResults: Array<{ assertionResults: Array<{ title: string; status: string; ancestorTitles: string[] }> }> };
    const results = new Map(r.testResults.flatMap((f) => f.assertionResults.filter((t) => t.ancestorTitles.includes('conformance: toy')).map((t) => [t.title, t.status] as const)));
    const failures = [...results].filter(([, s]) => s === 'failed').map(([id]) => id);
    expect(failures).toEqual([]);
    expect(failed).toBe(false);
    expect(results.get('fast.golden-frames'), 'its own golden frames are checked').toBe('passed');
    expect(results.get('fast.register-roundtrip')).toBe('passed');
    expect(results.get('sync.call-reply')).toBe('passed');
    expect(results.get('proc.worker-call-reply'), 'worker CPUs load the backend from its module URL').toBe('passed');
    expect(results.get('mmu.golden-entries'), 'declared unsupported').toBe('skipped');
    expect([...results.values()].filter((s) => s === 'passed').length).toBeGreaterThan(30);
  });

  it('copied nothing into testkit: the installed package holds no golden folder and no file naming the backend', () => {
    const testkit = join(project, 'node_modules/@veridian/testkit');
    expect(existsSync(join(testkit, 'golden'))).toBe(false);
    const all = (d: string): string[] => readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? all(join(d, e.name)) : [join(d, e.name)]));
    expect(all(testkit).filter((f) => /toy/i.test(f))).toEqual([]);
  });
});
