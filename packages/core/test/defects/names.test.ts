// Defect 9: a bad process or endpoint name (not a string, empty, over 32 UTF-8 bytes) must be
// InvalidArgument with nothing taken: no record, no address-space frames, no endpoint, no capability.
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { IpcError, type Kernel } from '@veridian/core';
import { testKernel } from '../support/kernel.ts';

const here = (f: string) => new URL(`../support/${f}`, import.meta.url);

const BAD_NAMES: Array<[string, unknown]> = [
  ['123 (a number)', 123],
  ['an object', { toString: () => 'x' }],
  ['the empty string', ''],
  ['33 ASCII bytes', 'a'.repeat(33)],
  ['11 euro signs (33 bytes)', '€'.repeat(11)],
];

function attempt(k: Kernel, fn: () => unknown): string {
  const stats = k.stats();
  const snap = k.snapshot();
  let what: string;
  try {
    fn();
    what = 'accepted';
  } catch (e) {
    what = e instanceof IpcError ? `IpcError ${e.code}` : `${(e as Error).name}: ${(e as Error).message}`;
  }
  if (!isDeepStrictEqual(k.stats(), stats)) what += ' +leaked';
  if (!isDeepStrictEqual(k.snapshot(), snap)) what += ' +snapshot changed';
  return what;
}

describe('defect 9: names are validated before anything is taken', () => {
  it('kernel.spawn() with a bad name is InvalidArgument and leaks nothing, even after shutdown()', async () => {
    const k = testKernel();
    const base = k.stats();
    const results = BAD_NAMES.map(([label, name]) => `${label}: ${attempt(k, () => k.spawn({ name: name as string }, () => {}))}`);
    await k.shutdown();
    expect(results).toEqual(BAD_NAMES.map(([label]) => `${label}: IpcError InvalidArgument`));
    expect(k.stats()).toEqual(base);
  });

  it('a 32-byte name is accepted whole (process and endpoint), not truncated', async () => {
    const k = testKernel();
    const name = '€'.repeat(10) + 'ab'; // 32 bytes
    const h = k.spawn({ name }, (p) => {
      expect(p.name).toBe(name);
      p.createEndpoint({ name });
      expect(k.lookupName(name)).toBeTypeOf('number');
    });
    expect(h.name).toBe(name);
    expect(await h.exited).toMatchObject({ reason: 'returned', name });
  });

  it('createEndpoint() with a bad name is InvalidArgument and leaks no endpoint or capability', async () => {
    const k = testKernel();
    const results: string[] = [];
    const h = k.spawn({ name: 'p' }, (p) => {
      for (const [label, name] of BAD_NAMES) results.push(`${label}: ${attempt(k, () => p.createEndpoint({ name: name as string }))}`);
      // A long name must not be registered under its first 32 bytes either.
      expect(k.lookupName('a'.repeat(32))).toBeUndefined();
    });
    expect(await h.exited).toMatchObject({ reason: 'returned' });
    expect(results).toEqual(BAD_NAMES.map(([label]) => `${label}: IpcError InvalidArgument`));
  });

  it('kernel.spawnWorker() with a bad name is InvalidArgument before any worker starts', async () => {
    const k = testKernel({ cpus: 2 });
    const base = k.stats();
    const results = BAD_NAMES.map(([label, name]) => `${label}: ${attempt(k, () => k.spawnWorker(here('echo-worker.ts'), { name: name as string, args: { name: 'w' } }))}`);
    await k.shutdown();
    expect(results).toEqual(BAD_NAMES.map(([label]) => `${label}: IpcError InvalidArgument`));
    expect(k.stats()).toEqual(base);
  });
});
