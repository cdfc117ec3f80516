import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AccessKind, FRAME_SIZE, PageMarker, PagePerm, PhysicalMemory } from '@veridian/core';
import type { AddressSpace } from '@veridian/core';
import { aarch64 } from '../src/index.ts';
import { BIT, errorCode, faultOf, leafOf, setup } from './helpers.ts';

const { READ, WRITE, EXECUTE, USER } = PagePerm;
const R = AccessKind.Read;
const W = AccessKind.Write;
const X = AccessKind.Execute;
const MiB2 = 2 << 20;
const GiB = 1 << 30;

/** Which (access, EL) combinations succeed on a page mapped with `perms`. */
function allowed(space: AddressSpace, va: number): string[] {
  const ok: string[] = [];
  for (const [name, access] of [['r', R], ['w', W], ['x', X]] as const) {
    for (const user of [false, true]) {
      try {
        space.translate(va, access, 0, user);
        ok.push(`${user ? 'el0' : 'el1'}:${name}`);
      } catch (e) {
        expect((e as { reason?: string }).reason).toBe('permission');
      }
    }
  }
  return ok.sort();
}

describe('permissions per access kind and exception level', () => {
  const cases: Array<[string, number, string[]]> = [
    ['kernel RW', READ | WRITE, ['el1:r', 'el1:w']],
    ['kernel RO', READ, ['el1:r']],
    ['kernel RX', READ | EXECUTE, ['el1:r', 'el1:x']],
    ['user RO', READ | USER, ['el0:r', 'el1:r']],
    ['user RW', READ | WRITE | USER, ['el0:r', 'el0:w', 'el1:r', 'el1:w']],
    // User code is PXN: the kernel never executes it (and EL0-writable memory is implicitly PXN anyway).
    ['user RX', READ | EXECUTE | USER, ['el0:r', 'el0:x', 'el1:r']],
    ['user RWX', READ | WRITE | EXECUTE | USER, ['el0:r', 'el0:w', 'el0:x', 'el1:r', 'el1:w']],
    // No READ, WRITE or EXECUTE: an invalid PROT_NONE entry that faults every access.
    ['no access', 0, []],
    ['user, no access', USER, []],
  ];
  for (const [name, perms, expected] of cases) {
    it(`${name}: ${expected.join(' ')}`, () => {
      const { space } = setup(32);
      space.map(0x40_0000, 0x9000, 4096, perms);
      expect(allowed(space, 0x40_0123)).toEqual(expected.sort());
      // Cached translations give the same answers (second pass hits the TLB).
      expect(allowed(space, 0x40_0123)).toEqual(expected.sort());
    });
  }

  it('reports the details of a permission fault', () => {
    const { space } = setup(32);
    space.map(0x40_0000, 0x9000, 4096, READ | USER);
    const f = faultOf(() => space.translate(0x40_0010, W, 0, true));
    expect(f.reason).toBe('permission');
    expect(f.access).toBe(W);
    expect(f.user).toBe(true);
    expect(f.address).toBe(0x40_0010);
    expect(f.mapping).toMatchObject({ va: 0x40_0000, pa: 0x9000, perms: READ | USER, present: true });
  });

  it('reports not-present for unmapped addresses at every level', () => {
    const { space } = setup(32);
    space.map(0x40_0000, 0x9000, 4096, READ);
    for (const va of [0x40_1000, 0x60_0000, 0x4000_0000, 0x80_0000_0000, 0xffff_ffff_f000]) {
      const f = faultOf(() => space.translate(va, R));
      expect(f.reason).toBe('not-present');
      expect(f.mapping).toBeUndefined();
    }
  });

  it('keeps a PROT_NONE mapping invalid, recorded, and repairable by protect', () => {
    const { space } = setup(32);
    space.map(0x40_0000, 0x9000, 4096, USER);
    const leaf = leafOf(space, 0x40_0000);
    expect(leaf & 1n).toBe(0n);
    expect(leaf & BIT(58)).toBe(BIT(58));
    expect(space.lookup(0x40_0000)).toMatchObject({ pa: 0x9000, perms: USER, present: false, markers: 0 });
    const f = faultOf(() => space.translate(0x40_0000, R, 0, true));
    expect(f.reason).toBe('permission');
    expect(f.mapping).toMatchObject({ pa: 0x9000, perms: USER, present: false });
    expect(errorCode(() => space.map(0x40_0000, 0xa000, 4096, READ))).toBe('AlreadyExists');
    space.protect(0x40_0000, 4096, READ | USER);
    expect(leafOf(space, 0x40_0000) & (1n | BIT(58))).toBe(1n);
    expect(space.translate(0x40_0010, R, 0, true)).toBe(0x9010);
    space.protect(0x40_0000, 4096, 0);
    expect(faultOf(() => space.translate(0x40_0010, R, 0, true)).reason).toBe('permission');
    space.unmap(0x40_0000, 4096);
    expect(space.tableFrameCount()).toBe(1);
  });

  it('reads back an implicit READ for any mapping (Arm has no unreadable valid page)', () => {
    const { space } = setup(32);
    space.map(0x1000, 0x9000, 4096, WRITE | USER);
    expect(space.lookup(0x1000)!.perms).toBe(READ | WRITE | USER);
    expect(space.translate(0x1000, R, 0, true)).toBe(0x9000);
  });
});

describe('access flag and dirty state', () => {
  it('maps with AF clear and sets it on the first successful access', () => {
    const { space } = setup(32);
    space.map(0x40_0000, 0x9000, 4096, READ | USER);
    expect(leafOf(space, 0x40_0000) & BIT(10)).toBe(0n);
    expect(space.lookup(0x40_0000)!.accessed).toBe(false);
    expect(space.translate(0x40_0004, R)).toBe(0x9004);
    expect(leafOf(space, 0x40_0000) & BIT(10)).toBe(BIT(10));
    expect(space.lookup(0x40_0000)!.accessed).toBe(true);
  });

  it('keeps writable pages writable-clean (DBM=1, AP[2]=1) until the first write', () => {
    const { space } = setup(32);
    space.map(0x40_0000, 0x9000, 4096, READ | WRITE | USER);
    const before = leafOf(space, 0x40_0000);
    expect(before & BIT(51)).toBe(BIT(51));
    expect(before & BIT(7)).toBe(BIT(7));
    space.translate(0x40_0000, R, 0, true);
    expect(space.lookup(0x40_0000)!.dirty).toBe(false);
    expect(leafOf(space, 0x40_0000) & BIT(7)).toBe(BIT(7));
    space.translate(0x40_0008, W, 0, true);
    const after = leafOf(space, 0x40_0000);
    expect(after & BIT(7)).toBe(0n);
    expect(after & BIT(51)).toBe(BIT(51));
    expect(space.lookup(0x40_0000)).toMatchObject({ dirty: true, accessed: true, perms: READ | WRITE | USER });
  });

  it('a TLB entry cached by a read does not hide the dirty update of a later write', () => {
    const { mmu, space } = setup(32);
    space.map(0x40_0000, 0x9000, 4096, READ | WRITE);
    space.translate(0x40_0000, R);
    space.translate(0x40_0000, R);
    expect(mmu.tlbStats).toMatchObject({ hits: 1, misses: 1 });
    space.translate(0x40_0000, W);
    expect(mmu.tlbStats.misses).toBe(2);
    expect(space.lookup(0x40_0000)!.dirty).toBe(true);
    space.translate(0x40_0000, W);
    expect(mmu.tlbStats).toMatchObject({ hits: 2, misses: 2 });
  });

  it('never marks a read-only page dirty, and remembers dirt across protect', () => {
    const { space } = setup(32);
    space.map(0x40_0000, 0x9000, 4096, READ);
    faultOf(() => space.translate(0x40_0000, W));
    expect(space.lookup(0x40_0000)!.dirty).toBe(false);

    space.map(0x50_0000, 0xa000, 4096, READ | WRITE);
    space.translate(0x50_0000, W);
    space.protect(0x50_0000, 4096, READ);
    expect(space.lookup(0x50_0000)).toMatchObject({ perms: READ, dirty: true, accessed: true });
    expect(leafOf(space, 0x50_0000) & BIT(57)).toBe(BIT(57));
    expect(faultOf(() => space.translate(0x50_0000, W)).reason).toBe('permission');
    space.protect(0x50_0000, 4096, READ | WRITE);
    expect(space.lookup(0x50_0000)).toMatchObject({ perms: READ | WRITE, dirty: true });
    expect(leafOf(space, 0x50_0000) & (BIT(7) | BIT(57))).toBe(0n);
  });
});

describe('huge pages', () => {
  it('translates inside 2 MiB and 1 GiB blocks at any offset', () => {
    const { space } = setup(32);
    space.map(0x4000_0000, 0x20_0000 * 7, MiB2 * 2, READ | WRITE, { pageSize: MiB2 });
    space.map(0x80_0000_0000, 3 * GiB, GiB, READ | EXECUTE, { pageSize: GiB, global: true });
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 * MiB2 - 1 }), fc.integer({ min: 0, max: GiB - 1 }), (o2, o1) => {
        expect(space.translate(0x4000_0000 + o2, R)).toBe(0x20_0000 * 7 + o2);
        expect(space.translate(0x80_0000_0000 + o1, X)).toBe(3 * GiB + o1);
        expect(space.translate(BigInt(0x80_0000_0000 + o1), R)).toBe(3 * GiB + o1);
      }),
      { numRuns: 200 },
    );
    expect(space.lookup(0x4020_0000)).toMatchObject({ va: 0x4020_0000, size: MiB2, pa: 0x20_0000 * 8 });
    expect(space.lookup(0x80_3fff_ffff)).toMatchObject({ va: 0x80_0000_0000, size: GiB, global: true });
    // Root + L1 for slot 0, L2 under it, L1 for slot 1.
    expect(space.tableFrameCount()).toBe(4);
  });

  it('rejects misaligned huge mappings and unsupported sizes', () => {
    const { space } = setup(32);
    expect(errorCode(() => space.map(0x1000, 0, MiB2, READ, { pageSize: MiB2 }))).toBe('InvalidArgument');
    expect(errorCode(() => space.map(0, 0x1000, MiB2, READ, { pageSize: MiB2 }))).toBe('InvalidArgument');
    expect(errorCode(() => space.map(0, 0, MiB2 + 4096, READ, { pageSize: MiB2 }))).toBe('InvalidArgument');
    expect(errorCode(() => space.map(0, 0, 8192, READ, { pageSize: 8192 }))).toBe('InvalidArgument');
    expect(errorCode(() => space.map(0, 0x1000, 4096, 0x10))).toBe('InvalidArgument');
    expect(space.tableFrameCount()).toBe(1);
  });

  it('refuses to split a block on unmap or protect, changing nothing', () => {
    const { space, phys } = setup(32);
    space.map(0x4000_0000, 0, MiB2, READ | WRITE, { pageSize: MiB2 });
    const free = phys.freeFrames;
    const leaf = leafOf(space, 0x4000_0000);
    expect(errorCode(() => space.unmap(0x4000_0000, 4096))).toBe('InvalidArgument');
    expect(errorCode(() => space.unmap(0x3fff_f000, 8192))).toBe('InvalidArgument');
    expect(errorCode(() => space.protect(0x4010_0000, 4096, READ))).toBe('InvalidArgument');
    expect(leafOf(space, 0x4000_0000)).toBe(leaf);
    expect(phys.freeFrames).toBe(free);
    space.unmap(0x3fff_f000, MiB2 + 4096);
    expect(space.lookup(0x4000_0000)).toBeUndefined();
  });
});

describe('overlap', () => {
  it('throws AlreadyExists and changes nothing', () => {
    const { space, phys } = setup(64);
    space.map(0x40_1000, 0x9000, 0x4000, READ | USER);
    space.map(0x4000_0000, 0, MiB2, READ, { pageSize: MiB2 });
    const before = { maps: space.mappings(), tables: space.tableFrameCount(), free: phys.freeFrames };
    const attempts: Array<() => void> = [
      () => space.map(0x40_4000, 0x1000, 0x4000, READ), // tail overlaps
      () => space.map(0x3f_f000, 0x1000, 0x3000, READ), // head overlaps
      () => space.map(0x4010_0000, 0x1000, 4096, READ), // inside a block
      () => space.map(0x40_0000, 0, MiB2, READ, { pageSize: MiB2 }), // block over pages
      () => space.map(0x4000_0000, 0, GiB, READ, { pageSize: GiB }), // 1 GiB over a 2 MiB block
      () => space.map(0x7f_f000, 0x1000, 0x4000_0000 - 0x7f_f000 + 4096, READ), // spans new tables first, then hits the block
    ];
    for (const attempt of attempts) {
      expect(errorCode(attempt)).toBe('AlreadyExists');
      expect(space.mappings()).toEqual(before.maps);
      expect(space.tableFrameCount()).toBe(before.tables);
      expect(phys.freeFrames).toBe(before.free);
    }
  });

  it('counts a LAZY entry as occupied', () => {
    const { space } = setup(32);
    space.map(0x1000, 0x9000, 4096, READ, { markers: PageMarker.LAZY });
    expect(errorCode(() => space.map(0x1000, 0xa000, 4096, READ))).toBe('AlreadyExists');
  });
});

describe('out of memory', () => {
  it('rolls a failed map back: same free frames, tables and mappings', () => {
    const phys = PhysicalMemory.create({ frames: 24 });
    const mmu = aarch64.createMmu(phys);
    const space = mmu.createAddressSpace();
    space.map(0x1000, 0x9000, 4096, READ); // L1, L2, L3 in slot 0
    const hog: number[] = [];
    while (phys.freeFrames > 2) hog.push(phys.allocFrame());
    const before = { maps: space.mappings(), tables: space.tableFrameCount(), free: phys.freeFrames };
    // Crossing a 2 MiB boundary in a fresh 1 GiB region needs L2 + two L3 tables: 3 > 2 free.
    expect(errorCode(() => space.map(0x4000_0000 + MiB2 - 0x2000, 0x20000, 0x4000, READ | WRITE))).toBe('OutOfMemory');
    expect(phys.freeFrames).toBe(before.free);
    expect(space.tableFrameCount()).toBe(before.tables);
    expect(space.mappings()).toEqual(before.maps);
    expect(space.lookup(0x4000_0000 + MiB2 - 0x2000)).toBeUndefined();
    // With one more frame it fits.
    phys.freeFrame(hog.pop()!);
    space.map(0x4000_0000 + MiB2 - 0x2000, 0x20000, 0x4000, READ | WRITE);
    expect(space.translate(0x4000_0000 + MiB2 + 0x1abc, R)).toBe(0x23abc);
  });

  it('leaves state unchanged for any shortfall (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 1 << 12 }), fc.integer({ min: 1, max: 1100 }), (spare, startPage, pages) => {
        const phys = PhysicalMemory.create({ frames: 16 });
        const mmu = aarch64.createMmu(phys);
        const space = mmu.createAddressSpace();
        space.map(0, 0x1000, 4096, READ);
        while (phys.freeFrames > spare) phys.allocFrame();
        const before = { maps: space.mappings(), tables: space.tableFrameCount(), free: phys.freeFrames };
        const va = 0x40_0000_0000 + startPage * 4096;
        try {
          space.map(va, 0x100000, pages * 4096, READ);
          expect(space.translate(va + (pages - 1) * 4096, R)).toBe(0x100000 + (pages - 1) * 4096);
          expect(space.mappings().length).toBe(before.maps.length + pages);
        } catch (e) {
          expect((e as { code?: string }).code).toBe('OutOfMemory');
          expect(phys.freeFrames).toBe(before.free);
          expect(space.tableFrameCount()).toBe(before.tables);
          expect(space.mappings()).toEqual(before.maps);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('createAddressSpace takes nothing when no frame is left', () => {
    const phys = PhysicalMemory.create({ frames: 8 });
    const mmu = aarch64.createMmu(phys);
    while (phys.freeFrames > 0) phys.allocFrame();
    expect(errorCode(() => mmu.createAddressSpace())).toBe('OutOfMemory');
    expect(phys.freeFrames).toBe(0);
  });
});

describe('unmap', () => {
  it('frees empty tables back to the baseline (root stays)', () => {
    const { space, phys } = setup(128);
    const baseline = phys.freeFrames;
    const vas = [0x1000, 0x2000, 0x20_0000, 0x4000_0000, 0x80_0000_0000, 0xffff_ffff_f000];
    for (const [i, va] of vas.entries()) space.map(va, (i + 16) * FRAME_SIZE, 4096, READ | USER);
    expect(space.tableFrameCount()).toBeGreaterThan(6);
    expect(phys.freeFrames).toBe(baseline - (space.tableFrameCount() - 1));
    // Unmapping one of two neighbours keeps their shared table.
    space.unmap(0x1000, 4096);
    expect(space.translate(0x2000, R)).toBe(17 * FRAME_SIZE);
    const tables = space.tableFrameCount();
    space.unmap(0x2000, 4096);
    // That L3 table is now empty and goes; the L2 above it stays for 0x20_0000.
    expect(space.tableFrameCount()).toBe(tables - 1);
    expect(space.translate(0x20_0000, R)).toBe(18 * FRAME_SIZE);
    for (const va of vas) space.unmap(va, 4096);
    expect(space.tableFrameCount()).toBe(1);
    expect(phys.freeFrames).toBe(baseline);
    expect(space.walk(0x1000)).toEqual([0n]);
    expect(space.mappings()).toEqual([]);
  });

  it('ignores holes and removes LAZY entries', () => {
    const { space, phys } = setup(64);
    const baseline = phys.freeFrames;
    space.map(0x3000, 0x9000, 4096, READ, { markers: PageMarker.LAZY });
    space.map(0x8000, 0xa000, 0x2000, READ);
    space.unmap(0, 0x10_0000);
    expect(space.mappings()).toEqual([]);
    expect(phys.freeFrames).toBe(baseline);
    space.unmap(0x5000, 0x1000); // nothing there
    expect(space.tableFrameCount()).toBe(1);
  });
});

describe('fault handlers', () => {
  it('installs a LAZY entry on first access and retries', () => {
    const { mmu, space } = setup(32);
    space.map(0x40_0000, 0x9000, 4096, READ | WRITE | USER, { markers: PageMarker.LAZY });
    expect(leafOf(space, 0x40_0000) & 1n).toBe(0n);
    expect(leafOf(space, 0x40_0000) & BIT(56)).toBe(BIT(56));
    expect(faultOf(() => space.translate(0x40_0010, R, 0, true)).reason).toBe('lazy');
    const seen: string[] = [];
    const off = mmu.onFault((fault, s) => {
      seen.push(fault.reason);
      if (fault.reason !== 'lazy') return false;
      expect(fault.mapping).toMatchObject({ pa: 0x9000, present: false, markers: PageMarker.LAZY, perms: READ | WRITE | USER });
      s.protect(fault.mapping!.va, fault.mapping!.size, fault.mapping!.perms, 0);
      return true;
    });
    expect(space.translate(0x40_0010, W, 0, true)).toBe(0x9010);
    expect(seen).toEqual(['lazy']);
    expect(space.lookup(0x40_0000)).toMatchObject({ present: true, markers: 0, dirty: true });
    off();
    space.protect(0x40_0000, 4096, READ | USER, PageMarker.LAZY);
    expect(faultOf(() => space.translate(0x40_0010, R, 0, true)).reason).toBe('lazy');
    expect(seen).toEqual(['lazy']);
  });

  it('copies a COPY_ON_WRITE page on a write fault', () => {
    const { mmu, phys, space } = setup(32);
    const shared = phys.allocFrame() * FRAME_SIZE;
    phys.bytes.fill(0x5a, phys.physOffset(shared), phys.physOffset(shared) + FRAME_SIZE);
    space.map(0x40_0000, shared, 4096, READ | USER, { markers: PageMarker.COPY_ON_WRITE });
    expect(leafOf(space, 0x40_0000) & BIT(55)).toBe(BIT(55));
    expect(space.translate(0x40_0000, R, 0, true)).toBe(shared);
    let copies = 0;
    mmu.onFault((fault, s) => {
      const m = fault.mapping;
      if (fault.reason !== 'permission' || !m || !(m.markers & PageMarker.COPY_ON_WRITE) || fault.access !== W) return false;
      const copy = phys.allocFrame() * FRAME_SIZE;
      phys.bytes.copyWithin(phys.physOffset(copy), phys.physOffset(m.pa), phys.physOffset(m.pa) + FRAME_SIZE);
      s.unmap(m.va, m.size);
      s.map(m.va, copy, m.size, m.perms | WRITE);
      copies++;
      return true;
    });
    const pa = space.translate(0x40_0abc, W, 0, true);
    expect(copies).toBe(1);
    expect(pa).not.toBe(shared + 0xabc);
    expect(pa & 0xfff).toBe(0xabc);
    expect(phys.bytes[phys.physOffset(pa)]).toBe(0x5a);
    expect(space.lookup(0x40_0000)).toMatchObject({ markers: 0, dirty: true, perms: READ | WRITE | USER });
    // The read cached before the copy does not survive it.
    expect(space.translate(0x40_0000, R, 0, true)).toBe(pa - 0xabc);
  });

  it('retries only once, even if a handler claims a repair it did not make', () => {
    const { mmu, space } = setup(32);
    let calls = 0;
    mmu.onFault(() => {
      calls++;
      return true;
    });
    expect(faultOf(() => space.translate(0x1000, R)).reason).toBe('not-present');
    expect(calls).toBe(1);
  });
});

describe('dump', () => {
  it('merges ranges and shows size, level and rights like Linux ptdump', () => {
    const { space } = setup(64);
    space.map(0x40_0000, 0x5000, 0x2000, READ | WRITE | USER);
    space.map(0x40_2000, 0x7000, 0x1000, READ | WRITE | USER, { markers: PageMarker.LAZY });
    space.map(0x60_0000, 0x80_0000, MiB2, READ | EXECUTE | USER, { pageSize: MiB2 });
    space.map(0x80_0000_0000, 0, GiB, READ | WRITE, { pageSize: GiB, global: true });
    space.translate(0x40_0000, R, 0, true);
    space.translate(0x40_1000, R, 0, true);
    space.translate(0x80_0000_0000, W);
    const lines = space.dump().trimEnd().split('\n');
    expect(lines[0]).toBe(`---[ aarch64 TTBR0_EL1 asid=${space.asid} root=0x${space.root.toString(16).padStart(16, '0')} ]---`);
    const tokens = lines.slice(1).map((l) => l.trim().split(/\s+/));
    expect(tokens).toEqual([
      ['0x0000000000400000-0x0000000000402000', '8K', 'PTE', 'USR', 'ro', 'NX', 'SHD', 'AF', 'NG', 'UXN', 'DBM', 'MEM/NORMAL'],
      ['0x0000000000402000-0x0000000000403000', '4K', 'PTE', 'F', 'USR', 'ro', 'NX', 'SHD', 'NG', 'UXN', 'DBM', 'LAZY', 'MEM/NORMAL'],
      ['0x0000000000600000-0x0000000000800000', '2M', 'PMD', 'USR', 'ro', 'NX', 'SHD', 'NG', 'BLK', 'MEM/NORMAL'],
      ['0x0000008000000000-0x0000008040000000', '1G', 'PUD', 'RW', 'NX', 'SHD', 'AF', 'BLK', 'UXN', 'DBM', 'DIRTY', 'MEM/NORMAL'],
    ]);
    // Fixed-width columns: the memory type lines up on every row.
    const col = lines[1]!.indexOf('MEM/NORMAL');
    for (const l of lines.slice(1)) expect(l.indexOf('MEM/NORMAL')).toBe(col);
  });

  it('splits a run where rights change', () => {
    const { space } = setup(32);
    space.map(0x1000, 0x5000, 0x3000, READ | USER);
    space.protect(0x2000, 0x1000, READ | WRITE | USER);
    const rows = space.dump().trimEnd().split('\n').slice(1);
    expect(rows.map((r) => r.split(/\s+/).slice(0, 2))).toEqual([
      ['0x0000000000001000-0x0000000000002000', '4K'],
      ['0x0000000000002000-0x0000000000003000', '4K'],
      ['0x0000000000003000-0x0000000000004000', '4K'],
    ]);
    expect(rows[1]).toContain('DBM');
    expect(rows[0]).not.toContain('DBM');
  });
});

describe('address space lifecycle', () => {
  it('destroy frees every table, recycles the ASID and refuses later use', () => {
    const phys = PhysicalMemory.create({ frames: 64 });
    const mmu = aarch64.createMmu(phys);
    const free = phys.freeFrames;
    const a = mmu.createAddressSpace();
    const b = mmu.createAddressSpace();
    expect(a.asid).not.toBe(b.asid);
    expect(a.asid).toBeGreaterThan(0);
    a.map(0x1000, 0x9000, 4096, READ);
    a.map(0x80_0000_0000, 0xa000, 4096, READ);
    a.translate(0x1000, R);
    a.destroy();
    expect(phys.freeFrames).toBe(free - 1); // only b's root remains
    expect(errorCode(() => a.translate(0x1000, R))).toBe('InvalidState');
    expect(errorCode(() => a.map(0x2000, 0x9000, 4096, READ))).toBe('InvalidState');
    const c = mmu.createAddressSpace();
    expect(c.asid).not.toBe(b.asid);
    // Round-robin: a freed ASID is not handed out again straight away.
    expect(c.asid).not.toBe(a.asid);
    expect(c.asid).toBeGreaterThan(b.asid);
    // Whatever its ASID, the new space sees nothing of the old one.
    expect(faultOf(() => c.translate(0x1000, R)).reason).toBe('not-present');
    b.destroy();
    c.destroy();
    expect(phys.freeFrames).toBe(free);
  });

  it('reuses a destroyed ASID without reviving its TLB entries, on any CPU or instance', () => {
    const phys = PhysicalMemory.create({ frames: 64 });
    const mmu = aarch64.createMmu(phys, { cpus: 2 });
    const other = aarch64.createMmu(phys, { cpus: 2, sharedState: mmu.sharedState });
    const first = mmu.createAddressSpace();
    first.map(0x1000, 0x9000, 4096, READ);
    const view = other.attachAddressSpace(first.root, first.asid);
    for (const cpu of [0, 1]) {
      expect(first.translate(0x1000, R, cpu)).toBe(0x9000);
      expect(view.translate(0x1000, R, cpu)).toBe(0x9000);
    }
    const asid = first.asid;
    first.destroy();
    // Cycle through the 16-bit ASID space until the allocator hands the same ASID out again.
    let reused: AddressSpace | undefined;
    for (let i = 0; i < 70_000 && !reused; i++) {
      const s = mmu.createAddressSpace();
      if (s.asid === asid) reused = s;
      else s.destroy();
    }
    expect(reused?.asid).toBe(asid);
    const reusedView = other.attachAddressSpace(reused!.root, asid);
    for (const cpu of [0, 1]) {
      expect(faultOf(() => reused!.translate(0x1000, R, cpu)).reason).toBe('not-present');
      expect(faultOf(() => reusedView.translate(0x1000, R, cpu)).reason).toBe('not-present');
    }
  });

  it('attachAddressSpace validates root and ASID', () => {
    const { mmu, space } = setup(32);
    expect(mmu.attachAddressSpace(space.root, space.asid).lookup(0)).toBeUndefined();
    expect(errorCode(() => mmu.attachAddressSpace(space.root + 8, space.asid))).toBe('InvalidArgument');
    expect(errorCode(() => mmu.attachAddressSpace(space.root, space.asid + 100))).toBe('InvalidArgument');
    expect(errorCode(() => mmu.attachAddressSpace(space.root, 0))).toBe('InvalidArgument');
  });

  it('validates MMU options', () => {
    const phys = PhysicalMemory.create({ frames: 32 });
    expect(errorCode(() => aarch64.createMmu(phys, { cpus: 0 }))).toBe('InvalidArgument');
    expect(errorCode(() => aarch64.createMmu(phys, { tlbEntries: 0 }))).toBe('InvalidArgument');
    expect(errorCode(() => aarch64.createMmu(phys, { sharedState: 0x1000 }))).toBe('InvalidArgument');
    const m = aarch64.createMmu(phys, { cpus: 3, tlbEntries: 5 });
    expect(m.cpuCount).toBe(3);
    const s = m.createAddressSpace();
    s.map(0, 0x9000, 4096, READ);
    expect(errorCode(() => s.translate(0, R, 3))).toBe('InvalidArgument');
    expect(errorCode(() => s.translate(0, 3 as AccessKind))).toBe('InvalidArgument');
    expect(s.translate(0, R, 2)).toBe(0x9000);
  });
});
