/**
 * One arch backend's paths, in a process of their own (forked by main.ts with an IPC channel).
 *
 * Why a process per arch: V8 keeps type feedback per function, and the kernel's functions see
 * each backend's objects (its codec, its MMU, its register layout). Measuring three backends in
 * one isolate made the second and third run on code specialised for several shapes at once —
 * `small-call-rt-sync` on aarch64 cost ~1.5× what the same backend costs alone — which no
 * program that boots one backend ever sees. A fresh process per arch measures what such a
 * program gets; the floors and peers are measured in the parent of the same run.
 */
import { ARCHS } from './archs.js';
import { PATHS } from './benches.js';
import { measureRow } from './measure.js';
import type { Row } from './report.js';
import type { SamplerOptions } from './sampler.js';

/** What the parent sends to start the run. */
export interface ArchJob {
  arch: string;
  ids: string[];
  sampling: SamplerOptions;
}

/** What the runner sends back: a path started, or its row (with the failure it recorded, if any). */
export type ArchReport = { type: 'start'; id: string } | { type: 'row'; row: Row; failures: string[] };

const send = (m: ArchReport): Promise<void> => new Promise((resolve, reject) => process.send!(m, undefined, {}, (e) => (e ? reject(e) : resolve())));

process.once('message', (job: ArchJob) => {
  void (async () => {
    const arch = ARCHS.find((a) => a.name === job.arch);
    if (arch === undefined) throw new Error(`unknown arch ${job.arch}`);
    for (const id of job.ids) {
      const p = PATHS.find((x) => x.id === id);
      if (p === undefined) throw new Error(`unknown path ${id}`);
      await send({ type: 'start', id });
      // Each row as soon as it is measured: a runner that dies later keeps what it finished.
      const failures: string[] = [];
      const row = await measureRow(p.id, arch.name, () => p.run(arch, job.sampling), { cpus: p.cpus }, failures);
      await send({ type: 'row', row, failures });
    }
    process.disconnect();
  })().catch((e: unknown) => {
    console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
    process.exit(1);
  });
});
