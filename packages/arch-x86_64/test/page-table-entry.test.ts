import { describe, expect, it } from 'vitest';
import { PageFault, PageMarker, PagePerm, PhysicalMemory } from '@veridian/core';
import { PteBit, PteHi, PteLo, entryFromBigInt, entryToBigInt, leafHi, leafLo, leafMarkers, leafPerms, x86_64 } from '../src/index.js';
import { readGolden, vaOf } from './golden.js';

const golden = readGolden('page-table');

function permsOf(names: string[]): number {
  return names.reduce((p, n) => p | PagePerm[n as keyof typeof PagePerm], 0);
}

function markersOf(names: string[]): number {
  return names.reduce((p, n) => p | PageMarker[n as keyof typeof PageMarker], 0);
}

function hex(v: bigint): string {
  return `0x${v.toString(16).padStart(16, '0')}`;
}

const TABLE_ADDRESS = 0x000ffffffffff000n;

describe('entry bits', () => {
  it('match the Intel layout', () => {
    expect(PteLo.PRESENT).toBe(0x1);
    expect(PteLo.WRITABLE).toBe(0x2);
    expect(PteLo.USER).toBe(0x4);
    expect(PteLo.ACCESSED).toBe(0x20);
    expect(PteLo.DIRTY).toBe(0x40);
    expect(PteLo.PAGE_SIZE).toBe(0x80);
    expect(PteLo.GLOBAL).toBe(0x100);
    expect(PteLo.SW_COPY_ON_WRITE).toBe(0x200);
    expect(PteLo.SW_LAZY).toBe(0x400);
    expect(PteBit.NO_EXECUTE).toBe(63);
    expect(PteHi.NO_EXECUTE >>> 0).toBe(0x80000000);
    expect(entryToBigInt(PteLo.ADDRESS_4K, PteHi.ADDRESS)).toBe(TABLE_ADDRESS);
  });

  it('round-trips perms and markers through leaf words', () => {
    for (let perms = 0; perms < 16; perms++) {
      for (let markers = 0; markers < 4; markers++) {
        const lo = leafLo(0x1234_5000, perms, markers, false, 0);
        const hi = leafHi(0x1234_5000, perms);
        const expected = perms & (PagePerm.WRITE | PagePerm.EXECUTE) ? perms | PagePerm.READ : perms;
        expect(leafPerms(lo, hi)).toBe(expected);
        expect(leafMarkers(lo)).toBe(markers);
        // A LAZY entry is never present in hardware terms.
        if (markers & PageMarker.LAZY) expect(lo & PteLo.PRESENT).toBe(0);
      }
    }
  });

  it('splits and joins 64-bit values', () => {
    expect(entryFromBigInt(0x800ffffffffff001n)).toEqual([0xfffff001, 0x800fffff]);
    expect(entryToBigInt(0xfffff001, 0x800fffff)).toBe(0x800ffffffffff001n);
  });
});

describe('golden page-table entries', () => {
  it('covers the required kinds of leaf', () => {
    expect(golden.arch).toBe('x86_64');
    const leaves = golden.entries.map((e) => BigInt(e.leaf));
    expect(leaves.some((l) => (l & ~TABLE_ADDRESS) === 0x8000000000000007n)).toBe(true);
    expect(golden.entries.some((e) => e.pageSize === 2 << 20)).toBe(true);
    expect(golden.entries.some((e) => e.pageSize === 1 << 30)).toBe(true);
    expect(leaves.some((l) => (l & 0x200n) !== 0n)).toBe(true);
  });

  for (const e of golden.entries) {
    it(`maps "${e.name}" to leaf ${e.leaf}`, () => {
      const phys = PhysicalMemory.create({ frames: 16 });
      const space = x86_64.createMmu(phys).createAddressSpace();
      const va = vaOf(e.va);
      space.map(va, Number(BigInt(e.pa)), e.pageSize, permsOf(e.perms), { pageSize: e.pageSize, markers: markersOf(e.markers), global: e.global });
      const walk = space.walk(va);
      expect(hex(walk[walk.length - 1]!)).toBe(e.leaf);
      if (e.tableFlags) {
        const masked = walk.map((v, i) => (i < walk.length - 1 ? v & ~TABLE_ADDRESS : v));
        expect(masked.map(hex)).toEqual(e.tableFlags);
      }
      const m = space.lookup(va)!;
      expect(m.pa).toBe(Number(BigInt(e.pa)));
      expect(m.size).toBe(e.pageSize);
      expect(m.global).toBe(e.global);
      expect(m.markers).toBe(markersOf(e.markers));
      expect(m.accessed).toBe(false);
      expect(m.dirty).toBe(false);
    });
  }

  it('holds every golden entry in one space at once', () => {
    const phys = PhysicalMemory.create({ frames: 32 });
    const space = x86_64.createMmu(phys).createAddressSpace();
    for (const e of golden.entries) {
      space.map(vaOf(e.va), Number(BigInt(e.pa)), e.pageSize, permsOf(e.perms), { pageSize: e.pageSize, markers: markersOf(e.markers), global: e.global });
    }
    for (const e of golden.entries) {
      const walk = space.walk(vaOf(e.va));
      expect(hex(walk[walk.length - 1]!)).toBe(e.leaf);
    }
    expect(space.mappings()).toHaveLength(golden.entries.length);
  });
});

describe('address split', () => {
  // frame 0 reserved, 3 for the shared state (header and the reclaimer's two), 2 spare for the roots.
  const mmu = x86_64.createMmu(PhysicalMemory.create({ frames: 6 }));

  for (const s of golden.indices) {
    it(`splits ${s.va}`, () => {
      expect(mmu.splitAddress(vaOf(s.va))).toEqual({ indices: s.indices, offset: s.offset });
    });
  }

  it('includes the required samples', () => {
    const vas = golden.indices.map((s) => s.va);
    expect(vas).toContain('0xffff800000000000');
    expect(vas).toContain('0x00007ffffffff000');
    expect(golden.indices.some((s) => s.offset !== 0)).toBe(true);
  });

  for (const va of golden.invalid) {
    it(`faults on non-canonical ${va}`, () => {
      const space = mmu.createAddressSpace();
      const v = BigInt(va);
      let fault: unknown;
      try {
        mmu.splitAddress(v);
      } catch (e) {
        fault = e;
      }
      expect(fault).toBeInstanceOf(PageFault);
      expect((fault as PageFault).reason).toBe('invalid-address');
      expect((fault as PageFault).code).toBe('AccessFault');
      expect(() => space.translate(v, 1)).toThrow(expect.objectContaining({ reason: 'invalid-address' }));
      expect(() => space.walk(v)).toThrow(expect.objectContaining({ reason: 'invalid-address' }));
      expect(() => space.map(v, 0x1000, 4096, PagePerm.READ)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
      expect(space.lookup(v)).toBeUndefined();
      space.destroy();
    });
  }

  it('treats number addresses at or above 2^47, negative or fractional as invalid', () => {
    for (const va of [2 ** 47, 2 ** 52, -4096, 4096.5, Number.NaN]) {
      expect(() => mmu.splitAddress(va)).toThrow(PageFault);
    }
    expect(mmu.splitAddress(2 ** 47 - 1)).toEqual({ indices: [255, 511, 511, 511], offset: 4095 });
  });
});
