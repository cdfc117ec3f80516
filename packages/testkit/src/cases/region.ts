/**
 * Conformance cases of shared regions (`proc.memory.createRegion` / `mapRegion`): memory that
 * belongs to no process, mapped through capabilities, counted per frame, optionally on a NUMA
 * node. Frame numbers prove two mappings are the same memory.
 */
import { FRAME_SIZE, IpcError, PagePerm, Rights, SharedBuffer, messageCaps, type Kernel, type Process } from '@veridian/core';
import { expect } from 'vitest';
import { EMPTY, returned } from '../support/harness.js';
import type { CaseTable } from './types.js';

const PAGE = FRAME_SIZE;

/** The `IpcError` code `fn` throws (sync or async), or `'ok'`. */
async function codeOf(fn: () => unknown): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof IpcError) return e.code;
    throw e;
  }
  return 'ok';
}

/** A process that receives one message on `name`, hands it to `body`, and replies. */
function peer(k: Kernel, name: string, body: (p: Process, caps: Uint32Array) => Promise<void> | void) {
  return k.spawn({ name: `${name}-peer`, priority: 20 }, async (p) => {
    const m = await p.receive(p.createEndpoint({ name }));
    await body(p, messageCaps(m).slice());
    p.reply(m.sender, { type: 0, data: EMPTY });
  });
}

export const regionCases: CaseTable<'region'> = {
  'region.map-share': {
    checks: 'a region mapped by two processes through capabilities is the same frames: a write by either is seen by the other; every frame returns to the pool afterwards',
    async run(ctx) {
      const k = ctx.kernel({ frames: 1024 });
      const base = k.stats();
      let frames: number[] = [];
      const b = peer(k, 'region.share', (p, [h]) => {
        const r = p.memory.region(h!);
        expect([r.size, r.perms]).toEqual([16 * PAGE, PagePerm.READ | PagePerm.WRITE]);
        const va = p.memory.mapRegion(h!);
        expect(Array.from(p.memory.frames(va, 16))).toEqual(frames);
        expect(p.memory.pages(va, 16).every((s) => s.mapped && !s.copyOnWrite)).toBe(true);
        expect(Array.from(p.memory.read(va + 5 * PAGE, 4))).toEqual([5, 6, 7, 8]);
        p.memory.write(va + 9 * PAGE + 1, Uint8Array.of(0xaa, 0xbb));
        // Still the same frames: a region is shared on purpose, writes and all (no copy-on-write).
        expect(Array.from(p.memory.frames(va, 16))).toEqual(frames);
        p.memory.unmap(va, 16 * PAGE);
        p.close(h!);
      });
      const a = k.spawn({ name: 'region.share-owner', priority: 10 }, async (p) => {
        const region = p.memory.createRegion({ size: 16 * PAGE });
        const va = p.memory.mapRegion(region);
        p.memory.write(va + 5 * PAGE, Uint8Array.of(5, 6, 7, 8));
        frames = Array.from(p.memory.frames(va, 16));
        expect(new Set(frames).size).toBe(16);
        await p.call(p.connect('region.share'), { type: 1, data: EMPTY, caps: [p.derive(region.handle, Rights.MAP | Rights.READ | Rights.WRITE | Rights.SHARE)] });
        expect(Array.from(p.memory.read(va + 9 * PAGE + 1, 2))).toEqual([0xaa, 0xbb]);
      });
      await returned(b, a);
      expect(k.stats()).toEqual(base);
    },
  },
  'region.permissions': {
    checks: 'MAP is needed to map, READ and WRITE rights and the region\'s own permissions bound the mapping; a read-only mapping faults on write and cannot be made writable; region memory moves only by capability (Move and Share refused, Copy allowed)',
    async run(ctx) {
      const k = ctx.kernel({ frames: 1024 });
      let regionFrame = -1;
      const copyPeer = k.spawn({ name: 'region.perms-peer', priority: 20 }, async (p) => {
        const m = await p.receive(p.createEndpoint({ name: 'region.perms' }));
        expect(p.memory.read(m.buffer!.va, 1)[0]).toBe(3);
        expect(p.memory.frames(m.buffer!.va)[0]).not.toBe(regionFrame);
      });
      const h = k.spawn({ name: 'region.perms' }, async (p) => {
        const region = p.memory.createRegion({ size: 2 * PAGE });
        const ro = p.derive(region.handle, Rights.MAP | Rights.READ);
        const noMap = p.derive(region.handle, Rights.READ | Rights.WRITE);
        expect(await codeOf(() => p.memory.mapRegion(noMap))).toBe('PermissionDenied');
        expect(await codeOf(() => p.memory.mapRegion(ro, PagePerm.READ | PagePerm.WRITE))).toBe('PermissionDenied');
        const rova = p.memory.mapRegion(ro);
        expect(p.memory.pages(rova, 2).every((s) => !s.writable && !s.copyOnWrite)).toBe(true);
        expect(await codeOf(() => p.memory.write(rova, Uint8Array.of(1)))).toBe('AccessFault');
        expect(await codeOf(() => p.memory.protect(rova, PAGE, PagePerm.READ | PagePerm.WRITE))).toBe('PermissionDenied');
        const readOnlyRegion = p.memory.createRegion({ size: PAGE, perms: PagePerm.READ });
        expect(await codeOf(() => p.memory.mapRegion(readOnlyRegion, PagePerm.READ | PagePerm.WRITE))).toBe('PermissionDenied');
        expect(p.memory.pages(p.memory.mapRegion(readOnlyRegion), 1)[0]!.writable).toBe(false);
        // Bad handles: not a region, not a capability at all.
        expect(await codeOf(() => p.memory.mapRegion(p.createEndpoint()))).toBe('InvalidCapability');
        expect(await codeOf(() => p.memory.mapRegion(0xdead_beef))).toBe('InvalidCapability');
        // Region memory travels by its capability; a Copy of its bytes is fine.
        const rw = p.memory.mapRegion(region);
        p.memory.write(rw, Uint8Array.of(3));
        const ch = p.connect('region.perms');
        const before = k.snapshot();
        for (const transfer of ['move', 'share'] as const) {
          expect(await codeOf(() => p.send(ch, { type: 1, data: EMPTY, buffer: new SharedBuffer(rw, PAGE), transfer }, { timeout: 0 }))).toBe('PermissionDenied');
        }
        expect(k.snapshot()).toEqual(before);
        regionFrame = p.memory.frames(rw)[0]!;
        await p.send(ch, { type: 1, data: EMPTY, buffer: new SharedBuffer(rw, PAGE), transfer: 'copy' });
      });
      await returned(h, copyPeer);
    },
  },
  'region.refcount-free': {
    checks: 'each frame lives while any mapping or capability names the region: the creator exits, the peer keeps reading; the peer closes its capability and keeps its mapping; the last unmap frees every frame',
    async run(ctx) {
      const k = ctx.kernel({ frames: 1024 });
      const base = k.stats();
      let creatorGone!: () => void;
      const gone = new Promise<void>((r) => (creatorGone = r));
      const b = k.spawn({ name: 'region.rc-peer', priority: 20 }, async (p) => {
        const m = await p.receive(p.createEndpoint({ name: 'region.rc' }));
        const h = messageCaps(m)[0]!;
        const va = p.memory.mapRegion(h);
        p.close(h);
        expect(await codeOf(() => p.memory.region(h))).toBe('InvalidCapability');
        await gone;
        // Neither the creator nor any capability is left: the mapping alone holds the frames.
        expect(Array.from(p.memory.read(va + 3 * PAGE, 2))).toEqual([9, 8]);
        const free = k.stats().freeFrames;
        p.memory.unmap(va, 8 * PAGE);
        expect(k.stats().freeFrames).toBeGreaterThanOrEqual(free + 8);
      });
      const a = k.spawn({ name: 'region.rc-owner', priority: 10 }, async (p) => {
        const region = p.memory.createRegion({ size: 8 * PAGE });
        const va = p.memory.mapRegion(region);
        p.memory.write(va + 3 * PAGE, Uint8Array.of(9, 8));
        await p.send(p.connect('region.rc'), { type: 1, data: EMPTY, caps: [region.handle] });
      });
      await a.exited;
      creatorGone();
      await returned(b, a);
      expect(k.stats()).toEqual(base);
    },
  },
  'region.numa-node': {
    checks: 'on a machine with NUMA nodes every frame of a region comes from the node it asks for; a node without room is OutOfMemory and an unknown node InvalidArgument, with nothing changed',
    async run(ctx) {
      const k = ctx.kernel({ frames: 301 + 200, numaNodes: [{ frames: 300 }, { frames: 200 }] });
      const h = k.spawn({ name: 'region.numa' }, async (p) => {
        for (const node of [1, 0]) {
          const r = p.memory.createRegion({ size: 32 * PAGE, node });
          expect(r.node).toBe(node);
          for (const f of p.memory.frames(p.memory.mapRegion(r), 32)) expect(k.memory.phys.nodeOf(f)).toBe(node);
        }
        const before = k.snapshot();
        expect(await codeOf(() => p.memory.createRegion({ size: 200 * PAGE, node: 1 }))).toBe('OutOfMemory');
        expect(await codeOf(() => p.memory.createRegion({ size: PAGE, node: 2 }))).toBe('InvalidArgument');
        expect(k.snapshot()).toEqual(before);
      });
      await returned(h);
    },
  },
};
