import { describe, expect, it } from 'vitest';
import { AccessKind, PagePerm, PhysicalMemory } from '@veridian/core';
import { PfError, X86PageFault, decodeEntry, encodeEntry, makePkru, createX86Mmu, type EntryFields, type X86AddressSpace, type X86Mmu } from '../src/index.js';
import { readGolden, vaOf } from './golden.js';

// Golden entries from Linux's pgtable_types.h and the SDM, checked three ways: through the
// encoder, through the decoder, and through a real map + access, reading the raw entry back
// from machine memory.
const golden = readGolden('attributes');
const ADDRESS = 0x000ffffffffff000n;
const ACCESS: Record<string, AccessKind> = { read: AccessKind.Read, write: AccessKind.Write, execute: AccessKind.Execute };

interface MapSpec {
  va: string;
  pa: string;
  pageSize: number;
  perms: string[];
  global: boolean;
  tableFlags?: string;
  patIndex?: number;
  protectionKey?: number;
}

const permsOf = (names: string[]): number => names.reduce((p, n) => p | PagePerm[n as keyof typeof PagePerm], 0);
const hex = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;

function machine(): { mmu: X86Mmu; space: X86AddressSpace } {
  const mmu = createX86Mmu(PhysicalMemory.create({ frames: 32 }));
  return { mmu, space: mmu.createAddressSpace() };
}

function mapOf(space: X86AddressSpace, m: MapSpec): number | bigint {
  const va = vaOf(m.va);
  space.map(va, Number(BigInt(m.pa)), m.pageSize, permsOf(m.perms), {
    pageSize: m.pageSize,
    global: m.global,
    ...(m.tableFlags !== undefined ? { tableFlags: BigInt(m.tableFlags) } : {}),
    ...(m.patIndex !== undefined ? { patIndex: m.patIndex } : {}),
    ...(m.protectionKey !== undefined ? { protectionKey: m.protectionKey } : {}),
  });
  return va;
}

describe('golden attribute vectors (Linux pgtable_types.h, Intel SDM)', () => {
  it('every vector names its source', () => {
    expect(golden.arch).toBe('x86_64');
    expect(golden.vectors.length).toBeGreaterThanOrEqual(10);
    for (const v of [...golden.vectors, ...golden.faults]) expect(v.source, v.name).toMatch(/\S{8,}/);
  });

  for (const v of golden.vectors) {
    const level = v.level as number;
    const fields = v.fields as EntryFields;
    const entry = BigInt(v.entry);

    it(`${v.name}: encoder and decoder`, () => {
      expect(hex(encodeEntry(fields, level))).toBe(v.entry);
      const decoded = decodeEntry(entry, level);
      for (const [k, want] of Object.entries(fields)) expect(decoded[k as keyof EntryFields], k).toBe(want);
      expect(encodeEntry(decoded, level)).toBe(entry);
    });

    it(`${v.name}: a real walk leaves exactly this entry in machine memory`, () => {
      const { space } = machine();
      const m = v.map as MapSpec;
      const a = v.access as { kind: string; user: boolean };
      const va = mapOf(space, m);
      space.translate(va, ACCESS[a.kind]!, 0, a.user);
      if (v.kind === 'table') {
        for (const l of v.levels as number[]) expect(hex(space.readEntry(va, l)! & ~ADDRESS), `level ${l}`).toBe(v.entry);
        if (v.userAccessFaults) expect(() => space.translate(va, AccessKind.Read, 0, true)).toThrow(X86PageFault);
      } else {
        expect(hex(space.readEntry(va, level)!)).toBe(v.entry);
        const walk = space.walk(va);
        expect(hex(walk[walk.length - 1]!)).toBe(v.entry);
      }
    });
  }

  for (const f of golden.faults) {
    it(`error code of ${f.name} is ${f.errorCode as string}`, () => {
      const { mmu, space } = machine();
      const va = 0x60_0000;
      const user = f.user as boolean;
      switch (f.setup) {
        case 'unmapped':
          break;
        case 'user-read-only':
          space.map(va, 0x5000, 4096, PagePerm.READ | PagePerm.USER);
          break;
        case 'kernel-rw':
          space.map(va, 0x5000, 4096, PagePerm.READ | PagePerm.WRITE);
          break;
        case 'reserved-2m':
          space.map(va, 0x20_0000, 2 << 20, PagePerm.READ | PagePerm.WRITE | PagePerm.USER, { pageSize: 2 << 20 });
          space.writeEntry(va, 1, space.readEntry(va, 1)! | (1n << 13n));
          break;
        case 'pkru-write-disable':
        case 'pkru-access-disable':
          space.map(va, 0x5000, 4096, PagePerm.READ | PagePerm.WRITE | PagePerm.USER, { protectionKey: 7 });
          mmu.setPkru(0, makePkru({ 7: f.setup === 'pkru-write-disable' ? 'read-only' : 'none' }));
          break;
        default:
          throw new Error(`unknown setup ${String(f.setup)}`);
      }
      let fault: unknown;
      try {
        space.translate(va + 0x10, ACCESS[f.access as string]!, 0, user);
      } catch (e) {
        fault = e;
      }
      expect(fault).toBeInstanceOf(X86PageFault);
      const pf = fault as X86PageFault;
      expect(`0x${pf.errorCode.toString(16)}`).toBe(f.errorCode);
      expect(pf.reason).toBe(f.reason);
      expect(pf.cr2).toBe(BigInt(va + 0x10));
      expect(pf.vector).toBe(14);
      expect(pf.errorCode & PfError.USER ? true : false).toBe(user);
    });
  }
});
