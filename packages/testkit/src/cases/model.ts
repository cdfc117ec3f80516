/** Model cases: the model-based property with processes on CPU 0 and two worker CPUs, without and with kills. */
import fc from 'fast-check';
import { createKernel } from '@veridian/core';
import { runMultiProgram } from '../model/multi-runner.js';
import { multiProgramArbitrary } from '../model/program.js';
import type { CaseContext, CaseTable } from './types.js';

/**
 * Runs of each multi-CPU property: every run starts two worker CPUs (and a kill respawns one),
 * so the default is modest; `VERIDIAN_MODEL_RUNS` sets it for longer local runs.
 */
export const MODEL_RUNS_ENV = 'VERIDIAN_MODEL_RUNS';
const DEFAULT_RUNS = { multi: 5, kills: 4 } as const;
/** Steps after the prelude. */
const MAX_STEPS = 60;
/** Shrinking a failure re-runs whole programs: stop after this long and report the smallest counterexample found so far. */
const SHRINK_BUDGET_MS = 90_000;

/** Wall-time allowance per run (two worker CPUs start; a kill respawns one) on a loaded machine. */
const PER_RUN_MS = 15_000;

/** The test's time limit: every run at {@link PER_RUN_MS}, plus the shrink budget and a margin. */
function caseTimeout(fallback: number): number {
  const env = Number(process.env[MODEL_RUNS_ENV]);
  const runs = Number.isInteger(env) && env > 0 ? env : fallback;
  return runs * PER_RUN_MS + SHRINK_BUDGET_MS + 60_000;
}

/** The run count: `VERIDIAN_MODEL_RUNS` when set, else the default (never more than the suite's `propertyRuns`). */
export function modelRuns(ctx: Pick<CaseContext, 'propertyRuns'>, fallback: number): number {
  const env = process.env[MODEL_RUNS_ENV];
  if (env !== undefined && env !== '') {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 1) throw new Error(`${MODEL_RUNS_ENV} must be a positive integer, not "${env}"`);
    return n;
  }
  return Math.min(fallback, ctx.propertyRuns);
}

/** `VERIDIAN_MODEL_SEED` (and `VERIDIAN_MODEL_PATH`) replay a reported failure: fast-check's seed and path. */
function replay(): { seed?: number; path?: string } {
  const seed = process.env.VERIDIAN_MODEL_SEED;
  const path = process.env.VERIDIAN_MODEL_PATH;
  return { ...(seed ? { seed: Number(seed) } : {}), ...(seed && path ? { path } : {}) };
}

async function property(ctx: CaseContext, kills: boolean): Promise<void> {
  const numRuns = modelRuns(ctx, kills ? DEFAULT_RUNS.kills : DEFAULT_RUNS.multi);
  let firstFailure: number | undefined;
  await fc.assert(
    fc.asyncProperty(multiProgramArbitrary(MAX_STEPS, kills), async (steps) => {
      // Once the shrink budget is spent, candidates are not run: fast-check reports the smallest failing program found so far.
      if (firstFailure !== undefined && performance.now() - firstFailure > SHRINK_BUDGET_MS) return;
      try {
        await runMultiProgram((options) => createKernel(ctx.kernelOptions(options)), steps);
      } catch (e) {
        firstFailure ??= performance.now();
        throw e;
      }
    }),
    { numRuns, interruptAfterTimeLimit: numRuns * PER_RUN_MS + SHRINK_BUDGET_MS, ...replay() },
  );
}

/** The `model.*` cases. */
export const modelCases: CaseTable<'model'> = {
  'model.multi-cpu': {
    checks:
      'random programs whose syscalls are executed one step at a time by two processes on CPU 0 and two on worker CPUs (create, derive, grant, revoke, close, call, send, receive, reply, replyError, clock ticks) agree with the reference model: FIFO per channel, capacity bound, message conservation (a ledger: each message received exactly once or its send failed), channel isolation, only authorized senders, true senders, every failing syscall leaves the kernel snapshot byte-identical, and after shutdown the pools are at their baseline',
    timeout: caseTimeout(DEFAULT_RUNS.multi),
    run: (ctx) => property(ctx, false),
  },
  'model.kills': {
    checks:
      'the same multi-CPU programs with random kills of any process (CPU 0 or worker, idle or blocked in a call, send or receive) and respawns: the victim’s blocked syscall ends, callers awaiting its reply and senders and receivers on its endpoints fail with ChannelClosed, capabilities to its endpoints report ChannelClosed, nothing it had queued is delivered, every other invariant still holds, and after shutdown the pools are at their baseline',
    timeout: caseTimeout(DEFAULT_RUNS.kills),
    run: (ctx) => property(ctx, true),
  },
};
