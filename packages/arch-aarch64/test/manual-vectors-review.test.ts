/**
 * Review vectors from the Arm ARM (DDI 0487) chapter D8, "The AArch64 Virtual Memory System
 * Architecture", built bit by bit from the manual's descriptor formats — never from this
 * package's constants — written straight into the translation tables in machine memory (then
 * `tlbi vmalle1`), and translated through the public API.
 *
 * Sources:
 * - D8.3 VMSAv8-64 descriptor formats (4 KB granule, 48-bit OA): bits[1:0] 0b11 table/page,
 *   0b01 block (levels 1–2 only; 0b01 at level 3 and any block at level 0 are invalid →
 *   Translation fault); AttrIndx 4:2, NS 5, AP[2:1] 7:6, SH 9:8, AF 10, nG 11, OA 47:12,
 *   DBM 51, Contiguous 52, PXN 53, UXN 54; table: PXNTable 59, UXNTable 60, APTable 62:61.
 * - D8.4 memory access control: AP[2:1] 00 EL1 RW / 01 EL0+EL1 RW / 10 EL1 RO / 11 EL0+EL1 RO;
 *   APTable 01 no EL0, 10 no write; "a location writable at EL0 is treated as PXN"; EL0
 *   instruction execution depends on UXN/UXNTable only (execute-only memory, AP[2:1] = x0).
 * - D8.4.x hardware AF (TCR_EL1.HA) and dirty state (DBM: a write clears AP[2]).
 * - ESR_EL1 (D24): EC 0x20/0x21 IABT, 0x24/0x25 DABT; IL bit 25; WnR bit 6; DFSC
 *   0b0001LL translation, 0b0010LL access flag, 0b0011LL permission; AF fault has priority over
 *   permission fault; a VA outside the TTBR0 range is a level-0 translation fault.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessKind, PagePerm, PhysicalMemory } from '@veridian/core';
import { Aarch64PageFault, createAarch64Mmu, type Aarch64MmuOptions } from '../src/index.ts';

const bit = (n: number): bigint => 1n << BigInt(n);
// D8.3 stage-1 fields, spelled out.
const PAGE = bit(0) | bit(1); // 0b11 at level 3
const BLOCK = bit(0); // 0b01 at level 1/2
const AP1 = bit(6); // EL0 access
const AP2 = bit(7); // read-only
const SH_IS = 3n << 8n;
const AF = bit(10);
const NG = bit(11);
const DBM = bit(51);
const PXN = bit(53);
const UXN = bit(54);
const PXN_TABLE = bit(59);
const UXN_TABLE = bit(60);
const APTABLE_NO_EL0 = bit(61);
const APTABLE_RO = bit(62);
const OA_MASK = 0x0000_ffff_ffff_f000n;
// ESR_EL1 pieces.
const IL = 1 << 25;
const WNR = 1 << 6;
const esr = (ec: number, fsc: number, write = false): number => ((ec << 26) | IL | (write ? WNR : 0) | fsc) >>> 0;
const TRANS = (l: number): number => 0b000100 | l;
const ACCF = (l: number): number => 0b001000 | l;
const PERM = (l: number): number => 0b001100 | l;

const VA = 0x40_0000; // L0[0] L1[0] L2[2] L3[0]

function setup(options: Aarch64MmuOptions = {}) {
  const phys = PhysicalMemory.create({ frames: 256 });
  const mmu = createAarch64Mmu(phys, options);
  const space = mmu.createAddressSpace();
  space.map(VA, 0x5000, 4096, PagePerm.READ | PagePerm.WRITE | PagePerm.USER);
  space.map(VA + 4096, 0x6000, 4096, PagePerm.READ | PagePerm.WRITE | PagePerm.USER);
  return { phys, mmu, space };
}
type S = ReturnType<typeof setup>;

const idx = (va: number, level: number): number => Math.floor(va / 2 ** (12 + 9 * (3 - level))) % 512;
function raw(s: S, w: number): bigint {
  return (BigInt(s.phys.u32[w + 1]!) << 32n) | BigInt(s.phys.u32[w]!);
}
/** u32 index of the descriptor at `level` (0 = root) for `va`, following table descriptors. */
function wordOf(s: S, va: number, level: number): number {
  let table = s.space.root;
  for (let l = 0; l < level; l++) table = Number(raw(s, (s.phys.physOffset(table) >> 2) + 2 * idx(va, l)) & OA_MASK);
  return (s.phys.physOffset(table) >> 2) + 2 * idx(va, level);
}
function put(s: S, w: number, v: bigint): void {
  s.phys.u32[w] = Number(v & 0xffff_ffffn);
  s.phys.u32[w + 1] = Number(v >> 32n);
  s.mmu.flushTlb();
}
function fault(fn: () => unknown): Aarch64PageFault {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Aarch64PageFault);
    return e as Aarch64PageFault;
  }
  return expect.fail('expected a fault');
}

afterEach(() => vi.restoreAllMocks());

describe('AArch64 review vectors: AP[2:1], AF, DBM (D8.4)', () => {
  it('EL0 RW page (AP=01, AF=0, HA=1): EL0 write translates and the walk sets AF', () => {
    const s = setup();
    const w = wordOf(s, VA, 3);
    put(s, w, 0x9000n | PAGE | AP1 | SH_IS | NG | PXN | UXN);
    expect(s.space.translate(VA + 0x10, AccessKind.Write, 0, true)).toBe(0x9010);
    expect(raw(s, w)).toBe(0x9000n | PAGE | AP1 | SH_IS | NG | PXN | UXN | AF);
  });

  it('EL0 write to AP=11 without DBM: permission fault level 3, ESR 0x9200004f, descriptor untouched', () => {
    const s = setup();
    const w = wordOf(s, VA, 3);
    const d = 0x9000n | PAGE | AP1 | AP2 | SH_IS | AF | NG | PXN | UXN;
    put(s, w, d);
    const f = fault(() => s.space.translate(VA, AccessKind.Write, 0, true));
    expect([f.dfsc, f.esr >>> 0, f.level]).toEqual([PERM(3), 0x9200_004f, 3]);
    expect(raw(s, w)).toBe(d);
  });

  it('EL1 write to AP=10 without DBM: ESR 0x9600004f (EC 0x25)', () => {
    const s = setup();
    put(s, wordOf(s, VA, 3), 0x9000n | PAGE | AP2 | AF | PXN | UXN);
    expect(fault(() => s.space.translate(VA, AccessKind.Write, 0, false)).esr >>> 0).toBe(esr(0x25, PERM(3), true));
  });

  it('DBM = 1, AP[2] = 1 (writable-clean): an EL0 write succeeds and clears AP[2] (dirty), sets AF', () => {
    const s = setup();
    const w = wordOf(s, VA, 3);
    put(s, w, 0x9000n | PAGE | AP1 | AP2 | SH_IS | NG | DBM | PXN | UXN);
    expect(s.space.translate(VA, AccessKind.Write, 0, true)).toBe(0x9000);
    expect(raw(s, w)).toBe(0x9000n | PAGE | AP1 | SH_IS | NG | DBM | PXN | UXN | AF);
  });

  it('a read of a writable-clean page leaves AP[2] set; the following write (TLB warm) still records dirty', () => {
    const s = setup();
    const w = wordOf(s, VA, 3);
    put(s, w, 0x9000n | PAGE | AP1 | AP2 | NG | DBM | PXN | UXN);
    s.space.translate(VA, AccessKind.Read, 0, true);
    expect(raw(s, w) & (AP2 | AF)).toBe(AP2 | AF);
    s.space.translate(VA, AccessKind.Write, 0, true);
    expect(raw(s, w) & AP2).toBe(0n);
  });

  it('AP = 00 (EL1 only): EL0 read is a permission fault, ESR 0x9200000f', () => {
    const s = setup();
    put(s, wordOf(s, VA, 3), 0x9000n | PAGE | AF | PXN | UXN);
    expect(fault(() => s.space.translate(VA, AccessKind.Read, 0, true)).esr >>> 0).toBe(0x9200_000f);
  });

  it('execute-only: AP = 10 (no EL0 data access), UXN = 0 → EL0 fetch allowed, EL0 read faults', () => {
    const s = setup();
    put(s, wordOf(s, VA, 3), 0x9000n | PAGE | AP2 | AF | NG | PXN);
    expect(s.space.translate(VA, AccessKind.Execute, 0, true)).toBe(0x9000);
    expect(fault(() => s.space.translate(VA, AccessKind.Read, 0, true)).dfsc).toBe(PERM(3));
  });

  it('EL0-writable memory is implicitly PXN: AP = 01, PXN = 0 → EL1 fetch faults (IFSC 0x0f, ESR 0x8600000f)', () => {
    const s = setup();
    put(s, wordOf(s, VA, 3), 0x9000n | PAGE | AP1 | AF | NG | UXN);
    expect(fault(() => s.space.translate(VA, AccessKind.Execute, 0, false)).esr >>> 0).toBe(0x8600_000f);
    // AP = 11 (EL0 read-only), PXN = 0: not EL0-writable, so EL1 may execute.
    put(s, wordOf(s, VA, 3), 0x9000n | PAGE | AP1 | AP2 | AF | NG | UXN);
    expect(s.space.translate(VA, AccessKind.Execute, 0, false)).toBe(0x9000);
  });

  it('UXN = 1: EL0 fetch faults with ESR 0x8200000f (EC 0x20)', () => {
    const s = setup();
    put(s, wordOf(s, VA, 3), 0x9000n | PAGE | AP1 | AP2 | AF | NG | PXN | UXN);
    expect(fault(() => s.space.translate(VA, AccessKind.Execute, 0, true)).esr >>> 0).toBe(0x8200_000f);
  });

  it('HA = 0: AF = 0 is an access flag fault at the leaf level, and takes priority over a permission fault', () => {
    const s = setup({ hardwareAccessFlag: false });
    const w = wordOf(s, VA, 3);
    const d = 0x9000n | PAGE | AP2 | PXN | UXN; // EL1-only, read-only, AF = 0
    put(s, w, d);
    const f = fault(() => s.space.translate(VA, AccessKind.Write, 0, true)); // would also be a permission fault
    expect([f.dfsc, f.esr >>> 0]).toEqual([ACCF(3), esr(0x24, ACCF(3), true)]);
    expect(raw(s, w)).toBe(d);
    // a 2 MiB block with AF = 0: access flag fault, level 2 (DFSC 0x0a)
    put(s, wordOf(s, VA, 2), 0x20_0000n | BLOCK | AP1 | PXN | UXN);
    expect(fault(() => s.space.translate(VA, AccessKind.Read, 0, true)).dfsc).toBe(0x0a);
  });
});

describe('AArch64 review vectors: hierarchical controls in table descriptors (D8.4)', () => {
  it('APTable[1] = 1 at level 1: no write below, even to a DBM page — permission fault reported at level 3', () => {
    const s = setup();
    put(s, wordOf(s, VA, 3), 0x9000n | PAGE | AP1 | AF | NG | DBM | PXN | UXN);
    const t = wordOf(s, VA, 1);
    put(s, t, raw(s, t) | APTABLE_RO);
    expect(fault(() => s.space.translate(VA, AccessKind.Write, 0, true)).dfsc).toBe(PERM(3));
    expect(fault(() => s.space.translate(VA, AccessKind.Write, 0, false)).dfsc).toBe(PERM(3));
    expect(s.space.translate(VA, AccessKind.Read, 0, true)).toBe(0x9000);
  });

  it('APTable[0] = 1: EL0 data access faults; EL0 fetch of a UXN = 0 page is unaffected (ux = !(UXN|UXNTable))', () => {
    const s = setup();
    put(s, wordOf(s, VA, 3), 0x9000n | PAGE | AP1 | AP2 | AF | NG | PXN);
    const t = wordOf(s, VA, 0);
    put(s, t, raw(s, t) | APTABLE_NO_EL0);
    expect(fault(() => s.space.translate(VA, AccessKind.Read, 0, true)).dfsc).toBe(PERM(3));
    expect(s.space.translate(VA, AccessKind.Execute, 0, true)).toBe(0x9000);
  });

  it('APTable[0] = 1 removes EL0 write, so an AP = 01 PXN = 0 page becomes EL1-executable', () => {
    const s = setup();
    put(s, wordOf(s, VA, 3), 0x9000n | PAGE | AP1 | AF | NG | UXN);
    const t = wordOf(s, VA, 2);
    put(s, t, raw(s, t) | APTABLE_NO_EL0);
    expect(s.space.translate(VA, AccessKind.Execute, 0, false)).toBe(0x9000);
  });

  it('UXNTable / PXNTable: no EL0 / EL1 execution below', () => {
    const s = setup();
    put(s, wordOf(s, VA, 3), 0x9000n | PAGE | AP1 | AP2 | AF | NG); // PXN = UXN = 0
    const t = wordOf(s, VA, 1);
    const old = raw(s, t);
    put(s, t, old | UXN_TABLE);
    expect(fault(() => s.space.translate(VA, AccessKind.Execute, 0, true)).dfsc).toBe(PERM(3));
    expect(s.space.translate(VA, AccessKind.Execute, 0, false)).toBe(0x9000);
    put(s, t, old | PXN_TABLE);
    expect(fault(() => s.space.translate(VA, AccessKind.Execute, 0, false)).dfsc).toBe(PERM(3));
    expect(s.space.translate(VA, AccessKind.Execute, 0, true)).toBe(0x9000);
  });
});

describe('AArch64 review vectors: descriptor types, levels and ranges (D8.3, D8.2)', () => {
  it('0b01 at level 3 is reserved: translation fault level 3 (DFSC 0x07)', () => {
    const s = setup();
    put(s, wordOf(s, VA, 3), 0x9000n | BLOCK | AP1 | AF);
    const f = fault(() => s.space.translate(VA, AccessKind.Read, 0, true));
    expect([f.dfsc, f.esr >>> 0]).toEqual([TRANS(3), 0x9200_0007]);
  });

  it('a block descriptor at level 0 (4 KB granule) is invalid: translation fault level 0', () => {
    const s = setup();
    put(s, wordOf(s, VA, 0), BLOCK | AP1 | AF);
    expect(fault(() => s.space.translate(VA, AccessKind.Read, 0, true)).dfsc).toBe(TRANS(0));
  });

  it('invalid descriptor at level 2: translation fault level 2 (EL0 write ESR 0x92000046)', () => {
    const s = setup();
    put(s, wordOf(s, VA, 2), 0n);
    expect(fault(() => s.space.translate(VA, AccessKind.Write, 0, true)).esr >>> 0).toBe(0x9200_0046);
  });

  it('EL0 fetch from an invalid level-3 descriptor: Instruction Abort, ESR 0x82000007 (no WnR)', () => {
    const s = setup();
    put(s, wordOf(s, VA, 3), 0n);
    expect(fault(() => s.space.translate(VA, AccessKind.Execute, 0, true)).esr >>> 0).toBe(0x8200_0007);
  });

  it('1 GiB block at level 1 and 2 MiB block at level 2 translate with the block offset; the top OA bit 47 is kept', () => {
    const s = setup();
    put(s, wordOf(s, VA, 2), bit(47) | 0x20_0000n | BLOCK | AP1 | AF | PXN | UXN);
    expect(s.space.translate(VA + 0x1_2345, AccessKind.Read, 0, true)).toBe(2 ** 47 + 0x20_0000 + (VA % 0x20_0000) + 0x1_2345);
    put(s, wordOf(s, VA, 1), bit(30) | BLOCK | AP1 | AF | PXN | UXN);
    expect(s.space.translate(VA + 0x1_2345, AccessKind.Read, 0, true)).toBe(2 ** 30 + VA + 0x1_2345);
  });

  it('T0SZ = 16: a VA ≥ 2^48 is a level-0 translation fault (ESR 0x92000004 for an EL0 read)', () => {
    const s = setup();
    for (const va of [1n << 48n, 0x00ff_0000_0000_0000n]) {
      const f = fault(() => s.space.translate(va, AccessKind.Read, 0, true));
      expect([f.dfsc, f.esr >>> 0]).toEqual([TRANS(0), 0x9200_0004]);
    }
  });

  it('README-documented subset: TTBR1 not modelled — 0xffff_0000_0000_0000 is a level-0 translation fault (as with EPD1 = 1)', () => {
    const s = setup();
    expect(fault(() => s.space.translate(0xffff_0000_0000_0000n, AccessKind.Read, 0, false)).dfsc).toBe(TRANS(0));
  });

  it('Contiguous bit (52) set on one page is only a hint: translation unchanged', () => {
    const s = setup();
    put(s, wordOf(s, VA, 3), 0x9000n | PAGE | AP1 | AF | bit(52) | PXN | UXN);
    expect(s.space.translate(VA, AccessKind.Read, 0, true)).toBe(0x9000);
  });

  it('a table descriptor whose address is outside installed memory yields an Aarch64PageFault, not a crash', () => {
    const s = setup();
    const t = wordOf(s, VA, 2);
    put(s, t, (raw(s, t) & ~OA_MASK) | 0x7f_0000_0000n);
    expect(() => s.space.translate(VA, AccessKind.Read, 0, true)).toThrow(Aarch64PageFault);
  });
});

describe('AArch64 review vectors: AF/dirty update is atomic with the walk', () => {
  it('an unmap between the descriptor read and the AF update is not undone', () => {
    const s = setup();
    const w = wordOf(s, VA, 3);
    const original = Atomics.compareExchange as (a: Uint32Array | Int32Array, i: number, e: number, r: number) => number;
    let fired = false;
    vi.spyOn(Atomics, 'compareExchange').mockImplementation(((arr: Uint32Array, i: number, e: number, r: number) => {
      if (!fired && arr === s.phys.u32 && i === w) {
        fired = true;
        s.space.unmap(VA, 4096);
      }
      return original(arr, i, e, r);
    }) as unknown as typeof Atomics.compareExchange);
    expect(() => s.space.translate(VA, AccessKind.Write, 0, true)).toThrow(Aarch64PageFault);
    expect(fired).toBe(true);
    expect(raw(s, w)).toBe(0n);
  });
});
