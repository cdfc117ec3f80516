import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AccessKind, IpcError, PageFault, PageMarker, PagePerm, PhysicalMemory, type AddressSpace } from '@veridian/core';
import { PteBit, Riscv64PageFault, createRiscv64Mmu, decodeEntry, riscv64, type Riscv64MmuOptions } from '../src/index.ts';

const { READ: R, WRITE: W, EXECUTE: X, USER: U } = PagePerm;
const PAGE = 4096;

function setup(options: Riscv64MmuOptions = {}, frames = 128) {
  const phys = PhysicalMemory.create({ frames });
  const mmu = createRiscv64Mmu(phys, options);
  return { phys, mmu, space: mmu.createAddressSpace() };
}

function faultOf(fn: () => unknown): Riscv64PageFault {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Riscv64PageFault);
    return e as Riscv64PageFault;
  }
  return expect.fail('expected a page fault');
}

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IpcError);
    return (e as IpcError).code;
  }
  return 'none';
};

/** Uint32 index of the leaf entry of `va` (walking the tables as the hardware does). */
function leafIndex(phys: PhysicalMemory, space: AddressSpace, va: number, levels = 3): number {
  let table = space.root;
  for (let level = levels - 1; level >= 0; level--) {
    const idx = Math.floor(va / 2 ** (12 + 9 * level)) % 512;
    const w = (phys.physOffset(table) >> 2) + 2 * idx;
    const e = decodeEntry((BigInt(phys.u32[w + 1]!) << 32n) | BigInt(phys.u32[w]!));
    if (!e.v || e.r || e.w || e.x) return w;
    table = e.ppn * PAGE;
  }
  throw new Error('no leaf');
}

describe('RV64 access rights (privileged spec §4.3.1, sstatus.SUM / MXR)', () => {
  const accesses = [AccessKind.Read, AccessKind.Write, AccessKind.Execute] as const;
  const expected = (perms: number, access: number, user: boolean, sum: boolean, mxr: boolean): boolean => {
    const p = perms & W ? perms | R : perms;
    const right = access === AccessKind.Execute ? !!(p & X) : access === AccessKind.Write ? !!(p & W) : !!(p & R) || (mxr && !!(p & X));
    if (!right) return false;
    if (user) return !!(p & U);
    if (access === AccessKind.Execute) return !(p & U);
    return !(p & U) || sum;
  };

  it('every rights × access × mode × SUM × MXR combination is allowed exactly as the spec says, with scause 12/13/15 otherwise', () => {
    for (const sum of [false, true]) {
      for (const mxr of [false, true]) {
        const { space } = setup({ sum, mxr });
        for (let perms = 0; perms < 16; perms++) {
          const va = 0x10_0000 + perms * PAGE;
          space.map(va, 0x4000 + perms * PAGE, PAGE, perms);
          for (const access of accesses) {
            for (const user of [false, true]) {
              const ok = expected(perms, access, user, sum, mxr);
              const what = `perms ${perms} access ${access} user ${user} sum ${sum} mxr ${mxr}`;
              if (ok) expect(space.translate(va + 5, access, 0, user), what).toBe(0x4000 + perms * PAGE + 5);
              else {
                const f = faultOf(() => space.translate(va + 5, access, 0, user));
                expect(f.reason, what).toBe('permission');
                expect(f.scause).toBe(access === AccessKind.Execute ? 12 : access === AccessKind.Write ? 15 : 13);
                expect(f.stval).toBe(BigInt(va + 5));
              }
            }
          }
        }
      }
    }
  });
});

describe('RV64 page walk', () => {
  it('reserved bits 63:54, W without R and a misaligned megapage fault with reason reserved-bit', () => {
    const { phys, space } = setup();
    space.map(0x40_0000, 0x5000, PAGE, R | W | U);
    const w = leafIndex(phys, space, 0x40_0000);
    const [lo, hi] = [phys.u32[w]!, phys.u32[w + 1]!];
    for (const bit of [54, 60, 61, 62, 63]) {
      phys.u32[w + 1] = hi | (1 << (bit - 32));
      expect(faultOf(() => space.translate(0x40_0000, AccessKind.Read, 0, true)).reason, `bit ${bit}`).toBe('reserved-bit');
      phys.u32[w + 1] = hi;
    }
    phys.u32[w] = (lo & ~PteBit.R) >>> 0;
    expect(faultOf(() => space.translate(0x40_0000, AccessKind.Read, 0, true)).reason, 'W without R').toBe('reserved-bit');
    phys.u32[w] = lo;
    expect(space.translate(0x40_0000, AccessKind.Read, 0, true)).toBe(0x5000);

    space.map(0x4000_0000, 0x20_0000, 2 << 20, R | U, { pageSize: 2 << 20 });
    const m = leafIndex(phys, space, 0x4000_0000);
    phys.u32[m] = (phys.u32[m]! + (1 << 10)) >>> 0; // PPN[0] = 1: not 2 MiB-aligned
    const f = faultOf(() => space.translate(0x4000_0000, AccessKind.Read, 0, true));
    expect([f.reason, f.level]).toEqual(['reserved-bit', 1]);
  });

  it('sets A on any access and D on a store in the leaf, atomically, and the TLB does not hide a later store', () => {
    const { space } = setup();
    space.map(0x40_0000, 0x5000, PAGE, R | W | U);
    const leaf = () => decodeEntry(space.walk(0x40_0000).at(-1)!);
    expect([leaf().a, leaf().d]).toEqual([false, false]);
    space.translate(0x40_0000, AccessKind.Read, 0, true);
    expect([leaf().a, leaf().d]).toEqual([true, false]);
    space.translate(0x40_0008, AccessKind.Write, 0, true);
    expect([leaf().a, leaf().d]).toEqual([true, true]);
  });

  it('a lazy entry faults lazy, a handler can install it, and the translation is retried once', () => {
    const { mmu, space } = setup();
    space.map(0x40_0000, 0x7000, PAGE, R | W | U, { markers: PageMarker.LAZY });
    expect(space.lookup(0x40_0000)).toMatchObject({ present: false, markers: PageMarker.LAZY, pa: 0x7000 });
    expect(faultOf(() => space.translate(0x40_0000, AccessKind.Read, 0, true)).reason).toBe('lazy');
    let calls = 0;
    const off = mmu.onFault((fault, s) => {
      calls++;
      if (fault.reason !== 'lazy') return false;
      s.protect(0x40_0000, PAGE, R | W | U, 0);
      return true;
    });
    expect(space.translate(0x40_0010, AccessKind.Write, 0, true)).toBe(0x7010);
    expect(calls).toBe(1);
    off();
    space.protect(0x40_0000, PAGE, R | U, PageMarker.LAZY);
    expect(faultOf(() => space.translate(0x40_0000, AccessKind.Read, 0, true)).reason).toBe('lazy');
  });

  it('splits the address like the hardware and rejects non-canonical addresses', () => {
    const { mmu } = setup();
    expect(mmu.splitAddress(0x40201abc)).toEqual({ indices: [1, 1, 1], offset: 0xabc });
    expect(() => mmu.splitAddress(1n << 38n)).toThrow(PageFault);
    const sv48 = setup({ mode: 'sv48' }).mmu;
    expect(sv48.splitAddress(0x8040201abc)).toEqual({ indices: [1, 1, 1, 1], offset: 0xabc });
    expect(sv48.splitAddress(1n << 38n).indices).toEqual([0, 256, 0, 0]);
  });

  it('any random set of 4 KiB mappings translates exactly, and unmapping all frees every table', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat({ max: 2 ** 26 - 1 }), { minLength: 1, maxLength: 12 }), (vpns) => {
        const { phys, space } = setup({}, 256);
        const free = phys.freeFrames;
        vpns.forEach((vpn, i) => space.map(vpn * PAGE, (i + 1) * PAGE, PAGE, R | U));
        vpns.forEach((vpn, i) => expect(space.translate(vpn * PAGE + 7, AccessKind.Read, 0, true)).toBe((i + 1) * PAGE + 7));
        expect(space.mappings().map((m) => Number(m.va) / PAGE)).toEqual([...vpns].sort((a, b) => a - b));
        for (const vpn of vpns) space.unmap(vpn * PAGE, PAGE);
        expect(phys.freeFrames).toBe(free);
        expect(space.tableFrameCount()).toBe(1);
      }),
      { numRuns: 30 },
    );
  });
});

describe('RV64 TLB and shootdown', () => {
  it('caches translations until sfence.vma; an ASID fence keeps global entries, rs2 = x0 drops them', () => {
    const { phys, mmu, space } = setup();
    // 0x40_0000 and 0x50_1000 use different slots of the 64-entry direct-mapped TLB.
    space.map(0x40_0000, 0x5000, PAGE, R | U);
    space.map(0x50_1000, 0x6000, PAGE, R, { global: true });
    space.translate(0x40_0000, AccessKind.Read, 0, true);
    space.translate(0x50_1000, AccessKind.Read, 0, false);
    // Kernel code rewrites the entries without a fence: the TLB still holds them.
    for (const va of [0x40_0000, 0x50_1000]) {
      const w = leafIndex(phys, space, va);
      phys.u32[w] = 0;
      phys.u32[w + 1] = 0;
    }
    expect(space.translate(0x40_0000, AccessKind.Read, 0, true)).toBe(0x5000);
    mmu.sfenceVma(0, 0x40_0000, space.asid);
    expect(faultOf(() => space.translate(0x40_0000, AccessKind.Read, 0, true)).reason).toBe('not-present');
    mmu.sfenceVma(0, undefined, space.asid);
    expect(space.translate(0x50_1000, AccessKind.Read, 0, false), 'global entry survives an ASID fence').toBe(0x6000);
    mmu.sfenceVma(0);
    expect(faultOf(() => space.translate(0x50_1000, AccessKind.Read, 0, false)).reason).toBe('not-present');
  });

  it('an unmap or protect on one instance reaches the TLBs of another attached to the same state', () => {
    const phys = PhysicalMemory.create({ frames: 128 });
    const a = riscv64.createMmu(phys, { cpus: 2 });
    const b = riscv64.createMmu(phys, { cpus: 2, sharedState: a.sharedState });
    const sa = a.createAddressSpace();
    const sb = b.attachAddressSpace(sa.root, sa.asid);
    sa.map(0x40_0000, 0x5000, 2 * PAGE, R | W | U);
    for (const cpu of [0, 1]) expect(sb.translate(0x40_0000, AccessKind.Write, cpu, true)).toBe(0x5000);
    const hits = b.tlbStats.hits;
    expect(sb.translate(0x40_0001, AccessKind.Write, 1, true)).toBe(0x5001);
    expect(b.tlbStats.hits).toBe(hits + 1);
    sa.protect(0x40_0000, PAGE, R | U);
    for (const cpu of [0, 1]) expect(faultOf(() => sb.translate(0x40_0000, AccessKind.Write, cpu, true)).reason).toBe('permission');
    sa.unmap(0x40_0000, 2 * PAGE);
    for (const cpu of [0, 1]) expect(faultOf(() => sb.translate(0x40_1000, AccessKind.Read, cpu, true)).reason).toBe('not-present');
    expect(codeOf(() => b.attachAddressSpace(sa.root, sa.asid + 1))).toBe('InvalidArgument');
    expect(codeOf(() => createRiscv64Mmu(phys, { mode: 'sv48', sharedState: a.sharedState })), 'an Sv48 MMU does not attach to Sv39 state').toBe('InvalidArgument');
  });

  it('ASIDLEN bounds the number of live spaces, and a destroyed space gives its ASID and frames back', () => {
    const { phys, mmu, space } = setup({ asidBits: 2 });
    const more = [mmu.createAddressSpace(), mmu.createAddressSpace()];
    expect([space.asid, ...more.map((s) => s.asid)]).toEqual([1, 2, 3]);
    expect(codeOf(() => mmu.createAddressSpace())).toBe('OutOfMemory');
    const free = phys.freeFrames;
    more[0]!.map(0x40_0000, 0x5000, PAGE, R | U);
    more[0]!.translate(0x40_0000, AccessKind.Read);
    more[0]!.destroy();
    expect(phys.freeFrames).toBe(free + 1);
    const again = mmu.createAddressSpace();
    expect(again.asid).toBe(2);
    expect(faultOf(() => again.translate(0x40_0000, AccessKind.Read)).reason, 'no stale entry of the old ASID').toBe('not-present');
  });

  it('dumps merged runs under User Space and Kernel Space headings', () => {
    const { space } = setup();
    space.map(0x40_0000, 0x5000, 2 * PAGE, R | W | U);
    space.map(0xffff_ffc0_0000_0000n, 0x20_0000, 2 << 20, R | X, { pageSize: 2 << 20, global: true });
    expect(space.dump()).toBe(
      [
        '---[ User Space ]---',
        '0x0000000000400000-0x0000000000402000         8K  RW USR     NX          pte',
        '---[ Kernel Space ]---',
        '0xffffffc000000000-0xffffffc000200000         2M  ro     GLB x           pmd',
        '',
      ].join('\n'),
    );
  });
});
