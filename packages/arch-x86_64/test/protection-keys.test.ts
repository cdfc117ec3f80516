import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AccessKind, IpcError, PagePerm, PhysicalMemory } from '@veridian/core';
import { PfError, X86PageFault, makePkru, pkruBits, createX86Mmu, type X86AddressSpace, type X86Mmu } from '../src/index.js';

const RWXU = PagePerm.READ | PagePerm.WRITE | PagePerm.EXECUTE | PagePerm.USER;
const VA = 0x40_0000;

function setup(writeProtect = true, cpus = 1): { mmu: X86Mmu; space: X86AddressSpace } {
  const mmu = createX86Mmu(PhysicalMemory.create({ frames: 32 }), { cpus, writeProtect });
  return { mmu, space: mmu.createAddressSpace() };
}

function result(space: X86AddressSpace, access: AccessKind, user: boolean, cpu = 0): number | X86PageFault {
  try {
    return space.translate(VA + 0x20, access, cpu, user);
  } catch (e) {
    if (e instanceof X86PageFault) return e;
    throw e;
  }
}

/** SDM §4.6.2, written out: AD blocks data accesses to user pages; WD blocks user writes, and supervisor writes when CR0.WP = 1. */
function pkAllows(pkru: number, key: number, access: AccessKind, user: boolean, wp: boolean): boolean {
  if (access === AccessKind.Execute) return true;
  const ad = (pkru >>> (2 * key)) & 1;
  const wd = (pkru >>> (2 * key + 1)) & 1;
  if (ad) return false;
  return !(access === AccessKind.Write && wd && (user || wp));
}

describe('protection keys (bits 62:59) and PKRU', () => {
  it('stores the key in bits 62:59 and keeps it across protect; setProtectionKey changes it', () => {
    const { space } = setup();
    space.map(VA, 0x5000, 4096, RWXU, { protectionKey: 9 });
    expect((space.readEntry(VA, 0)! >> 59n) & 0xfn).toBe(9n);
    space.protect(VA, 4096, PagePerm.READ | PagePerm.USER);
    expect((space.readEntry(VA, 0)! >> 59n) & 0xfn).toBe(9n);
    space.setProtectionKey(VA, 4096, 2);
    expect((space.readEntry(VA, 0)! >> 59n) & 0xfn).toBe(2n);
    expect(() => space.map(VA + 4096, 0x6000, 4096, RWXU, { protectionKey: 16 })).toThrow(IpcError);
  });

  it('AD and WD fault with PK set in the error code; fetches and key-0 pages are unaffected', () => {
    const { mmu, space } = setup();
    space.map(VA, 0x5000, 4096, RWXU, { protectionKey: 3 });
    space.map(VA + 4096, 0x6000, 4096, RWXU);
    mmu.setPkru(0, makePkru({ 3: 'read-only' }));
    expect(mmu.pkru(0)).toBe(pkruBits(3).writeDisable);
    const w = result(space, AccessKind.Write, true) as X86PageFault;
    expect(w).toBeInstanceOf(X86PageFault);
    expect(w.errorCode).toBe(PfError.PRESENT | PfError.WRITE | PfError.USER | PfError.PROTECTION_KEY);
    expect(w.reason).toBe('permission');
    expect(result(space, AccessKind.Read, true)).toBe(0x5020);
    expect((result(space, AccessKind.Write, false) as X86PageFault).errorCode).toBe(PfError.PRESENT | PfError.WRITE | PfError.PROTECTION_KEY);
    mmu.setPkru(0, makePkru({ 3: 'none' }));
    expect((result(space, AccessKind.Read, true) as X86PageFault).errorCode).toBe(PfError.PRESENT | PfError.USER | PfError.PROTECTION_KEY);
    expect((result(space, AccessKind.Read, false) as X86PageFault).errorCode).toBe(PfError.PRESENT | PfError.PROTECTION_KEY);
    expect(result(space, AccessKind.Execute, true)).toBe(0x5020);
    expect(space.translate(VA + 4096, AccessKind.Write, 0, true)).toBe(0x6000);
  });

  it('PKRU is checked on TLB hits too, and is per CPU', () => {
    const { mmu, space } = setup(true, 2);
    space.map(VA, 0x5000, 4096, RWXU, { protectionKey: 1 });
    for (const cpu of [0, 1]) expect(result(space, AccessKind.Write, true, cpu)).toBe(0x5020);
    const hits = mmu.tlbStats.hits;
    expect(result(space, AccessKind.Write, true, 0)).toBe(0x5020);
    expect(mmu.tlbStats.hits).toBeGreaterThan(hits);
    mmu.setPkru(0, makePkru({ 1: 'none' }));
    expect(result(space, AccessKind.Write, true, 0)).toBeInstanceOf(X86PageFault);
    expect(result(space, AccessKind.Write, true, 1)).toBe(0x5020);
    mmu.setPkru(0, 0);
    expect(result(space, AccessKind.Write, true, 0)).toBe(0x5020);
  });

  it('supervisor-mode pages ignore PKRU', () => {
    const { mmu, space } = setup();
    space.map(VA, 0x5000, 4096, PagePerm.READ | PagePerm.WRITE, { protectionKey: 4 });
    mmu.setPkru(0, 0xffffffff);
    expect(result(space, AccessKind.Write, false)).toBe(0x5020);
    // …and so does a user leaf under a kernel-only table entry: it is a supervisor-mode address.
    space.map(0x7f00_0000_0000, 0x6000, 4096, RWXU, { protectionKey: 4, tableFlags: 0x3n });
    expect(space.translate(0x7f00_0000_0000, AccessKind.Write, 0, false)).toBe(0x6000);
  });

  it('matches the SDM rules for any PKRU, key, access and CR0.WP (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 15 }), fc.constantFrom(AccessKind.Read, AccessKind.Write, AccessKind.Execute), fc.boolean(), fc.boolean(), (pkru, key, access, user, wp) => {
        const { mmu, space } = setup(wp);
        space.map(VA, 0x5000, 4096, RWXU, { protectionKey: key });
        result(space, AccessKind.Read, true); // warm the TLB
        mmu.setPkru(0, pkru);
        const r = result(space, access, user);
        if (pkAllows(pkru, key, access, user, wp)) expect(r).toBe(0x5020);
        else expect((r as X86PageFault).errorCode & PfError.PROTECTION_KEY).toBe(PfError.PROTECTION_KEY);
      }),
      { numRuns: 300 },
    );
  });

  it('validates PKRU values and CPUs', () => {
    const { mmu } = setup();
    expect(() => mmu.setPkru(0, -1)).toThrow(IpcError);
    expect(() => mmu.setPkru(0, 2 ** 32)).toThrow(IpcError);
    expect(() => mmu.setPkru(1, 0)).toThrow(IpcError);
    expect(() => makePkru({ 16: 'none' })).toThrow(IpcError);
  });
});
