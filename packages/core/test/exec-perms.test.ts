import { describe, expect, it } from 'vitest';
import { PagePerm, Rights } from '../src/index.js';
import { testKernel } from './support/kernel.js';
import { ok } from './support/outcome.js';

const PAGE = 4096;
const RX = PagePerm.READ | PagePerm.EXECUTE;

describe('EXECUTE in process memory: the PagePerm contract\'s execute permission reaches the page tables', () => {
  it('map, protect and mapRegion take EXECUTE; it is never the default; a region mapping needs the READ right for it', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    const h = k.spawn({ name: 'x' }, (p) => {
      const anon = p.memory.map(2 * PAGE);
      expect(p.memory.pages(anon, 1)[0]!.executable).toBe(false);
      p.memory.protect(anon, PAGE, RX);
      expect(p.memory.pages(anon, 2).map((s) => [s.executable, s.writable])).toEqual([[true, false], [false, true]]);
      p.memory.protect(anon, PAGE, PagePerm.READ | PagePerm.WRITE);
      expect(p.memory.pages(anon, 1)[0]!.executable).toBe(false);
      const code = p.memory.map(PAGE, RX);
      expect(p.memory.pages(code, 1)[0]).toMatchObject({ executable: true, writable: false });
      expect(() => p.memory.map(PAGE, PagePerm.EXECUTE)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
      expect(() => p.memory.map(PAGE, 0x10)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));

      const region = p.memory.createRegion({ size: PAGE });
      const plain = p.memory.mapRegion(region);
      expect(p.memory.pages(plain, 1)[0]).toMatchObject({ executable: false, writable: true });
      const rx = p.memory.mapRegion(region, RX);
      expect(p.memory.pages(rx, 1)[0]).toMatchObject({ executable: true, writable: false });
      expect(p.memory.frames(rx, 1)[0]).toBe(p.memory.frames(plain, 1)[0]);
      const priv = p.memory.mapRegion(region, { perms: RX | PagePerm.WRITE, private: true });
      expect(p.memory.pages(priv, 1)[0]).toMatchObject({ executable: true, copyOnWrite: true });
      const mapOnly = p.derive(region.handle, Rights.MAP | Rights.WRITE);
      expect(() => p.memory.mapRegion(mapOnly, RX)).toThrow(expect.objectContaining({ code: 'PermissionDenied' }));
      expect(() => p.memory.createRegion({ size: PAGE, perms: RX })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
      for (const va of [plain, rx, priv]) p.memory.unmap(va, PAGE);
      p.memory.unmap(anon, 2 * PAGE);
      p.memory.unmap(code, PAGE);
    });
    await ok(h);
    expect(k.stats()).toEqual(base);
  });
});
