import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AccessKind, PageFault, PagePerm, PhysicalMemory } from '@veridian/core';
import type { AddressSpace } from '@veridian/core';
import { aarch64, type Aarch64AddressSpace, type TableAttributes } from '../src/index.ts';

// Reference model: one record per mapped 4 KiB page or 2 MiB block, keyed by its first
// address. The MMU under test runs with TLBs on, on several CPUs of two MMU instances that
// share one set of tables, so any missed shootdown shows up as a wrong translation.

const { READ, WRITE, EXECUTE, USER } = PagePerm;
const PAGE = 4096;
const BLOCK = 2 << 20;

// Three runs of 8 pages: low memory, across a 2 MiB boundary, and at the top of TTBR0. Few
// pages and many translations make "cached, then changed, then used again" common.
const SEG_PAGES = 8;
const SEGMENTS = [0x40_0000, 0x5f_c000, 0xffff_ffff_8000];
const BLOCKS = [0x4000_0000, 0x4020_0000, 0x4040_0000, 0x4060_0000];

interface Ref {
  pa: number;
  size: number;
  perms: number;
  accessed: boolean;
  dirty: boolean;
}

type Op =
  | { op: 'map'; seg: number; first: number; count: number; frame: number; perms: number }
  | { op: 'unmap'; seg: number; first: number; count: number }
  | { op: 'protect'; seg: number; first: number; count: number; perms: number }
  | { op: 'mapBlock'; block: number; frame: number; perms: number }
  | { op: 'unmapBlock'; block: number }
  | { op: 'translate'; seg: number; page: number; offset: number; access: AccessKind; user: boolean; view: number; cpu: number }
  | { op: 'translateBlock'; block: number; offset: number; access: AccessKind; user: boolean; view: number; cpu: number }
  | { op: 'tables'; useBlock: boolean; seg: number; page: number; block: number; level: number; attrs: Required<Omit<TableAttributes, 'nsTable'>>; view: number };

/** Bytes one descriptor at `level` covers. */
const span = (level: number): number => 2 ** (12 + 9 * (3 - level));
const leafLevelOf = (size: number): number => (size === PAGE ? 3 : 2);
const DEFAULT_TABLE = { apTable: 0, uxnTable: false, pxnTable: false };

const perms = fc.subarray([READ, WRITE, EXECUTE, USER]).map((bits) => bits.reduce((a, b) => a | b, 0));
const access = fc.constantFrom(AccessKind.Read, AccessKind.Write, AccessKind.Execute);
const range = { seg: fc.integer({ min: 0, max: 2 }), first: fc.integer({ min: 0, max: SEG_PAGES - 1 }), count: fc.integer({ min: 1, max: 3 }) };

const translateArb = fc.record({
  op: fc.constant('translate' as const),
  seg: fc.integer({ min: 0, max: 2 }),
  page: fc.integer({ min: 0, max: SEG_PAGES - 1 }),
  offset: fc.integer({ min: 0, max: PAGE - 1 }),
  access,
  user: fc.boolean(),
  view: fc.integer({ min: 0, max: 1 }),
  cpu: fc.integer({ min: 0, max: 1 }),
});
const translateBlockArb = fc.record({
  op: fc.constant('translateBlock' as const),
  block: fc.integer({ min: 0, max: 3 }),
  offset: fc.integer({ min: 0, max: BLOCK - 1 }),
  access,
  user: fc.boolean(),
  view: fc.integer({ min: 0, max: 1 }),
  cpu: fc.integer({ min: 0, max: 1 }),
});
const tablesArb = fc.record({
  op: fc.constant('tables' as const),
  useBlock: fc.boolean(),
  seg: fc.integer({ min: 0, max: 2 }),
  page: fc.integer({ min: 0, max: SEG_PAGES - 1 }),
  block: fc.integer({ min: 0, max: 3 }),
  level: fc.integer({ min: 0, max: 2 }),
  attrs: fc.record({ apTable: fc.integer({ min: 0, max: 3 }), uxnTable: fc.boolean(), pxnTable: fc.boolean() }),
  view: fc.integer({ min: 0, max: 1 }),
});
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: tablesArb },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('map' as const), ...range, frame: fc.integer({ min: 0x100, max: 0xfffff }), perms }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('unmap' as const), ...range }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('protect' as const), ...range, perms }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('mapBlock' as const), block: fc.integer({ min: 0, max: 3 }), frame: fc.integer({ min: 1, max: 1000 }), perms }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('unmapBlock' as const), block: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 8, arbitrary: translateArb },
  { weight: 3, arbitrary: translateBlockArb },
);

/** Permissions as read back: WRITE or EXECUTE imply READ; none of the three is PROT_NONE. */
function normalize(p: number): number {
  return p & (READ | WRITE | EXECUTE) ? p | READ : p & USER;
}

/** What the architecture allows, from the abstract permissions. */
function permitted(p: number, access: AccessKind, user: boolean): boolean {
  if (!(p & READ)) return false;
  if (user && !(p & USER)) return false;
  if (access === AccessKind.Write) return (p & WRITE) !== 0;
  if (access === AccessKind.Execute) return user ? (p & EXECUTE) !== 0 : (p & EXECUTE) !== 0 && !(p & USER);
  return true;
}

/** The hierarchical limits of the table descriptors on the path (Arm ARM: APTable, UXNTable, PXNTable), on top of the leaf's permissions. */
function permittedUnder(p: number, access: AccessKind, user: boolean, path: Array<Required<Omit<TableAttributes, 'nsTable'>>>): boolean {
  if (!permitted(p, access, user)) return false;
  const ap = path.reduce((a, t) => a | t.apTable, 0);
  if (access === AccessKind.Execute) return user ? !path.some((t) => t.uxnTable) : !path.some((t) => t.pxnTable);
  if (user && ap & 1) return false;
  return !(access === AccessKind.Write && ap & 2);
}

function run(ops: Op[]): void {
  const phys = PhysicalMemory.create({ frames: 256 });
  const mmu0 = aarch64.createMmu(phys, { cpus: 2 });
  const mmu1 = aarch64.createMmu(phys, { cpus: 2, sharedState: mmu0.sharedState });
  const space = mmu0.createAddressSpace();
  const views: AddressSpace[] = [space, mmu1.attachAddressSpace(space.root, space.asid)];
  const baseline = phys.freeFrames;
  const ref = new Map<number, Ref>();
  // Controls of table descriptors, by `${level}:${index of the span it covers}`; absent = all zero.
  const controls = new Map<string, Required<Omit<TableAttributes, 'nsTable'>>>();
  const keyOf = (level: number, va: number): string => `${level}:${Math.floor(va / span(level))}`;
  const descriptorExists = (level: number, va: number): boolean => {
    for (const [k, r] of ref) if (leafLevelOf(r.size) > level && Math.floor(k / span(level)) === Math.floor(va / span(level))) return true;
    return false;
  };
  // Tables emptied by unmap are freed; a descriptor made again later starts with no controls.
  const collect = (): void => {
    for (const key of [...controls.keys()]) {
      const [l, i] = key.split(':').map(Number) as [number, number];
      if (!descriptorExists(l, i * span(l))) controls.delete(key);
    }
  };
  const pathOf = (key: number, size: number) => Array.from({ length: leafLevelOf(size) }, (_, l) => controls.get(keyOf(l, key)) ?? DEFAULT_TABLE);

  const pagesOf = (o: { seg: number; first: number; count: number }): number[] => {
    const n = Math.min(o.count, SEG_PAGES - o.first);
    return Array.from({ length: n }, (_, i) => SEGMENTS[o.seg]! + (o.first + i) * PAGE);
  };
  const check = (va: number, key: number, access: AccessKind, user: boolean, view: number, cpu: number): void => {
    const r = ref.get(key);
    let got: number | string;
    try {
      got = views[view]!.translate(va, access, cpu, user);
    } catch (e) {
      expect(e).toBeInstanceOf(PageFault);
      got = (e as PageFault).reason;
    }
    if (!r) {
      expect(got).toBe('not-present');
    } else if (!permittedUnder(r.perms, access, user, pathOf(key, r.size))) {
      expect(got).toBe('permission');
    } else {
      expect(got).toBe(r.pa + (va - key));
      r.accessed = true;
      if (access === AccessKind.Write) r.dirty = true;
    }
  };

  for (const o of ops) {
    collect();
    switch (o.op) {
      case 'tables': {
        const va = o.useBlock ? BLOCKS[o.block]! : SEGMENTS[o.seg]! + o.page * PAGE;
        const exists = descriptorExists(o.level, va);
        try {
          (views[o.view] as Aarch64AddressSpace).setTableAttributes(va, o.level, o.attrs);
          expect(exists, `table descriptor at level ${o.level} for 0x${va.toString(16)}`).toBe(true);
          controls.set(keyOf(o.level, va), o.attrs);
        } catch (e) {
          expect((e as { code?: string }).code).toBe('InvalidArgument');
          expect(exists).toBe(false);
        }
        break;
      }
      case 'map': {
        const pages = pagesOf(o);
        const clash = pages.some((va) => ref.has(va));
        try {
          space.map(pages[0]!, o.frame * PAGE, pages.length * PAGE, o.perms);
          expect(clash).toBe(false);
          pages.forEach((va, i) => ref.set(va, { pa: (o.frame + i) * PAGE, size: PAGE, perms: normalize(o.perms), accessed: false, dirty: false }));
        } catch (e) {
          expect((e as { code?: string }).code).toBe('AlreadyExists');
          expect(clash).toBe(true);
        }
        break;
      }
      case 'unmap': {
        const pages = pagesOf(o);
        views[o.first % 2]!.unmap(pages[0]!, pages.length * PAGE);
        for (const va of pages) ref.delete(va);
        break;
      }
      case 'protect': {
        const pages = pagesOf(o);
        views[o.count % 2]!.protect(pages[0]!, pages.length * PAGE, o.perms);
        for (const va of pages) {
          const r = ref.get(va);
          if (r) r.perms = normalize(o.perms);
        }
        break;
      }
      case 'mapBlock': {
        const va = BLOCKS[o.block]!;
        try {
          space.map(va, o.frame * BLOCK, BLOCK, o.perms, { pageSize: BLOCK });
          expect(ref.has(va)).toBe(false);
          ref.set(va, { pa: o.frame * BLOCK, size: BLOCK, perms: normalize(o.perms), accessed: false, dirty: false });
        } catch (e) {
          expect((e as { code?: string }).code).toBe('AlreadyExists');
          expect(ref.has(va)).toBe(true);
        }
        break;
      }
      case 'unmapBlock':
        views[o.block % 2]!.unmap(BLOCKS[o.block]!, BLOCK);
        ref.delete(BLOCKS[o.block]!);
        break;
      case 'translate': {
        const key = SEGMENTS[o.seg]! + o.page * PAGE;
        check(key + o.offset, key, o.access, o.user, o.view, o.cpu);
        break;
      }
      case 'translateBlock': {
        const key = BLOCKS[o.block]!;
        check(key + o.offset, key, o.access, o.user, o.view, o.cpu);
        break;
      }
    }
  }

  // The tables hold exactly the model, with its access and dirty history.
  const actual = space.mappings().map((m) => [m.va, m.pa, m.size, m.perms, m.accessed, m.dirty]);
  const expected = [...ref.entries()].sort(([a], [b]) => a - b).map(([va, r]) => [va, r.pa, r.size, r.perms, r.accessed, r.dirty]);
  expect(actual).toEqual(expected);
  // Tearing everything down returns every table frame.
  for (const seg of SEGMENTS) space.unmap(seg, SEG_PAGES * PAGE);
  for (const b of BLOCKS) space.unmap(b, BLOCK);
  expect(space.tableFrameCount()).toBe(1);
  expect(phys.freeFrames).toBe(baseline);
}

describe('model-based: random map/unmap/protect/table controls/translate against a reference map', () => {
  it('agrees with the model on 2 instances x 2 CPUs with TLBs on', () => {
    fc.assert(fc.property(fc.array(opArb, { minLength: 20, maxLength: 150, size: 'max' }), run), { numRuns: 200 });
  });
});
