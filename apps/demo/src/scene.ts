/** What every scene gets: the kernel of this arch's run and a place to report what it did. */
import type { Arch, Kernel } from '@veridian/core';

export interface Scene {
  readonly kernel: Kernel;
  readonly arch: Arch;
  readonly quick: boolean;
  /** Call latencies (ns) measured from CPU 0, for the summary's p50/p99. */
  readonly latencies: number[];
  /** Message counts worth a line in the summary ("async channel": 1000, …). */
  readonly counts: Record<string, number>;
  /** Names of the scenes that ran, in order, for the summary. */
  readonly ran: string[];
  /** Marks the run failed (exit code 1) with a reason printed in red. */
  fail(why: string): void;
}
