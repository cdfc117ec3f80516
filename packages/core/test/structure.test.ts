// The shape of the kernel (kernel v2): one concern per file, no kernel file much over 400 lines,
// and only the platform port talks to the host (`node:*`), so a browser or Deno port is one file.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src', import.meta.url));
const kernel = join(src, 'kernel');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('kernel structure', () => {
  it('only the platform port imports node:* modules', () => {
    const offenders = files(src)
      .filter((f) => /from ['"]node:|import\(['"]node:|require\(['"]node:/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(src, f))
      .sort();
    expect(offenders).toEqual(['kernel/platform/node-worker.ts', 'kernel/platform/node.ts']);
  });

  it('no kernel file is much over 400 lines', () => {
    const long = files(kernel)
      .map((f) => ({ file: relative(src, f), lines: readFileSync(f, 'utf8').split('\n').length }))
      .filter((f) => f.lines > 440);
    expect(long).toEqual([]);
  });

  it('each kernel object and IPC path has its file', () => {
    const have = new Set(files(kernel).map((f) => relative(kernel, f)));
    for (const f of ['records/layout.ts', 'records/registry-word.ts', 'records/ids.ts', 'objects/registry.ts', 'objects/cspace.ts', 'objects/endpoint.ts', 'objects/process.ts', 'objects/wait-queue.ts', 'ipc/sync.ts', 'ipc/passive.ts', 'ipc/large.ts', 'sched/priority.ts', 'sched/wake.ts', 'sched/main-cpu.ts', 'sched/worker-cpu.ts', 'sched/futex.ts', 'syscall.ts']) {
      expect(have.has(f), f).toBe(true);
    }
    expect(have.has('kernel-core.ts')).toBe(false);
  });

  it('the registry word is decoded in one place', () => {
    // No `>>> 2` / `& 3` generation-and-state arithmetic left anywhere in the kernel.
    const offenders = files(kernel).filter((f) => /(>>> 2\b|& 3\b)/.test(readFileSync(f, 'utf8')));
    expect(offenders.map((f) => relative(src, f))).toEqual([]);
  });
});
