import { describe, expect, it } from 'vitest';
import { AccessKind, IpcError, PageFault, PageMarker, PagePerm, PhysicalMemory } from '@veridian/core';
import type { VirtualAddress } from '@veridian/core';
import { X86Mmu, x86_64 } from '../src/index.js';

const { READ, WRITE, EXECUTE, USER } = PagePerm;
const R = AccessKind.Read;
const W = AccessKind.Write;
const X = AccessKind.Execute;
const M2 = 2 << 20;
const G1 = 1 << 30;

function setup(frames = 64, cpus = 1) {
  const phys = PhysicalMemory.create({ frames });
  const mmu = x86_64.createMmu(phys, { cpus });
  const space = mmu.createAddressSpace();
  return { phys, mmu, space };
}

function faultOf(fn: () => unknown): PageFault {
  try {
    fn();
  } catch (e) {
    if (e instanceof PageFault) return e;
    throw e;
  }
  throw new Error('expected a page fault');
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

describe('X86Mmu', () => {
  it('is created by the arch object with its page sizes', () => {
    const { mmu } = setup();
    expect(mmu).toBeInstanceOf(X86Mmu);
    expect(mmu.arch).toBe('x86_64');
    expect([...mmu.pageSizes]).toEqual([4096, 2 * 1024 * 1024, 1024 * 1024 * 1024]);
    expect([...x86_64.pageSizes]).toEqual([...mmu.pageSizes]);
    expect(mmu.cpuCount).toBe(1);
  });

  it('gives each space its own PCID and root table, and recycles PCIDs on destroy', () => {
    const { mmu, phys, space } = setup();
    const other = mmu.createAddressSpace();
    expect(space.asid).toBeGreaterThan(0);
    expect(other.asid).not.toBe(space.asid);
    expect(other.root).not.toBe(space.root);
    expect(space.tableFrameCount()).toBe(1);
    const free = phys.freeFrames;
    const asid = other.asid;
    other.destroy();
    expect(phys.freeFrames).toBe(free + 1);
    expect(mmu.createAddressSpace().asid).toBe(asid);
    expect(codeOf(() => other.translate(0, R))).toBe('InvalidState');
  });

  it('rejects bad options without leaking a frame', () => {
    const phys = PhysicalMemory.create({ frames: 8 });
    const free = phys.freeFrames;
    expect(codeOf(() => x86_64.createMmu(phys, { tlbEntries: 48 }))).toBe('InvalidArgument');
    expect(codeOf(() => x86_64.createMmu(phys, { cpus: 0 }))).toBe('InvalidArgument');
    expect(codeOf(() => x86_64.createMmu(phys, { sharedState: 0x1000 }))).toBe('InvalidArgument');
    expect(phys.freeFrames).toBe(free);
  });

  it('attaches to a space by root and PCID, and refuses unknown ones', () => {
    const { mmu, space } = setup();
    space.map(0x1000, 0x5000, 4096, READ);
    const again = mmu.attachAddressSpace(space.root, space.asid);
    expect(again.translate(0x1234, R)).toBe(0x5234);
    expect(codeOf(() => mmu.attachAddressSpace(space.root, 999))).toBe('InvalidArgument');
    expect(codeOf(() => mmu.attachAddressSpace(space.root + 1, space.asid))).toBe('InvalidArgument');
  });
});

describe('map and translate', () => {
  it('translates 4 KiB pages at every offset', () => {
    const { space } = setup();
    space.map(0x40_0000, 0x1_2345_6000, 3 * 4096, READ | WRITE);
    expect(space.translate(0x40_0000, R)).toBe(0x1_2345_6000);
    expect(space.translate(0x40_0fff, R)).toBe(0x1_2345_6fff);
    expect(space.translate(0x40_2abc, W)).toBe(0x1_2345_8abc);
    expect(faultOf(() => space.translate(0x40_3000, R)).reason).toBe('not-present');
  });

  it('translates 2 MiB and 1 GiB pages at offsets', () => {
    const { space } = setup();
    space.map(0x20_0000, 0x4000_0000, 2 * M2, READ | WRITE, { pageSize: M2 });
    space.map(0x80_0000_0000, 0xc0_0000_0000, G1, READ, { pageSize: G1 });
    expect(space.translate(0x20_0000, R)).toBe(0x4000_0000);
    expect(space.translate(0x3f_f123, R)).toBe(0x401f_f123);
    expect(space.translate(0x41_2345, W)).toBe(0x4021_2345);
    expect(space.translate(0x80_3abc_d123, R)).toBe(0xc0_3abc_d123);
    expect(space.lookup(0x80_3abc_d123)).toMatchObject({ va: 0x80_0000_0000, pa: 0xc0_0000_0000, size: G1 });
    expect(space.walk(0x80_0000_0000)).toHaveLength(2);
    expect(space.walk(0x21_0000)).toHaveLength(3);
    // PML4, then PDPT + PD for the 2 MiB pages and a second PDPT holding the 1 GiB page.
    expect(space.tableFrameCount()).toBe(4);
  });

  it('maps the upper half with bigint addresses', () => {
    const { space } = setup();
    const base = 0xffff_8000_0010_0000n;
    space.map(base, 0x9000, 2 * 4096, READ | WRITE | EXECUTE, { global: true });
    expect(space.translate(base + 0x1010n, X)).toBe(0xa010);
    expect(space.lookup(base)).toMatchObject({ va: base, pa: 0x9000, global: true, present: true });
    expect(space.mappings().map((m) => m.va)).toEqual([base, base + 0x1000n]);
    expect(codeOf(() => space.map(0xffff_ffff_ffff_f000n, 0x1000, 2 * 4096, READ))).toBe('InvalidArgument');
    expect(codeOf(() => space.map(0x7fff_ffff_f000, 0x1000, 2 * 4096, READ))).toBe('InvalidArgument');
  });

  it('rejects misaligned and malformed arguments without changing anything', () => {
    const { space, phys } = setup();
    const free = phys.freeFrames;
    const bad: Array<[VirtualAddress, number, number, number, object?]> = [
      [0x1001, 0x1000, 4096, READ],
      [0x1000, 0x1001, 4096, READ],
      [0x1000, 0x1000, 100, READ],
      [0x1000, 0x1000, 0, READ],
      [0x1000, 0x1000, 4096, 0x10],
      [0x1000, 0x1000, 4096, READ, { markers: 4 }],
      [0x1000, 0x1000, 4096, READ, { pageSize: 8192 }],
      [0x1000, 0x1000, M2, READ, { pageSize: M2 }],
      [0x20_0000, 0x1000, M2, READ, { pageSize: M2 }],
      [0x1000, 2 ** 52, 4096, READ],
    ];
    for (const [va, pa, len, perms, opts] of bad) expect(codeOf(() => space.map(va, pa, len, perms, opts))).toBe('InvalidArgument');
    expect(space.mappings()).toEqual([]);
    expect(phys.freeFrames).toBe(free);
  });

  it('refuses an overlapping map with AlreadyExists and changes nothing', () => {
    const { space, phys } = setup();
    space.map(0x40_0000, 0x1000, 4096, READ);
    space.map(0x60_0000, 0x20_0000, M2, READ, { pageSize: M2 });
    const before = space.mappings();
    const free = phys.freeFrames;
    const tables = space.tableFrameCount();
    // 4 KiB over 4 KiB, a range that ends on it, a 2 MiB page over a 4 KiB one, and 4 KiB inside a 2 MiB page.
    expect(codeOf(() => space.map(0x40_0000, 0x9000, 4096, WRITE))).toBe('AlreadyExists');
    expect(codeOf(() => space.map(0x3f_e000, 0x9000, 3 * 4096, READ))).toBe('AlreadyExists');
    expect(codeOf(() => space.map(0x40_0000, 0x40_0000, M2, READ, { pageSize: M2 }))).toBe('AlreadyExists');
    expect(codeOf(() => space.map(0x70_0000, 0x9000, 4096, READ))).toBe('AlreadyExists');
    expect(codeOf(() => space.map(0, 0, G1, READ, { pageSize: G1 }))).toBe('AlreadyExists');
    expect(space.mappings()).toEqual(before);
    expect(phys.freeFrames).toBe(free);
    expect(space.tableFrameCount()).toBe(tables);
  });
});

describe('permissions and faults', () => {
  it('checks each access kind and privilege', () => {
    const { space } = setup();
    space.map(0x1000, 0x10000, 4096, READ | USER); // user read-only, NX
    space.map(0x2000, 0x11000, 4096, READ | WRITE); // kernel RW, NX
    space.map(0x3000, 0x12000, 4096, READ | EXECUTE | USER); // user RX
    space.map(0x4000, 0x13000, 4096, 0); // no access at all
    const cases: Array<[number, AccessKind, boolean, string | number]> = [
      [0x1000, R, true, 0x10000],
      [0x1000, W, true, 'permission'],
      [0x1000, X, true, 'permission'],
      [0x1000, W, false, 'permission'],
      [0x2000, R, false, 0x11000],
      [0x2000, W, false, 0x11000],
      [0x2000, R, true, 'permission'],
      [0x2000, X, false, 'permission'],
      [0x3000, X, true, 0x12000],
      [0x3000, R, true, 0x12000],
      [0x3000, W, true, 'permission'],
      [0x4000, R, false, 'permission'],
      [0x5000, R, false, 'not-present'],
      [0x4000_0000, X, false, 'not-present'],
    ];
    for (const [va, access, user, expected] of cases) {
      if (typeof expected === 'number') {
        expect(space.translate(va, access, 0, user)).toBe(expected);
      } else {
        const f = faultOf(() => space.translate(va, access, 0, user));
        expect(f.reason).toBe(expected);
        expect(f.access).toBe(access);
        expect(f.user).toBe(user);
        expect(f.address).toBe(va);
        expect(f.mapping?.pa).toBe(expected === 'permission' ? space.lookup(va)!.pa : undefined);
      }
    }
  });

  it('reports a LAZY entry as a lazy fault with its mapping', () => {
    const { space } = setup();
    space.map(0x7000, 0x21000, 4096, READ | WRITE | USER, { markers: PageMarker.LAZY });
    const f = faultOf(() => space.translate(0x7010, R, 0, true));
    expect(f.reason).toBe('lazy');
    expect(f.mapping).toMatchObject({ pa: 0x21000, present: false, markers: PageMarker.LAZY, perms: READ | WRITE | USER });
  });

  it('rejects a bad cpu or access kind', () => {
    const { space } = setup(16, 2);
    space.map(0x1000, 0x1000, 4096, READ);
    expect(codeOf(() => space.translate(0x1000, R, 2))).toBe('InvalidArgument');
    expect(codeOf(() => space.translate(0x1000, R, -1))).toBe('InvalidArgument');
    expect(codeOf(() => space.translate(0x1000, 3 as AccessKind))).toBe('InvalidArgument');
  });
});

describe('accessed and dirty bits', () => {
  it('sets A on a read and D on a write, on the leaf and A on the tables walked', () => {
    const { space } = setup();
    space.map(0x5000, 0x8000, 4096, READ | WRITE);
    expect(space.lookup(0x5000)).toMatchObject({ accessed: false, dirty: false });
    space.translate(0x5000, R);
    expect(space.lookup(0x5000)).toMatchObject({ accessed: true, dirty: false });
    const walk = space.walk(0x5000);
    for (const e of walk.slice(0, -1)) expect(e & 0x20n).toBe(0x20n);
    expect(walk[3]).toBe(0x8000000000008023n);
    space.translate(0x5008, W);
    expect(space.lookup(0x5000)).toMatchObject({ accessed: true, dirty: true });
    expect(space.walk(0x5000)[3]).toBe(0x8000000000008063n);
  });

  it('sets D even when the TLB already holds a clean translation', () => {
    const { mmu, space } = setup();
    space.map(0x5000, 0x8000, 4096, READ | WRITE);
    space.translate(0x5000, R);
    space.translate(0x5000, R);
    expect(mmu.tlbStats.hits).toBe(1);
    expect(space.translate(0x5004, W)).toBe(0x8004);
    expect(space.lookup(0x5000)!.dirty).toBe(true);
    const hits = mmu.tlbStats.hits;
    space.translate(0x5004, W);
    expect(mmu.tlbStats.hits).toBe(hits + 1);
  });

  it('keeps A and D across protect', () => {
    const { space } = setup();
    space.map(0x5000, 0x8000, 4096, READ | WRITE);
    space.translate(0x5000, W);
    space.protect(0x5000, 4096, READ);
    expect(space.lookup(0x5000)).toMatchObject({ accessed: true, dirty: true, perms: READ });
  });
});

describe('protect', () => {
  it('changes rights, keeps or replaces markers, ignores holes', () => {
    const { space } = setup();
    space.map(0x1000, 0x10000, 4096, READ | WRITE, { markers: PageMarker.COPY_ON_WRITE });
    space.map(0x3000, 0x30000, 4096, READ);
    space.protect(0x1000, 3 * 4096, READ | EXECUTE | USER);
    expect(space.lookup(0x1000)).toMatchObject({ perms: READ | EXECUTE | USER, markers: PageMarker.COPY_ON_WRITE, pa: 0x10000 });
    expect(space.lookup(0x3000)).toMatchObject({ perms: READ | EXECUTE | USER, markers: 0, pa: 0x30000 });
    expect(space.lookup(0x2000)).toBeUndefined();
    space.protect(0x1000, 4096, READ | WRITE, 0);
    expect(space.lookup(0x1000)).toMatchObject({ perms: READ | WRITE, markers: 0 });
    space.protect(0x3000, 4096, READ, PageMarker.LAZY);
    expect(space.lookup(0x3000)).toMatchObject({ present: false, markers: PageMarker.LAZY, perms: READ });
    expect(faultOf(() => space.translate(0x3000, R)).reason).toBe('lazy');
  });

  it('refuses to split a huge page', () => {
    const { space } = setup();
    space.map(0x20_0000, 0x20_0000, M2, READ | WRITE, { pageSize: M2 });
    expect(codeOf(() => space.protect(0x20_0000, 4096, READ))).toBe('InvalidArgument');
    expect(codeOf(() => space.unmap(0x30_0000, 4096))).toBe('InvalidArgument');
    expect(space.lookup(0x20_0000)).toMatchObject({ perms: READ | WRITE, size: M2 });
    space.protect(0x20_0000, M2, READ);
    expect(faultOf(() => space.translate(0x20_1000, W)).reason).toBe('permission');
  });
});

describe('unmap', () => {
  it('frees empty tables back to the baseline', () => {
    const { space, phys } = setup();
    const free = phys.freeFrames;
    space.map(0x40_0000, 0x1000, 4096, READ);
    space.map(0x100_0000_0000, 0x2000, 4096, READ); // PML4 slot 2: 3 more tables
    space.map(0xffff_8000_0000_0000n, 0x20_0000, M2, READ, { pageSize: M2 });
    expect(space.tableFrameCount()).toBe(1 + 3 + 3 + 2);
    expect(phys.freeFrames).toBe(free - 8);
    space.unmap(0x40_0000, 4096);
    expect(space.tableFrameCount()).toBe(1 + 3 + 2);
    space.unmap(0, 0x100_0000_0000 + 4096); // holes are ignored
    space.unmap(0xffff_8000_0000_0000n, M2);
    expect(space.tableFrameCount()).toBe(1);
    expect(phys.freeFrames).toBe(free);
    expect(space.mappings()).toEqual([]);
    expect(space.walk(0x40_0000)).toEqual([0n]);
  });

  it('keeps a table that still holds other pages', () => {
    const { space } = setup();
    space.map(0x1000, 0x1000, 2 * 4096, READ);
    space.unmap(0x1000, 4096);
    expect(space.tableFrameCount()).toBe(4);
    expect(space.translate(0x2000, R)).toBe(0x2000);
  });

  it('destroy frees every table but never the mapped frames', () => {
    const phys = PhysicalMemory.create({ frames: 32 });
    const mmu = x86_64.createMmu(phys);
    const base = phys.freeFrames;
    const space = mmu.createAddressSpace();
    const frame = phys.allocFrame();
    space.map(0x1000, frame * 4096, 4096, READ);
    space.map(0x7f_0000_0000, frame * 4096, 4096, READ);
    space.destroy();
    expect(phys.freeFrames).toBe(base - 1);
    phys.freeFrame(frame);
    expect(phys.freeFrames).toBe(base);
  });
});

describe('out of memory', () => {
  function tight(spare: number) {
    // frame 0 reserved, 3 shared state (header, reclaimer slots and limbo), 1 root: leave exactly `spare` free frames.
    const phys = PhysicalMemory.create({ frames: 5 + spare });
    const mmu = x86_64.createMmu(phys);
    const space = mmu.createAddressSpace();
    expect(phys.freeFrames).toBe(spare);
    return { phys, mmu, space };
  }

  it('rolls a map back when a table cannot be allocated mid-walk', () => {
    const { phys, space } = tight(2);
    const walkBefore = space.walk(0x1000);
    expect(codeOf(() => space.map(0x1000, 0x5000, 4096, READ))).toBe('OutOfMemory');
    expect(phys.freeFrames).toBe(2);
    expect(space.tableFrameCount()).toBe(1);
    expect(space.walk(0x1000)).toEqual(walkBefore);
    expect(space.mappings()).toEqual([]);
  });

  it('rolls back a range that needs tables in two subtrees, keeping existing ones', () => {
    const { phys, space } = tight(5);
    space.map(0x1000, 0x5000, 4096, READ); // PDPT + PD + PT
    expect(phys.freeFrames).toBe(2);
    const before = space.mappings();
    // 0x3f_f000..0x60_1000 needs three new PTs (PD slots 1, 2, 3): two are allocated, the third fails.
    expect(codeOf(() => space.map(0x3f_f000, 0x9000, 2 * 4096 + M2, READ))).toBe('OutOfMemory');
    expect(phys.freeFrames).toBe(2);
    expect(space.tableFrameCount()).toBe(4);
    expect(space.mappings()).toEqual(before);
    // With the frame it needs, the same range maps.
    space.map(0x3f_f000, 0x9000, 2 * 4096, READ);
    expect(space.translate(0x40_0000, R)).toBe(0xa000);
  });

  it('reports OutOfMemory for a new address space and leaks no PCID', () => {
    const { mmu, phys, space } = tight(1);
    const held = phys.allocFrame();
    expect(codeOf(() => mmu.createAddressSpace())).toBe('OutOfMemory');
    expect(phys.freeFrames).toBe(0);
    phys.freeFrame(held);
    expect(mmu.createAddressSpace().asid).toBe(space.asid + 1);
  });
});
