import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AccessKind, IpcError, PageFault, PageMarker, PagePerm, PhysicalMemory } from '@veridian/core';
import type { AddressSpace, VirtualAddress } from '@veridian/core';
import { x86_64 } from '../src/index.js';

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
  | { kind: 'translate'; w: number; page: number; offset: number; access: AccessKind; cpu: number; user: boolean };

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

const op: fc.Arbitrary<Op> = fc.oneof(
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

  translate(o: Extract<Op, { kind: 'translate' }>): number | string {
    const e = this.pages[o.w]!.get(o.page);
    if (!e) return 'not-present';
    if (e.markers & PageMarker.LAZY) return 'lazy';
    if (!(e.perms & PagePerm.READ)) return 'permission';
    if (o.access === AccessKind.Write && !(e.perms & PagePerm.WRITE)) return 'permission';
    if (o.access === AccessKind.Execute && !(e.perms & PagePerm.EXECUTE)) return 'permission';
    if (o.user && !(e.perms & PagePerm.USER)) return 'permission';
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

function run(space: AddressSpace, model: Model, o: Op): [number | string | undefined, number | string | undefined] {
  switch (o.kind) {
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

describe('model-based: MMU with TLBs on 3 CPUs against a reference map', () => {
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
