import { describe, expect, it } from 'vitest';
import { AccessKind, PageFault, PagePerm, PhysicalMemory } from '@veridian/core';
import { entryFromBigInt, x86_64 } from '../src/index.js';

const { READ, WRITE, USER } = PagePerm;
const R = AccessKind.Read;
const W = AccessKind.Write;

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof PageFault) return e.reason;
    throw e;
  }
  return 'no fault';
}

/** Rewrites a leaf behind the MMU's back, as a buggy kernel that forgot `invlpg` would. */
function pokeLeaf(phys: PhysicalMemory, space: { walk(va: number): bigint[] }, va: number, tablePa: number, value: bigint): void {
  const index = Math.floor(va / 4096) % 512;
  const [lo, hi] = entryFromBigInt(value);
  const w = phys.physOffset(tablePa) / 4 + index * 2;
  phys.u32[w] = lo;
  phys.u32[w + 1] = hi;
  expect(space.walk(va).at(-1)).toBe(value);
}

function ptOf(space: { walk(va: number): bigint[] }, va: number): number {
  return Number(space.walk(va)[2]! & 0x000ffffffffff000n);
}

describe('TLB', () => {
  it('caches translations: a hit does not read the tables until invalidated', () => {
    const phys = PhysicalMemory.create({ frames: 32 });
    const mmu = x86_64.createMmu(phys, { cpus: 1 });
    const space = mmu.createAddressSpace();
    space.map(0x1000, 0x5000, 4096, READ);
    expect(space.translate(0x1234, R)).toBe(0x5234);
    pokeLeaf(phys, space, 0x1000, ptOf(space, 0x1000), 0x8000000000009021n);
    expect(space.translate(0x1234, R)).toBe(0x5234); // stale by design: nobody invalidated
    expect(mmu.tlbStats).toMatchObject({ hits: 1, misses: 1 });
    mmu.flushTlb(0);
    expect(space.translate(0x1234, R)).toBe(0x9234);
    expect(mmu.tlbStats.flushes).toBe(1);
  });

  it('never lets a CPU use a translation another CPU unmapped', () => {
    const phys = PhysicalMemory.create({ frames: 32 });
    const mmu = x86_64.createMmu(phys, { cpus: 3 });
    const space = mmu.createAddressSpace();
    space.map(0x10_0000, 0x20_0000, 4 * 4096, READ | WRITE);
    for (const cpu of [0, 1, 2]) expect(space.translate(0x10_1010, W, cpu)).toBe(0x20_1010);
    for (const cpu of [0, 1, 2]) expect(space.translate(0x10_1010, W, cpu)).toBe(0x20_1010);
    expect(mmu.tlbStats.hits).toBe(3);
    space.unmap(0x10_1000, 4096);
    expect(mmu.tlbStats.shootdowns).toBe(1);
    for (const cpu of [0, 1, 2]) expect(reasonOf(() => space.translate(0x10_1010, R, cpu))).toBe('not-present');
    expect(mmu.tlbStats.invalidations).toBe(3);
    // Remapping elsewhere is seen at once.
    space.map(0x10_1000, 0x30_0000, 4096, READ);
    expect(space.translate(0x10_1010, R, 1)).toBe(0x30_0010);
    expect(space.translate(0x10_2000, R, 1)).toBe(0x20_2000);
  });

  it('drops cached rights on protect', () => {
    const phys = PhysicalMemory.create({ frames: 32 });
    const mmu = x86_64.createMmu(phys, { cpus: 2 });
    const space = mmu.createAddressSpace();
    space.map(0x4000, 0x8000, 4096, READ | WRITE | USER);
    space.translate(0x4000, W, 0, true);
    space.translate(0x4000, W, 1, true);
    space.protect(0x4000, 4096, READ | USER);
    expect(reasonOf(() => space.translate(0x4000, W, 1, true))).toBe('permission');
    space.protect(0x4000, 4096, READ | WRITE);
    expect(reasonOf(() => space.translate(0x4000, R, 0, true))).toBe('permission');
    expect(space.translate(0x4000, R, 0, false)).toBe(0x8000);
  });

  it('invalidates a huge page cached in 4 KiB pieces when part of its range is shot down', () => {
    const phys = PhysicalMemory.create({ frames: 32 });
    const mmu = x86_64.createMmu(phys, { cpus: 2 });
    const space = mmu.createAddressSpace();
    space.map(0x20_0000, 0x40_0000, 2 << 20, READ | WRITE, { pageSize: 2 << 20 });
    expect(space.translate(0x3f_f008, R, 1)).toBe(0x5f_f008);
    expect(space.translate(0x20_0008, R, 1)).toBe(0x40_0008);
    space.unmap(0x20_0000, 2 << 20);
    expect(reasonOf(() => space.translate(0x3f_f008, R, 1))).toBe('not-present');
    expect(reasonOf(() => space.translate(0x20_0008, R, 1))).toBe('not-present');
  });

  it('tags entries by PCID; global entries match every PCID until shot down', () => {
    const phys = PhysicalMemory.create({ frames: 32 });
    const mmu = x86_64.createMmu(phys);
    const a = mmu.createAddressSpace();
    const b = mmu.createAddressSpace();
    a.map(0x1000, 0x5000, 4096, READ);
    b.map(0x1000, 0x6000, 4096, READ);
    expect(a.translate(0x1000, R)).toBe(0x5000);
    expect(b.translate(0x1000, R)).toBe(0x6000); // same slot, other PCID: no false hit
    expect(a.translate(0x1000, R)).toBe(0x5000);
    a.map(0x7000, 0x9000, 4096, READ, { global: true });
    expect(a.translate(0x7000, R)).toBe(0x9000);
    // b has no mapping there, but the global entry is in the TLB: x86 semantics.
    expect(b.translate(0x7000, R)).toBe(0x9000);
    a.unmap(0x7000, 4096);
    expect(reasonOf(() => b.translate(0x7000, R))).toBe('not-present');
  });

  it('flushes a recycled PCID so a new space never sees its predecessor', () => {
    const phys = PhysicalMemory.create({ frames: 32 });
    const mmu = x86_64.createMmu(phys, { cpus: 2 });
    const old = mmu.createAddressSpace();
    old.map(0x1000, 0x5000, 4096, READ);
    old.translate(0x1000, R, 1);
    const asid = old.asid;
    old.destroy();
    const fresh = mmu.createAddressSpace();
    expect(fresh.asid).toBe(asid);
    expect(reasonOf(() => fresh.translate(0x1000, R, 1))).toBe('not-present');
  });

  it('flushes everything when a CPU falls more than a ring behind', () => {
    const phys = PhysicalMemory.create({ frames: 32 });
    const mmu = x86_64.createMmu(phys, { cpus: 2 });
    const space = mmu.createAddressSpace();
    space.map(0x1000, 0x5000, 4096, READ);
    space.map(0x2000, 0x6000, 4096, READ | WRITE);
    expect(space.translate(0x1000, R, 1)).toBe(0x5000);
    space.unmap(0x1000, 4096);
    for (let i = 0; i < 300; i++) space.protect(0x2000, 4096, i % 2 ? READ | WRITE : READ);
    const flushes = mmu.tlbStats.flushes;
    expect(reasonOf(() => space.translate(0x1000, R, 1))).toBe('not-present');
    expect(mmu.tlbStats.flushes).toBe(flushes + 1);
    expect(space.translate(0x2000, W, 0)).toBe(0x6000);
  });

  it('works with a one-entry TLB (every other page conflicts)', () => {
    const phys = PhysicalMemory.create({ frames: 32 });
    const mmu = x86_64.createMmu(phys, { tlbEntries: 1 });
    const space = mmu.createAddressSpace();
    space.map(0x1000, 0x5000, 2 * 4096, READ);
    for (let i = 0; i < 4; i++) {
      expect(space.translate(0x1000, R)).toBe(0x5000);
      expect(space.translate(0x2000, R)).toBe(0x6000);
    }
    expect(mmu.tlbStats).toMatchObject({ hits: 0, misses: 8 });
  });
});

describe('shootdown across MMU instances', () => {
  function pair() {
    const phys = PhysicalMemory.create({ frames: 32 });
    const mmu1 = x86_64.createMmu(phys, { cpus: 2 });
    const mmu2 = x86_64.createMmu(phys, { cpus: 2, sharedState: mmu1.sharedState });
    const space1 = mmu1.createAddressSpace();
    const space2 = mmu2.attachAddressSpace(space1.root, space1.asid);
    return { phys, mmu1, mmu2, space1, space2 };
  }

  it('shares the state frame and PCID allocator', () => {
    const { mmu1, mmu2, space1 } = pair();
    expect(mmu2.sharedState).toBe(mmu1.sharedState);
    expect(mmu2.createAddressSpace().asid).not.toBe(space1.asid);
  });

  it('an unmap in one instance makes the other fault', () => {
    const { mmu2, space1, space2 } = pair();
    space1.map(0x1000, 0x5000, 4096, READ | WRITE);
    expect(space2.translate(0x1010, R, 1)).toBe(0x5010);
    expect(space2.translate(0x1010, R, 1)).toBe(0x5010);
    expect(mmu2.tlbStats.hits).toBe(1);
    space1.unmap(0x1000, 4096);
    expect(reasonOf(() => space2.translate(0x1010, R, 1))).toBe('not-present');
    expect(mmu2.tlbStats.invalidations).toBe(1);
  });

  it('a protect in one instance removes write access in the other', () => {
    const { space1, space2 } = pair();
    space1.map(0x1000, 0x5000, 4096, READ | WRITE);
    expect(space2.translate(0x1000, W, 0)).toBe(0x5000);
    space1.protect(0x1000, 4096, READ);
    expect(reasonOf(() => space2.translate(0x1000, W, 0))).toBe('permission');
  });

  it('a destroy and PCID reuse in one instance is seen by the other', () => {
    const { mmu1, mmu2, space1, space2 } = pair();
    space1.map(0x1000, 0x5000, 4096, READ);
    expect(space2.translate(0x1000, R)).toBe(0x5000);
    space1.destroy();
    const next = mmu1.createAddressSpace();
    expect(next.asid).toBe(space1.asid);
    next.map(0x1000, 0x7000, 4096, READ);
    expect(mmu2.attachAddressSpace(next.root, next.asid).translate(0x1000, R)).toBe(0x7000);
  });
});
