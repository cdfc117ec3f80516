/**
 * `pnpm start`: a small VeridianOS system, run once on each arch backend (or the one `--arch`
 * names). Each scene lives in `scenes/`; `run.ts` runs them in order and checks that every pool
 * is back to its baseline; this file is the command line and the summary.
 */
import type { Arch } from '@veridian/core';
import { aarch64 } from '@veridian/arch-aarch64';
import { riscv64 } from '@veridian/arch-riscv64';
import { x86_64 } from '@veridian/arch-x86_64';
import { USAGE, parseCli, type ArchName } from './cli.js';
import { startProgress } from './progress.js';
import { STEPS, runOn, type ArchResult } from './run.js';
import { paint, us } from './ui.js';

const ARCHES: Record<ArchName, Arch> = { x86_64, aarch64, riscv64 };

const parsed = parseCli(process.argv.slice(2));
if ('error' in parsed) {
  // One line, no stack trace: the usage is one --help away.
  console.error(`demo: ${parsed.error} (try --help)`);
  process.exit(2);
}
if ('help' in parsed) {
  console.log(USAGE);
  process.exit(0);
}

const t0 = performance.now();
console.log(paint('bold', 'VeridianOS IPC SDK demo') + ` — one kernel, ${parsed.arches.length === 1 ? 'one architecture' : `${parsed.arches.length} architectures`}${parsed.quick ? ' (quick)' : ''}`);
const results: ArchResult[] = [];
const progress = startProgress(parsed.arches.length * STEPS);
try {
  for (const name of parsed.arches) results.push(await runOn(ARCHES[name], parsed, progress));
} finally {
  progress.stop();
}

console.log(paint('bold', '\n=== summary ==='));
for (const r of results) {
  console.log(`${r.arch.padEnd(8)} ${r.ok ? paint('green', 'ok  ') : paint('red', 'FAIL')} ${r.calls} timed calls, p50 ${us(r.p50)}, p99 ${us(r.p99)}; ran ${r.ran.join(', ')}`);
  const counts = Object.entries(r.counts);
  if (counts.length > 0) console.log(`${''.padEnd(13)} messages: ${counts.map(([k, v]) => `${k} ${v}`).join(', ')}`);
}
console.log(`finished in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
if (results.some((r) => !r.ok)) process.exitCode = 1;
