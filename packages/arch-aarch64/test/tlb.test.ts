import { describe, expect, it } from 'vitest';
import { AccessKind, PagePerm, PhysicalMemory } from '@veridian/core';
import { type Aarch64Mmu, aarch64 } from '../src/index.ts';
import { faultOf, setup } from './helpers.ts';

const { READ, WRITE, USER } = PagePerm;
const R = AccessKind.Read;
const W = AccessKind.Write;

describe('TLB', () => {
  it('counts hits and misses per translation', () => {
    const { mmu, space } = setup(32);
    space.map(0x40_0000, 0x9000, 0x2000, READ);
    expect(space.translate(0x40_0000, R)).toBe(0x9000);
    expect(space.translate(0x40_0fff, R)).toBe(0x9fff);
    expect(space.translate(0x40_1000, R)).toBe(0xa000);
    expect(mmu.tlbStats).toMatchObject({ hits: 1, misses: 2 });
    expect(space.translate(0x40_1001, R, 0)).toBe(0xa001);
    expect(mmu.tlbStats).toMatchObject({ hits: 2, misses: 2 });
  });

  it('keeps one TLB per CPU', () => {
    const { mmu, space } = setup(32, { cpus: 2 });
    space.map(0x40_0000, 0x9000, 0x1000, READ);
    space.translate(0x40_0000, R, 0);
    space.translate(0x40_0000, R, 1);
    space.translate(0x40_0000, R, 1);
    expect(mmu.tlbStats).toMatchObject({ hits: 1, misses: 2 });
    const m = mmu as Aarch64Mmu;
    expect(m.tlbOccupancy(0)).toBe(1);
    expect(m.tlbOccupancy(1)).toBe(1);
    mmu.flushTlb(1);
    expect(m.tlbOccupancy(0)).toBe(1);
    expect(m.tlbOccupancy(1)).toBe(0);
    expect(mmu.tlbStats.flushes).toBe(1);
  });

  it('never serves a stale translation after unmap, on any CPU', () => {
    const { mmu, space } = setup(32, { cpus: 3 });
    space.map(0x40_0000, 0x9000, 0x3000, READ | WRITE);
    for (let cpu = 0; cpu < 3; cpu++) space.translate(0x40_1000, W, cpu);
    space.unmap(0x40_1000, 0x1000);
    for (let cpu = 0; cpu < 3; cpu++) expect(faultOf(() => space.translate(0x40_1000, R, cpu)).reason).toBe('not-present');
    expect(space.translate(0x40_2000, R, 2)).toBe(0xb000);
    expect(mmu.tlbStats.invalidations).toBe(1);
    expect(mmu.tlbStats.shootdowns).toBe(1);
  });

  it('drops cached write rights on protect', () => {
    const { space } = setup(32, { cpus: 2 });
    space.map(0x40_0000, 0x9000, 0x1000, READ | WRITE | USER);
    space.translate(0x40_0000, W, 1, true);
    space.translate(0x40_0000, W, 1, true);
    space.protect(0x40_0000, 0x1000, READ | USER);
    expect(faultOf(() => space.translate(0x40_0000, W, 1, true)).reason).toBe('permission');
    expect(space.translate(0x40_0000, R, 1, true)).toBe(0x9000);
  });

  it('tags non-global entries by ASID and shares global ones', () => {
    const { mmu, space: a } = setup(64);
    const b = mmu.createAddressSpace();
    a.map(0x40_0000, 0x9000, 0x1000, READ);
    b.map(0x40_0000, 0xa000, 0x1000, READ);
    for (let i = 0; i < 3; i++) {
      expect(a.translate(0x40_0000, R)).toBe(0x9000);
      expect(b.translate(0x40_0000, R)).toBe(0xa000);
    }
    // A global (nG = 0) entry is, as on hardware, valid for every ASID once cached.
    a.map(0x50_0000, 0xc000, 0x1000, READ, { global: true });
    expect(a.translate(0x50_0000, R)).toBe(0xc000);
    expect(b.translate(0x50_0000, R)).toBe(0xc000);
    // …and unmapping it removes it for every ASID.
    a.unmap(0x50_0000, 0x1000);
    expect(faultOf(() => b.translate(0x50_0000, R)).reason).toBe('not-present');
  });

  it('is correct with a one-entry TLB (constant eviction)', () => {
    const { space } = setup(32, { tlbEntries: 1 });
    space.map(0x40_0000, 0x9000, 0x4000, READ);
    space.map(0x4000_0000, 0x20_0000, 2 << 20, READ, { pageSize: 2 << 20 });
    for (let i = 0; i < 20; i++) {
      expect(space.translate(0x40_0000 + (i % 4) * 0x1000 + i, R)).toBe(0x9000 + (i % 4) * 0x1000 + i);
      expect(space.translate(0x4000_0000 + i * 0x1_0000, R)).toBe(0x20_0000 + i * 0x1_0000);
    }
  });
});

describe('cross-instance coherence (sharedState)', () => {
  function pair(cpus = 2) {
    const phys = PhysicalMemory.create({ frames: 128 });
    const one = aarch64.createMmu(phys, { cpus });
    const two = aarch64.createMmu(phys, { cpus, sharedState: one.sharedState });
    const a = one.createAddressSpace();
    const b = two.attachAddressSpace(a.root, a.asid);
    return { phys, one, two, a, b };
  }

  it('sees mappings made by the other instance', () => {
    const { a, b } = pair();
    a.map(0x40_0000, 0x9000, 0x1000, READ | USER);
    expect(b.translate(0x40_0010, R, 1, true)).toBe(0x9010);
    expect(b.lookup(0x40_0000)!.accessed).toBe(true);
    expect(a.lookup(0x40_0000)!.accessed).toBe(true);
  });

  it('shoots down the other instance on unmap', () => {
    const { one, two, a, b } = pair();
    a.map(0x40_0000, 0x9000, 0x2000, READ);
    for (let cpu = 0; cpu < 2; cpu++) {
      b.translate(0x40_0000, R, cpu);
      b.translate(0x40_0000, R, cpu);
    }
    expect(two.tlbStats.hits).toBe(2);
    a.unmap(0x40_0000, 0x1000);
    for (let cpu = 0; cpu < 2; cpu++) expect(faultOf(() => b.translate(0x40_0000, R, cpu)).reason).toBe('not-present');
    expect(b.translate(0x40_1000, R)).toBe(0xa000);
    expect(one.tlbStats.shootdowns).toBe(1);
  });

  it('shoots down the first instance when the second one protects', () => {
    const { a, b } = pair();
    a.map(0x40_0000, 0x9000, 0x1000, READ | WRITE);
    a.translate(0x40_0000, W, 0);
    a.translate(0x40_0000, W, 1);
    b.protect(0x40_0000, 0x1000, READ);
    expect(faultOf(() => a.translate(0x40_0000, W, 0)).reason).toBe('permission');
    expect(faultOf(() => a.translate(0x40_0000, W, 1)).reason).toBe('permission');
    expect(a.lookup(0x40_0000)!.dirty).toBe(true);
  });

  it('flushes everything when it fell further behind than the shootdown log holds', () => {
    const { two, a, b } = pair(1);
    a.map(0x40_0000, 0x9000, 0x1000, READ);
    a.map(0x7000_0000, 0x8000, 0x1000, READ);
    b.translate(0x40_0000, R);
    b.translate(0x7000_0000, R);
    expect(two.tlbStats).toMatchObject({ hits: 0, misses: 2 });
    // 200 shootdowns the second instance does not see one by one (the ring holds 128).
    for (let i = 0; i < 200; i++) {
      a.map(0x50_0000, 0xa000, 0x1000, READ);
      a.translate(0x50_0000, R);
      a.unmap(0x50_0000, 0x1000);
    }
    a.unmap(0x40_0000, 0x1000);
    expect(faultOf(() => b.translate(0x40_0000, R)).reason).toBe('not-present');
    // The unrelated entry was flushed too (a miss), yet still translates.
    expect(b.translate(0x7000_0000, R)).toBe(0x8000);
    expect(two.tlbStats.hits).toBe(0);
  });

  it('destroy on one instance flushes the ASID from the other', () => {
    const { phys, one, two, a, b } = pair();
    a.map(0x40_0000, 0x9000, 0x1000, READ);
    b.translate(0x40_0000, R, 1);
    a.destroy();
    expect(() => b.translate(0x40_0000, R, 1)).toThrowError(/InvalidState/);
    // A new space that happens to receive the same ASID sees nothing of the old one.
    const c = one.createAddressSpace();
    const d = two.attachAddressSpace(c.root, c.asid);
    expect(faultOf(() => d.translate(0x40_0000, R, 1)).reason).toBe('not-present');
    expect(phys.freeFrames).toBeGreaterThan(0);
  });

  it('allocates distinct ASIDs from both instances', () => {
    const { one, two, a } = pair();
    const asids = new Set([a.asid]);
    for (let i = 0; i < 10; i++) {
      asids.add(one.createAddressSpace().asid);
      asids.add(two.createAddressSpace().asid);
    }
    expect(asids.size).toBe(21);
  });
});
