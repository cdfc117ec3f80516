/** Trace helpers of tests (vitest only). */
import { expect } from 'vitest';
import type { ChromeTrace } from '@veridian/core';

/** Checks that every flow id of `trace` has exactly one start (`s`) and one end (`f`); returns how many flows there are. */
export function flowsOk(trace: ChromeTrace): number {
  const starts = new Map<number, number>();
  const ends = new Map<number, number>();
  for (const e of trace.traceEvents) {
    if (e.ph === 's') starts.set(e.id!, (starts.get(e.id!) ?? 0) + 1);
    if (e.ph === 'f') ends.set(e.id!, (ends.get(e.id!) ?? 0) + 1);
  }
  expect([...starts.keys()].sort()).toEqual([...ends.keys()].sort());
  for (const n of [...starts.values(), ...ends.values()]) expect(n).toBe(1);
  return starts.size;
}
