/**
 * The range operations of the AddressSpace contract (mapFrames / unmapFrames / readFrames)
 * against per-page map / lookup / unmap, and the deferred freeing of page-table frames
 * through core's TableReclaim.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccessKind, FrameInfo, IpcError, MmuSharedState, PageMarker, PagePerm, PhysicalMemory } from '@veridian/core';
import type { PageMapping, VirtualAddress } from '@veridian/core';
import { Riscv64PageFault, SV39, SV48, createRiscv64Mmu, decodeEntry, fromLinear, toLinear, type PagingMode, type Riscv64AddressSpace, type Riscv64Mmu, type Riscv64MmuOptions } from '../src/index.ts';

const { READ: R, WRITE: W, EXECUTE: X, USER: U } = PagePerm;
const PAGE = 4096;
const MIB2 = 2 ** 21;

function setup(options: Riscv64MmuOptions = {}, frames = 512) {
  const phys = PhysicalMemory.create({ frames });
  const mmu = createRiscv64Mmu(phys, options);
  return { phys, mmu, space: mmu.createAddressSpace() };
}

/** The MMU's shared state as a second view (for its TableReclaim and shootdown epoch). */
function stateOf(phys: PhysicalMemory, mmu: Riscv64Mmu): MmuSharedState {
  return MmuSharedState.attach(phys, mmu.sharedState, phys.i32[phys.physOffset(mmu.sharedState) / 4]!);
}

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof IpcError) return e.code;
    throw e;
  }
  return 'none';
};

const reasonOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    if (e instanceof Riscv64PageFault) return e.reason;
    throw e;
  }
  return 'none';
};

/** What readFrames must report for `count` pages from linear `lin`, derived from per-page lookup. */
function expected(space: Riscv64AddressSpace, mode: PagingMode, lin: number, count: number): { frames: number[]; info: number[] } {
  const frames: number[] = [];
  const info: number[] = [];
  for (let i = 0; i < count; i++) {
    const v = lin + i * PAGE;
    const m = space.lookup(fromLinear(v, mode));
    frames.push(m ? (m.pa + v - toLinear(m.va, mode)) / PAGE : -1);
    info.push(m ? m.perms | (m.markers << FrameInfo.MARKER_SHIFT) | FrameInfo.MAPPED | (m.present ? FrameInfo.PRESENT : 0) : 0);
  }
  return { frames, info };
}

/** Per-page unmap of every leaf in the range (a megapage as a whole), as a kernel without unmapFrames would. */
function unmapPerPage(space: Riscv64AddressSpace, mode: PagingMode, lin: number, count: number): void {
  for (let v = lin; v < lin + count * PAGE; ) {
    const m: PageMapping | undefined = space.lookup(fromLinear(v, mode));
    if (m) {
      space.unmap(m.va, m.size);
      v = toLinear(m.va, mode) + m.size;
    } else {
      space.unmap(fromLinear(v, mode), PAGE);
      v += PAGE;
    }
  }
}

type Op =
  | { kind: 'map'; vpn: number; count: number; seed: number; perms: number; markers: number }
  | { kind: 'unmap'; vpn: number; count: number }
  | { kind: 'read'; vpn: number; count: number }
  | { kind: 'mega'; vpn: number; perms: number };

const FRAMES = 1024;

function ops(mode: PagingMode): fc.Arbitrary<Op[]> {
  // Windows straddling 2 MiB, 1 GiB and (Sv48) 512 GiB boundaries, and the kernel half.
  const bases = [0, 2 ** 18 - 300, 2 ** (mode.vaBits - 12) - 1200];
  if (mode.levels === 4) bases.push(2 ** 27 - 300);
  const start = fc.tuple(fc.constantFrom(...bases), fc.nat({ max: 900 })).map(([b, o]) => b + o);
  const top = 2 ** (mode.vaBits - 12);
  // A range never crosses the top of the address space (that is InvalidArgument, tested below).
  const range = fc.tuple(start, fc.integer({ min: 1, max: 600 })).map(([vpn, n]) => [vpn, Math.min(n, top - vpn)] as const);
  const perms = fc.integer({ min: 0, max: 15 });
  const map = fc.tuple(range, perms, fc.integer({ min: 0, max: 3 }), fc.nat()).map(([[vpn, n], p, markers, seed]): Op => ({ kind: 'map', vpn, count: n, perms: p, markers, seed }));
  const unmap = range.map(([vpn, n]): Op => ({ kind: 'unmap', vpn, count: n }));
  const read = range.map(([vpn, n]): Op => ({ kind: 'read', vpn, count: n }));
  const mega = fc.tuple(start, perms).map(([vpn, p]): Op => ({ kind: 'mega', vpn: vpn - (vpn % 512), perms: p | R }));
  return fc.array(fc.oneof({ arbitrary: map, weight: 4 }, { arbitrary: unmap, weight: 3 }, { arbitrary: read, weight: 2 }, { arbitrary: mega, weight: 1 }), { minLength: 1, maxLength: 14 });
}

function equivalence(mode: PagingMode): void {
  it(`${mode.name}: random mapFrames / unmapFrames / readFrames equal per-page map / lookup / unmap (mappings, walks, tables, allocator)`, () => {
    fc.assert(
      fc.property(ops(mode), (list) => {
        const a = setup({ mode: mode.name, cpus: 2 }, FRAMES);
        const b = setup({ mode: mode.name, cpus: 2 }, FRAMES);
        const touched = new Set<number>();
        for (const op of list) {
          const lin = op.vpn * PAGE;
          const va = fromLinear(lin, mode);
          if (op.kind === 'mega') {
            const ca = codeOf(() => a.space.map(va, 0x4000_0000, MIB2, op.perms, { pageSize: MIB2 }));
            expect(codeOf(() => b.space.map(va, 0x4000_0000, MIB2, op.perms, { pageSize: MIB2 }))).toBe(ca);
          } else if (op.kind === 'map') {
            const want = expected(b.space, mode, lin, op.count);
            // Frames in any order, repeats allowed; two in front, skipped by `from`.
            const frames = Int32Array.from({ length: op.count + 2 }, (_, i) => 1 + ((op.seed + i * 7919) % (FRAMES - 1)));
            const code = codeOf(() => a.space.mapFrames(va, frames, 2, op.count, op.perms, op.markers));
            expect(code).toBe(want.frames.some((f) => f >= 0) ? 'AlreadyExists' : 'none');
            if (code === 'none') for (let i = 0; i < op.count; i++) b.space.map(fromLinear(lin + i * PAGE, mode), frames[i + 2]! * PAGE, PAGE, op.perms, { markers: op.markers });
          } else if (op.kind === 'unmap') {
            const want = expected(b.space, mode, lin, op.count);
            const out = new Int32Array(op.count + 3).fill(7);
            const shootdowns = a.mmu.tlbStats.shootdowns;
            let mapped = -1;
            const code = codeOf(() => (mapped = a.space.unmapFrames(va, op.count, out, 3)));
            const split = b.space.mappings().some((m) => {
              const s = toLinear(m.va, mode);
              return s < lin + op.count * PAGE && s + m.size > lin && (s < lin || s + m.size > lin + op.count * PAGE);
            });
            expect(code).toBe(split ? 'InvalidArgument' : 'none');
            if (code === 'none') {
              expect([...out.subarray(0, 3)]).toEqual([7, 7, 7]);
              expect([...out.subarray(3)]).toEqual(want.frames);
              expect(mapped).toBe(want.frames.filter((f) => f >= 0).length);
              expect(a.mmu.tlbStats.shootdowns - shootdowns).toBe(mapped > 0 ? 1 : 0);
              unmapPerPage(b.space, mode, lin, op.count);
            }
          } else {
            const want = expected(b.space, mode, lin, op.count);
            const frames = new Int32Array(op.count);
            const info = new Int32Array(op.count);
            expect(a.space.readFrames(va, op.count, frames, info)).toBe(want.frames.filter((f) => f >= 0).length);
            expect([...frames]).toEqual(want.frames);
            expect([...info]).toEqual(want.info);
          }
          touched.add(op.vpn).add(op.vpn + (op.kind === 'mega' ? 512 : op.count) - 1);
          expect(a.space.mappings()).toEqual(b.space.mappings());
          for (const vpn of touched) expect(a.space.walk(fromLinear(vpn * PAGE, mode))).toEqual(b.space.walk(fromLinear(vpn * PAGE, mode)));
          expect(a.space.tableFrameCount()).toBe(b.space.tableFrameCount());
          // Tables are taken and given back in the same order as page by page.
          expect(a.phys.snapshot()).toEqual(b.phys.snapshot());
        }
      }),
      { numRuns: 60 },
    );
  });
}

describe('range operations are per-page map / lookup / unmap, done once per table', () => {
  equivalence(SV39);
  equivalence(SV48);
});

describe('mapFrames is all or nothing', () => {
  it('AlreadyExists on a partial overlap (a LAZY marker entry counts) changes nothing', () => {
    for (const markers of [0, PageMarker.LAZY]) {
      const { phys, space } = setup();
      // The overlap is the last page, after tables for the first 2 MiB and a new one would be needed.
      space.map(0x60_0000 + 100 * PAGE, 0x9000, PAGE, R | U, { markers });
      const before = { maps: space.mappings(), snap: phys.snapshot(), walk: space.walk(0x40_0000) };
      const frames = Int32Array.from({ length: 613 }, (_, i) => 10 + (i % 400));
      expect(codeOf(() => space.mapFrames(0x60_0000 - 512 * PAGE, frames, 0, 613, R | W | U))).toBe('AlreadyExists');
      expect({ maps: space.mappings(), snap: phys.snapshot(), walk: space.walk(0x40_0000) }).toEqual(before);
    }
  });

  it('AlreadyExists inside a megapage, and a megapage inside the range', () => {
    const { phys, space } = setup();
    space.map(0x4000_0000, 0x20_0000, MIB2, R, { pageSize: MIB2 });
    const snap = phys.snapshot();
    expect(codeOf(() => space.mapFrames(0x4000_0000 + 5 * PAGE, [3], 0, 1, R))).toBe('AlreadyExists');
    expect(codeOf(() => space.mapFrames(0x4000_0000 - PAGE, new Array<number>(514).fill(3), 0, 514, R))).toBe('AlreadyExists');
    expect(phys.snapshot()).toEqual(snap);
    expect(space.mappings()).toHaveLength(1);
  });

  it('OutOfMemory with tiny physical memory leaves the free frames, the allocator and the walks as they were; it asks for exactly the tables it needs', () => {
    const { phys, space } = setup({ asidBits: 8 }, 16);
    space.map(0x40_0000, 0x5000, PAGE, R);
    // 0x3fff_f000 needs a new last-level table; 0x4000_0000 and 0x4000_1000 a new 1 GiB region: three tables.
    const held: number[] = [];
    while (phys.freeFrames > 2) held.push(phys.allocFrame());
    const probe = () => ({ free: phys.freeFrames, snap: phys.snapshot(), maps: space.mappings(), walks: [0x40_0000, 0x3fff_f000, 0x4000_0000].map((v) => space.walk(v)) });
    const before = probe();
    expect(codeOf(() => space.mapFrames(0x3fff_f000, [1, 2, 3], 0, 3, R))).toBe('OutOfMemory');
    expect(probe()).toEqual(before);
    phys.freeFrame(held.pop()!);
    space.mapFrames(0x3fff_f000, [1, 2, 3], 0, 3, R);
    expect(phys.freeFrames).toBe(0);
    expect(space.mappings().map((m) => m.pa / PAGE)).toEqual([5, 1, 2, 3]);
  });
});

describe('unmapFrames', () => {
  it('splitting a megapage is InvalidArgument with nothing changed; covering it reports each 4 KiB frame', () => {
    const { phys, mmu, space } = setup();
    space.map(0x20_0000, 0x40_0000, MIB2, R | W, { pageSize: MIB2 });
    space.mapFrames(0x20_0000 - 2 * PAGE, [9, 8], 0, 2, R);
    const before = { maps: space.mappings(), snap: phys.snapshot(), sd: mmu.tlbStats.shootdowns };
    const out = new Int32Array(600).fill(5);
    expect(codeOf(() => space.unmapFrames(0x20_0000 - 2 * PAGE, 100, out))).toBe('InvalidArgument');
    expect(codeOf(() => space.unmapFrames(0x20_0000 + 511 * PAGE, 2, out))).toBe('InvalidArgument');
    expect({ maps: space.mappings(), snap: phys.snapshot(), sd: mmu.tlbStats.shootdowns }).toEqual(before);
    expect(out.every((f) => f === 5)).toBe(true);
    expect(space.unmapFrames(0x20_0000 - 2 * PAGE, 515, out, 1)).toBe(514);
    expect([out[0], out[1], out[2], out[3], out[3 + 511], out[515]]).toEqual([5, 9, 8, 0x400, 0x400 + 511, -1]);
    expect(space.mappings()).toEqual([]);
  });

  it('posts exactly one shootdown for the whole range, which every hart replays', () => {
    const { phys, mmu, space } = setup({ cpus: 2 }, 1024);
    const state = stateOf(phys, mmu);
    const frames = Int32Array.from({ length: 700 }, (_, i) => 20 + i);
    space.mapFrames(0x3ff0_0000, frames, 0, 700, R | W | U);
    for (const cpu of [0, 1]) for (const v of [0x3ff0_0000, 0x4000_0000]) space.translate(v, AccessKind.Read, cpu, true);
    const epoch = state.epoch();
    const sd = mmu.tlbStats.shootdowns;
    const inv = mmu.tlbStats.invalidations;
    expect(space.unmapFrames(0x3ff0_0000, 700, new Int32Array(700))).toBe(700);
    expect([mmu.tlbStats.shootdowns - sd, state.epoch() - epoch]).toEqual([1, 1]);
    for (const cpu of [0, 1]) expect(() => space.translate(0x4000_0000, AccessKind.Read, cpu, true)).toThrow(Riscv64PageFault);
    expect(mmu.tlbStats.invalidations - inv).toBe(2); // one replay per hart
    expect(space.unmapFrames(0x3ff0_0000, 700, new Int32Array(700)), 'holes only').toBe(0);
    expect(mmu.tlbStats.shootdowns - sd, 'nothing cleared, nothing to shoot down').toBe(1);
  });
});

describe('readFrames', () => {
  it('LAZY mapFrames then protect(va, 4096, perms, 0) makes exactly one page present', () => {
    const { space } = setup();
    space.mapFrames(0x40_0000, [30, 31, 32], 0, 3, R | W | U, PageMarker.LAZY);
    const frames = new Int32Array(4);
    const info = new Int32Array(4);
    const lazy = R | W | U | (PageMarker.LAZY << FrameInfo.MARKER_SHIFT) | FrameInfo.MAPPED;
    expect(space.readFrames(0x40_0000, 4, frames, info)).toBe(3);
    expect([[...frames], [...info]]).toEqual([
      [30, 31, 32, -1],
      [lazy, lazy, lazy, 0],
    ]);
    expect(reasonOf(() => space.translate(0x40_1000, AccessKind.Read, 0, true))).toBe('lazy');
    space.protect(0x40_1000, PAGE, R | W | U, 0);
    space.readFrames(0x40_0000, 4, frames, info);
    expect([...info]).toEqual([lazy, R | W | U | FrameInfo.MAPPED | FrameInfo.PRESENT, lazy, 0]);
    expect(space.translate(0x40_1008, AccessKind.Write, 0, true)).toBe(31 * PAGE + 8);
    expect(reasonOf(() => space.translate(0x40_2000, AccessKind.Read, 0, true))).toBe('lazy');
  });

  it('has no side effects: no accessed bits, no TLB traffic', () => {
    const { mmu, space } = setup();
    space.map(0x40_0000, 0x20_0000, MIB2, R | X, { pageSize: MIB2 });
    const walk = space.walk(0x40_0000);
    const stats = { ...mmu.tlbStats };
    const frames = new Int32Array(8);
    expect(space.readFrames(0x40_0000 + 3 * PAGE, 4, frames, new Int32Array(8), 4)).toBe(4);
    expect([...frames.subarray(4)]).toEqual([0x203, 0x204, 0x205, 0x206]);
    expect(space.walk(0x40_0000)).toEqual(walk);
    expect(decodeEntry(walk.at(-1)!).a).toBe(false);
    expect(mmu.tlbStats).toEqual(stats);
  });
});

describe('bad arguments from plain JS are InvalidArgument with nothing changed', () => {
  it('rejects every malformed operand before the first write', () => {
    const { phys, space } = setup({}, 64);
    space.mapFrames(0x40_0000, [5], 0, 1, R);
    const before = { maps: space.mappings(), snap: phys.snapshot() };
    const s = space as unknown as Record<string, (...args: unknown[]) => unknown>;
    const out = new Int32Array(4);
    const bad: [string, unknown[]][] = [
      ['mapFrames', [1n << 38n, [1], 0, 1, R]], // not canonical in Sv39
      ['mapFrames', [0x40_0800, [1], 0, 1, R]], // not aligned
      ['mapFrames', ['0x400000', [1], 0, 1, R]],
      ['mapFrames', [-4096, [1], 0, 1, R]],
      ['mapFrames', [0x3f_ffff_f000, [1, 2], 0, 2, R]], // crosses the end of the lower half
      ['mapFrames', [0x50_0000, [1], 0, 0, R]],
      ['mapFrames', [0x50_0000, [1], 0, -1, R]],
      ['mapFrames', [0x50_0000, [1], 0, 1.5, R]],
      ['mapFrames', [0x50_0000, [1], 0, Number.NaN, R]],
      ['mapFrames', [0x50_0000, [1], 0, '1', R]],
      ['mapFrames', [0x50_0000, [1], 0, 2 ** 60, R]],
      ['mapFrames', [0x50_0000, null, 0, 1, R]],
      ['mapFrames', [0x50_0000, 7, 0, 1, R]],
      ['mapFrames', [0x50_0000, '12', 0, 1, R]],
      ['mapFrames', [0x50_0000, [1], -1, 1, R]],
      ['mapFrames', [0x50_0000, [1, 2], 1, 2, R]],
      ['mapFrames', [0x50_0000, [1, 2], 0.5, 1, R]],
      ['mapFrames', [0x50_0000, [1, 0], 0, 2, R]], // frame 0 is reserved
      ['mapFrames', [0x50_0000, [1, 64], 0, 2, R]], // not installed
      ['mapFrames', [0x50_0000, [1, 2.5], 0, 2, R]],
      ['mapFrames', [0x50_0000, [1, '2'], 0, 2, R]],
      ['mapFrames', [0x50_0000, [1, 2 ** 44], 0, 2, R]],
      ['mapFrames', [0x50_0000, [1], 0, 1, 16]],
      ['mapFrames', [0x50_0000, [1], 0, 1, -1]],
      ['mapFrames', [0x50_0000, [1], 0, 1, R, 4]],
      ['mapFrames', [0x50_0000, [1], 0, 1, R, 1.5]],
      ['unmapFrames', [0x40_0000, 1, new Uint32Array(1)]],
      ['unmapFrames', [0x40_0000, 1, [0]]],
      ['unmapFrames', [0x40_0000, 5, out]],
      ['unmapFrames', [0x40_0000, 1, out, 4]],
      ['unmapFrames', [0x40_0000, 1, out, -1]],
      ['unmapFrames', [0x40_0000, 0, out]],
      ['unmapFrames', [0x40_0001, 1, out]],
      ['unmapFrames', [1n << 38n, 1, out]],
      ['readFrames', [0x40_0000, 1, out, new Float64Array(1)]],
      ['readFrames', [0x40_0000, 2, out, new Int32Array(1)]],
      ['readFrames', [0x40_0000, 2, out, out, 3]],
      ['readFrames', [0x40_0000, 1.5, out, out]],
    ];
    for (const [name, args] of bad) {
      expect(codeOf(() => s[name]!.apply(space, args)), `${name}(${args.map(String).join(', ')})`).toBe('InvalidArgument');
      expect({ maps: space.mappings(), snap: phys.snapshot() }).toEqual(before);
    }
    space.destroy();
    expect(codeOf(() => space.mapFrames(0x50_0000, [1], 0, 1, R))).toBe('InvalidState');
    expect(codeOf(() => space.unmapFrames(0x50_0000, 1, out))).toBe('InvalidState');
    expect(space.readFrames(0x40_0000, 2, out, new Int32Array(2)), 'a destroyed space reads as holes').toBe(0);
  });

  it('accepts any array-like of frames and an offset into it, in any order', () => {
    const { space } = setup();
    const frames: ArrayLike<number> = { length: 4, 0: 99, 1: 12, 2: 40, 3: 7 };
    const va: VirtualAddress = 0x1_0000_0000;
    space.mapFrames(va, frames, 1, 3, R | U);
    expect(space.mappings().map((m) => m.pa / PAGE)).toEqual([12, 40, 7]);
  });
});

describe('page-table frames are freed after the grace period (core TableReclaim)', () => {
  /** Frame numbers of the tables along the walk of `va` below the root. */
  const tablesOf = (space: Riscv64AddressSpace, va: number): number[] =>
    space
      .walk(va)
      .slice(0, -1)
      .map((e) => decodeEntry(e).ppn);

  it('a walk in progress on another hart keeps an emptied table unfreed until it exits and a later retire or collect', () => {
    for (const how of ['unmapFrames', 'unmap', 'collect'] as const) {
      const { phys, mmu, space } = setup({ cpus: 2 });
      const reclaim = stateOf(phys, mmu).reclaim;
      space.mapFrames(0x40_0000, [50], 0, 1, R);
      const tables = tablesOf(space, 0x40_0000);
      expect(tables).toHaveLength(2);
      reclaim.enter(1);
      if (how === 'unmap') space.unmap(0x40_0000, PAGE);
      else space.unmapFrames(0x40_0000, 1, new Int32Array(1));
      expect(reclaim.pending).toBe(2);
      const free = new Set(phys.snapshot());
      for (const t of tables) expect(free.has(t), `${how}: table ${t} is not free yet`).toBe(false);
      reclaim.exit(1);
      if (how === 'collect') {
        const state = stateOf(phys, mmu);
        state.lock();
        expect(state.reclaim.collect()).toBe(2);
        state.unlock();
      } else {
        space.mapFrames(0x8000_0000, [51], 0, 1, R);
        space.unmapFrames(0x8000_0000, 1, new Int32Array(1)); // retires two more: frees all
      }
      expect(reclaim.pending).toBe(0);
      const after = new Set(phys.snapshot());
      for (const t of tables) expect(after.has(t), `${how}: table ${t} freed`).toBe(true);
    }
  });

  it('with no walk in progress, one thread frees at once: translate (faulting or not) leaves no walk announced, fault handlers run outside it', () => {
    const { phys, mmu, space } = setup({ cpus: 2 });
    const reclaim = stateOf(phys, mmu).reclaim;
    const free = phys.freeFrames;
    space.mapFrames(0x40_0000, [50, 51], 0, 2, R | U);
    space.translate(0x40_0000, AccessKind.Read, 1, true);
    expect(() => space.translate(0x40_0000, AccessKind.Write, 1, true)).toThrow(Riscv64PageFault);
    expect(() => space.translate(0x80_0000, AccessKind.Read, 0, true)).toThrow(Riscv64PageFault);
    // A handler that empties a table while handling a fault: freed at once, so it ran outside the bracket.
    const off = mmu.onFault((f) => {
      space.unmapFrames(0x40_0000, 2, new Int32Array(2));
      expect(reclaim.pending).toBe(0);
      return f.reason === 'lazy';
    });
    expect(() => space.translate(0x40_0000, AccessKind.Write, 1, true)).toThrow(Riscv64PageFault);
    off();
    expect([reclaim.pending, phys.freeFrames]).toEqual([0, free]);
  });

  it('destroy retires its tables after the ASID flush, so a walk in progress delays their freeing', () => {
    const { phys, mmu, space } = setup({ cpus: 2 });
    const reclaim = stateOf(phys, mmu).reclaim;
    const free = phys.freeFrames;
    space.mapFrames(0x40_0000, [50], 0, 1, R);
    reclaim.enter(0);
    space.destroy();
    expect(reclaim.pending).toBe(3);
    reclaim.exit(0);
    const other = mmu.createAddressSpace();
    other.mapFrames(0x40_0000, [50], 0, 1, R);
    other.unmapFrames(0x40_0000, 1, new Int32Array(1));
    expect(reclaim.pending).toBe(0);
    other.destroy();
    expect(phys.freeFrames).toBe(free + 1); // the root of the first space too
  });
});

describe('the MMU registers its harts with the reclaimer', () => {
  it('a walk announced on the highest hart holds back a collect until it exits', () => {
    const { phys, mmu, space } = setup({ cpus: 4 });
    const state = stateOf(phys, mmu);
    space.mapFrames(0x40_0000, [50], 0, 1, R);
    state.reclaim.enter(3);
    space.unmapFrames(0x40_0000, 1, new Int32Array(1));
    const collect = () => {
      state.lock();
      try {
        return state.reclaim.collect();
      } finally {
        state.unlock();
      }
    };
    // Unregistered, slot 3 would not be scanned and the tables would go now.
    expect([collect(), state.reclaim.pending]).toEqual([0, 2]);
    state.reclaim.exit(3);
    expect([collect(), state.reclaim.pending]).toEqual([2, 0]);
  });
});
