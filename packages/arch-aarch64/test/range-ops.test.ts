import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AccessKind, FrameInfo, PageMarker, PagePerm, PhysicalMemory } from '@veridian/core';
import type { PageMapping } from '@veridian/core';
import { createAarch64Mmu, type Aarch64AddressSpace, type Aarch64Mmu } from '../src/index.ts';
import { errorCode } from './helpers.ts';

const { READ, WRITE, EXECUTE, USER } = PagePerm;
const { LAZY, COPY_ON_WRITE } = PageMarker;
const PAGE = 4096;
const MiB2 = 2 << 20;

function machine(frames = 1024, cpus = 1): { phys: PhysicalMemory; mmu: Aarch64Mmu; space: Aarch64AddressSpace } {
  const phys = PhysicalMemory.create({ frames });
  const mmu = createAarch64Mmu(phys, { cpus });
  return { phys, mmu, space: mmu.createAddressSpace() };
}

/** Everything a failed call must leave as it was. */
function state(phys: PhysicalMemory, space: Aarch64AddressSpace, vas: number[]) {
  return { maps: space.mappings(), walks: vas.map((va) => space.walk(va)), tables: space.tableFrameCount(), free: phys.snapshot() };
}

/** What readFrames must report for a page, from `lookup`. */
function expected(m: PageMapping | undefined, va: number): [number, number] {
  if (m === undefined) return [-1, 0];
  const frame = (m.pa + (va - Number(m.va))) / PAGE;
  return [frame, m.perms | (m.markers << FrameInfo.MARKER_SHIFT) | FrameInfo.MAPPED | (m.present ? FrameInfo.PRESENT : 0)];
}

// Ranges near the 2 MiB, 1 GiB and 512 GiB table boundaries.
const BASES = [0, 0x4000_0000 - 0x10_0000, 0x80_0000_0000 - 0x10_0000];

type Op =
  | { kind: 'map'; va: number; frames: number[]; perms: number; markers: number }
  | { kind: 'unmap'; va: number; count: number }
  | { kind: 'read'; va: number; count: number };

const addr = fc.tuple(fc.constantFrom(...BASES), fc.integer({ min: 0, max: 700 })).map(([b, p]) => b + p * PAGE);
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('map' as const),
    va: addr,
    frames: fc.array(fc.integer({ min: 1, max: 1023 }), { minLength: 1, maxLength: 600 }),
    perms: fc.integer({ min: 0, max: 15 }),
    markers: fc.integer({ min: 0, max: 3 }),
  }),
  fc.record({ kind: fc.constant('unmap' as const), va: addr, count: fc.integer({ min: 1, max: 1100 }) }),
  fc.record({ kind: fc.constant('read' as const), va: addr, count: fc.integer({ min: 1, max: 1100 }) }),
);

describe('range operations agree with per-page map / lookup / unmap', () => {
  it('gives the same tables, mappings, walks and allocator state (property)', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 14 }), (ops) => {
        const a = machine();
        const b = machine();
        const out = new Int32Array(1200).fill(7);
        const info = new Int32Array(1200).fill(7);
        for (const o of ops) {
          if (o.kind === 'map') {
            const count = o.frames.length;
            const taken = o.frames.some((_, i) => b.space.lookup(o.va + i * PAGE) !== undefined);
            if (taken) {
              const before = state(a.phys, a.space, [o.va]);
              expect(errorCode(() => a.space.mapFrames(o.va, o.frames, 0, count, o.perms, o.markers))).toBe('AlreadyExists');
              expect(state(a.phys, a.space, [o.va])).toEqual(before);
              continue;
            }
            a.space.mapFrames(o.va, Int32Array.from(o.frames), 0, count, o.perms, o.markers);
            for (const [i, f] of o.frames.entries()) b.space.map(o.va + i * PAGE, f * PAGE, PAGE, o.perms, { markers: o.markers });
          } else if (o.kind === 'unmap') {
            let mapped = 0;
            const want = Array.from({ length: o.count }, (_, i) => {
              const f = expected(b.space.lookup(o.va + i * PAGE), o.va + i * PAGE)[0];
              if (f >= 0) mapped++;
              return f;
            });
            expect(a.space.unmapFrames(o.va, o.count, out, 3)).toBe(mapped);
            expect(Array.from(out.subarray(3, 3 + o.count))).toEqual(want);
            for (let i = 0; i < o.count; i++) b.space.unmap(o.va + i * PAGE, PAGE);
          } else {
            const before = state(a.phys, a.space, [o.va]);
            let mapped = 0;
            const want = Array.from({ length: o.count }, (_, i) => expected(b.space.lookup(o.va + i * PAGE), o.va + i * PAGE));
            for (const [f] of want) if (f >= 0) mapped++;
            expect(a.space.readFrames(o.va, o.count, out, info, 0)).toBe(mapped);
            expect(Array.from(out.subarray(0, o.count))).toEqual(want.map(([f]) => f));
            expect(Array.from(info.subarray(0, o.count))).toEqual(want.map(([, w]) => w));
            expect(state(a.phys, a.space, [o.va])).toEqual(before);
          }
          // Same allocation history on both machines, so even the table addresses agree.
          expect(a.space.mappings()).toEqual(b.space.mappings());
          expect(a.space.walk(o.va)).toEqual(b.space.walk(o.va));
          expect(a.space.tableFrameCount()).toBe(b.space.tableFrameCount());
          expect(a.phys.snapshot()).toEqual(b.phys.snapshot());
        }
        for (const base of BASES) {
          a.space.unmapFrames(base, 2000, new Int32Array(2000));
          b.space.unmap(base, 2000 * PAGE);
        }
        expect(a.space.tableFrameCount()).toBe(1);
        expect(a.phys.snapshot()).toEqual(b.phys.snapshot());
      }),
      { numRuns: 80 },
    );
  });

  it('encodes each leaf exactly as map does, for every permission and marker', () => {
    const a = machine();
    const b = machine();
    for (let perms = 0; perms < 16; perms++) {
      for (let markers = 0; markers < 4; markers++) {
        const va = 0x1000_0000 + (perms * 4 + markers) * PAGE;
        a.space.mapFrames(va, [100 + perms], 0, 1, perms, markers);
        b.space.map(va, (100 + perms) * PAGE, PAGE, perms, { markers });
        expect(a.space.walk(va)).toEqual(b.space.walk(va));
      }
    }
  });

  it('maps frames in any order, from an offset of an array-like', () => {
    const { space } = machine();
    space.mapFrames(0x40_0000, { length: 5, 0: 1, 1: 2, 2: 40, 3: 9, 4: 17 }, 2, 3, READ | USER);
    expect(space.translate(0x40_0123, AccessKind.Read)).toBe(40 * PAGE + 0x123);
    expect(space.translate(0x40_1000, AccessKind.Read)).toBe(9 * PAGE);
    expect(space.translate(0x40_2fff, AccessKind.Read)).toBe(17 * PAGE + 0xfff);
    expect(space.lookup(0x40_3000)).toBeUndefined();
  });
});

describe('all or nothing', () => {
  it('AlreadyExists on any partial overlap (a LAZY entry, a block) changes nothing', () => {
    const { phys, space } = machine(128);
    space.map(0x40_3000, 0x9000, 2 * PAGE, READ); // pages 3, 4
    space.map(0x40_8000, 0xb000, PAGE, READ, { markers: LAZY });
    space.map(0x4000_0000, 0, MiB2, READ, { pageSize: MiB2 });
    const vas = [0x40_0000, 0x40_3000, 0x3fff_f000, 0x4000_0000];
    const before = state(phys, space, vas);
    const frames = new Array<number>(600).fill(3);
    for (const [va, count] of [
      [0x40_0000, 4], // tail hits page 3
      [0x40_4000, 2], // head hits page 4
      [0x40_5000, 8], // LAZY entry at page 8
      [0x3fff_f000, 2], // new tables first, then into the block
      [0x4010_0000, 1], // inside the block
      [0x3ff0_0000, 600], // spans a fresh table and the block
    ] as const) {
      expect(errorCode(() => space.mapFrames(va, frames, 0, count, READ | WRITE))).toBe('AlreadyExists');
      expect(state(phys, space, vas)).toEqual(before);
    }
  });

  it('OutOfMemory with tiny physical memory: free frames, walks and mappings unchanged (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 1 << 12 }), fc.integer({ min: 1, max: 1100 }), (spare, startPage, pages) => {
        const { phys, space } = machine(24);
        space.map(0, 0x1000, PAGE, READ);
        const hog: number[] = [];
        while (phys.freeFrames > spare) hog.push(phys.allocFrame());
        const va = 0x40_0000_0000 + startPage * PAGE;
        const vas = [0, va, va + (pages - 1) * PAGE];
        const before = state(phys, space, vas);
        const frames = new Int32Array(pages).fill(3);
        try {
          space.mapFrames(va, frames, 0, pages, READ);
          expect(space.translate(va + (pages - 1) * PAGE, AccessKind.Read)).toBe(3 * PAGE);
          expect(space.mappings().length).toBe(before.maps.length + pages);
        } catch (e) {
          expect((e as { code?: string }).code).toBe('OutOfMemory');
          expect(state(phys, space, vas)).toEqual(before);
        }
      }),
      { numRuns: 80 },
    );
  });

  it('refuses to split a block, changing nothing; a whole block reports its 4 KiB frames', () => {
    const { phys, space } = machine(64);
    space.map(0x4000_0000, 0x20_0000, MiB2, READ | WRITE, { pageSize: MiB2 });
    const vas = [0x4000_0000];
    const before = state(phys, space, vas);
    const out = new Int32Array(1024).fill(7);
    expect(errorCode(() => space.unmapFrames(0x4000_0000, 1, out))).toBe('InvalidArgument');
    expect(errorCode(() => space.unmapFrames(0x3fff_f000, 2, out))).toBe('InvalidArgument');
    expect(errorCode(() => space.unmapFrames(0x401f_f000, 2, out))).toBe('InvalidArgument');
    expect(state(phys, space, vas)).toEqual(before);
    expect(out.every((x) => x === 7)).toBe(true);
    const info = new Int32Array(1024);
    expect(space.readFrames(0x401f_e000, 4, out, info)).toBe(2);
    expect(Array.from(out.subarray(0, 4))).toEqual([0x3fe, 0x3ff, -1, -1]);
    expect(info[0]).toBe(READ | WRITE | FrameInfo.MAPPED | FrameInfo.PRESENT);
    expect(info[2]).toBe(0);
    expect(space.unmapFrames(0x3fff_f000, 514, out, 10)).toBe(512);
    expect(out[10]).toBe(-1);
    expect(Array.from(out.subarray(11, 523))).toEqual(Array.from({ length: 512 }, (_, i) => 0x200 + i));
    expect(out[523]).toBe(-1);
    expect(space.mappings()).toEqual([]);
    expect(space.tableFrameCount()).toBe(1);
  });
});

describe('argument validation from plain JS', () => {
  it('InvalidArgument for every bad argument, with nothing changed', () => {
    const { phys, space, mmu } = machine(64);
    space.mapFrames(0x10_0000, [5, 6], 0, 2, READ);
    const vas = [0x10_0000, 0x20_0000];
    const before = state(phys, space, vas);
    const ok = new Int32Array(8);
    const x = space as unknown as {
      mapFrames(...a: unknown[]): void;
      unmapFrames(...a: unknown[]): number;
      readFrames(...a: unknown[]): number;
    };
    const bad: Array<() => unknown> = [
      // va
      () => x.mapFrames('0x200000', [1], 0, 1, READ),
      () => x.mapFrames(NaN, [1], 0, 1, READ),
      () => x.mapFrames(-PAGE, [1], 0, 1, READ),
      () => x.mapFrames(0x20_0000 + 0.5, [1], 0, 1, READ),
      () => x.mapFrames(0x20_0800, [1], 0, 1, READ),
      () => x.mapFrames(2 ** 48, [1], 0, 1, READ),
      () => x.mapFrames(-1n, [1], 0, 1, READ),
      () => x.mapFrames(2 ** 48 - PAGE, [1, 2], 0, 2, READ), // runs past TTBR0
      // count
      () => x.mapFrames(0x20_0000, [1], 0, 0, READ),
      () => x.mapFrames(0x20_0000, [1], 0, -1, READ),
      () => x.mapFrames(0x20_0000, [1, 2], 0, 1.5, READ),
      () => x.mapFrames(0x20_0000, [1], 0, NaN, READ),
      () => x.mapFrames(0x20_0000, [1], 0, '1', READ),
      () => x.mapFrames(0x20_0000, [1], 0, 2 ** 53, READ),
      // frames / from
      () => x.mapFrames(0x20_0000, null, 0, 1, READ),
      () => x.mapFrames(0x20_0000, undefined, 0, 1, READ),
      () => x.mapFrames(0x20_0000, 42, 0, 1, READ),
      () => x.mapFrames(0x20_0000, [1], 0, 2, READ),
      () => x.mapFrames(0x20_0000, [1, 2], 1, 2, READ),
      () => x.mapFrames(0x20_0000, [1, 2], -1, 1, READ),
      () => x.mapFrames(0x20_0000, [1, 2], 0.5, 1, READ),
      () => x.mapFrames(0x20_0000, [1, 2], '0', 1, READ),
      () => x.mapFrames(0x20_0000, [1, '2'], 0, 2, READ),
      () => x.mapFrames(0x20_0000, [1, NaN], 0, 2, READ),
      () => x.mapFrames(0x20_0000, [1, 0], 0, 2, READ),
      () => x.mapFrames(0x20_0000, [1, -1], 0, 2, READ),
      () => x.mapFrames(0x20_0000, [1, 2.5], 0, 2, READ),
      () => x.mapFrames(0x20_0000, [1, phys.frameCount], 0, 2, READ),
      () => x.mapFrames(0x20_0000, 'ab', 0, 1, READ),
      // perms / markers
      () => x.mapFrames(0x20_0000, [1], 0, 1, 0x10),
      () => x.mapFrames(0x20_0000, [1], 0, 1, '1'),
      () => x.mapFrames(0x20_0000, [1], 0, 1, NaN),
      () => x.mapFrames(0x20_0000, [1], 0, 1, READ, 4),
      () => x.mapFrames(0x20_0000, [1], 0, 1, READ, '2'),
      // unmapFrames / readFrames
      () => x.unmapFrames(0x10_0000, 2, [0, 0]),
      () => x.unmapFrames(0x10_0000, 2, new Uint32Array(2)),
      () => x.unmapFrames(0x10_0000, 2, new Int32Array(1)),
      () => x.unmapFrames(0x10_0000, 2, ok, 7),
      () => x.unmapFrames(0x10_0000, 2, ok, -1),
      () => x.unmapFrames(0x10_0000, 2, ok, 0.5),
      () => x.unmapFrames(0x10_0000, 2, ok, '0'),
      () => x.unmapFrames(0x10_0000, '2', ok),
      () => x.unmapFrames(0x10_0000, 0, ok),
      () => x.unmapFrames(0x10_0001, 1, ok),
      () => x.unmapFrames('1048576', 1, ok),
      () => x.readFrames(0x10_0000, 2, ok, new Int32Array(1)),
      () => x.readFrames(0x10_0000, 2, new Int32Array(1), ok),
      () => x.readFrames(0x10_0000, 2, ok, [0, 0]),
      () => x.readFrames(0x10_0000, 9, ok, ok),
      () => x.readFrames(0x10_0000, NaN, ok, ok),
    ];
    for (const [i, f] of bad.entries()) {
      expect([i, errorCode(f)]).toEqual([i, 'InvalidArgument']);
      expect(state(phys, space, vas)).toEqual(before);
    }
    expect(ok.every((w) => w === 0)).toBe(true);
    expect(mmu.tlbStats.shootdowns + mmu.tlbStats.invalidations).toBe(0);
    // Executable pages need a Normal-memory MAIR slot 0, as `map` does.
    const dev = createAarch64Mmu(PhysicalMemory.create({ frames: 64 }), { mair: 0x00n }).createAddressSpace();
    expect(errorCode(() => dev.mapFrames(0, [1], 0, 1, READ | EXECUTE))).toBe('InvalidArgument');
    expect(errorCode(() => dev.map(0, PAGE, PAGE, READ | EXECUTE))).toBe('InvalidArgument');
  });

  it('reads every frame number once (a getter-backed array cannot slip a bad one past validation)', () => {
    const { space } = machine(64);
    let reads = 0;
    const tricky = {
      length: 1,
      get 0() {
        return ++reads === 1 ? 5 : -1;
      },
    };
    space.mapFrames(0, tricky, 0, 1, READ);
    expect(reads).toBe(1);
    expect(space.lookup(0)?.pa).toBe(5 * PAGE);
  });

  it('refuses a destroyed space', () => {
    const { space } = machine(64);
    space.destroy();
    expect(errorCode(() => space.mapFrames(0, [1], 0, 1, READ))).toBe('InvalidState');
    expect(errorCode(() => space.unmapFrames(0, 1, new Int32Array(1)))).toBe('InvalidState');
    expect(errorCode(() => space.readFrames(0, 1, new Int32Array(1), new Int32Array(1)))).toBe('InvalidState');
  });
});

describe('TLB and markers', () => {
  it('unmapFrames sends exactly one shootdown, and no CPU keeps a stale translation', () => {
    const { mmu, space } = machine(512, 2);
    const frames = Int32Array.from({ length: 256 }, (_, i) => 10 + i);
    const before = { ...mmu.tlbStats };
    space.mapFrames(0x40_0000, frames, 0, 256, READ | WRITE | USER);
    expect(mmu.tlbStats.shootdowns).toBe(before.shootdowns); // mapping needs none
    for (let i = 0; i < 256; i += 17) space.translate(0x40_0000 + i * PAGE, AccessKind.Read, i & 1);
    const out = new Int32Array(300);
    expect(space.unmapFrames(0x3f_f000, 300, out)).toBe(256);
    expect(mmu.tlbStats.shootdowns).toBe(before.shootdowns + 1);
    expect(mmu.tlbStats.invalidations).toBe(before.invalidations + 1); // one range TLBI
    expect(Array.from(out.subarray(1, 257))).toEqual(Array.from(frames));
    for (let i = 0; i < 256; i += 17) expect(errorCode(() => space.translate(0x40_0000 + i * PAGE, AccessKind.Read, i & 1))).toBe('AccessFault');
    // Holes only: nothing to shoot down.
    expect(space.unmapFrames(0x40_0000, 4, out)).toBe(0);
    expect(mmu.tlbStats.shootdowns).toBe(before.shootdowns + 1);
  });

  it('a LAZY mapFrames then protect(va, 4096, perms, 0) makes exactly that page present', () => {
    const { space } = machine(64);
    space.mapFrames(0x40_0000, [21, 22, 23], 0, 3, READ | WRITE | USER, LAZY | COPY_ON_WRITE);
    const frames = new Int32Array(3);
    const info = new Int32Array(3);
    expect(space.readFrames(0x40_0000, 3, frames, info)).toBe(3);
    const lazy = READ | WRITE | USER | ((LAZY | COPY_ON_WRITE) << FrameInfo.MARKER_SHIFT) | FrameInfo.MAPPED;
    expect(Array.from(info)).toEqual([lazy, lazy, lazy]);
    expect(errorCode(() => space.mapFrames(0x40_1000, [9], 0, 1, READ))).toBe('AlreadyExists');
    space.protect(0x40_1000, PAGE, READ | WRITE | USER, 0);
    space.readFrames(0x40_0000, 3, frames, info);
    expect(Array.from(frames)).toEqual([21, 22, 23]);
    expect(Array.from(info)).toEqual([lazy, READ | WRITE | USER | FrameInfo.MAPPED | FrameInfo.PRESENT, lazy]);
    expect(space.translate(0x40_1abc, AccessKind.Write, 0, true)).toBe(22 * PAGE + 0xabc);
    expect(errorCode(() => space.translate(0x40_0000, AccessKind.Read))).toBe('AccessFault');
    // A LAZY entry reports its frame when unmapped.
    const out = new Int32Array(3);
    expect(space.unmapFrames(0x40_0000, 3, out)).toBe(3);
    expect(Array.from(out)).toEqual([21, 22, 23]);
  });
});

describe('deferred freeing of page tables', () => {
  /** A page alone in fresh L1/L2/L3 tables; returns their frame numbers. */
  function lonePage(space: Aarch64AddressSpace, va: number): number[] {
    space.mapFrames(va, [3], 0, 1, READ);
    return space
      .walk(va)
      .slice(0, 3)
      .map((d) => Number((d & 0x0000_ffff_ffff_f000n) / 4096n));
  }

  it('an unmapped table waits while a walk that could see it is in progress', () => {
    const { phys, mmu, space } = machine(64, 2);
    const baseline = phys.freeFrames;
    const tables = lonePage(space, 0x80_0000_0000);
    mmu.reclaim.enter(1); // a walk on CPU 1, e.g. on another thread
    expect(space.unmapFrames(0x80_0000_0000, 1, new Int32Array(1))).toBe(1);
    expect(space.tableFrameCount()).toBe(1); // unlinked at once…
    expect(mmu.reclaim.pending).toBe(3); // …but not freed
    expect(phys.freeFrames).toBe(baseline - 3);
    const free = new Set(phys.snapshot());
    for (const t of tables) expect(free.has(t)).toBe(false);
    mmu.reclaim.collect();
    expect(mmu.reclaim.pending).toBe(3); // still walking
    mmu.reclaim.exit(1);
    expect(mmu.reclaim.collect()).toBe(3);
    expect(mmu.reclaim.pending).toBe(0);
    expect(phys.freeFrames).toBe(baseline);
  });

  it('a later retire frees what waited once the walk is over; a walk that began after the retire holds nothing back', () => {
    const { phys, mmu, space } = machine(64, 2);
    const baseline = phys.freeFrames;
    lonePage(space, 0x80_0000_0000);
    mmu.reclaim.enter(1);
    space.unmap(0x80_0000_0000, PAGE); // the page-wise unmap retires too
    expect(mmu.reclaim.pending).toBe(3);
    mmu.reclaim.exit(1);
    mmu.reclaim.enter(1); // a new walk: it cannot reach the unlinked tables
    lonePage(space, 0x100_0000_0000);
    space.unmapFrames(0x100_0000_0000, 1, new Int32Array(1)); // retires three more, collects the first three
    expect(mmu.reclaim.pending).toBe(3);
    mmu.reclaim.exit(1);
    mmu.reclaim.collect();
    expect(phys.freeFrames).toBe(baseline);
  });

  it('frees at once with no walk in progress, and translate leaves no walk announced (fault handlers run outside it)', () => {
    const { phys, mmu, space } = machine(64, 2);
    const baseline = phys.freeFrames;
    lonePage(space, 0x80_0000_0000);
    space.translate(0x80_0000_0000, AccessKind.Read, 1);
    expect(errorCode(() => space.translate(0x80_0000_1000, AccessKind.Read, 1))).toBe('AccessFault');
    expect(errorCode(() => space.translate(0x80_0000_0000, AccessKind.Write, 1))).toBe('AccessFault'); // permission: looks the leaf up
    space.unmapFrames(0x80_0000_0000, 1, new Int32Array(1));
    expect(mmu.reclaim.pending).toBe(0);
    expect(phys.freeFrames).toBe(baseline);
    // A handler that changes the tables runs with the walk over: its unlinked tables go at once.
    lonePage(space, 0x100_0000_0000);
    let pendingInHandler = -1;
    const off = mmu.onFault((_f, s) => {
      s.unmapFrames!(0x100_0000_0000, 1, new Int32Array(1));
      pendingInHandler = mmu.reclaim.pending;
      s.mapFrames!(0x80_0000_0000, [4], 0, 1, READ);
      return true;
    });
    expect(space.translate(0x80_0000_0010, AccessKind.Read, 1)).toBe(4 * PAGE + 0x10);
    off();
    expect(pendingInHandler).toBe(0);
    space.unmapFrames(0x80_0000_0000, 1, new Int32Array(1));
    expect(phys.freeFrames).toBe(baseline);
  });

  it('destroy retires every table, root included, after the ASID flush', () => {
    const { phys, mmu, space } = machine(64, 2);
    const other = mmu.createAddressSpace();
    const baseline = phys.freeFrames;
    space.mapFrames(0x40_0000, [1, 2], 0, 2, READ);
    const tables = space.tableFrameCount();
    mmu.reclaim.enter(0);
    space.destroy();
    expect(mmu.reclaim.pending).toBe(tables);
    mmu.reclaim.exit(0);
    other.mapFrames(0, [1], 0, 1, READ); // allocates: nothing waits any more
    other.unmapFrames(0, 1, new Int32Array(1));
    expect(mmu.reclaim.pending).toBe(0);
    expect(phys.freeFrames).toBe(baseline + 1); // + the destroyed space's root
  });

  it('an allocation short of frames waits for the walks that hold retired tables back', () => {
    const { phys, mmu, space } = machine(24, 2);
    lonePage(space, 0x80_0000_0000);
    const hog: number[] = [];
    while (phys.freeFrames > 0) hog.push(phys.allocFrame());
    mmu.reclaim.enter(1);
    space.unmapFrames(0x80_0000_0000, 1, new Int32Array(1));
    mmu.reclaim.exit(1); // the walk ends before the next allocation looks
    space.mapFrames(0x100_0000_0000, [5], 0, 1, READ); // needs the three retired frames
    expect(mmu.reclaim.pending).toBe(0);
    expect(space.lookup(0x100_0000_0000)?.pa).toBe(5 * PAGE);
  });

  it('MMU creation takes five frames (state, reclaimer, ASID bitmap); an attached instance none', () => {
    const phys = PhysicalMemory.create({ frames: 64 });
    const mmu = createAarch64Mmu(phys, { cpus: 4 });
    expect(phys.freeFrames).toBe(63 - 5);
    createAarch64Mmu(phys, { cpus: 2, sharedState: mmu.sharedState });
    expect(phys.freeFrames).toBe(63 - 5);
  });
});
