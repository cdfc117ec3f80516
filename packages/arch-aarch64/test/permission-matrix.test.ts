import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { AccessKind, PagePerm, PhysicalMemory } from '@veridian/core';
import { Aarch64PageFault, Dfsc, ExceptionClass, createAarch64Mmu, type Aarch64AddressSpace } from '../src/index.ts';
import { Right, architecturalRights } from '../src/page-table-entry.ts';

// Stage-1 EL1&0 permissions from the Arm ARM (D8.4 / D5.4 "Memory access control"), written
// out independently of the walker: AP[2:1] data permissions, DBM (a write to a
// writable-clean page is allowed and makes it dirty), UXN / PXN, the implicit PXN of
// EL0-writable memory, and the hierarchical APTable / UXNTable / PXNTable limits of every
// table descriptor above. PAN and SCTLR_EL1.WXN are not modelled (both 0).

interface Leaf {
  ap2: boolean;
  ap1: boolean;
  dbm: boolean;
  pxn: boolean;
  uxn: boolean;
}

interface Table {
  apTable: number;
  uxnTable: boolean;
  pxnTable: boolean;
}

const KINDS = [
  { name: 'EL1 read', access: AccessKind.Read, user: false },
  { name: 'EL1 write', access: AccessKind.Write, user: false },
  { name: 'EL1 execute', access: AccessKind.Execute, user: false },
  { name: 'EL0 read', access: AccessKind.Read, user: true },
  { name: 'EL0 write', access: AccessKind.Write, user: true },
  { name: 'EL0 execute', access: AccessKind.Execute, user: true },
] as const;

function allowed(leaf: Leaf, tables: Table[], access: AccessKind, user: boolean): boolean {
  const ap = tables.reduce((a, t) => a | t.apTable, 0);
  const noWrite = (ap & 2) !== 0;
  const noEl0 = (ap & 1) !== 0;
  const el0 = leaf.ap1 && !noEl0;
  const writable = !noWrite && (!leaf.ap2 || leaf.dbm);
  if (access === AccessKind.Read) return !user || el0;
  if (access === AccessKind.Write) return writable && (!user || el0);
  if (user) return !leaf.uxn && !tables.some((t) => t.uxnTable);
  const el0Writable = el0 && !noWrite && !leaf.ap2;
  return !leaf.pxn && !tables.some((t) => t.pxnTable) && !el0Writable;
}

const rightOf = (access: AccessKind, user: boolean): number =>
  user ? (access === AccessKind.Read ? Right.EL0_READ : access === AccessKind.Write ? Right.EL0_WRITE : Right.EL0_EXEC) : access === AccessKind.Read ? Right.EL1_READ : access === AccessKind.Write ? Right.EL1_WRITE : Right.EL1_EXEC;

function leafWords(l: Leaf): [number, number] {
  return [0x703 | (l.ap1 ? 0x40 : 0) | (l.ap2 ? 0x80 : 0), (l.dbm ? 1 << 19 : 0) | (l.pxn ? 1 << 21 : 0) | (l.uxn ? 1 << 22 : 0)];
}

function tableHi(t: Table): number {
  return ((t.pxnTable ? 1 << 27 : 0) | (t.uxnTable ? 1 << 28 : 0) | (t.apTable << 29)) >>> 0;
}

const LEAVES: Leaf[] = [];
for (let i = 0; i < 32; i++) LEAVES.push({ ap2: !!(i & 1), ap1: !!(i & 2), dbm: !!(i & 4), pxn: !!(i & 8), uxn: !!(i & 16) });
const TABLES: Table[] = [];
for (let i = 0; i < 16; i++) TABLES.push({ apTable: i & 3, uxnTable: !!(i & 4), pxnTable: !!(i & 8) });

function outcome(s: Aarch64AddressSpace, va: number, access: AccessKind, user: boolean): number | Aarch64PageFault {
  try {
    return s.translate(va, access, 0, user);
  } catch (e) {
    if (e instanceof Aarch64PageFault) return e;
    throw e;
  }
}

describe('permission matrix: table controls × leaf AP/DBM/PXN/UXN × every access kind', () => {
  it('architecturalRights agrees with the Arm ARM for all 32 leaf encodings under all 16 table controls', () => {
    for (const leaf of LEAVES) {
      const [lo, hi] = leafWords(leaf);
      for (const t of TABLES) {
        const r = architecturalRights(lo, hi, tableHi(t));
        for (const k of KINDS) expect((r & rightOf(k.access, k.user)) !== 0, `${JSON.stringify(leaf)} ${JSON.stringify(t)} ${k.name}`).toBe(allowed(leaf, [t], k.access, k.user));
      }
    }
  });

  for (const level of [0, 1, 2]) {
    it(`a table descriptor at level ${level} limits every page below it, as the walk sees it (TLB hits included)`, () => {
      const s = createAarch64Mmu(PhysicalMemory.create({ frames: 32 })).createAddressSpace();
      const va = 0x40_0000;
      const pa = 0x9000;
      for (const w of [false, true]) {
        for (const u of [false, true]) {
          for (const x of [false, true]) {
            for (const dbm of w ? [false, true] : [true]) {
              const perms = PagePerm.READ | (w ? PagePerm.WRITE : 0) | (u ? PagePerm.USER : 0) | (x ? PagePerm.EXECUTE : 0);
              const leaf: Leaf = { ap2: !w || dbm, ap1: u, dbm: w && dbm, pxn: !(x && !u), uxn: !(x && u) };
              for (const t of TABLES) {
                s.map(va, pa, 4096, perms, { dbm });
                s.setTableAttributes(va, level, t);
                for (const k of KINDS) {
                  for (const round of [0, 1]) {
                    const what = `perms ${perms} dbm ${dbm} table ${JSON.stringify(t)} ${k.name} round ${round}`;
                    const r = outcome(s, va + 0x30, k.access, k.user);
                    if (allowed(leaf, [t], k.access, k.user)) expect(r, what).toBe(pa + 0x30);
                    else {
                      expect(r, what).toBeInstanceOf(Aarch64PageFault);
                      const f = r as Aarch64PageFault;
                      expect(f.reason, what).toBe('permission');
                      expect(f.dfsc, what).toBe(Dfsc.permission(3));
                      const ec = k.access === AccessKind.Execute ? (k.user ? ExceptionClass.INSTRUCTION_ABORT_LOWER : ExceptionClass.INSTRUCTION_ABORT_SAME) : k.user ? ExceptionClass.DATA_ABORT_LOWER : ExceptionClass.DATA_ABORT_SAME;
                      expect(f.esr >>> 26, what).toBe(ec);
                      expect((f.esr & 0x40) !== 0, what).toBe(k.access === AccessKind.Write);
                      expect(f.far, what).toBe(BigInt(va + 0x30));
                    }
                  }
                }
                s.unmap(va, 4096);
              }
            }
          }
        }
      }
    });
  }

  it('controls at several levels combine; blocks are limited too (property)', () => {
    const table = fc.record({ apTable: fc.integer({ min: 0, max: 3 }), uxnTable: fc.boolean(), pxnTable: fc.boolean() });
    fc.assert(
      fc.property(fc.array(table, { minLength: 3, maxLength: 3 }), fc.integer({ min: 0, max: 15 }), fc.boolean(), fc.constantFrom(1, 2, 3), fc.constantFrom(...KINDS), (tables, p, dbm, leafLevel, k) => {
        const s = createAarch64Mmu(PhysicalMemory.create({ frames: 16 })).createAddressSpace();
        const size = leafLevel === 3 ? 4096 : leafLevel === 2 ? 0x20_0000 : 0x4000_0000;
        const perms = PagePerm.READ | (p & 0xe);
        const w = (perms & PagePerm.WRITE) !== 0;
        const u = (perms & PagePerm.USER) !== 0;
        const x = (perms & PagePerm.EXECUTE) !== 0;
        const va = 0x40_0000_0000;
        s.map(va, size, size, perms, { pageSize: size, dbm });
        const path: Table[] = [];
        for (let l = 0; l < leafLevel; l++) {
          s.setTableAttributes(va, l, tables[l]!);
          path.push(tables[l]!);
        }
        const leaf: Leaf = { ap2: !w || dbm, ap1: u, dbm: w && dbm, pxn: !(x && !u), uxn: !(x && u) };
        const r = outcome(s, va + 16, k.access, k.user);
        if (allowed(leaf, path, k.access, k.user)) expect(r).toBe(size + 16);
        else expect((r as Aarch64PageFault).dfsc).toBe(Dfsc.permission(leafLevel));
      }),
      { numRuns: 300 },
    );
  });
});
