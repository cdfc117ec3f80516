#!/usr/bin/env node
// `pnpm conformance`: runs the @veridian/testkit conformance suite in every backend package
// (packages/*/test/conformance.test.ts), prints the case × backend matrix, and writes
// reports/conformance.json. Exits non-zero when a case fails on some backend or an id is
// missing from a backend's results. Run after `nx run-many -t build` (testkit's dist holds
// the id list).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const SUITE_FILE = 'test/conformance.test.ts';
/** Matrix column order: the order first, then any other backend alphabetically. */
const PREFERRED = ['x86_64', 'aarch64', 'riscv64'];

const idsModule = join(root, 'packages/testkit/dist/case-ids.js');
if (!existsSync(idsModule)) {
  console.error('conformance: packages/testkit/dist is missing; build first (pnpm conformance does: nx run-many -t build)');
  process.exit(2);
}
const { CASE_IDS } = await import(pathToFileURL(idsModule).href);

/** Backend packages: those with a conformance test file. */
const packages = readdirSync(join(root, 'packages'))
  .map((dir) => join(root, 'packages', dir))
  .filter((dir) => existsSync(join(dir, SUITE_FILE)));
if (packages.length === 0) {
  console.error(`conformance: no package has ${SUITE_FILE}`);
  process.exit(2);
}

const out = mkdtempSync(join(tmpdir(), 'conformance-'));
/** backend name → id → result */
const results = new Map();
let runFailed = false;
for (const dir of packages) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name;
  const json = join(out, `${pkg.replace(/\W+/g, '_')}.json`);
  const vitest = join(createRequire(join(dir, 'package.json')).resolve('vitest/package.json'), '..', 'vitest.mjs');
  console.log(`conformance: running ${pkg}`);
  const run = spawnSync(process.execPath, [vitest, 'run', SUITE_FILE, '--reporter=dot', '--reporter=json', `--outputFile.json=${json}`], {
    cwd: dir,
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, CI: process.env.CI ?? 'true' },
  });
  if (!existsSync(json)) {
    console.error(`conformance: ${pkg} produced no results (vitest exit ${run.status})`);
    runFailed = true;
    continue;
  }
  const report = JSON.parse(readFileSync(json, 'utf8'));
  let failedHere = false;
  for (const file of report.testResults ?? []) {
    for (const t of file.assertionResults ?? []) {
      const suite = (t.ancestorTitles ?? []).find((a) => a.startsWith('conformance: '));
      if (!suite) continue;
      const backend = suite.slice('conformance: '.length);
      if (!results.has(backend)) results.set(backend, new Map());
      const status = t.status === 'passed' ? 'pass' : t.status === 'failed' ? 'fail' : 'skip';
      failedHere ||= status === 'fail';
      const seen = results.get(backend);
      // An id reported twice for one backend keeps its worst result.
      const rank = { fail: 2, pass: 1, skip: 0 };
      if (!seen.has(t.title) || rank[status] > rank[seen.get(t.title)]) seen.set(t.title, status);
    }
  }
  if (run.status !== 0 && !failedHere) {
    console.error(`conformance: vitest exited with ${run.status} for ${pkg} without a failing case (a file failed to load?)`);
    runFailed = true;
  }
}
rmSync(out, { recursive: true, force: true });

const backends = [...results.keys()].sort((a, b) => {
  const pa = PREFERRED.indexOf(a);
  const pb = PREFERRED.indexOf(b);
  if (pa >= 0 || pb >= 0) return (pa < 0 ? Infinity : pa) - (pb < 0 ? Infinity : pb);
  return a.localeCompare(b);
});
const missing = [];
const cases = CASE_IDS.map((id) => ({
  id,
  results: Object.fromEntries(
    backends.map((b) => {
      const r = results.get(b).get(id);
      if (r === undefined) missing.push(`${id} on ${b}`);
      return [b, r ?? 'fail'];
    }),
  ),
}));
const unknown = backends.flatMap((b) => [...results.get(b).keys()].filter((id) => !CASE_IDS.includes(id)).map((id) => `${id} on ${b}`));

// The matrix.
const width = Math.max(...CASE_IDS.map((id) => id.length));
const cell = (s) => s.padEnd(Math.max(8, ...backends.map((b) => b.length)) + 2);
const mark = { pass: 'pass', fail: 'FAIL', skip: 'skip' };
console.log(`\n${'case'.padEnd(width + 2)}${backends.map(cell).join('')}`);
console.log('-'.repeat(width + 2 + backends.length * cell('').length));
for (const c of cases) {
  const missingHere = backends.map((b) => !results.get(b).has(c.id));
  console.log(`${c.id.padEnd(width + 2)}${backends.map((b, i) => cell(missingHere[i] ? 'MISSING' : mark[c.results[b]])).join('')}`);
}
console.log('');
for (const b of backends) {
  const counts = { pass: 0, fail: 0, skip: 0 };
  for (const c of cases) counts[c.results[b]]++;
  console.log(`${b}: ${counts.pass} pass, ${counts.fail} fail, ${counts.skip} skip`);
}

mkdirSync(join(root, 'reports'), { recursive: true });
writeFileSync(join(root, 'reports/conformance.json'), `${JSON.stringify({ backends, cases }, null, 2)}\n`);
console.log('wrote reports/conformance.json');

const failures = cases.flatMap((c) => backends.filter((b) => c.results[b] === 'fail').map((b) => `${c.id} on ${b}`));
if (unknown.length) console.warn(`conformance: results for ids not in the case list (ignored): ${unknown.join(', ')}`);
if (missing.length) console.error(`conformance: missing results: ${missing.join(', ')}`);
if (failures.length) console.error(`conformance: failing: ${failures.filter((f) => !missing.includes(f)).join(', ')}`);
process.exit(failures.length || missing.length || runFailed ? 1 : 0);
