import { describe, expect, it } from 'vitest';
import { PagePerm } from '../src/index.js';
import { testKernel } from './support/kernel.js';
import { ok } from './support/outcome.js';

const PAGE = 4096;

describe('mapping at a fixed address (map / mapRegion with at)', () => {
  it('takes exactly the range asked for, in the middle of a free range too; a taken, unaligned or out-of-window range is refused with nothing changed', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    const h = k.spawn({ name: 'at' }, (p) => {
      const probe = p.memory.map(8 * PAGE);
      p.memory.unmap(probe, 8 * PAGE);
      const at = probe + 3 * PAGE;
      expect(p.memory.map(2 * PAGE, PagePerm.READ | PagePerm.WRITE, { at })).toBe(at);
      p.memory.write(at + PAGE, Uint8Array.of(5));
      const region = p.memory.createRegion({ size: 2 * PAGE });
      const snap = k.snapshot();
      const code = (fn: () => unknown) => {
        try {
          fn();
        } catch (e) {
          return (e as { code?: string }).code;
        }
        return 'ok';
      };
      expect(code(() => p.memory.map(PAGE, PagePerm.READ, { at: at + PAGE }))).toBe('AlreadyExists');
      expect(code(() => p.memory.mapRegion(region, { at: at - PAGE }))).toBe('AlreadyExists');
      expect(code(() => p.memory.map(PAGE, PagePerm.READ, { at: at + 1 }))).toBe('InvalidArgument');
      expect(code(() => p.memory.map(PAGE, PagePerm.READ, { at: PAGE }))).toBe('InvalidArgument');
      expect(code(() => p.memory.mapRegion(region, { at: 2 ** 52 }))).toBe('InvalidArgument');
      expect(k.snapshot()).toEqual(snap);
      // Below and above the fixed range: both free, both mappable where asked.
      expect(p.memory.mapRegion(region, { at: at - 2 * PAGE, length: 2 * PAGE })).toBe(at - 2 * PAGE);
      expect(p.memory.map(PAGE, PagePerm.READ, { at: at + 2 * PAGE })).toBe(at + 2 * PAGE);
      expect(p.memory.read(at + PAGE, 1)[0]).toBe(5);
      // The first free range is still found for an ordinary map.
      const next = p.memory.map(PAGE);
      expect(next === probe || next >= at + 3 * PAGE).toBe(true);
      for (const [va, n] of [[at - 2 * PAGE, 2], [at, 2], [at + 2 * PAGE, 1], [next, 1]] as const) p.memory.unmap(va, n * PAGE);
      p.close(region.handle);
    });
    await ok(h);
    expect(k.stats()).toEqual(base);
  });
});
