import { readGolden } from '@veridian/testkit';
import { describe, expect, it } from 'vitest';
import { AccessKind, PageMarker, PagePerm } from '@veridian/core';
import { Descriptor, DescriptorBit, decodeLeafDescriptor, encodeLeafDescriptor, splitVirtualAddress } from '../src/index.ts';
import { faultOf, setup } from './helpers.ts';

const golden = readGolden('page-table', new URL('../golden/page-table.json', import.meta.url));

const permsOf = (names: string[]): number => names.reduce((p, n) => p | PagePerm[n as keyof typeof PagePerm], 0);
const markersOf = (names: string[]): number => names.reduce((m, n) => m | PageMarker[n as keyof typeof PageMarker], 0);
const hex = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;

describe('descriptor bit positions (VMSAv8-64 stage 1)', () => {
  it('match the Arm ARM layout', () => {
    expect(DescriptorBit).toMatchObject({ VALID: 0, TABLE_OR_PAGE: 1, ATTR_INDX: 2, NS: 5, AP_EL0: 6, AP_RO: 7, SH: 8, AF: 10, NG: 11, DBM: 51, CONTIGUOUS: 52, PXN: 53, UXN: 54, SW_COPY_ON_WRITE: 55, SW_LAZY: 56 });
    expect(Descriptor.PXN).toBe(1n << 53n);
    expect(Descriptor.UXN).toBe(1n << 54n);
    expect(Descriptor.DBM).toBe(1n << 51n);
    expect(Descriptor.ADDRESS_4K).toBe(((1n << 48n) - 1n) & ~0xfffn);
    expect(Descriptor.ADDRESS_2M).toBe(((1n << 48n) - 1n) & ~((1n << 21n) - 1n));
    expect(Descriptor.ADDRESS_1G).toBe(((1n << 48n) - 1n) & ~((1n << 30n) - 1n));
  });
});

describe('golden page-table entries', () => {
  it('covers the required kinds', () => {
    expect(golden.arch).toBe('aarch64');
    const sizes = new Set(golden.entries.map((e) => e.pageSize));
    expect([...sizes].sort((a, b) => a - b)).toEqual([4096, 2 << 20, 1 << 30]);
    expect(golden.entries.some((e) => e.markers.includes('COPY_ON_WRITE'))).toBe(true);
    expect(golden.entries.some((e) => e.tableFlags !== undefined)).toBe(true);
  });

  for (const e of golden.entries) {
    it(`map() writes the golden leaf for: ${e.name}`, () => {
      const { space } = setup(64);
      const va = Number(BigInt(e.va));
      const pa = Number(BigInt(e.pa));
      space.map(va, pa, e.pageSize, permsOf(e.perms), { pageSize: e.pageSize, markers: markersOf(e.markers), global: e.global });
      const walk = space.walk(va);
      expect(hex(walk[walk.length - 1]!)).toBe(e.leaf);
      // Leaf level follows from the page size: L3 page, L2 block, L1 block.
      expect(walk.length).toBe(e.pageSize === 4096 ? 4 : e.pageSize === 2 << 20 ? 3 : 2);
      if (e.tableFlags) {
        expect(walk.length).toBe(e.tableFlags.length);
        for (let i = 0; i < walk.length - 1; i++) {
          // Table descriptor: bits[1:0] = 0b11, every attribute zero, and a real table address.
          expect(hex(walk[i]! & ~Descriptor.ADDRESS_4K), `level ${i}`).toBe(e.tableFlags[i]);
          expect(walk[i]! & Descriptor.ADDRESS_4K).not.toBe(0n);
        }
        expect(hex(walk[walk.length - 1]!)).toBe(e.tableFlags[walk.length - 1]);
      }
    });

    it(`encode/decode helpers agree with the golden leaf for: ${e.name}`, () => {
      const pa = Number(BigInt(e.pa));
      const perms = permsOf(e.perms) | PagePerm.READ;
      const markers = markersOf(e.markers);
      expect(hex(encodeLeafDescriptor(pa, perms, { pageSize: e.pageSize, markers, global: e.global }))).toBe(e.leaf);
      const d = decodeLeafDescriptor(BigInt(e.leaf), e.pageSize);
      expect(d).toEqual({ pa, perms, markers, accessed: false, dirty: false, global: e.global, present: !(markers & PageMarker.LAZY) });
    });

    it(`lookup() reads back the fields for: ${e.name}`, () => {
      const { space } = setup(64);
      const va = Number(BigInt(e.va));
      const pa = Number(BigInt(e.pa));
      const markers = markersOf(e.markers);
      space.map(va, pa, e.pageSize, permsOf(e.perms), { pageSize: e.pageSize, markers, global: e.global });
      expect(space.lookup(va + e.pageSize - 1)).toEqual({
        va,
        pa,
        size: e.pageSize,
        perms: permsOf(e.perms) | PagePerm.READ,
        markers,
        accessed: false,
        dirty: false,
        global: e.global,
        present: !(markers & PageMarker.LAZY),
      });
    });
  }
});

describe('address split', () => {
  for (const s of golden.indices) {
    it(`splits ${s.va}`, () => {
      expect(splitVirtualAddress(BigInt(s.va))).toEqual({ indices: s.indices, offset: s.offset });
      const { mmu } = setup(8);
      expect(mmu.splitAddress(Number(BigInt(s.va)))).toEqual({ indices: s.indices, offset: s.offset });
    });
  }

  for (const bad of golden.invalid) {
    it(`rejects ${bad} as outside TTBR0`, () => {
      const { mmu, space } = setup(16);
      const va = BigInt(bad);
      expect(faultOf(() => mmu.splitAddress(va)).reason).toBe('invalid-address');
      const f = faultOf(() => space.translate(va, AccessKind.Read));
      expect(f.reason).toBe('invalid-address');
      expect(f.address).toBe(va);
      expect(f.mapping).toBeUndefined();
      expect(space.lookup(va)).toBeUndefined();
      expect(space.walk(va)).toEqual([]);
    });
  }

  it('treats a number at or past 2^48, negative or fractional as invalid', () => {
    const { space } = setup(16);
    space.map(0, 0x5000, 4096, PagePerm.READ);
    for (const va of [2 ** 48, 2 ** 52, -4096, -1, 0.5]) {
      expect(faultOf(() => space.translate(va, AccessKind.Read)).reason).toBe('invalid-address');
    }
    expect(space.translate(0, AccessKind.Read)).toBe(0x5000);
    // A cached entry for page 0 must not answer for the address just below it.
    expect(faultOf(() => space.translate(-1, AccessKind.Read)).reason).toBe('invalid-address');
    expect(faultOf(() => space.translate(0.5, AccessKind.Read)).reason).toBe('invalid-address');
  });

  it('refuses to map outside TTBR0', () => {
    const { space } = setup(16);
    expect(() => space.map(0xffff_0000_0000_0000n, 0x5000, 4096, PagePerm.READ)).toThrowError(/InvalidArgument/);
    expect(() => space.map(2 ** 48 - 4096, 0x5000, 8192, PagePerm.READ)).toThrowError(/InvalidArgument/);
    expect(space.tableFrameCount()).toBe(1);
  });
});
