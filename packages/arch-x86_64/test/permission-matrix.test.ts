import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AccessKind, PagePerm, PhysicalMemory } from '@veridian/core';
import { PfError, X86PageFault, createX86Mmu, type X86AddressSpace } from '../src/index.js';

// The access-rights rules of Intel SDM vol. 3A §4.6.1, written out independently of the
// walker: a translation is a user-mode address only if U/S = 1 in every entry, writable only
// if R/W = 1 in every entry, executable only if XD = 0 in every entry. Supervisor reads
// always succeed (SMAP off), supervisor writes need R/W everywhere when CR0.WP = 1, and
// supervisor fetches need XD clear everywhere (SMEP off).

interface Controls {
  rw: boolean;
  us: boolean;
  xd: boolean;
}

const KINDS = [
  { name: 'kernel read', access: AccessKind.Read, user: false },
  { name: 'kernel write', access: AccessKind.Write, user: false },
  { name: 'kernel execute', access: AccessKind.Execute, user: false },
  { name: 'user read', access: AccessKind.Read, user: true },
  { name: 'user write', access: AccessKind.Write, user: true },
  { name: 'user execute', access: AccessKind.Execute, user: true },
] as const;

/** The SDM's verdict for one access: allowed or not. */
function allowed(path: Controls[], access: AccessKind, user: boolean, wp: boolean): boolean {
  const userAddr = path.every((c) => c.us);
  const writable = path.every((c) => c.rw);
  const exec = path.every((c) => !c.xd);
  if (access === AccessKind.Execute) return exec && (!user || userAddr);
  if (access === AccessKind.Write) return user ? userAddr && writable : !wp || writable;
  return !user || userAddr;
}

function tableFlags(c: Controls): bigint {
  return 1n | (c.rw ? 2n : 0n) | (c.us ? 4n : 0n) | (c.xd ? 1n << 63n : 0n);
}

function leafPerms(c: Controls): number {
  return PagePerm.READ | (c.rw ? PagePerm.WRITE : 0) | (c.us ? PagePerm.USER : 0) | (c.xd ? 0 : PagePerm.EXECUTE);
}

function outcome(space: X86AddressSpace, va: number, access: AccessKind, user: boolean): number | X86PageFault {
  try {
    return space.translate(va, access, 0, user);
  } catch (e) {
    if (e instanceof X86PageFault) return e;
    throw e;
  }
}

const ALL: Controls[] = [];
for (let i = 0; i < 8; i++) ALL.push({ rw: (i & 1) !== 0, us: (i & 2) !== 0, xd: (i & 4) !== 0 });
const LEVEL_NAMES = ['PTE', 'PDE', 'PDPTE', 'PML4E'];

function check(space: X86AddressSpace, va: number, pa: number, path: Controls[], wp: boolean, label: string, leafLevel = 0): void {
  for (const k of KINDS) {
    // Twice: the second access may be served by the TLB and must agree.
    for (const round of [0, 1]) {
      const r = outcome(space, va + 0x40, k.access, k.user);
      const what = `${label}, ${k.name}, round ${round}`;
      if (allowed(path, k.access, k.user, wp)) {
        expect(r, what).toBe(pa + 0x40);
      } else {
        expect(r, what).toBeInstanceOf(X86PageFault);
        const f = r as X86PageFault;
        expect(f.reason, what).toBe('permission');
        const code = PfError.PRESENT | (k.access === AccessKind.Write ? PfError.WRITE : 0) | (k.user ? PfError.USER : 0) | (k.access === AccessKind.Execute ? PfError.INSTRUCTION : 0);
        expect(f.errorCode, what).toBe(code);
        expect(f.cr2, what).toBe(BigInt(va + 0x40));
        expect(f.level, what).toBe(leafLevel);
      }
    }
  }
}

describe('permission matrix: upper-level × leaf controls × every access kind', () => {
  for (const wp of [true, false]) {
    for (const level of [3, 2, 1]) {
      it(`${LEVEL_NAMES[level]} controls combine with the PTE (CR0.WP = ${wp ? 1 : 0})`, () => {
        const mmu = createX86Mmu(PhysicalMemory.create({ frames: 32 }), { writeProtect: wp });
        const space = mmu.createAddressSpace();
        const va = 0x40_0000;
        const pa = 0x9000;
        for (const upper of ALL) {
          for (const leaf of ALL) {
            space.map(va, pa, 4096, leafPerms(leaf));
            space.setTableFlags(va, level, tableFlags(upper));
            check(space, va, pa, [upper, leaf], wp, `upper ${JSON.stringify(upper)} leaf ${JSON.stringify(leaf)}`);
            space.unmap(va, 4096);
            // unmap freed the emptied tables: the next map starts from default table entries.
            expect(space.readEntry(va, level) ?? 0n).toBe(0n);
          }
        }
      });
    }
  }

  it('a 2 MiB and a 1 GiB page are limited by the entries above them', () => {
    const space = (createX86Mmu(PhysicalMemory.create({ frames: 32 }))).createAddressSpace();
    space.map(0x20_0000, 0x40_0000, 2 << 20, PagePerm.READ | PagePerm.WRITE | PagePerm.EXECUTE | PagePerm.USER, { pageSize: 2 << 20 });
    space.map(0x8000_0000, 0x4000_0000, 1 << 30, PagePerm.READ | PagePerm.WRITE | PagePerm.EXECUTE | PagePerm.USER, { pageSize: 1 << 30 });
    const rx: Controls = { rw: false, us: true, xd: false };
    const kernelOnly: Controls = { rw: true, us: false, xd: false };
    const leaf: Controls = { rw: true, us: true, xd: false };
    space.setTableFlags(0x20_0000, 2, tableFlags(rx));
    check(space, 0x20_0000, 0x40_0000, [rx, leaf], true, '2 MiB under a read-only PDPTE', 1);
    space.setTableFlags(0x8000_0000, 3, tableFlags(kernelOnly));
    check(space, 0x8000_0000, 0x4000_0000, [kernelOnly, leaf], true, '1 GiB under a kernel PML4E (the read-only PDPTE is not on its path)', 2);
    check(space, 0x20_0000, 0x40_0000, [kernelOnly, rx, leaf], true, '2 MiB under the kernel PML4E and the read-only PDPTE', 1);
  });

  it('a non-present entry at any level faults not-present with P clear and the level it stopped at', () => {
    const space = (createX86Mmu(PhysicalMemory.create({ frames: 32 }))).createAddressSpace();
    const va = 0x40_0000;
    space.map(va, 0x9000, 4096, PagePerm.READ | PagePerm.WRITE | PagePerm.USER);
    expect(space.translate(va, AccessKind.Write, 0, true)).toBe(0x9000);
    for (const level of [3, 2, 1]) {
      space.setTableFlags(va, level, 0x6n);
      for (const k of KINDS) {
        const f = outcome(space, va, k.access, k.user) as X86PageFault;
        expect(f, `${LEVEL_NAMES[level]} not present, ${k.name}`).toBeInstanceOf(X86PageFault);
        expect(f.reason).toBe('not-present');
        expect(f.errorCode & PfError.PRESENT).toBe(0);
        expect(f.level).toBe(level);
      }
      // The tables still record the page: restoring P brings it back, nothing was lost.
      expect(space.lookup(va)).toMatchObject({ pa: 0x9000 });
      space.setTableFlags(va, level, 0x7n);
      expect(space.translate(va, AccessKind.Write, 0, true)).toBe(0x9000);
    }
  });

  it('matches the SDM rules for random paths, page sizes and accesses (property)', () => {
    const controls = fc.record({ rw: fc.boolean(), us: fc.boolean(), xd: fc.boolean() });
    fc.assert(
      fc.property(fc.array(controls, { minLength: 3, maxLength: 3 }), controls, fc.constantFrom(0, 1, 2), fc.constantFrom(...KINDS), fc.boolean(), (uppers, leaf, leafLevel, k, wp) => {
        const space = (createX86Mmu(PhysicalMemory.create({ frames: 16 }), { writeProtect: wp })).createAddressSpace();
        const size = [4096, 2 << 20, 1 << 30][leafLevel]!;
        const va = 4 * (1 << 30);
        space.map(va, size, size, leafPerms(leaf), { pageSize: size });
        // Only the levels above the leaf are paging-structure entries.
        const path: Controls[] = [leaf];
        for (let level = 3; level > leafLevel; level--) {
          space.setTableFlags(va, level, tableFlags(uppers[3 - level]!));
          path.push(uppers[3 - level]!);
        }
        const r = outcome(space, va + 8, k.access, k.user);
        if (allowed(path, k.access, k.user, wp)) expect(r).toBe(size + 8);
        else expect((r as X86PageFault).reason).toBe('permission');
      }),
      { numRuns: 300 },
    );
  });
});
