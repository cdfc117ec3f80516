import { describe, it } from 'vitest';
import { createKernel, type Arch, type Kernel, type KernelOptions } from '@veridian/core';
import { AREAS, CASE_IDS, LANDED_CASES, areaOf, type Area, type CaseId, type LandedArea } from './case-ids.js';
import { LANDED_SPECS } from './cases/index.js';
import { registerPending } from './cases/pending.js';
import type { CaseContext } from './cases/types.js';
import { readGolden, type FastPathGolden, type GoldenSet, type PageTableGolden } from './golden.js';

/** A backend under test: an arch, plus kernel options it needs (e.g. more frames). */
export interface ConformanceBackend {
  /** Name shown in the suite title and the matrix (usually `arch.name`). */
  name: string;
  /** The arch backend. */
  arch: Arch;
  /** Kernel options applied on top of the suite's defaults (each case may still set the pool sizes it depends on). */
  kernel?: Partial<KernelOptions>;
}

/** Options of {@link conformance}. */
export interface ConformanceOptions {
  /**
   * Areas (`'mmu'`) or case ids (`'fast.golden-frames'`) this backend does not support. Their
   * cases are still registered, and reported as skipped.
   */
  unsupported?: ReadonlyArray<Area | CaseId>;
  /** Runs of each fast-check property (default 100; a run of the model-based property costs a few milliseconds). */
  propertyRuns?: number;
  /**
   * The backend's own golden vectors, as objects or JSON files (paths or `file:` URLs). A
   * golden case whose vectors are not given (`fast.golden-frames` without `fastPath`,
   * `mmu.golden-entries` without `pageTable`) is reported as skipped with the reason.
   */
  golden?: GoldenSet;
}

/** Defaults under every case's kernel: deterministic tokens, modest pools. */
const KERNEL_DEFAULTS = { frames: 1024, processes: 16, endpoints: 32, capSlots: 32, seed: 0x5eed } as const;

/**
 * Registers the conformance suite for `backend` with vitest: `describe('conformance: <name>')`
 * with one test per case id, titled exactly with the id (e.g. `sync.call-reply`). Cases of
 * areas that have not landed, and those the backend declares unsupported, are reported as
 * skipped. Call it at the top level of a test file.
 *
 * @example
 * ```ts
 * import { conformance } from '@veridian/testkit';
 * import { myArch } from '../src/index.js';
 *
 * conformance(
 *   { name: myArch.name, arch: myArch },
 *   { golden: { fastPath: new URL('../golden/fast-path.json', import.meta.url), pageTable: new URL('../golden/page-table.json', import.meta.url) } },
 * );
 * ```
 */
export function conformance(backend: ConformanceBackend, options: ConformanceOptions = {}): void {
  const unsupported = new Set<string>(options.unsupported ?? []);
  for (const u of unsupported) {
    if (!(AREAS as readonly string[]).includes(u) && !(CASE_IDS as readonly string[]).includes(u)) throw new Error(`conformance: unknown area or case id "${u}" in unsupported`);
  }
  const propertyRuns = options.propertyRuns ?? 100;
  // Read and check the goldens now, so a missing or malformed file fails loudly at collection.
  const golden: { fastPath?: FastPathGolden; pageTable?: PageTableGolden } = {};
  if (options.golden?.fastPath !== undefined) golden.fastPath = readGolden('fast-path', options.golden.fastPath);
  if (options.golden?.pageTable !== undefined) golden.pageTable = readGolden('page-table', options.golden.pageTable);
  for (const g of [golden.fastPath, golden.pageTable]) {
    if (g !== undefined && g.arch !== backend.arch.name) throw new Error(`conformance: golden vectors of "${g.arch}" given for arch "${backend.arch.name}"`);
  }
  describe(`conformance: ${backend.name}`, () => {
    for (const area of Object.keys(LANDED_CASES) as LandedArea[]) {
      for (const id of LANDED_CASES[area]) {
        const spec = LANDED_SPECS[id];
        if (unsupported.has(id) || unsupported.has(areaOf(id))) {
          it(id, (ctx) => ctx.skip(`${backend.name} declares ${unsupported.has(id) ? id : `the ${area} area`} unsupported`));
          continue;
        }
        const need = spec.needsGolden;
        if (need !== undefined && golden[need] === undefined) {
          it(id, (ctx) => ctx.skip(`${backend.name} supplies no golden ${need} vectors (conformance option golden.${need})`));
          continue;
        }
        it(
          id,
          async () => {
            const kernels: Kernel[] = [];
            const kernelOptions = (extra: Partial<KernelOptions> = {}): KernelOptions => ({ arch: backend.arch, ...KERNEL_DEFAULTS, ...backend.kernel, ...extra });
            const ctx: CaseContext = {
              name: backend.name,
              arch: backend.arch,
              propertyRuns,
              golden,
              kernelOptions,
              kernel(extra) {
                const k = createKernel(kernelOptions(extra));
                kernels.push(k);
                return k;
              },
            };
            try {
              await spec.run(ctx);
            } finally {
              await Promise.all(kernels.map((k) => k.shutdown()));
            }
          },
          spec.timeout,
        );
      }
    }
    registerPending();
  });
}
