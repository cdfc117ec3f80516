// The shape of the POSIX layer: small modules with one concern each, no source file much over
// 400 lines (issue #17: posix.ts and server.ts were split by what they do).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const src = fileURLToPath(new URL('../src', import.meta.url));

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

describe('posix structure', () => {
  it('no source file is much over 400 lines', () => {
    const long = files(src)
      .map((f) => ({ file: relative(src, f), lines: readFileSync(f, 'utf8').split('\n').length }))
      .filter((f) => f.lines > 440);
    expect(long).toEqual([]);
  });

  it('each call family has its client and its server module', () => {
    const have = new Set(files(src).map((f) => relative(src, f)));
    for (const f of ['posix.ts', 'fd-table.ts', 'driver.ts', 'io.ts', 'pipe.ts', 'socket.ts', 'mq.ts', 'poll.ts', 'shm.ts', 'server.ts', 'server-objects.ts', 'pipe-server.ts', 'mq-server.ts', 'poll-server.ts', 'shm-server.ts']) {
      expect(have.has(f), f).toBe(true);
    }
  });
});
