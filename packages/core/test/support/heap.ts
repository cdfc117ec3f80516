// Counting what a loop allocates on the JS heap, for the no-allocation tests. Node 20 has no
// `total_allocated_bytes`, so the count is the growth of the used heap plus what every GC in
// between freed (from `v8.GCProfiler`, which records the heap before and after each GC): exact
// whether or not a scavenge ran, and independent of the young generation's size.
import { GCProfiler, getHeapStatistics } from 'node:v8';

/** Counts taken per measurement (the least is kept). */
const ROUNDS = 3;

/** What the GCs of a profile freed, in bytes. */
function freedBy(profiler: GCProfiler): { freed: number; gcs: number } {
  const { statistics } = profiler.stop();
  let freed = 0;
  for (const gc of statistics) freed += gc.beforeGC.heapStatistics.usedHeapSize - gc.afterGC.heapStatistics.usedHeapSize;
  return { freed, gcs: statistics.length };
}

/** What one measured run allocated. */
export interface Allocation {
  /** JS heap bytes allocated per call (averaged over `calls`). */
  bytesPerCall: number;
  /** How many calls were measured. */
  calls: number;
  /** How many GCs ran meanwhile (0 for a path that allocates nothing). */
  gcs: number;
}

/** One count: start it before the measured calls, finish it after them. */
function counter(): (calls: number) => Allocation {
  const profiler = new GCProfiler();
  profiler.start();
  const before = getHeapStatistics().used_heap_size;
  return (calls) => {
    const after = getHeapStatistics().used_heap_size;
    const { freed, gcs } = freedBy(profiler);
    return { bytesPerCall: (after - before + freed) / calls, calls, gcs };
  };
}

const least = (a: Allocation | undefined, b: Allocation): Allocation => (a === undefined || b.bytesPerCall < a.bytesPerCall ? b : a);

/**
 * Heap bytes per call of `run(n)`, which makes `n` calls: warmed first (so the optimised code,
 * its feedback and any lazily made state exist before counting), then measured over `calls`,
 * {@link ROUNDS} times. The least count is kept: a one-off allocation of the engine (a tier-up
 * finishing, code and feedback of an optimised function) lands in one of them, an allocation
 * per call in all.
 */
export function allocationOf(run: (n: number) => void, calls = 200_000, warm = 50_000): Allocation {
  run(warm);
  run(warm);
  let best: Allocation | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    const done = counter();
    run(calls);
    best = least(best, done(calls));
  }
  return best!;
}

/** {@link allocationOf} for an asynchronous `run(n)` (its promises and microtasks included). */
export async function allocationOfAsync(run: (n: number) => Promise<void>, calls = 200_000, warm = 50_000): Promise<Allocation> {
  await run(warm);
  await run(warm);
  let best: Allocation | undefined;
  for (let round = 0; round < ROUNDS; round++) {
    const done = counter();
    await run(calls);
    best = least(best, done(calls));
  }
  return best!;
}
