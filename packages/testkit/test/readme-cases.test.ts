// The README's case table lists every registered case, with the text the suite reports.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CASE_IDS } from '../src/index.ts';

describe('README', () => {
  it('lists every case id in its case table', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const listed = new Set([...readme.matchAll(/^\| `([a-z]+\.[a-z0-9-]+)` \|/gm)].map((m) => m[1]));
    expect(CASE_IDS.filter((id) => !listed.has(id))).toEqual([]);
  });
});
