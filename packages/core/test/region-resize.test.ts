import { describe, expect, it } from 'vitest';
import { PagePerm, Rights, messageCaps } from '../src/index.js';
import { testKernel } from './support/kernel.js';
import { ok } from './support/outcome.js';

const PAGE = 4096;
const RW = PagePerm.READ | PagePerm.WRITE;
const EMPTY = new Uint8Array(0);
const fault: unknown = expect.objectContaining({ code: 'AccessFault' });

describe('resizable regions: a resize in place reaches every mapping', () => {
  it('two processes with mappings longer than the region: growth is seen and shared by both, a shrink faults in both, growing again shows zeros', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    const peer = k.spawn({ name: 'peer', priority: 20 }, async (p) => {
      const ep = p.createEndpoint({ name: 'rz' });
      const m = await p.receive(ep);
      const [cap] = messageCaps(m);
      const va = p.memory.mapRegion(cap!, { length: 4 * PAGE });
      expect(p.memory.read(va, 1)[0]).toBe(1);
      expect(() => p.memory.read(va + 2 * PAGE, 1)).toThrow(fault);
      p.reply(m.sender, { type: 0, data: EMPTY });
      // Grown to 4 pages by the owner: the pages past the old end are there, and shared.
      const m2 = await p.receive(ep);
      expect(p.memory.read(va + 3 * PAGE, 1)[0]).toBe(33);
      p.memory.write(va + 2 * PAGE, Uint8Array.of(22));
      p.reply(m2.sender, { type: 0, data: EMPTY });
      // Shrunk to 1 page: pages 1.. fault here too.
      const m3 = await p.receive(ep);
      expect(p.memory.read(va, 1)[0]).toBe(1);
      for (const pg of [1, 2, 3]) expect(() => p.memory.read(va + pg * PAGE, 1)).toThrow(fault);
      p.reply(m3.sender, { type: 0, data: EMPTY });
      // Grown again: zeros, not the old contents, in both.
      const m4 = await p.receive(ep);
      expect(Array.from(p.memory.read(va + 2 * PAGE, 1))).toEqual([0]);
      p.memory.write(va + 2 * PAGE, Uint8Array.of(44));
      expect(() => p.memory.read(va + 3 * PAGE, 1)).toThrow(fault);
      p.reply(m4.sender, { type: 0, data: EMPTY });
      p.memory.unmap(va, 4 * PAGE);
    });
    const owner = k.spawn({ name: 'owner', priority: 10 }, async (p) => {
      const region = p.memory.createRegion({ size: 2 * PAGE, resizable: true });
      expect(region.resizable).toBe(true);
      const va = p.memory.mapRegion(region, { length: 4 * PAGE });
      p.memory.write(va, Uint8Array.of(1));
      const ch = p.connect('rz');
      await p.call(ch, { type: 1, data: EMPTY, caps: [p.derive(region.handle, Rights.MAP | Rights.READ | Rights.WRITE | Rights.SHARE)] });
      const before = k.stats().freeFrames;
      p.memory.resizeRegion(region, 4 * PAGE);
      expect(before - k.stats().freeFrames).toBe(2);
      expect(p.memory.region(region.handle).size).toBe(4 * PAGE);
      p.memory.write(va + 3 * PAGE, Uint8Array.of(33));
      await p.call(ch, { type: 2, data: EMPTY });
      expect(p.memory.read(va + 2 * PAGE, 1)[0]).toBe(22);
      const shared = p.memory.frames(va + 2 * PAGE, 2);
      p.memory.resizeRegion(region, 1);
      expect(p.memory.region(region.handle).size).toBe(PAGE);
      for (const pg of [1, 2, 3]) expect(() => p.memory.write(va + pg * PAGE, Uint8Array.of(9))).toThrow(fault);
      // The frames past the end went back once neither mapping held them.
      expect(k.stats().freeFrames).toBeGreaterThanOrEqual(before + 1);
      await p.call(ch, { type: 3, data: EMPTY });
      p.memory.resizeRegion(region, 3 * PAGE);
      expect(Array.from(p.memory.read(va + PAGE, 2 * PAGE)).every((b) => b === 0)).toBe(true);
      expect(() => p.memory.read(va + 3 * PAGE, 1)).toThrow(fault);
      await p.call(ch, { type: 4, data: EMPTY });
      expect(p.memory.read(va + 2 * PAGE, 1)[0]).toBe(44);
      expect(Array.from(p.memory.frames(va + PAGE, 2))).not.toContain(-1);
      expect(shared.length).toBe(2);
      p.memory.unmap(va, 4 * PAGE);
    });
    await ok(peer, owner);
    expect(k.stats()).toEqual(base);
  });

  it('a private mapping sees growth copy-on-write; a shrink takes its private copies too; frames come back', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    const h = k.spawn({ name: 'priv' }, (p) => {
      const region = p.memory.createRegion({ size: PAGE, resizable: true });
      const shared = p.memory.mapRegion(region, { length: 3 * PAGE });
      const priv = p.memory.mapRegion(region, { length: 3 * PAGE, private: true });
      p.memory.resizeRegion(region, 3 * PAGE);
      p.memory.write(shared + 2 * PAGE, Uint8Array.of(5));
      expect(p.memory.read(priv + 2 * PAGE, 1)[0]).toBe(5);
      p.memory.write(priv + PAGE, Uint8Array.of(6));
      expect(p.memory.read(shared + PAGE, 1)[0]).toBe(0);
      expect(p.memory.frames(priv + PAGE, 1)[0]).not.toBe(p.memory.frames(shared + PAGE, 1)[0]);
      const free = k.stats().freeFrames;
      p.memory.resizeRegion(region, PAGE);
      expect(() => p.memory.read(priv + PAGE, 1)).toThrow(fault);
      expect(() => p.memory.read(shared + 2 * PAGE, 1)).toThrow(fault);
      // Two region frames and the private copy.
      expect(k.stats().freeFrames).toBeGreaterThanOrEqual(free + 3);
      p.memory.unmap(shared, 3 * PAGE);
      p.memory.unmap(priv, 3 * PAGE);
      p.close(region.handle);
    });
    await ok(h);
    expect(k.stats()).toEqual(base);
  });

  it('protect reaches the pages not installed yet; a read-only capability\'s mapping cannot raise them; unmap of the middle of a mapping keeps the rest following', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    const h = k.spawn({ name: 'prot' }, (p) => {
      const region = p.memory.createRegion({ size: PAGE, resizable: true });
      const va = p.memory.mapRegion(region, { length: 4 * PAGE });
      p.memory.protect(va + 2 * PAGE, 2 * PAGE, PagePerm.READ);
      const ro = p.memory.mapRegion(p.derive(region.handle, Rights.MAP | Rights.READ), { length: 4 * PAGE });
      expect(() => p.memory.protect(ro, 4 * PAGE, RW)).toThrow(expect.objectContaining({ code: 'PermissionDenied' }));
      p.memory.resizeRegion(region, 4 * PAGE);
      p.memory.write(va + PAGE, Uint8Array.of(1));
      expect(() => p.memory.write(va + 2 * PAGE, Uint8Array.of(1))).toThrow(fault);
      expect(p.memory.read(ro + PAGE, 1)[0]).toBe(1);
      expect(() => p.memory.write(ro + 3 * PAGE, Uint8Array.of(1))).toThrow(fault);
      p.memory.protect(va + 2 * PAGE, PAGE, RW);
      p.memory.write(va + 2 * PAGE, Uint8Array.of(2));
      expect(p.memory.read(ro + 2 * PAGE, 1)[0]).toBe(2);
      // Unmapping page 1 of the mapping splits it; pages 2–3 still follow a shrink.
      p.memory.unmap(va + PAGE, PAGE);
      p.memory.resizeRegion(region, 2 * PAGE);
      expect(() => p.memory.read(va + 2 * PAGE, 1)).toThrow(fault);
      expect(p.memory.read(va, 1)[0]).toBe(0);
      p.memory.unmap(va, PAGE);
      p.memory.unmap(va + 2 * PAGE, 2 * PAGE);
      p.memory.unmap(ro, 4 * PAGE);
      p.close(region.handle);
    });
    await ok(h);
    expect(k.stats()).toEqual(base);
  });

  it('bad input is refused with a stable code and nothing changed', async () => {
    const k = testKernel({ frames: 256 });
    const h = k.spawn({ name: 'bad' }, (p) => {
      const fixed = p.memory.createRegion({ size: PAGE });
      const region = p.memory.createRegion({ size: PAGE, resizable: true });
      const va = p.memory.mapRegion(region, { length: 2 * PAGE });
      const noGrant = p.derive(region.handle, Rights.MAP | Rights.READ | Rights.WRITE);
      const snap = () => k.snapshot();
      const before = snap();
      const codeOf = (fn: () => void) => {
        try {
          fn();
        } catch (e) {
          return (e as { code?: string }).code;
        }
        return undefined;
      };
      expect(codeOf(() => p.memory.resizeRegion(fixed, 2 * PAGE))).toBe('InvalidArgument');
      expect(codeOf(() => p.memory.resizeRegion(noGrant, 2 * PAGE))).toBe('PermissionDenied');
      expect(codeOf(() => p.memory.resizeRegion(region, -1))).toBe('InvalidArgument');
      expect(codeOf(() => p.memory.resizeRegion(region, 1.5))).toBe('InvalidArgument');
      expect(codeOf(() => p.memory.resizeRegion(region, 2 ** 41))).toBe('InvalidArgument');
      expect(codeOf(() => p.memory.resizeRegion(12345, PAGE))).toBe('InvalidCapability');
      expect(codeOf(() => p.memory.resizeRegion(region, 1000 * PAGE))).toBe('OutOfMemory');
      expect(codeOf(() => p.memory.createRegion({ size: PAGE, resizable: 1 as unknown as boolean }))).toBe('InvalidArgument');
      expect(snap()).toEqual(before);
      expect(p.memory.region(fixed.handle).resizable).toBe(false);
      p.memory.resizeRegion(region, 0);
      expect(p.memory.region(region.handle).size).toBe(0);
      expect(() => p.memory.read(va, 1)).toThrow(fault);
      p.memory.resizeRegion(region, PAGE);
      expect(p.memory.read(va, 1)[0]).toBe(0);
    });
    await ok(h);
  });

  it('a process maps at most MAX_REGION_MAPS pieces of resizable regions; the one over is OutOfMemory with nothing changed', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    const h = k.spawn({ name: 'many' }, (p) => {
      const region = p.memory.createRegion({ size: PAGE, resizable: true });
      const vas: number[] = [];
      for (;;) {
        try {
          vas.push(p.memory.mapRegion(region));
        } catch (e) {
          expect((e as { code?: string }).code).toBe('OutOfMemory');
          break;
        }
      }
      expect(vas.length).toBe(170);
      const snap = k.snapshot();
      expect(() => p.memory.mapRegion(region)).toThrow(expect.objectContaining({ code: 'OutOfMemory' }));
      expect(k.snapshot()).toEqual(snap);
      // A fixed-size region is not recorded: still mappable.
      const fixed = p.memory.createRegion({ size: PAGE });
      p.memory.unmap(p.memory.mapRegion(fixed), PAGE);
      p.close(fixed.handle);
      for (const va of vas) p.memory.unmap(va, PAGE);
      p.close(region.handle);
    });
    await ok(h);
    expect(k.stats()).toEqual(base);
  });
});
