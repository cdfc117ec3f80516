import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AccessKind, IpcError, PageFault, PageMarker, PagePerm, PhysicalMemory } from '@veridian/core';
import type { AddressSpace, VirtualAddress } from '@veridian/core';
import { x86_64, type X86AddressSpace } from '../src/index.js';

// Two windows of 1024 pages (two 2 MiB regions each): one in the lower half (number
// addresses), one in the upper half (bigint addresses, the slow path).
const WINDOW_PAGES = 1024;
const WINDOWS: Array<{ base: bigint; big: boolean }> = [
  { base: 0x7f_ffc0_0000n, big: false },
  { base: 0xffff_8000_4000_0000n, big: true },
];
const HUGE_PAGES = 512;
const CPUS = 3;

interface ModelPage {
  pa: number;
  perms: number;
  markers: number;
  /** First model page of the (huge) page this belongs to, and its size in pages. */
  first: number;
  pages: number;
}

type Op =
  | { kind: 'map'; w: number; page: number; count: number; huge: boolean; paPage: number; perms: number; markers: number }
  | { kind: 'unmap'; w: number; page: number; count: number }
  | { kind: 'protect'; w: number; page: number; count: number; perms: number; markers: number | undefined }
  | { kind: 'translate'; w: number; page: number; offset: number; access: AccessKind; cpu: number; user: boolean }
  | { kind: 'tables'; w: number; region: number; level: number; flags: Controls };

/** Controls of a paging-structure entry (PML4E, PDPTE or PDE) above the pages. */
interface Controls {
  p: boolean;
  rw: boolean;
  us: boolean;
  xd: boolean;
}
const DEFAULT_CONTROLS: Controls = { p: true, rw: true, us: true, xd: false };

// Mostly permissive (so translations succeed and fill TLBs), sometimes anything.
const perms = fc.oneof(
  { weight: 3, arbitrary: fc.constant(PagePerm.READ | PagePerm.WRITE | PagePerm.EXECUTE | PagePerm.USER) },
  { weight: 1, arbitrary: fc.constant(PagePerm.READ | PagePerm.USER) },
  { weight: 2, arbitrary: fc.integer({ min: 0, max: 15 }) },
);
const markers = fc.constantFrom(0, 0, 0, PageMarker.COPY_ON_WRITE, PageMarker.LAZY);
const w = fc.integer({ min: 0, max: WINDOWS.length - 1 });
// Mostly a few hot pages (so TLB entries get reused after unmap/protect), sometimes anywhere.
const page = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 7 }) },
  { weight: 2, arbitrary: fc.integer({ min: 508, max: 515 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: WINDOW_PAGES - 1 }) },
);

const count = fc.oneof(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 600 }));

const controls: fc.Arbitrary<Controls> = fc.record({
  p: fc.oneof({ weight: 6, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  rw: fc.boolean(),
  us: fc.boolean(),
  xd: fc.boolean(),
});

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tables' as const), w, region: fc.integer({ min: 0, max: 1 }), level: fc.integer({ min: 1, max: 3 }), flags: controls }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('map' as const), w, page, count: fc.integer({ min: 1, max: 8 }), huge: fc.constant(false), paPage: fc.integer({ min: 0, max: 1 << 20 }), perms, markers }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('map' as const), w, page: fc.integer({ min: 0, max: 1 }), count: fc.constant(1), huge: fc.constant(true), paPage: fc.integer({ min: 0, max: 1 << 11 }), perms, markers }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('unmap' as const), w, page, count }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('protect' as const), w, page, count, perms, markers: fc.option(markers, { nil: undefined }) }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('translate' as const),
      w,
      page,
      offset: fc.integer({ min: 0, max: 4095 }),
      access: fc.constantFrom(AccessKind.Read, AccessKind.Write, AccessKind.Execute),
      cpu: fc.integer({ min: 0, max: CPUS - 1 }),
      user: fc.boolean(),
    }),
  },
);

function addressOf(win: number, pageIndex: number, offset = 0): VirtualAddress {
  const a = WINDOWS[win]!.base + BigInt(pageIndex * 4096 + offset);
  return WINDOWS[win]!.big ? a : Number(a);
}

function normalize(p: number): number {
  return p & (PagePerm.WRITE | PagePerm.EXECUTE) ? p | PagePerm.READ : p;
}

/** The reference: one entry per 4 KiB page of each window. */
class Model {
  readonly pages: Array<Map<number, ModelPage>> = WINDOWS.map(() => new Map<number, ModelPage>());
  /** Per window: the controls of its PML4E (level 3), PDPTE (level 2) and its two PDEs (level 1, one per 2 MiB region). */
  readonly upper: Array<{ 3: Controls; 2: Controls; 1: [Controls, Controls] }> = WINDOWS.map(() => ({ 3: DEFAULT_CONTROLS, 2: DEFAULT_CONTROLS, 1: [DEFAULT_CONTROLS, DEFAULT_CONTROLS] }));

  /** Whether region `r` of window `w` has a page table (some 4 KiB page mapped), and the window any table at all. */
  #regionHasTable(w: number, r: number): boolean {
    for (let i = r * HUGE_PAGES; i < (r + 1) * HUGE_PAGES; i++) {
      const p = this.pages[w]!.get(i);
      if (p) return p.pages === 1;
    }
    return false;
  }

  /** Tables emptied by unmap are freed: entries made again later start with the default flags. */
  collect(): void {
    for (let w = 0; w < WINDOWS.length; w++) {
      const u = this.upper[w]!;
      if (this.pages[w]!.size === 0) {
        u[3] = DEFAULT_CONTROLS;
        u[2] = DEFAULT_CONTROLS;
      }
      for (const r of [0, 1]) if (!this.#regionHasTable(w, r)) u[1][r] = DEFAULT_CONTROLS;
    }
  }

  tables(o: Extract<Op, { kind: 'tables' }>): string | undefined {
    const exists = o.level === 1 ? this.#regionHasTable(o.w, o.region) : this.pages[o.w]!.size > 0;
    if (!exists) return 'InvalidArgument';
    const u = this.upper[o.w]!;
    if (o.level === 1) u[1][o.region] = o.flags;
    else u[o.level as 2 | 3] = o.flags;
    return undefined;
  }

  map(o: Extract<Op, { kind: 'map' }>): string | undefined {
    const pages = this.pages[o.w]!;
    const first = o.huge ? o.page * HUGE_PAGES : o.page;
    const n = o.huge ? HUGE_PAGES : Math.min(o.count, WINDOW_PAGES - o.page);
    for (let i = first; i < first + n; i++) if (pages.has(i)) return 'AlreadyExists';
    for (let i = 0; i < n; i++) {
      pages.set(first + i, { pa: (o.huge ? o.paPage * HUGE_PAGES : o.paPage) * 4096 + i * 4096, perms: normalize(o.perms), markers: o.markers, first: o.huge ? first : first + i, pages: o.huge ? HUGE_PAGES : 1 });
    }
    return undefined;
  }

  /** Unmap/protect refuse to cut a huge page. */
  splits(win: number, first: number, n: number): boolean {
    const pages = this.pages[win]!;
    for (let i = first; i < first + n; i++) {
      const p = pages.get(i);
      if (p && (p.first < first || p.first + p.pages > first + n)) return true;
    }
    return false;
  }

  unmap(win: number, first: number, n: number): string | undefined {
    if (this.splits(win, first, n)) return 'InvalidArgument';
    for (let i = first; i < first + n; i++) this.pages[win]!.delete(i);
    return undefined;
  }

  protect(win: number, first: number, n: number, p: number, m: number | undefined): string | undefined {
    if (this.splits(win, first, n)) return 'InvalidArgument';
    for (let i = first; i < first + n; i++) {
      const e = this.pages[win]!.get(i);
      if (e) {
        e.perms = normalize(p);
        if (m !== undefined) e.markers = m;
      }
    }
    return undefined;
  }

  /** SDM §4.6: rights are those of every entry on the path (R/W, U/S ANDed; XD ORed); a non-present entry faults first. */
  translate(o: Extract<Op, { kind: 'translate' }>): number | string {
    const e = this.pages[o.w]!.get(o.page);
    if (!e) return 'not-present';
    const u = this.upper[o.w]!;
    const path = e.pages === 1 ? [u[3], u[2], u[1][o.page >= HUGE_PAGES ? 1 : 0]] : [u[3], u[2]];
    if (path.some((c) => !c.p)) return 'not-present';
    if (e.markers & PageMarker.LAZY) return 'lazy';
    if (!(e.perms & PagePerm.READ)) return 'permission';
    const writable = (e.perms & PagePerm.WRITE) !== 0 && path.every((c) => c.rw);
    const userPage = (e.perms & PagePerm.USER) !== 0 && path.every((c) => c.us);
    const executable = (e.perms & PagePerm.EXECUTE) !== 0 && path.every((c) => !c.xd);
    if (o.access === AccessKind.Write && !writable) return 'permission';
    if (o.access === AccessKind.Execute && !executable) return 'permission';
    if (o.user && !userPage) return 'permission';
    return e.pa + o.offset;
  }
}

function outcome(fn: () => number | void): number | string | undefined {
  try {
    const r = fn();
    return typeof r === 'number' ? r : undefined;
  } catch (e) {
    if (e instanceof PageFault) return e.reason;
    if (e instanceof IpcError) return e.code;
    throw e;
  }
}

function tableFlags(c: Controls): bigint {
  return (c.p ? 1n : 0n) | (c.rw ? 2n : 0n) | (c.us ? 4n : 0n) | (c.xd ? 1n << 63n : 0n);
}

function run(space: AddressSpace, model: Model, o: Op): [number | string | undefined, number | string | undefined] {
  const r = runOp(space, model, o);
  model.collect();
  return r;
}

function runOp(space: AddressSpace, model: Model, o: Op): [number | string | undefined, number | string | undefined] {
  switch (o.kind) {
    case 'tables':
      return [outcome(() => (space as X86AddressSpace).setTableFlags(addressOf(o.w, o.region * HUGE_PAGES), o.level, tableFlags(o.flags))), model.tables(o)];
    case 'map': {
      const huge = o.huge;
      const va = addressOf(o.w, huge ? o.page * HUGE_PAGES : o.page);
      const len = huge ? 2 << 20 : Math.min(o.count, WINDOW_PAGES - o.page) * 4096;
      const pa = (huge ? o.paPage * HUGE_PAGES : o.paPage) * 4096;
      return [outcome(() => space.map(va, pa, len, o.perms, { pageSize: huge ? 2 << 20 : 4096, markers: o.markers })), model.map(o)];
    }
    case 'unmap': {
      const n = Math.min(o.count, WINDOW_PAGES - o.page);
      return [outcome(() => space.unmap(addressOf(o.w, o.page), n * 4096)), model.unmap(o.w, o.page, n)];
    }
    case 'protect': {
      const n = Math.min(o.count, WINDOW_PAGES - o.page);
      return [outcome(() => space.protect(addressOf(o.w, o.page), n * 4096, o.perms, o.markers)), model.protect(o.w, o.page, n, o.perms, o.markers)];
    }
    case 'translate':
      return [outcome(() => space.translate(addressOf(o.w, o.page, o.offset), o.access, o.cpu, o.user)), model.translate(o)];
  }
}

describe('model-based: MMU with TLBs on 3 CPUs and paging-structure flags against a reference map', () => {
  it('agrees on every translation, fault and error', () => {
    let tlbHits = 0;
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 120, size: 'max' }), (ops) => {
        const phys = PhysicalMemory.create({ frames: 64 });
        const mmu = x86_64.createMmu(phys, { cpus: CPUS, tlbEntries: 16 });
        const baseline = phys.freeFrames;
        const space = mmu.createAddressSpace();
        const model = new Model();
        for (const o of ops) {
          const [actual, expected] = run(space, model, o);
          expect(actual, JSON.stringify(o)).toEqual(expected);
          // Translations hit the TLB on purpose: repeat each on every CPU.
          if (o.kind === 'translate') {
            for (let cpu = 0; cpu < CPUS; cpu++) expect(run(space, model, { ...o, cpu })[0]).toEqual(expected);
          }
        }
        // Read back every mapping and compare page by page.
        const seen = WINDOWS.map(() => new Map<number, ModelPage>());
        for (const m of space.mappings()) {
          const win = WINDOWS.findIndex((x) => BigInt(m.va) >= x.base && BigInt(m.va) < x.base + BigInt(WINDOW_PAGES * 4096));
          expect(win).toBeGreaterThanOrEqual(0);
          const first = Number((BigInt(m.va) - WINDOWS[win]!.base) / 4096n);
          for (let i = 0; i < m.size / 4096; i++) {
            seen[win]!.set(first + i, { pa: m.pa + i * 4096, perms: m.perms, markers: m.markers, first, pages: m.size / 4096 });
          }
        }
        for (let win = 0; win < WINDOWS.length; win++) expect(seen[win]).toEqual(model.pages[win]);
        // Unmapping everything returns every table frame.
        for (let win = 0; win < WINDOWS.length; win++) space.unmap(addressOf(win, 0), WINDOW_PAGES * 4096);
        expect(space.tableFrameCount()).toBe(1);
        space.destroy();
        expect(phys.freeFrames).toBe(baseline);
        tlbHits += mmu.tlbStats.hits;
      }),
      { numRuns: 150 },
    );
    // The comparison means something only if translations really came from the TLBs.
    expect(tlbHits).toBeGreaterThan(100);
  });
});
