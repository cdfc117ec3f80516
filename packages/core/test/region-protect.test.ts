import { describe, expect, it } from 'vitest';
import { PagePerm, Rights } from '../src/index.js';
import { testKernel } from './support/kernel.js';
import { ok } from './support/outcome.js';

const PAGE = 4096;
const RW = PagePerm.READ | PagePerm.WRITE;

describe('protect on region mappings: the mapping remembers whether its capability allowed writing', () => {
  it('a write-capable shared mapping goes read-only and back to read-write; its writes reach the other mapping', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    const h = k.spawn({ name: 'rw' }, (p) => {
      const region = p.memory.createRegion({ size: 4 * PAGE });
      const other = p.memory.mapRegion(region);
      const rw = p.derive(region.handle, Rights.MAP | Rights.READ | Rights.WRITE);
      const va = p.memory.mapRegion(rw);
      p.memory.protect(va, 4 * PAGE, PagePerm.READ);
      expect(() => p.memory.write(va, Uint8Array.of(1))).toThrow(expect.objectContaining({ code: 'AccessFault' }));
      p.memory.protect(va, 4 * PAGE, RW);
      p.memory.write(va + 2 * PAGE, Uint8Array.of(42));
      expect(p.memory.read(other + 2 * PAGE, 1)[0]).toBe(42);
      expect(Array.from(p.memory.frames(va, 4))).toEqual(Array.from(p.memory.frames(other, 4)));
      // Mapped read-only in the first place, through a capability with WRITE: may be raised too.
      const ro = p.memory.mapRegion(rw, PagePerm.READ);
      expect(p.memory.pages(ro, 1)[0]!.writable).toBe(false);
      p.memory.protect(ro + PAGE, PAGE, RW);
      p.memory.write(ro + PAGE, Uint8Array.of(7));
      expect(p.memory.read(other + PAGE, 1)[0]).toBe(7);
      expect(() => p.memory.write(ro, Uint8Array.of(1))).toThrow(expect.objectContaining({ code: 'AccessFault' }));
      for (const at of [other, va, ro]) p.memory.unmap(at, 4 * PAGE);
    });
    await ok(h);
    expect(k.stats()).toEqual(base);
  });

  it('a read-only capability\'s mapping is refused with nothing changed; the address it leaves does not keep another mapping\'s right', async () => {
    const k = testKernel({ frames: 1024 });
    const h = k.spawn({ name: 'ro' }, (p) => {
      const region = p.memory.createRegion({ size: 2 * PAGE });
      const roCap = p.derive(region.handle, Rights.MAP | Rights.READ);
      const va = p.memory.mapRegion(roCap);
      const before = k.snapshot();
      expect(() => p.memory.protect(va, 2 * PAGE, RW)).toThrow(expect.objectContaining({ code: 'PermissionDenied' }));
      expect(k.snapshot()).toEqual(before);
      // A read-only region (whatever the capability) refuses too.
      const frozen = p.memory.createRegion({ size: PAGE, perms: PagePerm.READ });
      const fva = p.memory.mapRegion(frozen);
      expect(() => p.memory.protect(fva, PAGE, RW)).toThrow(expect.objectContaining({ code: 'PermissionDenied' }));
      // A writable mapping unmapped, then a read-only one at the same address: the right went with the first.
      const wva = p.memory.mapRegion(region);
      p.memory.unmap(wva, 2 * PAGE);
      const again = p.memory.mapRegion(roCap);
      expect(again).toBe(wva);
      expect(() => p.memory.protect(again, 2 * PAGE, RW)).toThrow(expect.objectContaining({ code: 'PermissionDenied' }));
      // Part of a writable mapping unmapped: the rest keeps its right, the hole's new tenant has none.
      const big = p.memory.mapRegion(region, { length: 4 * PAGE });
      p.memory.unmap(big + PAGE, PAGE);
      const mid = p.memory.mapRegion(roCap, { length: PAGE });
      expect(mid).toBe(big + PAGE);
      expect(() => p.memory.protect(mid, PAGE, RW)).toThrow(expect.objectContaining({ code: 'PermissionDenied' }));
      p.memory.protect(big, PAGE, PagePerm.READ);
      p.memory.protect(big, PAGE, RW);
      p.memory.write(big, Uint8Array.of(5));
      expect(p.memory.read(va, 1)[0]).toBe(5);
    });
    await ok(h);
  });

  it('a private mapping made writable again stays copy-on-write: a write copies the page, the region is unchanged', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    const h = k.spawn({ name: 'priv' }, (p) => {
      const region = p.memory.createRegion({ size: 2 * PAGE });
      const all = p.memory.mapRegion(region);
      p.memory.write(all, Uint8Array.of(3));
      const ro = p.derive(region.handle, Rights.MAP | Rights.READ);
      const mine = p.memory.mapRegion(ro, { private: true, perms: RW });
      p.memory.protect(mine, 2 * PAGE, PagePerm.READ);
      expect(p.memory.pages(mine, 1)[0]!.copyOnWrite).toBe(false);
      p.memory.protect(mine, 2 * PAGE, RW);
      expect(p.memory.pages(mine, 2).map((s) => [s.writable, s.copyOnWrite])).toEqual([
        [false, true],
        [false, true],
      ]);
      p.memory.write(mine, Uint8Array.of(99));
      expect(p.memory.read(mine, 1)[0]).toBe(99);
      expect(p.memory.read(all, 1)[0]).toBe(3);
      expect(p.memory.frames(mine)[0]).not.toBe(p.memory.frames(all)[0]);
      expect(p.memory.frames(mine + PAGE)[0]).toBe(p.memory.frames(all + PAGE)[0]);
      // A private mapping made read-only keeps its rule: it cannot be raised.
      const rop = p.memory.mapRegion(ro, { private: true, perms: PagePerm.READ });
      expect(() => p.memory.protect(rop, PAGE, RW)).toThrow(expect.objectContaining({ code: 'PermissionDenied' }));
      for (const at of [all, mine, rop]) p.memory.unmap(at, 2 * PAGE);
    });
    await ok(h);
    expect(k.stats()).toEqual(base);
  });
});
