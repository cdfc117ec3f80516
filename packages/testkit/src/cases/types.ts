import type { Arch, Kernel, KernelOptions } from '@veridian/core';
import type { LandedArea, LandedCaseId } from '../case-ids.js';
import type { FastPathGolden, PageTableGolden } from '../golden.js';

/** What a case gets to work with: the backend under test and a kernel factory. */
export interface CaseContext {
  /** Backend name as given to `conformance`. */
  readonly name: string;
  /** The arch backend under test. */
  readonly arch: Arch;
  /**
   * A fresh kernel over the backend: testkit defaults, then the backend's kernel options,
   * then `options`. Every kernel made here is shut down when the case ends.
   */
  kernel(options?: Partial<KernelOptions>): Kernel;
  /** The options {@link CaseContext.kernel} would use, for a kernel the case creates and shuts down itself. */
  kernelOptions(options?: Partial<KernelOptions>): KernelOptions;
  /** Runs of each fast-check property. */
  readonly propertyRuns: number;
  /** The golden vectors the backend supplied (read and checked once per suite). */
  readonly golden: { readonly fastPath?: FastPathGolden; readonly pageTable?: PageTableGolden };
}

/** One conformance case: what it checks (for the README and reports) and its body. */
export interface CaseSpec {
  /** One line: the behaviour the case asserts. */
  readonly checks: string;
  /** Golden vectors the case cannot run without; when the backend supplies none it is skipped with a reason. */
  readonly needsGolden?: 'fastPath' | 'pageTable';
  /** Test time limit in milliseconds, when the default is not enough. */
  readonly timeout?: number;
  /** The test body; it throws (an assertion error) when the backend breaks the behaviour. */
  run(ctx: CaseContext): Promise<void> | void;
}

/** The cases of one landed area: exactly one spec per id of the area. */
export type CaseTable<A extends LandedArea> = { readonly [K in Extract<LandedCaseId, `${A}.${string}`>]: CaseSpec };

/** The cases of some ids of a landed area, when an area's cases live in more than one file. */
export type CaseSubset<Ids extends LandedCaseId> = { readonly [K in Ids]: CaseSpec };
