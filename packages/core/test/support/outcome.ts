/** Outcome helpers of tests (vitest only: not for files that worker threads or child processes load). */
import { expect } from 'vitest';

/** Every process handle returned normally (a crash shows its error in the failure). */
export async function ok(...hs: Array<{ exited: Promise<{ reason: string; error?: unknown }> }>): Promise<void> {
  const r = await Promise.all(hs.map((h) => h.exited));
  expect(r.map((x) => [x.reason, x.error === undefined ? undefined : String(x.error as Error)])).toEqual(r.map(() => ['returned', undefined]));
}

/** The `IpcError` code `p` rejects or throws with, or undefined when it succeeds. */
export async function code(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return undefined;
}
