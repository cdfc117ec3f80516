/**
 * Review vectors from the Intel SDM vol. 3A ch. 4 ("Paging"), built bit by bit from the
 * manual's tables — never from this package's own constants — and pushed through the public
 * API. Raw entries are written straight into machine memory (as kernel code writing a PTE
 * would) and the TLBs flushed, then `translate` is asked what the hardware would do.
 *
 * Sources:
 * - §4.5, Tables 4-15 (PML4E), 4-17 (1-GByte PDPTE), 4-18 (PDPTE → PD), 4-19 (2-MByte PDE),
 *   4-20 (PDE → PT), 4-21 (PTE): P 0, R/W 1, U/S 2, PWT 3, PCD 4, A 5, D 6, PS/PAT 7, G 8,
 *   PAT 12 (large leaves), address 12..M-1, reserved M..51, ignored 52..58, PK 62:59, XD 63;
 *   PS is reserved in a PML4E; bits 20:13 (2 MiB) and 29:13 (1 GiB) are reserved.
 * - §4.6 access rights (CR0.WP, SMEP/SMAP), §4.6.2 protection keys.
 * - §4.7 Figure 4-12 page-fault error code: P 0, W/R 1, U/S 2, RSVD 3, I/D 4, PK 5.
 * - §4.8 A/D flags; §3.3.7.1 canonical addresses (non-canonical → #GP, vector 13).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessKind, PagePerm, PhysicalMemory } from '@veridian/core';
import { X86PageFault, createX86Mmu, makePkru, type X86MmuOptions } from '../src/index.ts';

// --- SDM Table 4-19..4-21 bits, spelled out here (not imported). ---
const bit = (n: number): bigint => 1n << BigInt(n);
const P = bit(0);
const RW = bit(1);
const US = bit(2);
const A = bit(5);
const D = bit(6);
const PS = bit(7);
const XD = bit(63);
const pk = (k: number): bigint => BigInt(k) << 59n;
// --- SDM Figure 4-12 error-code bits. ---
const EC_P = 1;
const EC_W = 2;
const EC_U = 4;
const EC_RSVD = 8;
const EC_ID = 16;
const EC_PK = 32;

const VA = 0x40_0000; // PML4[0] PDPT[0] PD[2] PT[0]
const ADDR_MASK = 0x000f_ffff_ffff_f000n;

function setup(options: X86MmuOptions = {}) {
  const phys = PhysicalMemory.create({ frames: 256 });
  const mmu = createX86Mmu(phys, options);
  const space = mmu.createAddressSpace();
  // Builds PML4E → PDPTE → PDE → PT for VA (and a neighbour, so the PT never empties).
  space.map(VA, 0x5000, 4096, PagePerm.READ | PagePerm.WRITE | PagePerm.USER);
  space.map(VA + 4096, 0x6000, 4096, PagePerm.READ | PagePerm.WRITE | PagePerm.USER);
  return { phys, mmu, space };
}

type S = ReturnType<typeof setup>;

/** u32 index of the entry at `level` (3 = PML4E … 0 = PTE) on the path to `va`, walking by the SDM's index bits. */
function wordOf(s: S, va: number, level: number): number {
  let table = s.space.root;
  for (let l = 3; l > level; l--) {
    const w = (s.phys.physOffset(table) >> 2) + 2 * (Math.floor(va / 2 ** (12 + 9 * l)) % 512);
    table = Number(raw(s, w) & ADDR_MASK);
  }
  return (s.phys.physOffset(table) >> 2) + 2 * (Math.floor(va / 2 ** (12 + 9 * level)) % 512);
}
function raw(s: S, w: number): bigint {
  return (BigInt(s.phys.u32[w + 1]!) << 32n) | BigInt(s.phys.u32[w]!);
}
function put(s: S, w: number, v: bigint): void {
  s.phys.u32[w] = Number(v & 0xffff_ffffn);
  s.phys.u32[w + 1] = Number(v >> 32n);
  s.mmu.flushTlb(); // INVLPG / CR3 reload: a raw store is not seen by a TLB that caches the old entry
}
function pf(fn: () => unknown): X86PageFault {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(X86PageFault);
    return e as X86PageFault;
  }
  return expect.fail('expected a fault');
}

afterEach(() => vi.restoreAllMocks());

describe('x86_64 review vectors: leaf rights and A/D (SDM §4.6, §4.8)', () => {
  it('user write through P|RW|US at every level: translates, sets A at every level and A|D on the PTE', () => {
    const s = setup();
    const pte = wordOf(s, VA, 0);
    put(s, pte, 0x9000n | P | RW | US | XD);
    for (let l = 3; l >= 1; l--) put(s, wordOf(s, VA, l), raw(s, wordOf(s, VA, l)) & ~A);
    expect(s.space.translate(VA + 0x123, AccessKind.Write, 0, true)).toBe(0x9123);
    expect(raw(s, pte)).toBe(0x9000n | P | RW | US | XD | A | D);
    for (let l = 3; l >= 1; l--) expect(raw(s, wordOf(s, VA, l)) & A).toBe(A);
  });

  it('a read sets A but not D; a later write (TLB holds the clean entry) walks again and sets D', () => {
    const s = setup();
    const pte = wordOf(s, VA, 0);
    put(s, pte, 0x9000n | P | RW | US);
    s.space.translate(VA, AccessKind.Read, 0, true);
    expect(raw(s, pte) & (A | D)).toBe(A);
    s.space.translate(VA, AccessKind.Write, 0, true);
    expect(raw(s, pte) & (A | D)).toBe(A | D);
  });

  it('user write to a read-only PTE: #PF P|W|U = 0x7 at level 0, entry untouched', () => {
    const s = setup();
    const pte = wordOf(s, VA, 0);
    put(s, pte, 0x9000n | P | US);
    const f = pf(() => s.space.translate(VA, AccessKind.Write, 0, true));
    expect([f.vector, f.errorCode, f.level]).toEqual([14, EC_P | EC_W | EC_U, 0]);
    expect(f.cr2).toBe(BigInt(VA));
    expect(raw(s, pte)).toBe(0x9000n | P | US);
  });

  it('R/W = 0 in the PDPTE only (PTE writable): a user write faults 0x7', () => {
    const s = setup();
    put(s, wordOf(s, VA, 0), 0x9000n | P | RW | US);
    const w = wordOf(s, VA, 2);
    put(s, w, raw(s, w) & ~RW);
    expect(pf(() => s.space.translate(VA, AccessKind.Write, 0, true)).errorCode).toBe(EC_P | EC_W | EC_U);
  });

  it('supervisor write to R/W = 0 with CR0.WP = 1 faults 0x3; with WP = 0 it succeeds and sets D', () => {
    const on = setup({ writeProtect: true });
    put(on, wordOf(on, VA, 0), 0x9000n | P);
    expect(pf(() => on.space.translate(VA, AccessKind.Write, 0, false)).errorCode).toBe(EC_P | EC_W);
    const off = setup({ writeProtect: false });
    const pte = wordOf(off, VA, 0);
    put(off, pte, 0x9000n | P);
    expect(off.space.translate(VA, AccessKind.Write, 0, false)).toBe(0x9000);
    expect(raw(off, pte) & (A | D)).toBe(A | D);
  });

  it('user read of a supervisor PTE (U/S = 0) faults 0x5; U/S = 0 in the PDE alone does too', () => {
    const s = setup();
    put(s, wordOf(s, VA, 0), 0x9000n | P | RW);
    expect(pf(() => s.space.translate(VA, AccessKind.Read, 0, true)).errorCode).toBe(EC_P | EC_U);
    put(s, wordOf(s, VA, 0), 0x9000n | P | RW | US);
    const pde = wordOf(s, VA, 1);
    put(s, pde, raw(s, pde) & ~US);
    expect(pf(() => s.space.translate(VA, AccessKind.Read, 0, true)).errorCode).toBe(EC_P | EC_U);
  });

  it('fetch from XD = 1: user 0x15, supervisor 0x11; XD in the PML4E alone forbids fetches below', () => {
    const s = setup();
    put(s, wordOf(s, VA, 0), 0x9000n | P | US | XD);
    expect(pf(() => s.space.translate(VA, AccessKind.Execute, 0, true)).errorCode).toBe(EC_P | EC_U | EC_ID);
    expect(pf(() => s.space.translate(VA, AccessKind.Execute, 0, false)).errorCode).toBe(EC_P | EC_ID);
    put(s, wordOf(s, VA, 0), 0x9000n | P | US);
    expect(s.space.translate(VA, AccessKind.Execute, 0, true)).toBe(0x9000);
    const pml4e = wordOf(s, VA, 3);
    put(s, pml4e, raw(s, pml4e) | XD);
    expect(pf(() => s.space.translate(VA, AccessKind.Execute, 0, true)).errorCode).toBe(EC_P | EC_U | EC_ID);
  });

  it('user fetch from a supervisor page faults 0x15 (U/S checked for fetches too)', () => {
    const s = setup();
    put(s, wordOf(s, VA, 0), 0x9000n | P);
    expect(pf(() => s.space.translate(VA, AccessKind.Execute, 0, true)).errorCode).toBe(EC_P | EC_U | EC_ID);
  });

  it('README-documented subset: SMEP/SMAP off — supervisor read and fetch of a user page succeed', () => {
    const s = setup();
    put(s, wordOf(s, VA, 0), 0x9000n | P | US);
    expect(s.space.translate(VA, AccessKind.Read, 0, false)).toBe(0x9000);
    expect(s.space.translate(VA, AccessKind.Execute, 0, false)).toBe(0x9000);
  });

  it('not-present PDE: user write faults P = 0 → 0x6 at level 1', () => {
    const s = setup();
    put(s, wordOf(s, VA, 1), 0n);
    const f = pf(() => s.space.translate(VA, AccessKind.Write, 0, true));
    expect([f.errorCode, f.level, f.reason]).toEqual([EC_W | EC_U, 1, 'not-present']);
  });

  it('user fetch from a not-present PTE: I/D is reported with P = 0 → 0x14', () => {
    const s = setup();
    put(s, wordOf(s, VA, 0), 0n);
    expect(pf(() => s.space.translate(VA, AccessKind.Execute, 0, true)).errorCode).toBe(EC_U | EC_ID);
  });

  it('reserved bits are only checked in present entries: P = 0 with bit 51 set is P = 0 / no RSVD', () => {
    const s = setup({ maxPhysAddr: 40 });
    put(s, wordOf(s, VA, 0), bit(51) | 0x9000n);
    const f = pf(() => s.space.translate(VA, AccessKind.Read, 0, true));
    expect(f.errorCode).toBe(EC_U);
  });
});

describe('x86_64 review vectors: reserved bits and MAXPHYADDR (SDM §4.5 tables, §4.7 RSVD)', () => {
  it('MAXPHYADDR = 46: PTE address bit 46 set → RSVD, error P|U|RSVD = 0xd at level 0; bit 45 is a valid address bit', () => {
    const s = setup({ maxPhysAddr: 46 });
    const pte = wordOf(s, VA, 0);
    put(s, pte, bit(46) | 0x9000n | P | US);
    const f = pf(() => s.space.translate(VA, AccessKind.Read, 0, true));
    expect([f.errorCode, f.level, f.reason]).toEqual([EC_P | EC_U | EC_RSVD, 0, 'reserved-bit']);
    expect(raw(s, pte) & A).toBe(0n);
    put(s, pte, bit(45) | 0x9000n | P | US);
    expect(s.space.translate(VA, AccessKind.Read, 0, true)).toBe(2 ** 45 + 0x9000);
  });

  it('MAXPHYADDR = 52: the highest address bit 51 is an address bit, not reserved', () => {
    const s = setup({ maxPhysAddr: 52 });
    put(s, wordOf(s, VA, 0), bit(51) | 0x9000n | P | US);
    expect(s.space.translate(VA, AccessKind.Read, 0, true)).toBe(2 ** 51 + 0x9000);
  });

  it('MAXPHYADDR = 46: bit 46 in the PDE (table pointer) → RSVD at level 1; in the PML4E → level 3', () => {
    const s = setup({ maxPhysAddr: 46 });
    const pde = wordOf(s, VA, 1);
    const old = raw(s, pde);
    put(s, pde, old | bit(46));
    const f = pf(() => s.space.translate(VA, AccessKind.Write, 0, true));
    expect([f.errorCode, f.level]).toEqual([EC_P | EC_W | EC_U | EC_RSVD, 1]);
    put(s, pde, old);
    const pml4e = wordOf(s, VA, 3);
    put(s, pml4e, raw(s, pml4e) | bit(50));
    expect(pf(() => s.space.translate(VA, AccessKind.Read, 0, false)).level).toBe(3);
  });

  it('PS (bit 7) is reserved in a PML4E: RSVD at level 3 (Table 4-15)', () => {
    const s = setup();
    const pml4e = wordOf(s, VA, 3);
    put(s, pml4e, raw(s, pml4e) | PS);
    const f = pf(() => s.space.translate(VA, AccessKind.Read, 0, true));
    expect([f.errorCode, f.level]).toEqual([EC_P | EC_U | EC_RSVD, 3]);
  });

  it('2 MiB PDE: bit 12 is PAT (not an address bit), bit 13 / bit 20 (misaligned frame) are reserved → RSVD at level 1', () => {
    const s = setup();
    const pde = wordOf(s, VA, 1);
    put(s, pde, 0x20_0000n | bit(12) | P | RW | US | PS);
    expect(s.space.translate(VA + 0x1234, AccessKind.Read, 0, true)).toBe(0x20_0000 + 0x1234);
    for (const b of [13, 20]) {
      put(s, pde, 0x20_0000n | bit(b) | P | RW | US | PS);
      const f = pf(() => s.space.translate(VA, AccessKind.Read, 0, true));
      expect([f.errorCode, f.level, b]).toEqual([EC_P | EC_U | EC_RSVD, 1, b]);
    }
    put(s, pde, 0x40_0000n | bit(21) | P | RW | US | PS); // bit 21 is an address bit: 0x600000
    expect(s.space.translate(VA, AccessKind.Read, 0, true)).toBe(0x60_0000);
  });

  it('1 GiB PDPTE: bits 29:13 reserved (bit 29 → RSVD at level 2), bit 30 is address', () => {
    const s = setup();
    const pdpte = wordOf(s, VA, 2);
    put(s, pdpte, bit(30) | bit(29) | P | US | PS);
    const f = pf(() => s.space.translate(VA, AccessKind.Read, 0, true));
    expect([f.errorCode, f.level]).toEqual([EC_P | EC_U | EC_RSVD, 2]);
    put(s, pdpte, bit(30) | P | US | PS);
    expect(s.space.translate(VA + 0x1234, AccessKind.Read, 0, true)).toBe(2 ** 30 + VA + 0x1234);
  });

  it('bits 52–58 are ignored in a PTE (no RSVD)', () => {
    const s = setup({ maxPhysAddr: 40 });
    put(s, wordOf(s, VA, 0), bit(52) | bit(58) | 0x9000n | P | US);
    expect(s.space.translate(VA, AccessKind.Read, 0, true)).toBe(0x9000);
  });

  it('RSVD takes priority over a protection violation: user write to a read-only PTE with a reserved bit → 0xf', () => {
    const s = setup({ maxPhysAddr: 46 });
    put(s, wordOf(s, VA, 0), bit(47) | 0x9000n | P | US);
    expect(pf(() => s.space.translate(VA, AccessKind.Write, 0, true)).errorCode).toBe(EC_P | EC_W | EC_U | EC_RSVD);
  });
});

describe('x86_64 review vectors: protection keys (SDM §4.6.2)', () => {
  it('PKRU.AD3: user read of a key-3 user page → 0x25; supervisor read of it → 0x21; fetch unaffected', () => {
    const s = setup();
    put(s, wordOf(s, VA, 0), pk(3) | 0x9000n | P | RW | US);
    s.mmu.setPkru(0, 1 << 6); // AD3 = bit 6
    expect(pf(() => s.space.translate(VA, AccessKind.Read, 0, true)).errorCode).toBe(EC_P | EC_U | EC_PK);
    expect(pf(() => s.space.translate(VA, AccessKind.Read, 0, false)).errorCode).toBe(EC_P | EC_PK);
    expect(s.space.translate(VA, AccessKind.Execute, 0, true)).toBe(0x9000);
  });

  it('PKRU.WD3: supervisor write with WP = 1 → 0x23; with WP = 0 allowed; key on a supervisor page is ignored', () => {
    const s = setup({ writeProtect: true });
    put(s, wordOf(s, VA, 0), pk(3) | 0x9000n | P | RW | US);
    s.mmu.setPkru(0, makePkru({ 3: 'read-only' }));
    expect(pf(() => s.space.translate(VA, AccessKind.Write, 0, false)).errorCode).toBe(EC_P | EC_W | EC_PK);
    const t = setup({ writeProtect: false });
    put(t, wordOf(t, VA, 0), pk(3) | 0x9000n | P | RW | US);
    t.mmu.setPkru(0, 1 << 7);
    expect(t.space.translate(VA, AccessKind.Write, 0, false)).toBe(0x9000);
    expect(pf(() => t.space.translate(VA, AccessKind.Write, 0, true)).errorCode).toBe(EC_P | EC_W | EC_U | EC_PK);
    put(s, wordOf(s, VA, 0), pk(3) | 0x9000n | P | RW); // supervisor-mode address
    s.mmu.setPkru(0, 0xffff_ffff);
    expect(s.space.translate(VA, AccessKind.Write, 0, false)).toBe(0x9000);
  });
});

describe('x86_64 review vectors: canonical addresses (SDM vol. 1 §3.3.7.1)', () => {
  it('48-bit canonical edges: 0x7fff_ffff_f000 and 0xffff_8000_0000_0000 walk; 0x8000_0000_0000 and 0xffff_7fff_ffff_f000 are #GP (vector 13)', () => {
    const s = setup();
    for (const va of [0x0000_8000_0000_0000n, 0xffff_7fff_ffff_f000n, 0x0001_0000_0000_0000n, 0x00ff_ffff_ffff_f000n]) {
      const f = pf(() => s.space.translate(va, AccessKind.Read, 0, true));
      expect([f.vector, f.reason, f.errorCode]).toEqual([13, 'invalid-address', 0]);
    }
    for (const va of [0x7fff_ffff_f000, 0xffff_8000_0000_0000n]) {
      const f = pf(() => s.space.translate(va, AccessKind.Read, 0, true));
      expect([f.vector, f.reason]).toEqual([14, 'not-present']); // canonical: reaches the page walk
    }
  });

  it('README-documented subset: no LA57 — a 57-bit canonical address like 0x00ff_8000_0000_0000 stays non-canonical (#GP)', () => {
    const s = setup();
    expect(pf(() => s.space.translate(0xff00_0000_0000_0000n, AccessKind.Read, 0, true)).vector).toBe(13);
  });
});

describe('x86_64 review vectors: the A/D update is atomic with the walk (SDM §4.8, locked RMW)', () => {
  it('an unmap by another CPU between the PTE read and the A/D write is not undone', () => {
    const s = setup();
    const pte = wordOf(s, VA, 0);
    const original = Atomics.compareExchange as (a: Uint32Array | Int32Array, i: number, e: number, r: number) => number;
    let fired = false;
    vi.spyOn(Atomics, 'compareExchange').mockImplementation(((arr: Uint32Array, i: number, e: number, r: number) => {
      if (!fired && arr === s.phys.u32 && i === pte) {
        fired = true;
        s.space.unmap(VA, 4096); // the other CPU's store lands between read and update
      }
      return original(arr, i, e, r);
    }) as unknown as typeof Atomics.compareExchange);
    expect(() => s.space.translate(VA, AccessKind.Write, 0, true)).toThrow(X86PageFault);
    expect(fired).toBe(true);
    expect(raw(s, pte)).toBe(0n);
    vi.restoreAllMocks();
    expect(() => s.space.map(VA, 0x7000, 4096, PagePerm.READ | PagePerm.USER)).not.toThrow();
  });
});
