import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PageMarker, PagePerm } from '@veridian/core';
import { readGolden } from '@veridian/testkit';
import { ExceptionCause, PteBit, SV39, SV48, causeOf, decodeEntry, decodeSatp, encodeEntry, encodeSatp, leafFlags, leafPerms, normalizePerms, toLinear, fromLinear } from '../src/index.ts';

const attributes = readGolden('attributes', new URL('../golden/attributes.json', import.meta.url));

describe('Sv39/Sv48 entries', () => {
  it('decodes the Linux protection vectors into the documented fields and back', () => {
    for (const v of attributes.vectors) {
      const value = BigInt(v.entry);
      const f = decodeEntry(value);
      expect(encodeEntry(f), v.name).toBe(value);
      expect(f.v, `${v.name}: V`).toBe(v.valid);
      const lo = Number(value & 0xffffffffn);
      if (f.v && (f.r || f.w || f.x)) {
        const perms = (v.perms as string[]).reduce((p, n) => p | PagePerm[n as keyof typeof PagePerm], 0);
        expect(leafPerms(lo), `${v.name}: rights`).toBe(perms);
        expect(f.g, `${v.name}: G`).toBe(v.global);
      }
    }
  });

  it('encode/decode is a bijection on the defined fields', () => {
    fc.assert(
      fc.property(fc.record({ v: fc.boolean(), r: fc.boolean(), w: fc.boolean(), x: fc.boolean(), u: fc.boolean(), g: fc.boolean(), a: fc.boolean(), d: fc.boolean(), rsw: fc.nat({ max: 3 }), ppn: fc.nat({ max: 2 ** 44 - 1 }), reserved: fc.nat({ max: 1023 }) }), (f) => {
        expect(decodeEntry(encodeEntry(f))).toEqual(f);
      }),
    );
  });

  it('WRITE implies READ; no rights is a not-present entry marked like Linux PROT_NONE; LAZY clears V', () => {
    expect(normalizePerms(PagePerm.WRITE)).toBe(PagePerm.WRITE | PagePerm.READ);
    expect(leafFlags(PagePerm.WRITE | PagePerm.USER, 0, false)).toBe(PteBit.V | PteBit.R | PteBit.W | PteBit.U);
    expect(leafFlags(PagePerm.EXECUTE, 0, false), 'X without R is legal on RISC-V').toBe(PteBit.V | PteBit.X);
    expect(leafFlags(PagePerm.USER, 0, false)).toBe(PteBit.U | PteBit.G);
    expect(leafFlags(PagePerm.READ, PageMarker.LAZY, false)).toBe(PteBit.R | PteBit.RSW1);
    expect(leafFlags(PagePerm.READ, PageMarker.COPY_ON_WRITE, true)).toBe(PteBit.V | PteBit.R | PteBit.G | PteBit.RSW0);
  });

  it('page faults carry the scause codes of the privileged spec', () => {
    for (const f of attributes.faults) {
      const access = f.access === 'execute' ? 4 : f.access === 'write' ? 2 : 1;
      expect(causeOf(access), f.name).toBe(f.scause);
    }
    expect(ExceptionCause).toEqual({ InstructionPageFault: 12, LoadPageFault: 13, StorePageFault: 15 });
  });

  it('satp packs MODE, ASID and the root PPN', () => {
    for (const s of attributes.satp as Array<{ name: string; mode: string; asid: number; root: string; satp: string }>) {
      const mode = s.mode === 'sv48' ? SV48 : SV39;
      expect(encodeSatp(mode, s.asid, Number(s.root)), s.name).toBe(BigInt(s.satp));
      expect(decodeSatp(BigInt(s.satp))).toEqual({ mode: mode.satpMode, asid: s.asid, rootPa: Number(s.root) });
    }
  });

  it('only sign extensions of bit vaBits-1 are addresses; linear and canonical forms round-trip', () => {
    for (const mode of [SV39, SV48]) {
      const half = 2n ** BigInt(mode.vaBits - 1);
      expect(toLinear(half - 1n, mode)).toBe(Number(half - 1n));
      expect(toLinear(half, mode)).toBe(-1);
      expect(toLinear((1n << 64n) - half, mode)).toBe(Number(half));
      expect(toLinear((1n << 64n) - half - 1n, mode)).toBe(-1);
      expect(toLinear(-1, mode)).toBe(-1);
      fc.assert(
        fc.property(fc.bigInt({ min: 0n, max: 2n ** BigInt(mode.vaBits) - 1n }), (lin) => {
          const va = fromLinear(Number(lin), mode);
          expect(toLinear(va, mode)).toBe(Number(lin));
        }),
      );
    }
  });
});
