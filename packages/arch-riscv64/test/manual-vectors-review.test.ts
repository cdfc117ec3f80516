/**
 * Review vectors from the RISC-V privileged specification (20211203, ch. 4 "Supervisor-Level
 * ISA"), built bit by bit from the manual's PTE format — never from this package's constants —
 * written straight into the page tables in machine memory (then `sfence.vma`), and translated
 * through the public API.
 *
 * Sources:
 * - §4.3.1 / §4.4.1 PTE: V 0, R 1, W 2, X 3, U 4, G 5, A 6, D 7, RSW 9:8, PPN 53:10,
 *   bits 60:54 reserved, 62:61 PBMT (reserved without Svpbmt), 63 N (reserved without
 *   Svnapot). "For non-leaf PTEs, the D, A, and U bits are reserved for future standard use."
 *   R=0,W=1 is reserved. Leaves may appear at any level (Sv48: a level-3 leaf is a 512 GiB
 *   "terapage").
 * - §4.3.2 the translation algorithm: step 3 (V = 0, R = 0 ∧ W = 1, or reserved bits → page
 *   fault), step 4 (i < 0 → page fault), step 5 (R/W/X/U with SUM and MXR), step 6 (misaligned
 *   superpage → page fault), step 7 (set A, and D on a store; "This update and the loading of
 *   pte in step 2 must be atomic; in particular, no intervening store to the PTE may be
 *   perceived to have occurred in-between").
 * - §4.4 / §4.5: VA bits 63:39 (Sv39) / 63:48 (Sv48) must equal bit 38 / 47, else page fault.
 * - scause: 12 instruction page fault, 13 load page fault, 15 store/AMO page fault.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AccessKind, PagePerm, PhysicalMemory } from '@veridian/core';
import { Riscv64PageFault, createRiscv64Mmu, type Riscv64MmuOptions } from '../src/index.ts';

const bit = (n: number): bigint => 1n << BigInt(n);
const V = bit(0);
const R = bit(1);
const W = bit(2);
const X = bit(3);
const U = bit(4);
const G = bit(5);
const A = bit(6);
const D = bit(7);
const ppn = (pa: number): bigint => BigInt(pa / 4096) << 10n;
const PPN_MASK = ((1n << 44n) - 1n) << 10n;
const LOAD = 13;
const STORE = 15;
const FETCH = 12;

const VA = 0x40_0000; // Sv39: VPN[2]=0 VPN[1]=2 VPN[0]=0

function setup(options: Riscv64MmuOptions = {}) {
  const phys = PhysicalMemory.create({ frames: 256 });
  const mmu = createRiscv64Mmu(phys, options);
  const space = mmu.createAddressSpace();
  space.map(VA, 0x5000, 4096, PagePerm.READ | PagePerm.WRITE | PagePerm.USER);
  space.map(VA + 4096, 0x6000, 4096, PagePerm.READ | PagePerm.WRITE | PagePerm.USER);
  const levels = options.mode === 'sv48' ? 4 : 3;
  return { phys, mmu, space, levels };
}
type S = ReturnType<typeof setup>;

function raw(s: S, w: number): bigint {
  return (BigInt(s.phys.u32[w + 1]!) << 32n) | BigInt(s.phys.u32[w]!);
}
/** u32 index of the PTE at level `i` (the spec's i: levels−1 = root … 0) for `va`. */
function wordOf(s: S, va: number, i: number): number {
  let a = s.space.root;
  for (let l = s.levels - 1; l > i; l--) a = Number((raw(s, (s.phys.physOffset(a) >> 2) + 2 * (Math.floor(va / 2 ** (12 + 9 * l)) % 512)) & PPN_MASK) >> 10n) * 4096;
  return (s.phys.physOffset(a) >> 2) + 2 * (Math.floor(va / 2 ** (12 + 9 * i)) % 512);
}
function put(s: S, w: number, v: bigint): void {
  s.phys.u32[w] = Number(v & 0xffff_ffffn);
  s.phys.u32[w + 1] = Number(v >> 32n);
  s.mmu.sfenceVma(0);
}
function pf(fn: () => unknown): Riscv64PageFault {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(Riscv64PageFault);
    return e as Riscv64PageFault;
  }
  return expect.fail('expected a page fault');
}

afterEach(() => vi.restoreAllMocks());

describe('RV64 review vectors: leaves, rights, A/D (§4.3.1, §4.3.2 steps 5 and 7)', () => {
  it('U-mode store to V|R|W|U: translates; A and D set on the leaf only; non-leaf PTEs stay V + PPN', () => {
    const s = setup();
    const leaf = wordOf(s, VA, 0);
    put(s, leaf, ppn(0x9000) | V | R | W | U);
    const nonLeaf = [wordOf(s, VA, 2), wordOf(s, VA, 1)].map((w) => [w, raw(s, w)] as const);
    expect(s.space.translate(VA + 0x44, AccessKind.Write, 0, true)).toBe(0x9044);
    expect(raw(s, leaf)).toBe(ppn(0x9000) | V | R | W | U | A | D);
    for (const [w, before] of nonLeaf) expect(raw(s, w)).toBe(before);
  });

  it('a load sets A only; a store after a cached load walks again and sets D', () => {
    const s = setup();
    const leaf = wordOf(s, VA, 0);
    put(s, leaf, ppn(0x9000) | V | R | W | U);
    s.space.translate(VA, AccessKind.Read, 0, true);
    expect(raw(s, leaf) & (A | D)).toBe(A);
    s.space.translate(VA, AccessKind.Write, 0, true);
    expect(raw(s, leaf) & (A | D)).toBe(A | D);
  });

  it('W without R is reserved (step 3): load → 13, store → 15, also with X; the PTE is not updated', () => {
    const s = setup();
    const leaf = wordOf(s, VA, 0);
    for (const v of [ppn(0x9000) | V | W | U, ppn(0x9000) | V | W | X | U]) {
      put(s, leaf, v);
      expect(pf(() => s.space.translate(VA, AccessKind.Read, 0, true)).scause).toBe(LOAD);
      expect(pf(() => s.space.translate(VA, AccessKind.Write, 0, true)).scause).toBe(STORE);
      expect(raw(s, leaf)).toBe(v);
    }
  });

  it('RSW bits 9:8 are ignored by the walk on a valid leaf', () => {
    const s = setup();
    put(s, wordOf(s, VA, 0), bit(9) | bit(8) | ppn(0x9000) | V | R | U);
    expect(s.space.translate(VA, AccessKind.Read, 0, true)).toBe(0x9000);
  });

  it('store to a read-only page → 15 with stval = VA; fetch from a non-X page → 12', () => {
    const s = setup();
    put(s, wordOf(s, VA, 0), ppn(0x9000) | V | R | U);
    const f = pf(() => s.space.translate(VA + 8, AccessKind.Write, 0, true));
    expect([f.scause, f.stval]).toEqual([STORE, BigInt(VA + 8)]);
    expect(pf(() => s.space.translate(VA, AccessKind.Execute, 0, true)).scause).toBe(FETCH);
  });

  it('execute-only page (V|X|U): U-mode fetch allowed, load faults 13 unless MXR (S-mode, non-U page)', () => {
    const s = setup();
    put(s, wordOf(s, VA, 0), ppn(0x9000) | V | X | U);
    expect(s.space.translate(VA, AccessKind.Execute, 0, true)).toBe(0x9000);
    expect(pf(() => s.space.translate(VA, AccessKind.Read, 0, true)).scause).toBe(LOAD);
    const m = setup({ mxr: true });
    put(m, wordOf(m, VA, 0), ppn(0x9000) | V | X);
    expect(m.space.translate(VA, AccessKind.Read, 0, false)).toBe(0x9000);
    expect(pf(() => m.space.translate(VA, AccessKind.Write, 0, false)).scause).toBe(STORE);
    const n = setup({ mxr: false });
    put(n, wordOf(n, VA, 0), ppn(0x9000) | V | X);
    expect(pf(() => n.space.translate(VA, AccessKind.Read, 0, false)).scause).toBe(LOAD);
  });

  it('U-mode access to a U = 0 page faults; S-mode loads of U pages need SUM; S-mode fetch from U pages always faults', () => {
    const s = setup({ sum: false });
    put(s, wordOf(s, VA, 0), ppn(0x9000) | V | R | W | X);
    expect(pf(() => s.space.translate(VA, AccessKind.Read, 0, true)).scause).toBe(LOAD);
    expect(pf(() => s.space.translate(VA, AccessKind.Execute, 0, true)).scause).toBe(FETCH);
    put(s, wordOf(s, VA, 0), ppn(0x9000) | V | R | W | X | U);
    expect(pf(() => s.space.translate(VA, AccessKind.Read, 0, false)).scause).toBe(LOAD);
    expect(pf(() => s.space.translate(VA, AccessKind.Write, 0, false)).scause).toBe(STORE);
    const t = setup({ sum: true });
    put(t, wordOf(t, VA, 0), ppn(0x9000) | V | R | W | X | U);
    expect(t.space.translate(VA, AccessKind.Read, 0, false)).toBe(0x9000);
    expect(t.space.translate(VA, AccessKind.Write, 0, false)).toBe(0x9000);
    expect(pf(() => t.space.translate(VA, AccessKind.Execute, 0, false)).scause).toBe(FETCH);
  });
});

describe('RV64 review vectors: reserved bits (§4.3.1, §4.4.1, step 3)', () => {
  it.each([54, 60, 61, 62, 63])('leaf with reserved bit %i (no Svpbmt/Svnapot) → page fault, PTE not updated', (b) => {
    const s = setup();
    const leaf = wordOf(s, VA, 0);
    const v = bit(b) | ppn(0x9000) | V | R | W | U;
    put(s, leaf, v);
    expect(pf(() => s.space.translate(VA, AccessKind.Write, 0, true)).scause).toBe(STORE);
    expect(raw(s, leaf)).toBe(v);
  });

  it('non-leaf PTE with reserved bit 54 → page fault at that level', () => {
    const s = setup();
    const w = wordOf(s, VA, 1);
    put(s, w, raw(s, w) | bit(54));
    const f = pf(() => s.space.translate(VA, AccessKind.Read, 0, true));
    expect([f.scause, f.level]).toEqual([LOAD, 1]);
  });

  it.each([
    ['A', A],
    ['D', D],
    ['U', U],
  ] as const)('non-leaf PTE with %s set (reserved for non-leaf PTEs, §4.3.1) → page fault', (_name, b) => {
    const s = setup();
    put(s, wordOf(s, VA, 0), ppn(0x9000) | V | R | W | U);
    const w = wordOf(s, VA, 1);
    put(s, w, raw(s, w) | b);
    const f = pf(() => s.space.translate(VA, AccessKind.Read, 0, true));
    expect([f.scause, f.level]).toEqual([LOAD, 1]);
  });

  it('G on a non-leaf PTE is legal (global subtree): the walk still succeeds', () => {
    const s = setup();
    put(s, wordOf(s, VA, 0), ppn(0x9000) | V | R | W | U);
    const w = wordOf(s, VA, 1);
    put(s, w, raw(s, w) | G);
    expect(s.space.translate(VA, AccessKind.Read, 0, true)).toBe(0x9000);
  });
});

describe('RV64 review vectors: superpages and levels (§4.3.2 steps 4 and 6)', () => {
  it('2 MiB megapage: aligned PPN translates; PPN[0] ≠ 0 (misaligned) → page fault, PTE not updated', () => {
    const s = setup();
    const w = wordOf(s, VA, 1);
    put(s, w, ppn(0x20_0000) | V | R | W | U);
    expect(s.space.translate(VA + 0x1_2345, AccessKind.Read, 0, true)).toBe(0x20_0000 + 0x1_2345);
    const bad = ppn(0x20_1000) | V | R | W | U;
    put(s, w, bad);
    const f = pf(() => s.space.translate(VA, AccessKind.Write, 0, true));
    expect([f.scause, f.level]).toEqual([STORE, 1]);
    expect(raw(s, w)).toBe(bad);
  });

  it('1 GiB gigapage: PPN[1] ≠ 0 → page fault at level 2; aligned translates', () => {
    const s = setup();
    const w = wordOf(s, VA, 2);
    put(s, w, ppn(2 ** 30 + 0x20_0000) | V | R | U);
    expect(pf(() => s.space.translate(VA, AccessKind.Read, 0, true)).level).toBe(2);
    put(s, w, ppn(2 ** 30) | V | R | U);
    expect(s.space.translate(VA + 0x10, AccessKind.Read, 0, true)).toBe(2 ** 30 + VA + 0x10);
  });

  it('Sv48: a leaf at level 3 is a 512 GiB terapage; misaligned by one 1 GiB step → page fault', () => {
    const s = setup({ mode: 'sv48' });
    const w = wordOf(s, VA, 3);
    put(s, w, ppn(2 ** 39) | V | R | U);
    expect(s.space.translate(VA + 0x10, AccessKind.Read, 0, true)).toBe(2 ** 39 + VA + 0x10);
    put(s, w, ppn(2 ** 39 + 2 ** 30) | V | R | U);
    expect(pf(() => s.space.translate(VA, AccessKind.Read, 0, true)).level).toBe(3);
  });

  it('highest PPN bit (PA bit 55) is an address bit in a leaf', () => {
    const s = setup();
    put(s, wordOf(s, VA, 0), ppn(2 ** 55) | ppn(0x9000) | V | R | U);
    expect(s.space.translate(VA, AccessKind.Read, 0, true)).toBe(2 ** 55 + 0x9000);
  });

  it('V = 1 with R = W = X = 0 at level 0 (pointer past the last level, step 4) → page fault', () => {
    const s = setup();
    put(s, wordOf(s, VA, 0), ppn(0x9000) | V);
    expect(pf(() => s.space.translate(VA, AccessKind.Execute, 0, true)).scause).toBe(FETCH);
  });

  it('V = 0 at the root: page fault at level 2 (Sv39), scause by access type', () => {
    const s = setup();
    put(s, wordOf(s, VA, 2), 0n);
    const f = pf(() => s.space.translate(VA, AccessKind.Write, 0, true));
    expect([f.scause, f.level, f.reason]).toEqual([STORE, 2, 'not-present']);
  });
});

describe('RV64 review vectors: virtual address range (§4.4, §4.5)', () => {
  it('Sv39: bits 63:39 must equal bit 38 — else a page fault (13/15/12) with stval = VA', () => {
    const s = setup();
    for (const va of [1n << 38n, 0x0000_0080_0000_0000n, 0xffff_ff80_0000_0000n - 1n]) {
      const f = pf(() => s.space.translate(va, AccessKind.Write, 0, false));
      expect([f.scause, f.stval, f.reason]).toEqual([STORE, va, 'invalid-address']);
    }
    // canonical upper half: reaches the walk (not mapped → not-present)
    expect(pf(() => s.space.translate(0xffff_ffc0_0000_0000n, AccessKind.Read, 0, false)).reason).toBe('not-present');
  });

  it('Sv48: 0x0000_8000_0000_0000 is not canonical; 0x0000_7fff_ffff_f000 and 0xffff_8000_0000_0000 are', () => {
    const s = setup({ mode: 'sv48' });
    expect(pf(() => s.space.translate(0x0000_8000_0000_0000n, AccessKind.Execute, 0, true)).scause).toBe(FETCH);
    expect(pf(() => s.space.translate(0x0000_8000_0000_0000n, AccessKind.Execute, 0, true)).reason).toBe('invalid-address');
    expect(pf(() => s.space.translate(0x7fff_ffff_f000, AccessKind.Read, 0, true)).reason).toBe('not-present');
    expect(pf(() => s.space.translate(0xffff_8000_0000_0000n, AccessKind.Read, 0, false)).reason).toBe('not-present');
  });
});

describe('RV64 review vectors: the A/D update is atomic with the PTE load (§4.3.2 step 7)', () => {
  it('a store to the PTE by another hart between the walk\'s load and its A/D update is not overwritten', () => {
    const s = setup();
    const leaf = wordOf(s, VA, 0);
    put(s, leaf, ppn(0x9000) | V | R | W | U);
    const original = Atomics.or as (a: Int32Array, i: number, v: number) => number;
    const originalCas = Atomics.compareExchange as (a: Uint32Array | Int32Array, i: number, e: number, r: number) => number;
    let fired = false;
    const interleave = (arr: unknown, i: number): void => {
      if (!fired && (arr === s.phys.i32 || arr === s.phys.u32) && i === leaf) {
        fired = true;
        s.space.unmap(VA, 4096); // hart 1 clears the PTE (its sfence.vma follows)
      }
    };
    vi.spyOn(Atomics, 'or').mockImplementation(((arr: Int32Array, i: number, v: number) => {
      interleave(arr, i);
      return original(arr, i, v);
    }) as unknown as typeof Atomics.or);
    vi.spyOn(Atomics, 'compareExchange').mockImplementation(((arr: Int32Array, i: number, e: number, r: number) => {
      interleave(arr, i);
      return originalCas(arr, i, e, r);
    }) as unknown as typeof Atomics.compareExchange);
    try {
      s.space.translate(VA, AccessKind.Write, 0, true);
    } catch {
      // a fault is a correct outcome (the walk saw the cleared PTE)
    }
    vi.restoreAllMocks();
    expect(fired).toBe(true);
    // The cleared PTE must stay cleared: A/D written into it would be an intervening store lost.
    expect(raw(s, leaf)).toBe(0n);
    expect(() => s.space.map(VA, 0x7000, 4096, PagePerm.READ | PagePerm.USER)).not.toThrow();
  });
});
