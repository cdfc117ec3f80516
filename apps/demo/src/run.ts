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

/** The scenes after the key-value one (which starts the server the kill scene stops), in order. */
const LATER_SCENES: ReadonlyArray<readonly [string, (s: Scene, outDir: string, server: Awaited<ReturnType<typeof kvScene>>) => Promise<unknown>]> = [
  ['zero-copy', (s) => zeroCopyScene(s)],
  ['regions', (s) => regionScene(s)],
  ['async', (s) => asyncScene(s)],
  ['security', (s, outDir) => securityScene(s, outDir)],
  ['posix', (s) => posixScene(s)],
  ['crash', (s) => crashScene(s)],
  ['kill', (s, _outDir, server) => killScene(s, server)],
];

/** Steps {@link runOn} reports to its progress: the key-value scene, the others, the leak check. */
export const STEPS = LATER_SCENES.length + 2;

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

  progress.tick(`${arch.name}: key-value`);
  const server = await kvScene(s);
  for (const [name, scene] of LATER_SCENES) {
    progress.tick(`${arch.name}: ${name}`);
    await scene(s, outDir, server);
  }
  progress.tick(`${arch.name}: leak check`);

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
