/**
 * Small helpers the cases share: waiting for the one-CPU scheduler to go quiet, capturing
 * error codes, comparing kernel snapshots, and collecting process exits.
 */
import { expect } from 'vitest';
import { IpcError, type Kernel, type ProcessExit, type ProcessHandle } from '@veridian/core';

export { pattern } from './bytes.js';

/** An empty payload. */
export const EMPTY = new Uint8Array(0);

/** A kernel state snapshot as returned by `Kernel.snapshot()`. */
export type Snapshot = ReturnType<Kernel['snapshot']>;

/**
 * Lets the main CPU run until every process is blocked: a few macrotask turns, enough for
 * the scheduler to drain its ready queue (processes only run in microtasks).
 */
export async function settle(turns = 6): Promise<void> {
  for (let i = 0; i < turns; i++) await new Promise<void>((r) => setImmediate(r));
}

/** The `IpcError` code `fn` throws, or `'ok'` when it returns. Any other exception propagates. */
export function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof IpcError) return e.code;
    throw e;
  }
  return 'ok';
}

/** The `IpcError` code `promise` rejects with, or `'ok'` when it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (e) {
    if (e instanceof IpcError) return e.code;
    throw e;
  }
  return 'ok';
}

/** State of a promise right now (a settled promise reports before any pending work runs). */
export type Settled<T> = { state: 'pending' } | { state: 'fulfilled'; value: T } | { state: 'rejected'; error: unknown };

const PENDING = Symbol('pending');

/** Whether `promise` has already settled, without waiting for it. */
export async function settledNow<T>(promise: Promise<T>): Promise<Settled<T>> {
  const marker = Promise.resolve(PENDING);
  try {
    const v = await Promise.race([promise, marker]);
    return v === PENDING ? { state: 'pending' } : { state: 'fulfilled', value: v as T };
  } catch (error) {
    return { state: 'rejected', error };
  }
}

/** Asserts two snapshots are identical: every record word and the free-frame count. */
export function expectSameState(after: Snapshot, before: Snapshot, what = 'kernel state'): void {
  expect(after.freeFrames, `${what}: free frames`).toBe(before.freeFrames);
  expect(after.records.length, `${what}: record words`).toBe(before.records.length);
  const first = firstDifference(after.records, before.records);
  expect(first, `${what}: first differing record word`).toBe(-1);
}

/** Index of the first differing word, or -1. */
export function firstDifference(a: Int32Array, b: Int32Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Which parts of the kernel differ between two snapshots. */
export interface StateDiff {
  /** Number of process records that differ. */
  processes: number;
  /** Whether any endpoint record differs (queues, counts, generations, names). */
  endpoints: boolean;
  /** Whether any capability slot differs. */
  capabilities: boolean;
  /** Whether the free-frame count differs. */
  frames: boolean;
}

/** Compares two snapshots region by region (process records, endpoint records, capability slots). */
export function diffState(kernel: Kernel, a: Snapshot, b: Snapshot): StateDiff {
  const mm = kernel.memory;
  const start = mm.recordsStart;
  const procWords = mm.nproc > 1 ? mm.proc(1) - mm.proc(0) : mm.regBase - mm.procBase;
  let processes = 0;
  for (let p = 0; p < mm.nproc; p++) {
    const lo = mm.proc(p) - start;
    if (firstDifference(a.records.subarray(lo, lo + procWords), b.records.subarray(lo, lo + procWords)) >= 0) processes++;
  }
  // The endpoint registry table (generation and state per endpoint) and the endpoint records.
  const ep = [mm.regBase - start, mm.slotBase - start] as const;
  const slots = [mm.slotBase - start, mm.frameBase - start] as const;
  return {
    processes,
    endpoints: firstDifference(a.records.subarray(...ep), b.records.subarray(...ep)) >= 0,
    capabilities: firstDifference(a.records.subarray(...slots), b.records.subarray(...slots)) >= 0,
    frames: a.freeFrames !== b.freeFrames,
  };
}

/**
 * Waits for every process to exit and asserts each returned normally; a process that crashed
 * (for example on a failed assertion in its body) rethrows its error here.
 */
export async function returned(...handles: ProcessHandle[]): Promise<ProcessExit[]> {
  const exits = await Promise.all(handles.map((h) => h.exited));
  for (const e of exits) {
    if (e.reason === 'crashed') throw e.error instanceof Error ? e.error : new Error(`process ${e.name} crashed: ${String(e.error)}`);
    expect(e.reason, `exit of ${e.name}`).toBe('returned');
  }
  return exits;
}

/** A pid that named a process which has exited (for stale-pid checks). */
export async function exitedPid(kernel: Kernel, name = 'gone'): Promise<number> {
  const h = kernel.spawn({ name }, () => undefined);
  await returned(h);
  return h.pid;
}

/** Settles like `promise`, or rejects after `ms` milliseconds of wall time (a generous bound for worker CPUs). */
export async function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, limit]);
  } finally {
    clearTimeout(timer);
  }
}
