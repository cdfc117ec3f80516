#!/usr/bin/env node
// `pnpm test`: build, typecheck, unit tests and package checks of every project through nx,
// then ESLint, the install test of the packed tarballs and the API docs; ends with one line
// totalling every vitest run.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const reportFiles = () => {
  const files = [];
  for (const dir of ['packages', 'apps']) {
    for (const name of readdirSync(join(root, dir))) {
      const f = join(root, dir, name, 'reports', 'vitest.json');
      if (existsSync(f)) files.push(f);
    }
  }
  const install = join(root, 'reports', 'vitest', 'install.json');
  if (existsSync(install)) files.push(install);
  return files;
};
for (const f of reportFiles()) rmSync(f);

const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, NX_DAEMON: 'false' } }).status ?? 1;
let failed = false;
// Every step runs even after an earlier one failed, so one run reports every problem.
const step = (cmd, args, onFailure) => {
  if (run(cmd, args) === 0) return;
  failed = true;
  if (onFailure) console.error(onFailure);
};
step('pnpm', ['exec', 'nx', 'run-many', '-t', 'build', 'typecheck', 'check-package', '--output-style=static']);
// Test suites one package at a time: many of them start worker CPUs, and several such suites
// at once on a 2-core machine only starve each other (vitest still runs files in parallel).
step('pnpm', ['exec', 'nx', 'run-many', '-t', 'test', '--parallel=1', '--output-style=static']);
// ESLint (eslint.config.js): any finding fails the run.
step('pnpm', ['exec', 'eslint', '.', '--max-warnings', '0'], 'eslint: findings above (fix them, or run `pnpm lint --fix`)');
step('pnpm', ['exec', 'vitest', 'run', '--config', 'vitest.install.config.ts']);
// The API docs must build with zero warnings (typedoc.json treats warnings as errors).
step('pnpm', ['exec', 'typedoc', '--logLevel', 'Warn']);

let passed = 0;
let fail = 0;
let skipped = 0;
for (const f of reportFiles()) {
  const r = JSON.parse(readFileSync(f, 'utf8'));
  passed += r.numPassedTests ?? 0;
  fail += r.numFailedTests ?? 0;
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
}
if (failed && fail === 0) fail = 1; // a failing build, typecheck or package check counts as a failure
console.log(`${passed} passed, ${fail} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed ? 1 : 0);
