import { describe, expect, it } from 'vitest';
import { AccessKind, PagePerm, PhysicalMemory } from '@veridian/core';
import { readGolden } from '@veridian/testkit';
import {
  Aarch64PageFault,
  DEFAULT_MAIR,
  attrIndexOf,
  createAarch64Mmu,
  decodeLeafAttributes,
  decodeLeafDescriptor,
  decodeTableDescriptor,
  encodeLeafDescriptor,
  encodeTableDescriptor,
  mairAttribute,
  type Aarch64AddressSpace,
  type Aarch64MapOptions,
  type MemoryType,
  type TableAttributes,
} from '../src/index.ts';

// Golden descriptors from Linux's pgtable-prot.h / pgtable-hwdef.h and the Arm ARM, checked
// through the encoders and through a real map + access, reading the raw descriptor back
// from machine memory.
const golden = readGolden('attributes', new URL('../golden/attributes.json', import.meta.url));
const ACCESS: Record<string, AccessKind> = { read: AccessKind.Read, write: AccessKind.Write, execute: AccessKind.Execute };
const TABLE_ADDRESS = 0x0000_ffff_ffff_f000n;
const hex = (v: bigint): string => `0x${v.toString(16).padStart(16, '0')}`;
const permsOf = (names: string[]): number => names.reduce((p, n) => p | PagePerm[n as keyof typeof PagePerm], 0);

interface MapSpec {
  va: string;
  pa: string;
  pageSize: number;
  perms: string[];
  global: boolean;
  memoryType?: MemoryType;
  dbm?: boolean;
  shareability?: number;
}

function optionsOf(m: MapSpec): Aarch64MapOptions {
  return {
    pageSize: m.pageSize,
    global: m.global,
    ...(m.memoryType !== undefined ? { memoryType: m.memoryType } : {}),
    ...(m.dbm !== undefined ? { dbm: m.dbm } : {}),
    ...(m.shareability !== undefined ? { shareability: m.shareability } : {}),
  };
}

function space(options: { hardwareAccessFlag?: boolean } = {}): Aarch64AddressSpace {
  return createAarch64Mmu(PhysicalMemory.create({ frames: 64 }), options).createAddressSpace();
}

function faultOf(fn: () => unknown): Aarch64PageFault {
  try {
    fn();
  } catch (e) {
    if (e instanceof Aarch64PageFault) return e;
    throw e;
  }
  throw new Error('expected an Aarch64PageFault');
}

describe('golden attribute vectors (Linux pgtable-prot.h / pgtable-hwdef.h, Arm ARM)', () => {
  it('every vector names its source', () => {
    expect(golden.arch).toBe('aarch64');
    expect(golden.vectors.length).toBeGreaterThanOrEqual(15);
    for (const v of [...golden.vectors, ...golden.faults]) expect(v.source, v.name).toMatch(/\S{8,}/);
  });

  it('MAIR_EL1 matches Linux, slot by slot', () => {
    const [m] = golden.mair as Array<{ value: string; slots: Record<MemoryType, number> }>;
    expect(hex(DEFAULT_MAIR)).toBe(m!.value);
    for (const [type, slot] of Object.entries(m!.slots)) expect(attrIndexOf(DEFAULT_MAIR, type as MemoryType), type).toBe(slot);
    expect(mairAttribute(DEFAULT_MAIR, 0)).toBe(0xff);
    expect(mairAttribute(DEFAULT_MAIR, 4)).toBe(0x04);
  });

  for (const v of golden.vectors) {
    const m = v.map as MapSpec;
    if (v.kind === 'leaf') {
      const level = v.level as number;
      it(`${v.name}: encoder`, () => {
        const a = v.access as { kind: string };
        const perms = permsOf(m.perms);
        const value = encodeLeafDescriptor(Number(BigInt(m.pa)), perms, {
          pageSize: m.pageSize,
          global: m.global,
          accessed: true,
          dirty: a.kind === 'write',
          attrIndx: m.memoryType ? attrIndexOf(DEFAULT_MAIR, m.memoryType) : 0,
          ...(m.dbm !== undefined ? { dbm: m.dbm } : {}),
          ...(m.shareability !== undefined ? { shareability: m.shareability } : {}),
        });
        expect(hex(value)).toBe(v.entry);
        const d = decodeLeafDescriptor(BigInt(v.entry), { level });
        expect(d.present).toBe(true);
        expect(d.pa).toBe(Number(BigInt(m.pa)));
        expect(d.perms & ~PagePerm.READ).toBe(perms & ~PagePerm.READ);
        expect(decodeLeafAttributes(BigInt(v.entry)).attrIndx).toBe(m.memoryType ? attrIndexOf(DEFAULT_MAIR, m.memoryType) : 0);
      });
      it(`${v.name}: a real walk leaves exactly this descriptor in machine memory`, () => {
        const s = space();
        const a = v.access as { kind: string; user: boolean };
        const va = Number(BigInt(m.va));
        s.map(va, Number(BigInt(m.pa)), m.pageSize, permsOf(m.perms), optionsOf(m));
        s.translate(va + 8, ACCESS[a.kind]!, 0, a.user);
        expect(hex(s.readDescriptor(va, level)!)).toBe(v.entry);
      });
    } else {
      const attrs = v.tableAttributes as TableAttributes;
      it(`${v.name}: encoder and decoder`, () => {
        expect(hex(encodeTableDescriptor(0, attrs))).toBe(v.entry);
        expect(decodeTableDescriptor(BigInt(v.entry))).toMatchObject({ address: 0, apTable: attrs.apTable ?? 0, pxnTable: attrs.pxnTable ?? false, uxnTable: attrs.uxnTable ?? false });
      });
      it(`${v.name}: map writes it at every table level and the walk obeys it`, () => {
        const s = space();
        const va = Number(BigInt(m.va));
        s.map(va, Number(BigInt(m.pa)), m.pageSize, permsOf(m.perms), { tableAttributes: attrs });
        for (const l of v.levels as number[]) expect(hex(s.readDescriptor(va, l)! & ~TABLE_ADDRESS), `level ${l}`).toBe(v.entry);
        for (const f of v.faults as Array<{ access: string; user: boolean }>) {
          const pf = faultOf(() => s.translate(va, ACCESS[f.access]!, 0, f.user));
          expect(pf.reason, `${f.access} user=${f.user}`).toBe('permission');
          expect(pf.dfsc).toBe(0x0f);
        }
      });
    }
  }

  for (const f of golden.faults) {
    it(`ESR_EL1 of ${f.name} is ${f.esr as string}`, () => {
      const s = space({ hardwareAccessFlag: f.setup !== 'no-hardware-af' });
      const va = 0x60_0000;
      const RWU = PagePerm.READ | PagePerm.WRITE | PagePerm.USER;
      let at = va;
      switch (f.setup) {
        case 'empty':
          break;
        case 'neighbour':
          s.map(va + 4096, 0x5000, 4096, RWU);
          break;
        case 'user-read-only':
          s.map(va, 0x5000, 4096, PagePerm.READ | PagePerm.USER);
          break;
        case 'block-read-only':
          s.map(va - 0x20_0000, 0x20_0000, 0x20_0000, PagePerm.READ | PagePerm.USER, { pageSize: 0x20_0000 });
          at = va - 0x20_0000 + 0x1234;
          break;
        case 'no-hardware-af':
          s.map(va, 0x5000, 4096, RWU);
          break;
        case 'aptable-ro':
          s.map(va, 0x5000, 4096, RWU, { tableAttributes: { apTable: 2 } });
          break;
        default:
          throw new Error(`unknown setup ${String(f.setup)}`);
      }
      const pf = faultOf(() => s.translate(at, ACCESS[f.access as string]!, 0, f.user as boolean));
      expect(`0x${pf.esr.toString(16)}`).toBe(f.esr);
      expect(`0x${pf.dfsc.toString(16).padStart(2, '0')}`).toBe(f.dfsc);
      expect(pf.reason).toBe(f.reason);
      expect(pf.far).toBe(BigInt(at));
      expect(pf.level).toBe(Number(BigInt(f.dfsc as string) & 3n));
    });
  }
});
