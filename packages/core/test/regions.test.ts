import { describe, expect, it } from 'vitest';
import { PagePerm, Rights, SharedBuffer, messageCaps } from '../src/index.js';
import { testKernel } from './support/kernel.js';
import { ok } from './support/outcome.js';

const PAGE = 4096;
const EMPTY = new Uint8Array(0);

describe('shared regions', () => {
  it('two processes map the same frames through capabilities; a write by one is seen by the other; a read-only capability maps read-only', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    const peer = k.spawn({ name: 'peer', priority: 20 }, async (p) => {
      const m = await p.receive(p.createEndpoint({ name: 'rg' }));
      const [rw, ro] = messageCaps(m);
      const r = p.memory.region(rw!);
      expect([r.size, r.perms]).toEqual([8 * PAGE, PagePerm.READ | PagePerm.WRITE]);
      const va = p.memory.mapRegion(rw!);
      expect(p.memory.read(va + PAGE, 3)).toEqual(Uint8Array.of(1, 2, 3));
      p.memory.write(va, Uint8Array.of(77));
      const rova = p.memory.mapRegion(ro!);
      expect(Array.from(p.memory.frames(rova, 8))).toEqual(Array.from(p.memory.frames(va, 8)));
      expect(p.memory.pages(rova, 1)[0]!.writable).toBe(false);
      expect(() => p.memory.write(rova, Uint8Array.of(1))).toThrow(expect.objectContaining({ code: 'AccessFault' }));
      expect(() => p.memory.protect(rova, PAGE, PagePerm.READ | PagePerm.WRITE)).toThrow(expect.objectContaining({ code: 'PermissionDenied' }));
      expect(() => p.memory.mapRegion(ro!, PagePerm.READ | PagePerm.WRITE)).toThrow(expect.objectContaining({ code: 'PermissionDenied' }));
      p.reply(m.sender, { type: 0, data: EMPTY });
      p.memory.unmap(va, 8 * PAGE);
      p.memory.unmap(rova, 8 * PAGE);
    });
    const owner = k.spawn({ name: 'owner', priority: 10 }, async (p) => {
      const region = p.memory.createRegion({ size: 8 * PAGE - 5 });
      expect(region.size).toBe(8 * PAGE);
      const va = p.memory.mapRegion(region);
      p.memory.write(va + PAGE, Uint8Array.of(1, 2, 3));
      const ro = p.derive(region.handle, Rights.MAP | Rights.READ | Rights.SHARE);
      const rw = p.derive(region.handle, Rights.MAP | Rights.READ | Rights.WRITE | Rights.SHARE);
      const ch = p.connect('rg');
      // Region memory travels by its capability: Move and Share of it are refused.
      for (const transfer of ['move', 'share'] as const) {
        await expect(p.send(ch, { type: 1, data: EMPTY, buffer: new SharedBuffer(va, PAGE), transfer }, { timeout: 0 })).rejects.toMatchObject({ code: 'PermissionDenied' });
      }
      await p.call(ch, { type: 1, data: EMPTY, caps: [rw, ro] });
      expect(p.memory.read(va, 1)[0]).toBe(77);
      const noMap = p.derive(region.handle, Rights.READ);
      expect(() => p.memory.mapRegion(noMap)).toThrow(expect.objectContaining({ code: 'PermissionDenied' }));
    });
    await ok(peer, owner);
    expect(k.stats()).toEqual(base);
  });

  it('the frames live while any mapping or capability does: the creator exits, the peer keeps reading; the last one out frees everything', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    let creatorGone!: () => void;
    const gone = new Promise<void>((r) => (creatorGone = r));
    const peer = k.spawn({ name: 'peer', priority: 20 }, async (p) => {
      const m = await p.receive(p.createEndpoint({ name: 'rf' }));
      const h = messageCaps(m)[0]!;
      const va = p.memory.mapRegion(h);
      p.close(h);
      // No capability left here, only the mapping (and the creator's capability, until it exits).
      await gone;
      expect(p.memory.read(va, 2)).toEqual(Uint8Array.of(9, 8));
      const free = k.stats().freeFrames;
      p.memory.unmap(va, 4 * PAGE);
      expect(k.stats().freeFrames).toBeGreaterThanOrEqual(free + 4); // and any page table left empty
    });
    const creator = k.spawn({ name: 'creator', priority: 10 }, async (p) => {
      const region = p.memory.createRegion({ size: 4 * PAGE });
      const va = p.memory.mapRegion(region);
      p.memory.write(va, Uint8Array.of(9, 8));
      await p.send(p.connect('rf'), { type: 1, data: EMPTY, caps: [region.handle] });
    });
    await creator.exited;
    creatorGone();
    await ok(peer, creator);
    expect(k.stats()).toEqual(base);
  });

  it('a region asks for its NUMA node: every frame comes from that node; a node without room is OutOfMemory, an unknown node InvalidArgument', async () => {
    const k = testKernel({ frames: undefined, numaNodes: [{ frames: 300 }, { frames: 200 }] });
    const h = k.spawn({ name: 'numa' }, (p) => {
      const r = p.memory.createRegion({ size: 64 * PAGE, node: 1 });
      expect(r.node).toBe(1);
      const va = p.memory.mapRegion(r);
      for (const f of p.memory.frames(va, 64)) expect(k.memory.phys.nodeOf(f)).toBe(1);
      const before = k.snapshot();
      expect(() => p.memory.createRegion({ size: 200 * PAGE, node: 1 })).toThrow(expect.objectContaining({ code: 'OutOfMemory' }));
      expect(() => p.memory.createRegion({ size: PAGE, node: 2 })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
      expect(k.snapshot()).toEqual(before);
      const r0 = p.memory.createRegion({ size: 8 * PAGE, node: 0 });
      for (const f of p.memory.frames(p.memory.mapRegion(r0), 8)) expect(k.memory.phys.nodeOf(f)).toBe(0);
    });
    await ok(h);
    expect(() => testKernel({ frames: 100, numaNodes: [{ frames: 300 }] })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });

  it('a view of part of a region (offset, a length past its end that faults there) and a private copy-on-write mapping', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    const h = k.spawn({ name: 'views' }, (p) => {
      const region = p.memory.createRegion({ size: 4 * PAGE });
      const all = p.memory.mapRegion(region);
      for (let i = 0; i < 4; i++) p.memory.write(all + i * PAGE, Uint8Array.of(10 + i));
      // Pages 2–3 of the region, and two pages more of address space that map nothing.
      const tail = p.memory.mapRegion(region, { offset: 2 * PAGE, length: 4 * PAGE });
      expect(Array.from(p.memory.frames(tail, 4))).toEqual([...Array.from(p.memory.frames(all + 2 * PAGE, 2)), -1, -1]);
      expect(p.memory.read(tail, 1)[0]).toBe(12);
      expect(() => p.memory.read(tail + 2 * PAGE, 1)).toThrow(expect.objectContaining({ code: 'AccessFault' }));
      expect(() => p.memory.mapRegion(region, { offset: 5 * PAGE })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
      expect(() => p.memory.mapRegion(region, { offset: 100 })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
      // Private: its writes copy the page for this mapping alone; the region keeps its bytes.
      const ro = p.derive(region.handle, Rights.MAP | Rights.READ);
      const mine = p.memory.mapRegion(ro, { private: true, perms: PagePerm.READ | PagePerm.WRITE });
      expect(p.memory.pages(mine, 1)[0]!.copyOnWrite).toBe(true);
      p.memory.write(mine + PAGE, Uint8Array.of(99));
      expect(p.memory.read(mine + PAGE, 1)[0]).toBe(99);
      expect(p.memory.read(all + PAGE, 1)[0]).toBe(11);
      expect(p.memory.frames(mine + PAGE)[0]).not.toBe(p.memory.frames(all + PAGE)[0]);
      expect(p.memory.frames(mine)[0]).toBe(p.memory.frames(all)[0]);
      // A shared write shows through the private mapping's pages it has not copied.
      p.memory.write(all, Uint8Array.of(55));
      expect(p.memory.read(mine, 1)[0]).toBe(55);
      // A read-only private mapping stays read-only.
      const rop = p.memory.mapRegion(ro, { private: true, perms: PagePerm.READ });
      expect(() => p.memory.write(rop, Uint8Array.of(1))).toThrow(expect.objectContaining({ code: 'AccessFault' }));
      expect(() => p.memory.protect(rop, PAGE, PagePerm.READ | PagePerm.WRITE)).toThrow(expect.objectContaining({ code: 'PermissionDenied' }));
    });
    await ok(h);
    expect(k.stats()).toEqual(base);
  });

  it('bad arguments from plain JavaScript are typed errors and change nothing', async () => {
    const k = testKernel();
    const h = k.spawn({ name: 'bad' }, (p) => {
      const before = k.snapshot();
      for (const o of [undefined, null, 5, { size: 0 }, { size: -1 }, { size: 1.5 }, { size: 'x' }, { size: 4096, perms: PagePerm.WRITE }, { size: 4096, perms: 99 }, { size: 4096, node: -1 }, { size: 4096, node: 'a' }]) {
        expect(() => p.memory.createRegion(o as never), JSON.stringify(o)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
      }
      expect(() => p.memory.mapRegion(12345)).toThrow(expect.objectContaining({ code: 'InvalidCapability' }));
      expect(() => p.memory.mapRegion(p.createEndpoint())).toThrow(expect.objectContaining({ code: 'InvalidCapability' }));
      expect(() => p.memory.region(-1)).toThrow(expect.objectContaining({ code: 'InvalidCapability' }));
      expect(k.snapshot().freeFrames).toBe(before.freeFrames);
    });
    await ok(h);
  });
});
