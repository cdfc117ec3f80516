/** One run of the system on one arch backend: every scene in order, then the leak check. */
import { createKernel, type Arch } from '@veridian/core';
import type { Options } from './cli.js';
import type { Scene } from './scene.js';
import { join } from 'node:path';
import { asyncScene } from './scenes/async.js';
import { crashScene } from './scenes/crash.js';
import { killScene } from './scenes/kill.js';
import { kvScene } from './scenes/kv.js';
import { posixScene } from './scenes/posix.js';
import { regionScene } from './scenes/region.js';
import { securityScene, writeRecords } from './scenes/security.js';
import { zeroCopyScene } from './scenes/zero-copy.js';
import { paint, percentile } from './ui.js';
import type { Progress } from './progress.js';

/** What the summary prints for one arch. */
export interface ArchResult {
  arch: string;
  ran: string[];
  counts: Record<string, number>;
  calls: number;
  p50: number;
  p99: number;
  ok: boolean;
}

/** Steps {@link runOn} reports to its progress: one per scene, and the leak check. */
export const STEPS = 9;

export async function runOn(arch: Arch, opts: Options, progress: Progress): Promise<ArchResult> {
  console.log(paint('bold', `\n=== ${arch.name} ===`));
  // Audit and trace on for the whole run: the records go to the output directory at the end.
  const kernel = createKernel({ arch, audit: { records: 4096 }, trace: { records: 4096 } });
  kernel.trace.enable();
  const outDir = join(opts.out, arch.name);
  const baseline = kernel.stats();
  console.log(`machine memory: ${(baseline.memoryBytes / 2 ** 20).toFixed(1)} MiB, ${baseline.freeFrames} free frames; page sizes ${arch.pageSizes.map((s) => (s >= 2 ** 30 ? `${s / 2 ** 30}G` : s >= 2 ** 20 ? `${s / 2 ** 20}M` : `${s / 1024}K`)).join(' ')}`);
  let ok = true;
  const s: Scene = {
    kernel,
    arch,
    quick: opts.quick,
    latencies: [],
    ran: [],
    counts: {},
    fail(why) {
      ok = false;
      console.log(paint('red', `[demo] FAILED: ${why}`));
    },
  };

  // A crash is reported here, in one line, instead of Node's warning with a stack on stderr.
  kernel.on('error', ({ name, error }) => console.log(`[kernel] process "${name}" crashed: ${error instanceof Error ? error.message : String(error)} (reported on the kernel's 'error' event)`));

  const step = (next: string) => progress.tick(`${arch.name}: ${next}`);
  const server = await kvScene(s);
  step('zero-copy');
  await zeroCopyScene(s);
  step('regions');
  await regionScene(s);
  step('async');
  await asyncScene(s);
  step('security');
  await securityScene(s, outDir);
  step('posix');
  await posixScene(s);
  step('crash');
  await crashScene(s);
  step('kill');
  await killScene(s, server);
  step('leak check');

  await kernel.idle();
  const after = kernel.stats();
  const same = JSON.stringify(after) === JSON.stringify(baseline);
  console.log(`[kernel] pools after exit: ${after.processes} processes, ${after.endpoints} endpoints, ${after.capabilities} capabilities, ${after.usedFrames} frames in use ${same ? paint('green', '(back to baseline)') : paint('red', '(LEAK)')}`);
  if (!same) s.fail(`pools not back to baseline: ${JSON.stringify(after)} vs ${JSON.stringify(baseline)}`);
  const files = writeRecords(s, outDir);
  console.log(`[kernel] wrote ${outDir}/: debugfs-{trace,messages,channels}.txt (taken during the security scene), ${files.map((f) => f.slice(outDir.length + 1)).join(', ')} (load trace.json in ui.perfetto.dev)`);
  await kernel.shutdown();
  const sorted = [...s.latencies].sort((a, b) => a - b);
  return { arch: arch.name, ran: s.ran, counts: s.counts, calls: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99), ok };
}
