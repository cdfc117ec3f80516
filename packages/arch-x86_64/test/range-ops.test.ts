import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AccessKind, FrameInfo, IpcError, PageMarker, PagePerm, PhysicalMemory } from '@veridian/core';
import type { PageMapping, VirtualAddress } from '@veridian/core';
import { createX86Mmu } from '../src/index.js';
import type { X86AddressSpace } from '../src/index.js';
import { attachSharedState } from '../src/shared-state.js';

const { READ, WRITE, EXECUTE, USER } = PagePerm;
const RW = READ | WRITE;
const M2 = 2 << 20;
const G1 = 1 << 30;
const PAGE = 4096;

function setup(frames = 512, cpus = 1) {
  const phys = PhysicalMemory.create({ frames });
  const mmu = createX86Mmu(phys, { cpus });
  const space = mmu.createAddressSpace();
  return { phys, mmu, space, reclaim: attachSharedState(phys, mmu.sharedState).reclaim };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof IpcError) return e.code;
    throw e;
  }
  return undefined;
}

/** Everything observable about a space's tables. */
function snapshot(space: X86AddressSpace, phys: PhysicalMemory, probes: readonly VirtualAddress[]) {
  return { mappings: space.mappings(), walks: probes.map((va) => space.walk(va)), tables: space.tableFrameCount(), free: phys.freeFrames };
}

function infoOf(m: PageMapping | undefined): number {
  return m === undefined ? 0 : m.perms | (m.markers << FrameInfo.MARKER_SHIFT) | FrameInfo.MAPPED | (m.present ? FrameInfo.PRESENT : 0);
}

function offsetIn(m: PageMapping, va: VirtualAddress): number {
  return Number(BigInt(va) - BigInt(m.va));
}

// Two windows of 1200 pages: one crossing a 2 MiB and a 1 GiB boundary in the lower half, one in the upper half.
const WINDOW = 1200;
const BASES = [G1 - 600 * PAGE, 0xffff_8000_4000_0000n - BigInt(600 * PAGE)] as const;
function vaOf(base: number | bigint, page: number): VirtualAddress {
  return typeof base === 'bigint' ? base + BigInt(page * PAGE) : base + page * PAGE;
}

type Op =
  | { kind: 'map'; page: number; frames: number[]; perms: number; markers: number }
  | { kind: 'unmap'; page: number; count: number }
  | { kind: 'read'; page: number; count: number }
  | { kind: 'huge'; slot: number; perms: number };

const range = fc.integer({ min: 0, max: WINDOW - 1 }).chain((page) => fc.record({ page: fc.constant(page), count: fc.integer({ min: 1, max: Math.min(700, WINDOW - page) }) }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  range.chain(({ page, count }) =>
    fc.record({
      kind: fc.constant('map' as const),
      page: fc.constant(page),
      frames: fc.array(fc.integer({ min: 1, max: 511 }), { minLength: count, maxLength: count }),
      perms: fc.integer({ min: 0, max: 15 }),
      markers: fc.integer({ min: 0, max: 3 }),
    }),
  ),
  range.map(({ page, count }) => ({ kind: 'unmap' as const, page, count })),
  range.map(({ page, count }) => ({ kind: 'read' as const, page, count })),
  fc.record({ kind: fc.constant('huge' as const), slot: fc.integer({ min: 0, max: 1 }), perms: fc.integer({ min: 1, max: 15 }) }),
);

/** The reference: what the range operation must do, by per-page `map` / `lookup` / `unmap` on `ref`. */
function reference(ref: X86AddressSpace, base: number | bigint, op: Op): { code?: string; frames?: number[]; info?: number[]; mapped?: number } {
  if (op.kind === 'map') {
    for (let i = 0; i < op.frames.length; i++) if (ref.lookup(vaOf(base, op.page + i))) return { code: 'AlreadyExists' };
    for (let i = 0; i < op.frames.length; i++) ref.map(vaOf(base, op.page + i), op.frames[i]! * PAGE, PAGE, op.perms, { markers: op.markers });
    return {};
  }
  if (op.kind === 'huge') return {};
  const frames: number[] = [];
  const info: number[] = [];
  const found: PageMapping[] = [];
  for (let i = 0; i < op.count; i++) {
    const va = vaOf(base, op.page + i);
    const m = ref.lookup(va);
    frames.push(m === undefined ? -1 : (m.pa + offsetIn(m, va) - (offsetIn(m, va) % PAGE)) / PAGE);
    info.push(infoOf(m));
    if (m && found.at(-1)?.va !== m.va) found.push(m);
  }
  const mapped = frames.filter((f) => f >= 0).length;
  if (op.kind === 'read') return { frames, info, mapped };
  const first = BigInt(vaOf(base, op.page));
  const end = first + BigInt(op.count * PAGE);
  if (found.some((m) => BigInt(m.va) < first || BigInt(m.va) + BigInt(m.size) > end)) return { code: 'InvalidArgument' };
  for (const m of found) ref.unmap(m.va, m.size);
  return { frames, mapped };
}

describe('range operations agree with per-page map / lookup / unmap', () => {
  it('random sequences give identical tables, walks, frame counts and results', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1 }), fc.array(opArb, { minLength: 1, maxLength: 12 }), (which, ops) => {
        const base = BASES[which]!;
        const a = setup();
        const b = setup();
        const probes = [0, 1, 88, 511, 512, 600, 601, 1023, 1024, 1199].map((p) => vaOf(base, p));
        for (const op of ops) {
          const want = reference(b.space, base, op);
          if (op.kind === 'map') {
            expect(codeOf(() => a.space.mapFrames(vaOf(base, op.page), Int32Array.from(op.frames), 0, op.frames.length, op.perms, op.markers))).toBe(want.code);
          } else if (op.kind === 'huge') {
            // Huge pages come from plain `map` on both sides (the range operations only meet them).
            // Pages 88 and 600 of either window are 2 MiB-aligned.
            const huge = vaOf(base, 88 + 512 * op.slot);
            const pa = (op.slot + 1) * M2;
            const codeA = codeOf(() => a.space.map(huge, pa, M2, op.perms, { pageSize: M2 }));
            expect(codeOf(() => b.space.map(huge, pa, M2, op.perms, { pageSize: M2 }))).toBe(codeA);
          } else if (op.kind === 'unmap') {
            const out = new Int32Array(op.count + 2).fill(7);
            let got = -1;
            const code = codeOf(() => (got = a.space.unmapFrames(vaOf(base, op.page), op.count, out, 1)));
            expect(code).toBe(want.code);
            if (code === undefined) {
              expect(got).toBe(want.mapped);
              expect(Array.from(out.subarray(1, op.count + 1))).toEqual(want.frames);
              expect([out[0], out[op.count + 1]]).toEqual([7, 7]);
            } else {
              expect(Array.from(out)).toEqual(new Array<number>(op.count + 2).fill(7));
            }
          } else {
            const frames = new Int32Array(op.count);
            const info = new Int32Array(op.count);
            expect(a.space.readFrames(vaOf(base, op.page), op.count, frames, info)).toBe(want.mapped);
            expect(Array.from(frames)).toEqual(want.frames);
            expect(Array.from(info)).toEqual(want.info);
          }
          expect(snapshot(a.space, a.phys, probes)).toEqual(snapshot(b.space, b.phys, probes));
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('mapFrames', () => {
  it('maps frames in any order with the leaf encoding of map', () => {
    const { space } = setup();
    const ref = setup().space;
    const frames = [17, 9, 40, 9];
    space.mapFrames(0x40_0000, frames, 0, 4, RW | USER);
    frames.forEach((f, i) => ref.map(0x40_0000 + i * PAGE, f * PAGE, PAGE, RW | USER));
    for (let i = 0; i < 4; i++) {
      expect(space.readEntry(0x40_0000 + i * PAGE, 0)).toBe(ref.readEntry(0x40_0000 + i * PAGE, 0));
      expect(space.translate(0x40_0000 + i * PAGE + 5, AccessKind.Write, 0, true)).toBe(frames[i]! * PAGE + 5);
    }
  });

  it('maps a slice of the frame list (from, count)', () => {
    const { space } = setup();
    space.mapFrames(0x40_0000, Int32Array.of(1, 2, 30, 31, 32, 3), 2, 3, READ);
    expect(space.mappings().map((m) => [m.va, m.pa])).toEqual([
      [0x40_0000, 30 * PAGE],
      [0x40_1000, 31 * PAGE],
      [0x40_2000, 32 * PAGE],
    ]);
  });

  it('256 pages under one new PT: one table per level, each entry written once, nothing else', () => {
    const { phys, space } = setup();
    const free = phys.freeFrames;
    const frames = Int32Array.from({ length: 256 }, (_, i) => 300 - i);
    space.mapFrames(0x7f_4010_0000, frames, 0, 256, READ | EXECUTE);
    // PDPT + PD + PT: exactly the three tables the range needs, each linked once.
    expect(space.tableFrameCount()).toBe(4);
    expect(phys.freeFrames).toBe(free - 3);
    const walk = space.walk(0x7f_4010_0000);
    expect(walk).toHaveLength(4);
    for (const va of [0x7f_4010_0000, 0x7f_401f_f000]) expect(space.walk(va).slice(0, 3)).toEqual(walk.slice(0, 3));
    const ms = space.mappings();
    expect(ms).toHaveLength(256);
    expect(ms.every((m, i) => m.va === 0x7f_4010_0000 + i * PAGE && m.pa === (300 - i) * PAGE && m.size === PAGE && !m.global)).toBe(true);
  });

  it('a partly overlapping range is AlreadyExists and changes nothing (a LAZY entry counts)', () => {
    const { phys, space } = setup();
    space.map(0x40_5000, 0x9000, PAGE, READ, { markers: PageMarker.LAZY });
    const probes = [0x3f_f000, 0x40_0000, 0x40_5000, 0x60_0000];
    const before = snapshot(space, phys, probes);
    // 0x3f_e000 .. 0x40_6000 needs a new PT below 0x40_0000 too: it must not stay behind.
    expect(codeOf(() => space.mapFrames(0x3f_e000, new Array<number>(8).fill(5), 0, 8, RW))).toBe('AlreadyExists');
    expect(snapshot(space, phys, probes)).toEqual(before);
    space.map(0x60_0000, 0x20_0000, M2, READ, { pageSize: M2 });
    const before2 = snapshot(space, phys, probes);
    expect(codeOf(() => space.mapFrames(0x5f_f000, [1, 2], 0, 2, RW))).toBe('AlreadyExists');
    expect(snapshot(space, phys, probes)).toEqual(before2);
  });

  it('OutOfMemory with tiny memory: free frames and every walk unchanged', () => {
    // frame 0 reserved, 3 shared state, 1 root, 2 spare: a fresh subtree needs PDPT + PD + PT.
    const phys = PhysicalMemory.create({ frames: 7 });
    const space = createX86Mmu(phys).createAddressSpace();
    expect(phys.freeFrames).toBe(2);
    const probes = [0x1000, 0x40_0000, 0x7f_0000_0000];
    const before = snapshot(space, phys, probes);
    const snap = phys.snapshot();
    expect(codeOf(() => space.mapFrames(0x1000, [1, 2, 3], 0, 3, READ))).toBe('OutOfMemory');
    expect(snapshot(space, phys, probes)).toEqual(before);
    expect(phys.snapshot()).toEqual(snap);
    // With a frame more it maps, taking exactly the three tables.
    const bigger = setup(8).space;
    bigger.mapFrames(0x1000, [1, 2, 3], 0, 3, READ);
    expect(bigger.tableFrameCount()).toBe(4);
  });

  it('a LAZY range is mapped but not present; protect with markers 0 makes one page present', () => {
    const { space } = setup();
    space.mapFrames(0x40_0000, [11, 12, 13], 0, 3, RW | USER, PageMarker.LAZY);
    expect(() => space.translate(0x40_1000, AccessKind.Read)).toThrow(expect.objectContaining({ reason: 'lazy' }));
    space.protect(0x40_1000, PAGE, RW | USER, 0);
    expect(space.translate(0x40_1234, AccessKind.Write, 0, true)).toBe(12 * PAGE + 0x234);
    const frames = new Int32Array(3);
    const info = new Int32Array(3);
    expect(space.readFrames(0x40_0000, 3, frames, info)).toBe(3);
    expect(Array.from(frames)).toEqual([11, 12, 13]);
    const lazy = READ | WRITE | USER | (PageMarker.LAZY << FrameInfo.MARKER_SHIFT) | FrameInfo.MAPPED;
    expect(info[0]).toBe(lazy);
    expect(info[1]).toBe(READ | WRITE | USER | FrameInfo.MAPPED | FrameInfo.PRESENT);
    expect(info[2]).toBe(lazy);
  });
});

describe('unmapFrames', () => {
  it('reports frames (holes −1, LAZY entries their frame), frees empty tables, one shootdown', () => {
    const { phys, mmu, space } = setup(512, 2);
    const free = phys.freeFrames;
    space.mapFrames(0x3f_e000, [21, 22, 23, 24], 0, 4, READ); // two PTs
    space.map(0x40_4000, 25 * PAGE, PAGE, READ, { markers: PageMarker.LAZY });
    space.translate(0x3f_e000, AccessKind.Read, 1);
    const shootdowns = mmu.tlbStats.shootdowns;
    const out = new Int32Array(8);
    expect(space.unmapFrames(0x3f_e000, 8, out)).toBe(5);
    expect(Array.from(out)).toEqual([21, 22, 23, 24, -1, -1, 25, -1]);
    expect(mmu.tlbStats.shootdowns).toBe(shootdowns + 1);
    expect(space.mappings()).toEqual([]);
    expect(space.tableFrameCount()).toBe(1);
    expect(phys.freeFrames).toBe(free);
    expect(() => space.translate(0x3f_e000, AccessKind.Read, 1)).toThrow(expect.objectContaining({ reason: 'not-present' }));
  });

  it('keeps tables that still hold other pages', () => {
    const { space } = setup();
    space.mapFrames(0x40_0000, [1, 2, 3], 0, 3, READ);
    expect(space.unmapFrames(0x40_1000, 1, new Int32Array(1))).toBe(1);
    expect(space.tableFrameCount()).toBe(4);
    expect(space.mappings().map((m) => m.pa)).toEqual([PAGE, 3 * PAGE]);
  });

  it('a whole huge page reports its 512 frames; splitting one is InvalidArgument with nothing changed', () => {
    const { phys, mmu, space } = setup();
    space.map(0x60_0000, 0x40_0000, M2, RW, { pageSize: M2 });
    const probes = [0x60_0000, 0x7f_f000];
    const before = snapshot(space, phys, probes);
    const shootdowns = mmu.tlbStats.shootdowns;
    const out = new Int32Array(600).fill(3);
    expect(codeOf(() => space.unmapFrames(0x60_1000, 512, out))).toBe('InvalidArgument');
    expect(snapshot(space, phys, probes)).toEqual(before);
    expect(out.every((f) => f === 3)).toBe(true);
    expect(mmu.tlbStats.shootdowns).toBe(shootdowns);
    expect(space.unmapFrames(0x5f_f000, 514, out)).toBe(512);
    expect(out[0]).toBe(-1);
    expect(Array.from(out.subarray(1, 513))).toEqual(Array.from({ length: 512 }, (_, i) => 0x400 + i));
    expect(out[513]).toBe(-1);
    expect(mmu.tlbStats.shootdowns).toBe(shootdowns + 1);
  });

  it('readFrames reports the pages of a huge page by their own frames', () => {
    const { space } = setup();
    space.map(0x60_0000, 0x40_0000, M2, RW | EXECUTE, { pageSize: M2 });
    const frames = new Int32Array(4);
    const info = new Int32Array(4);
    expect(space.readFrames(0x7f_e000, 4, frames, info)).toBe(2);
    expect(Array.from(frames)).toEqual([0x5fe, 0x5ff, -1, -1]);
    expect(Array.from(info)).toEqual([RW | EXECUTE | FrameInfo.MAPPED | FrameInfo.PRESENT, RW | EXECUTE | FrameInfo.MAPPED | FrameInfo.PRESENT, 0, 0]);
  });
});

/** The range operations as plain JS sees them (any argument type). */
interface Untyped {
  mapFrames(...args: unknown[]): void;
  unmapFrames(...args: unknown[]): number;
  readFrames(...args: unknown[]): number;
}

describe('bad arguments from plain JS', () => {
  const { phys, space } = setup(64);
  space.mapFrames(0x40_0000, [1], 0, 1, READ);
  const js = space as unknown as Untyped;
  const probes = [0x40_0000, 0x1000, 0x80_0000];
  const before = snapshot(space, phys, probes);
  const frames = [1, 2];

  const cases: Array<[string, () => unknown]> = [
    ['va string', () => js.mapFrames('4096', frames, 0, 1, READ)],
    ['va NaN', () => js.mapFrames(Number.NaN, frames, 0, 1, READ)],
    ['va negative', () => js.mapFrames(-4096, frames, 0, 1, READ)],
    ['va fractional', () => js.mapFrames(4096.5, frames, 0, 1, READ)],
    ['va unaligned', () => js.mapFrames(0x1001, frames, 0, 1, READ)],
    ['va non-canonical', () => js.mapFrames(0x0000_8000_0000_0000n, frames, 0, 1, READ)],
    ['range leaves the half', () => js.mapFrames(2 ** 47 - PAGE, frames, 0, 2, READ)],
    ['frames null', () => js.mapFrames(0x1000, null, 0, 1, READ)],
    ['frames string', () => js.mapFrames(0x1000, '12', 0, 1, READ)],
    ['frames number', () => js.mapFrames(0x1000, 7, 0, 1, READ)],
    ['frames short', () => js.mapFrames(0x1000, frames, 1, 2, READ)],
    ['frame string', () => js.mapFrames(0x1000, [1, '2'], 0, 2, READ)],
    ['frame NaN', () => js.mapFrames(0x1000, [1, Number.NaN], 0, 2, READ)],
    ['frame 0', () => js.mapFrames(0x1000, [1, 0], 0, 2, READ)],
    ['frame negative', () => js.mapFrames(0x1000, [1, -3], 0, 2, READ)],
    ['frame fractional', () => js.mapFrames(0x1000, [1, 2.5], 0, 2, READ)],
    ['frame not installed', () => js.mapFrames(0x1000, [1, 64], 0, 2, READ)],
    ['frame huge', () => js.mapFrames(0x1000, [1, 2 ** 40], 0, 2, READ)],
    ['from negative', () => js.mapFrames(0x1000, frames, -1, 1, READ)],
    ['from fractional', () => js.mapFrames(0x1000, frames, 0.5, 1, READ)],
    ['from string', () => js.mapFrames(0x1000, frames, '0', 1, READ)],
    ['count 0', () => js.mapFrames(0x1000, frames, 0, 0, READ)],
    ['count negative', () => js.mapFrames(0x1000, frames, 0, -1, READ)],
    ['count NaN', () => js.mapFrames(0x1000, frames, 0, Number.NaN, READ)],
    ['count fractional', () => js.mapFrames(0x1000, frames, 0, 1.5, READ)],
    ['count string', () => js.mapFrames(0x1000, frames, 0, '1', READ)],
    ['perms 16', () => js.mapFrames(0x1000, frames, 0, 1, 16)],
    ['perms negative', () => js.mapFrames(0x1000, frames, 0, 1, -1)],
    ['perms string', () => js.mapFrames(0x1000, frames, 0, 1, 'r')],
    ['markers 4', () => js.mapFrames(0x1000, frames, 0, 1, READ, 4)],
    ['markers fractional', () => js.mapFrames(0x1000, frames, 0, 1, READ, 0.5)],
    ['unmap out array', () => js.unmapFrames(0x40_0000, 1, [0])],
    ['unmap out Uint32Array', () => js.unmapFrames(0x40_0000, 1, new Uint32Array(1))],
    ['unmap out short', () => js.unmapFrames(0x40_0000, 2, new Int32Array(1))],
    ['unmap at past the end', () => js.unmapFrames(0x40_0000, 1, new Int32Array(1), 1)],
    ['unmap at negative', () => js.unmapFrames(0x40_0000, 1, new Int32Array(2), -1)],
    ['unmap at fractional', () => js.unmapFrames(0x40_0000, 1, new Int32Array(2), 0.5)],
    ['unmap count NaN', () => js.unmapFrames(0x40_0000, Number.NaN, new Int32Array(2))],
    ['unmap va string', () => js.unmapFrames('0x400000', 1, new Int32Array(2))],
    ['read frames short', () => js.readFrames(0x40_0000, 2, new Int32Array(1), new Int32Array(2))],
    ['read info short', () => js.readFrames(0x40_0000, 2, new Int32Array(2), new Int32Array(1))],
    ['read info Float64Array', () => js.readFrames(0x40_0000, 1, new Int32Array(1), new Float64Array(1))],
    ['read count 0', () => js.readFrames(0x40_0000, 0, new Int32Array(1), new Int32Array(1))],
  ];
  for (const [name, call] of cases) {
    it(`${name}: InvalidArgument, nothing changed`, () => {
      expect(codeOf(call)).toBe('InvalidArgument');
      expect(snapshot(space, phys, probes)).toEqual(before);
    });
  }

  it('a bad frame late in the list stops the call before the first write', () => {
    const list = Array.from({ length: 300 }, (_, i) => i + 1);
    list[299] = -1;
    expect(codeOf(() => space.mapFrames(0x1000, list, 0, 300, READ))).toBe('InvalidArgument');
    expect(snapshot(space, phys, probes)).toEqual(before);
  });
});

describe('deferred freeing of page tables', () => {
  it('a walk in progress on another CPU keeps an unlinked table out of the allocator until it ends', () => {
    const { phys, space, reclaim } = setup(64, 2);
    const baseline = phys.freeFrames;
    space.mapFrames(0x40_0000, [5], 0, 1, READ); // PDPT + PD + PT
    const mapped = phys.freeFrames;
    reclaim.enter(1); // CPU 1 is mid-walk and may hold the old links
    space.unmapFrames(0x40_0000, 1, new Int32Array(1));
    expect(space.tableFrameCount()).toBe(1);
    expect(phys.freeFrames).toBe(mapped);
    expect(reclaim.pending).toBe(3);
    reclaim.exit(1);
    // The next retire (or collect) frees them.
    space.mapFrames(0x80_0000_0000, [6], 0, 1, READ);
    space.unmapFrames(0x80_0000_0000, 1, new Int32Array(1));
    expect(reclaim.pending).toBe(0);
    expect(phys.freeFrames).toBe(baseline);
  });

  it('a walk that began after the retire does not hold the table back', () => {
    const { phys, space, reclaim } = setup(64, 2);
    const baseline = phys.freeFrames;
    space.mapFrames(0x40_0000, [5], 0, 1, READ);
    reclaim.enter(1);
    space.unmapFrames(0x40_0000, 1, new Int32Array(1));
    reclaim.exit(1);
    reclaim.enter(0); // starts after the unlink: it cannot reach the old tables
    expect(reclaim.collect()).toBe(3);
    reclaim.exit(0);
    expect(phys.freeFrames).toBe(baseline);
  });

  it('with no walk in progress tables are freed at once; translations and faults leave no walk behind', () => {
    const { phys, space, reclaim } = setup(64, 2);
    const baseline = phys.freeFrames;
    space.mapFrames(0x40_0000, [5, 6], 0, 2, READ);
    expect(space.translate(0x40_0000, AccessKind.Read, 1)).toBe(5 * PAGE);
    expect(() => space.translate(0x40_2000, AccessKind.Read, 0)).toThrow(expect.objectContaining({ reason: 'not-present' }));
    expect(() => space.translate(0x40_0000, AccessKind.Write, 0, true)).toThrow(expect.objectContaining({ reason: 'permission' }));
    space.unmap(0x40_0000, 2 * PAGE);
    expect(reclaim.pending).toBe(0);
    expect(phys.freeFrames).toBe(baseline);
  });

  it('unmap, a rolled-back map and destroy retire their tables too', () => {
    const { phys, mmu, space, reclaim } = setup(64, 2);
    const baseline = phys.freeFrames;
    space.map(0x40_0000, 0x5000, PAGE, READ);
    reclaim.enter(1);
    space.unmap(0x40_0000, PAGE);
    expect(reclaim.pending).toBe(3);
    reclaim.exit(1);
    expect(reclaim.collect()).toBe(3);
    // A map that runs out of memory half-way unlinks the tables it made: they wait too.
    const hog: number[] = [];
    while (phys.freeFrames > 2) hog.push(phys.allocFrame());
    reclaim.enter(1);
    expect(codeOf(() => space.map(0x40_0000, 0x5000, PAGE, READ))).toBe('OutOfMemory');
    expect(reclaim.pending).toBe(2);
    expect(phys.freeFrames).toBe(0);
    reclaim.exit(1);
    expect(reclaim.collect()).toBe(2);
    phys.freeFrameList(hog);
    const other = mmu.createAddressSpace();
    other.map(0x40_0000, 0x5000, PAGE, READ);
    const withOther = phys.freeFrames;
    reclaim.enter(1);
    other.destroy();
    expect(phys.freeFrames).toBe(withOther);
    expect(reclaim.pending).toBe(4);
    reclaim.exit(1);
    reclaim.collect();
    expect(phys.freeFrames).toBe(baseline);
  });
});
