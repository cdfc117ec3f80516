import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { goldenVectors, hasGoldenVectors } from '../src/index.ts';

// Every attribute vector is written from a primary source and says which: the envelope of
// golden/<arch>/attributes.json is checked here for every arch, without knowing any arch.
const arches = readdirSync(new URL('../golden/', import.meta.url), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => d.name);

describe('golden attribute files', () => {
  it('exist for every arch that ships page-table vectors', () => {
    expect(arches.length).toBeGreaterThan(0);
    for (const arch of arches) if (hasGoldenVectors(arch, 'page-table')) expect(hasGoldenVectors(arch, 'attributes'), arch).toBe(true);
  });

  for (const arch of arches.filter((a) => hasGoldenVectors(a, 'attributes'))) {
    it(`${arch}: every vector names its source and gives an exact 64-bit entry; names are unique`, () => {
      const g = goldenVectors(arch, 'attributes');
      expect(g.arch).toBe(arch);
      expect(g.vectors.length).toBeGreaterThan(0);
      expect(g.faults.length).toBeGreaterThan(0);
      const names = new Set<string>();
      for (const v of [...g.vectors, ...g.faults]) {
        expect(typeof v.source === 'string' && v.source.trim().length >= 8, `${v.name}: source`).toBe(true);
        expect(names.has(v.name), `duplicate name ${v.name}`).toBe(false);
        names.add(v.name);
      }
      for (const v of g.vectors) expect(v.entry, v.name).toMatch(/^0x[0-9a-f]{16}$/);
    });
  }
});
