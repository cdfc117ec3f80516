import { describe, expect, it } from 'vitest';
import { AccessKind, IpcError, PagePerm, PhysicalMemory } from '@veridian/core';
import { PfError, X86PageFault, entryFromBigInt, isCanonical, createX86Mmu, type X86AddressSpace, type X86Mmu } from '../src/index.js';

const RWU = PagePerm.READ | PagePerm.WRITE | PagePerm.USER;
const M2 = 2 << 20;
const G1 = 1 << 30;

function setup(maxPhysAddr?: number): { phys: PhysicalMemory; mmu: X86Mmu; space: X86AddressSpace } {
  const phys = PhysicalMemory.create({ frames: 32 });
  const mmu = createX86Mmu(phys, maxPhysAddr === undefined ? {} : ({ maxPhysAddr }));
  return { phys, mmu, space: mmu.createAddressSpace() };
}

function faultOf(fn: () => unknown): X86PageFault {
  try {
    fn();
  } catch (e) {
    if (e instanceof X86PageFault) return e;
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

function expectReserved(space: X86AddressSpace, va: number, level: number, what: string): void {
  const before = space.walk(va);
  for (const [access, user] of [
    [AccessKind.Read, true],
    [AccessKind.Write, false],
    [AccessKind.Execute, false],
  ] as const) {
    const f = faultOf(() => space.translate(va + 4, access, 0, user));
    expect(f.reason, what).toBe('reserved-bit');
    expect(f.errorCode & (PfError.PRESENT | PfError.RESERVED), what).toBe(PfError.PRESENT | PfError.RESERVED);
    expect(!!(f.errorCode & PfError.WRITE)).toBe(access === AccessKind.Write);
    expect(!!(f.errorCode & PfError.INSTRUCTION)).toBe(access === AccessKind.Execute);
    expect(f.level, what).toBe(level);
  }
  expect(space.walk(va), `${what}: a faulting walk sets no A bit`).toEqual(before);
}

describe('reserved bits (SDM §4.5: a reserved bit in a present entry is a #PF with RSVD)', () => {
  it('PS in a PML4E', () => {
    const { space } = setup();
    space.map(0x40_0000, 0x5000, 4096, RWU);
    space.writeEntry(0x40_0000, 3, space.readEntry(0x40_0000, 3)! | 0x80n);
    expectReserved(space, 0x40_0000, 3, 'PML4E.PS');
    // The structure ignores it: the page is still listed, and clearing it restores the walk.
    expect(space.lookup(0x40_0000)).toMatchObject({ pa: 0x5000 });
    space.writeEntry(0x40_0000, 3, space.readEntry(0x40_0000, 3)! & ~0x80n);
    expect(space.translate(0x40_0004, AccessKind.Read, 0, true)).toBe(0x5004);
  });

  it('bits 20:13 of a 2 MiB PDE and 29:13 of a 1 GiB PDPTE; bit 12 (PAT) and the address bits above are not reserved', () => {
    const { space } = setup();
    space.map(M2, 4 * M2, M2, RWU, { pageSize: M2 });
    space.map(G1, G1, G1, RWU, { pageSize: G1 });
    const pde = space.readEntry(M2, 1)!;
    const pdpte = space.readEntry(G1, 2)!;
    for (const bit of [13, 16, 20]) {
      space.writeEntry(M2, 1, pde | (1n << BigInt(bit)));
      expectReserved(space, M2, 1, `PDE bit ${bit}`);
    }
    for (const bit of [13, 21, 29]) {
      space.writeEntry(G1, 2, pdpte | (1n << BigInt(bit)));
      expectReserved(space, G1, 2, `PDPTE bit ${bit}`);
    }
    space.writeEntry(M2, 1, pde | (1n << 12n));
    expect(space.translate(M2 + 4, AccessKind.Read, 0, true)).toBe(4 * M2 + 4);
    space.writeEntry(M2, 1, pde | (1n << 21n));
    expect(space.translate(M2 + 4, AccessKind.Read, 0, true)).toBe(5 * M2 + 4);
    space.writeEntry(G1, 2, pdpte | (1n << 12n));
    expect(space.translate(G1 + 4, AccessKind.Read, 0, true)).toBe(G1 + 4);
  });

  it('address bits at or above MAXPHYADDR, in a leaf and in a table entry; ignored bits 52–58 are not reserved', () => {
    const { phys, space } = setup(40);
    expect(codeOf(() => space.map(0x40_0000, 2 ** 40, 4096, RWU))).toBe('InvalidArgument');
    space.map(0x40_0000, 2 ** 40 - 4096, 4096, RWU);
    expect(space.translate(0x40_0000, AccessKind.Read, 0, true)).toBe(2 ** 40 - 4096);
    const pte = space.readEntry(0x40_0000, 0)!;
    for (const bit of [40, 45, 51]) {
      space.writeEntry(0x40_0000, 0, pte | (1n << BigInt(bit)));
      expectReserved(space, 0x40_0000, 0, `PTE address bit ${bit}`);
    }
    for (const bit of [52, 55, 58]) {
      space.writeEntry(0x40_0000, 0, pte | (1n << BigInt(bit)));
      expect(space.translate(0x40_0008, AccessKind.Read, 0, true), `ignored bit ${bit}`).toBe(2 ** 40 - 4096 + 8);
    }
    space.writeEntry(0x40_0000, 0, pte);
    // A table pointer with bit 41 set, written into machine memory directly: the walk must fault, not follow it.
    const w = (phys.physOffset(space.root) >> 2) + 0;
    const saved = phys.u32[w + 1]!;
    phys.u32[w + 1] = saved | (1 << 9);
    expectReserved(space, 0x40_0000, 3, 'PML4E address bit 41');
    phys.u32[w + 1] = saved;
    expect(space.translate(0x40_0000, AccessKind.Read, 0, true)).toBe(2 ** 40 - 4096);
  });

  it('reserved bits in a not-present entry are ignored (not-present wins)', () => {
    const { space } = setup();
    space.map(M2, 4 * M2, M2, RWU, { pageSize: M2 });
    space.writeEntry(M2, 1, (space.readEntry(M2, 1)! | (1n << 13n)) & ~1n);
    const f = faultOf(() => space.translate(M2, AccessKind.Read, 0, true));
    expect(f.reason).toBe('permission'); // a no-rights kernel marker entry, P = 0 in hardware terms
    expect(f.errorCode & PfError.PRESENT).toBe(0);
  });

  it('writeEntry refuses structure changes', () => {
    const { space } = setup();
    space.map(0x40_0000, 0x5000, 4096, RWU);
    const pde = space.readEntry(0x40_0000, 1)!;
    expect(codeOf(() => space.writeEntry(0x40_0000, 1, pde ^ 0x1000n))).toBe('InvalidArgument');
    expect(codeOf(() => space.writeEntry(0x40_0000, 1, pde | 0x80n))).toBe('InvalidArgument');
    expect(codeOf(() => space.writeEntry(0x8000_0000_0000 - 4096, 3, 0x1003n))).toBe('InvalidArgument');
    expect(codeOf(() => space.writeEntry(0x40_0000 + M2, 1, 0x3000n | 1n))).toBe('InvalidArgument');
    expect(codeOf(() => space.setTableFlags(0x40_0000, 0, 7n))).toBe('InvalidArgument');
    expect(codeOf(() => space.setTableFlags(0x40_0000, 1, 0x87n))).toBe('InvalidArgument');
    expect(space.readEntry(0x40_0000, 1)).toBe(pde);
  });
});

describe('fault information: error code, CR2, vector', () => {
  it('tells a non-present fault from a protection fault', () => {
    const { space } = setup();
    space.map(0x40_0000, 0x5000, 4096, PagePerm.READ | PagePerm.USER);
    const np = faultOf(() => space.translate(0x40_1000, AccessKind.Write, 0, true));
    const prot = faultOf(() => space.translate(0x40_0010, AccessKind.Write, 0, true));
    expect(np.errorCode).toBe(PfError.WRITE | PfError.USER);
    expect(prot.errorCode).toBe(PfError.PRESENT | PfError.WRITE | PfError.USER);
    expect(np.cr2).toBe(0x40_1000n);
    expect(prot.cr2).toBe(0x40_0010n);
    expect(np.level).toBe(0);
  });

  it('reports CR2 of an upper-half address as its 64-bit value, and a missing PML4E at level 3', () => {
    const { space } = setup();
    const f = faultOf(() => space.translate(0xffff_8000_1234_5678n, AccessKind.Read, 0, false));
    expect(f.cr2).toBe(0xffff_8000_1234_5678n);
    expect(f.level).toBe(3);
    expect(f.errorCode).toBe(0);
  });

  it('a non-canonical address is a #GP (vector 13), not a #PF; isCanonical tells beforehand', () => {
    const { mmu, space } = setup();
    for (const va of [0x8000_0000_0000n, 0xffff_7fff_ffff_ffffn, 1n << 63n]) {
      expect(isCanonical(va)).toBe(false);
      const f = faultOf(() => space.translate(va, AccessKind.Read));
      expect(f.vector).toBe(13);
      expect(f.reason).toBe('invalid-address');
      expect(faultOf(() => mmu.splitAddress(va)).vector).toBe(13);
    }
    for (const va of [0, 0x7fff_ffff_ffff, 0xffff_8000_0000_0000n, 0xffff_ffff_ffff_ffffn]) expect(isCanonical(va)).toBe(true);
    expect(isCanonical(-1)).toBe(false);
    expect(isCanonical(2 ** 47)).toBe(false);
  });
});

describe('A and D on paging-structure entries', () => {
  it('a successful walk sets A in every entry it used; table D is the caller’s, kept as set', () => {
    const { space } = setup();
    space.map(0x40_0000, 0x5000, 4096, RWU);
    space.map(0x7f00_0000_0000, 0x6000, 4096, RWU, { tableFlags: 0x47n });
    for (const l of [3, 2, 1]) expect(space.readEntry(0x40_0000, l)! & 0x60n).toBe(0n);
    space.translate(0x40_0000, AccessKind.Read, 0, true);
    for (const l of [3, 2, 1]) expect(space.readEntry(0x40_0000, l)! & 0x60n, `level ${l}`).toBe(0x20n);
    expect(space.readEntry(0x40_0000, 0)! & 0x60n).toBe(0x20n);
    space.translate(0x7f00_0000_0000, AccessKind.Write, 0, true);
    for (const l of [3, 2, 1]) expect(space.readEntry(0x7f00_0000_0000, l)! & 0x67n, `level ${l}`).toBe(0x67n);
    const [lo] = entryFromBigInt(space.readEntry(0x7f00_0000_0000, 0)!);
    expect(lo & 0x60).toBe(0x60);
  });

  it('a faulting walk sets no A bit anywhere', () => {
    const { space } = setup();
    space.map(0x40_0000, 0x5000, 4096, PagePerm.READ);
    const before = space.walk(0x40_0000);
    faultOf(() => space.translate(0x40_0000, AccessKind.Read, 0, true));
    faultOf(() => space.translate(0x40_0000, AccessKind.Write, 0, false));
    expect(space.walk(0x40_0000)).toEqual(before);
  });

  it('tableFlags must include P and stay inside TABLE_FLAG_MASK', () => {
    const { space } = setup();
    expect(codeOf(() => space.map(0x40_0000, 0x5000, 4096, RWU, { tableFlags: 0x66n }))).toBe('InvalidArgument');
    expect(codeOf(() => space.map(0x40_0000, 0x5000, 4096, RWU, { tableFlags: 0x187n }))).toBe('InvalidArgument');
    expect(space.mappings()).toEqual([]);
  });
});
