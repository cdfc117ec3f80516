/** MMU cases, through the arch's `Mmu` contract over a fresh `PhysicalMemory`, plus its golden page-table entries. */
import { expect } from 'vitest';
import { AccessKind, IpcError, PageFault, PageMarker, PagePerm, PhysicalMemory, type AddressSpace, type Arch, type FaultReason, type Mmu, type VirtualAddress } from '@veridian/core';
import { hex64 } from '../support/bytes.js';
import { codeOf } from '../support/harness.js';
import type { CaseTable } from './types.js';

const { READ, WRITE, EXECUTE, USER } = PagePerm;
const R = AccessKind.Read;
const W = AccessKind.Write;
const X = AccessKind.Execute;
const PAGE = 4096;

/** A bigint address as the contract takes it: a number when it is a safe integer. */
const addr = (v: bigint): VirtualAddress => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);

/**
 * Addresses no user translation of `arch` covers, from its own description: the first
 * address past its virtual-address width, bit 63 alone (outside the range of any width below
 * 64, whether the arch sign-extends or zero-extends), and the arch's own samples.
 */
function invalidAddresses(arch: Arch): bigint[] {
  const { vaBits, invalidAddresses: extra = [] } = arch.addressSpace;
  const out = vaBits < 64 ? [1n << BigInt(vaBits), 1n << 63n] : [];
  return [...out, ...extra];
}

/** A page high in the user range that needs tables of its own (the top 1/128 of the range, e.g. 0x7f00_0000_0000 under 47 user bits). */
function farUserPage(arch: Arch): VirtualAddress {
  const top = arch.addressSpace.userTop;
  return addr(top - top / 128n);
}

function machine(arch: Arch, frames = 96, cpus = 1): { phys: PhysicalMemory; mmu: Mmu; space: AddressSpace } {
  const phys = PhysicalMemory.create({ frames });
  const mmu = arch.createMmu(phys, { cpus });
  return { phys, mmu, space: mmu.createAddressSpace() };
}

/** The page fault `fn` throws (anything else, or nothing, fails the case). */
function faultOf(fn: () => unknown, what: string): PageFault {
  try {
    fn();
  } catch (e) {
    expect(e, `${what}: throws a PageFault`).toBeInstanceOf(PageFault);
    expect((e as PageFault).code).toBe('AccessFault');
    return e as PageFault;
  }
  return expect.fail(`${what}: expected a page fault`);
}

function expectFault(fn: () => unknown, reason: FaultReason, what: string): PageFault {
  const f = faultOf(fn, what);
  expect(f.reason, `${what}: fault reason`).toBe(reason);
  return f;
}

/** A golden address: a number when it is a safe integer, else a bigint. */
function vaOf(hex: string): VirtualAddress {
  const v = BigInt(hex);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
}

const flagsOf = <T extends Record<string, number>>(table: T, names: string[]): number =>
  names.reduce((bits, n) => {
    const bit = table[n];
    if (bit === undefined) throw new Error(`unknown flag name ${n}`);
    return bits | bit;
  }, 0);

/** Everything observable about a space's mappings (for "nothing changed" checks). */
const tablesOf = (space: AddressSpace) => JSON.stringify(space.mappings(), (_, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));

/** The `mmu.*` cases. */
export const mmuCases: CaseTable<'mmu'> = {
  'mmu.map-translate': {
    checks:
      'map then translate gives pa + offset for every page and offset; lookup and mappings report the pages; overlap is AlreadyExists, misalignment InvalidArgument, no frame for a table OutOfMemory, each with the tables unchanged; spaces are isolated',
    run(ctx) {
      const { phys, mmu, space } = machine(ctx.arch);
      const va = 0x40_0000;
      const pa = 0x5000;
      const free = phys.freeFrames;
      space.map(va, pa, 3 * PAGE, READ | WRITE | USER);
      for (let k = 0; k < 3; k++) {
        for (const off of [0, 1, 0x123, PAGE - 1]) {
          expect(space.translate(va + k * PAGE + off, R, 0, true)).toBe(pa + k * PAGE + off);
          expect(space.translate(va + k * PAGE + off, W, 0, true)).toBe(pa + k * PAGE + off);
        }
      }
      const m = space.lookup(va + PAGE + 5);
      expect(m).toMatchObject({ va: va + PAGE, pa: pa + PAGE, size: PAGE, present: true });
      expect(m!.perms & (READ | WRITE | USER)).toBe(READ | WRITE | USER);
      expect(space.mappings().map((x) => [Number(x.va), x.pa, x.size])).toEqual([
        [va, pa, PAGE],
        [va + PAGE, pa + PAGE, PAGE],
        [va + 2 * PAGE, pa + 2 * PAGE, PAGE],
      ]);
      expect(space.lookup(va + 3 * PAGE)).toBeUndefined();

      const tables = tablesOf(space);
      const used = phys.freeFrames;
      expect(used, 'tables were allocated for the mapping').toBeLessThan(free);
      expect(codeOf(() => space.map(va + PAGE, 0x9000, PAGE, READ))).toBe('AlreadyExists');
      expect(codeOf(() => space.map(va - PAGE, 0x9000, 2 * PAGE, READ))).toBe('AlreadyExists');
      expect(codeOf(() => space.map(va + 0x800 + 8 * PAGE, 0x9000, PAGE, READ))).toBe('InvalidArgument');
      expect(codeOf(() => space.map(va + 8 * PAGE, 0x9800, PAGE, READ))).toBe('InvalidArgument');
      expect(codeOf(() => space.map(va + 8 * PAGE, 0x9000, PAGE + 1, READ))).toBe('InvalidArgument');
      expect(tablesOf(space)).toBe(tables);
      expect(space.translate(va + PAGE, R)).toBe(pa + PAGE);
      expect(phys.freeFrames).toBe(used);

      // No frame left for an intermediate table: OutOfMemory, tables exactly as before.
      const hoard: number[] = [];
      while (phys.freeFrames > 0) hoard.push(phys.allocFrame());
      const far = farUserPage(ctx.arch);
      const walk = space.walk(far);
      expect(codeOf(() => space.map(far, 0x9000, PAGE, READ | USER))).toBe('OutOfMemory');
      expect(space.walk(far)).toEqual(walk);
      expect(tablesOf(space)).toBe(tables);
      for (const f of hoard) phys.freeFrame(f);
      space.map(far, 0x9000, PAGE, READ | USER);
      expect(space.translate(addr(BigInt(far) + 7n), R, 0, true)).toBe(0x9007);

      const other = mmu.createAddressSpace();
      expect(other.asid).not.toBe(space.asid);
      expect(other.root).not.toBe(space.root);
      expectFault(() => other.translate(va, R), 'not-present', 'another space');
      other.map(va, 0x20000, PAGE, READ);
      expect(other.translate(va + 1, R)).toBe(0x20001);
      expect(space.translate(va + 1, R)).toBe(pa + 1);
    },
  },

  'mmu.unmap-faults': {
    checks: 'after unmap an access faults not-present with the address and access kind, neighbours stay mapped, holes are ignored, and emptied tables are freed',
    run(ctx) {
      const { phys, space } = machine(ctx.arch);
      const free = phys.freeFrames;
      const va = 0x1234_5000;
      space.map(va, 0x7000, 2 * PAGE, READ | WRITE | USER);
      expect(space.translate(va + 8, R)).toBe(0x7008);
      expect(space.translate(va + PAGE + 8, R)).toBe(0x8008);
      space.unmap(va, PAGE);
      const f = expectFault(() => space.translate(va + 8, R), 'not-present', 'unmapped page (cached in the TLB before)');
      expect(BigInt(f.address)).toBe(BigInt(va + 8));
      expect(f.access).toBe(R);
      expectFault(() => space.translate(va, W), 'not-present', 'write to the unmapped page');
      expect(space.lookup(va)).toBeUndefined();
      expect(space.translate(va + PAGE + 8, R)).toBe(0x8008);
      space.unmap(va - 16 * PAGE, 8 * PAGE);
      expect(space.mappings()).toHaveLength(1);
      space.unmap(va, 2 * PAGE);
      expect(space.mappings()).toEqual([]);
      expectFault(() => space.translate(va + PAGE, R), 'not-present', 'second unmapped page');
      expect(phys.freeFrames, 'emptied tables go back to the pool').toBe(free);
    },
  },

  'mmu.protect': {
    checks: 'protect changes what is allowed at once (even for a translation cached in the TLB): write to read-only, user access to a kernel page and execute of a no-execute page fault with reason permission',
    run(ctx) {
      const { space } = machine(ctx.arch);
      const va = 0x60_0000;
      space.map(va, 0x3000, PAGE, READ | WRITE | USER);
      expect(space.translate(va, W, 0, true)).toBe(0x3000);
      space.protect(va, PAGE, READ | USER);
      expectFault(() => space.translate(va + 4, W, 0, true), 'permission', 'write after protect(READ)');
      expect(space.translate(va + 4, R, 0, true)).toBe(0x3004);
      expect(space.lookup(va)!.perms & WRITE).toBe(0);
      space.protect(va, PAGE, READ | WRITE | USER);
      expect(space.translate(va + 4, W, 0, true)).toBe(0x3004);

      expectFault(() => space.translate(va, X, 0, true), 'permission', 'execute of a no-execute page');
      space.protect(va, PAGE, READ | EXECUTE | USER);
      expect(space.translate(va, X, 0, true)).toBe(0x3000);
      expectFault(() => space.translate(va, W, 0, true), 'permission', 'write to a read-execute page');

      const kernelPage = 0x61_0000;
      space.map(kernelPage, 0x4000, PAGE, READ | WRITE);
      expect(space.translate(kernelPage, R, 0, false)).toBe(0x4000);
      expectFault(() => space.translate(kernelPage, R, 0, true), 'permission', 'user read of a kernel page');
      space.protect(kernelPage, PAGE, READ | WRITE | USER);
      expect(space.translate(kernelPage, R, 0, true)).toBe(0x4000);
    },
  },

  'mmu.huge-pages': {
    checks: 'every larger page size the arch declares maps and translates at any offset, reports its size, rejects misalignment and partial unmaps (InvalidArgument), and unmaps whole',
    run(ctx) {
      const sizes = ctx.arch.pageSizes;
      expect(sizes[0]).toBe(PAGE);
      expect([...sizes]).toEqual([...sizes].sort((a, b) => a - b));
      const huge = sizes.filter((s) => s > PAGE);
      expect(huge.length, 'the arch declares huge page sizes').toBeGreaterThan(0);
      for (const size of huge) {
        const { space } = machine(ctx.arch);
        const va = size * 3;
        const pa = size * 2;
        space.map(va, pa, size, READ | WRITE | USER, { pageSize: size });
        for (const off of [0, PAGE, size / 2 + 123, size - 1]) expect(space.translate(va + off, R, 0, true), `${size}-byte page at +${off}`).toBe(pa + off);
        expect(space.lookup(va + size / 2)).toMatchObject({ va, pa, size });
        expect(space.mappings()).toHaveLength(1);
        expect(codeOf(() => space.map(va + size + PAGE, pa, size, READ, { pageSize: size }))).toBe('InvalidArgument');
        expect(codeOf(() => space.map(va + size, pa + PAGE, size, READ, { pageSize: size }))).toBe('InvalidArgument');
        expect(codeOf(() => space.unmap(va + PAGE, PAGE))).toBe('InvalidArgument');
        expect(space.translate(va + PAGE, R)).toBe(pa + PAGE);
        space.unmap(va, size);
        expectFault(() => space.translate(va + size - 1, R), 'not-present', `unmapped ${size}-byte page`);
      }
    },
  },

  'mmu.invalid-address-faults': {
    checks:
      'addresses outside the translatable range (2^vaBits, bit 63, the arch\'s own samples and the golden list) fault with reason invalid-address in splitAddress and translate, map refuses them without changes, and the highest user page (userTop - 4 KiB) works',
    run(ctx) {
      const { phys, mmu, space } = machine(ctx.arch);
      const invalid = invalidAddresses(ctx.arch);
      if (ctx.golden.pageTable) invalid.push(...ctx.golden.pageTable.invalid.map((a) => BigInt(a)));
      expect(invalid.length, 'addresses to try').toBeGreaterThan(0);
      space.map(0, 0x5000, PAGE, READ | USER);
      const tables = tablesOf(space);
      const free = phys.freeFrames;
      for (const va of invalid) {
        const hex = `0x${va.toString(16)}`;
        expectFault(() => mmu.splitAddress(va), 'invalid-address', `splitAddress(${hex})`);
        for (const access of [R, W, X]) {
          const f = expectFault(() => space.translate(va, access, 0, true), 'invalid-address', `translate(${hex})`);
          expect(f.access).toBe(access);
        }
        expect(space.lookup(va)).toBeUndefined();
        let threw: unknown;
        try {
          space.map(va, 0x9000, PAGE, READ);
        } catch (e) {
          threw = e;
        }
        expect(threw, `map(${hex}) is refused`).toBeInstanceOf(IpcError);
      }
      expect(tablesOf(space)).toBe(tables);
      expect(phys.freeFrames).toBe(free);
      const top = ctx.arch.addressSpace.userTop - BigInt(PAGE);
      space.map(addr(top), 0x6000, PAGE, READ | USER);
      expect(space.translate(addr(top + BigInt(PAGE - 1)), R, 0, true)).toBe(0x6000 + PAGE - 1);
    },
  },

  'mmu.tlb-no-stale': {
    checks: 'translations are served from per-CPU TLBs (hits counted), yet after unmap, remap, protect or destroying a space (and reusing its ASID) no CPU sees a stale translation',
    run(ctx) {
      const { mmu, space } = machine(ctx.arch, 96, 2);
      const va = 0x70_0000;
      space.map(va, 0x5000, PAGE, READ | WRITE | USER);
      const hits = mmu.tlbStats.hits;
      for (let i = 0; i < 4; i++) for (const cpu of [0, 1]) expect(space.translate(va + i, R, cpu)).toBe(0x5000 + i);
      expect(mmu.tlbStats.hits, 'repeated translations hit the TLB').toBeGreaterThan(hits);
      space.unmap(va, PAGE);
      for (const cpu of [0, 1]) expectFault(() => space.translate(va, R, cpu), 'not-present', `cpu ${cpu} after unmap`);
      space.map(va, 0x9000, PAGE, READ | WRITE | USER);
      for (const cpu of [0, 1]) expect(space.translate(va + 3, W, cpu)).toBe(0x9003);
      space.protect(va, PAGE, READ | USER);
      for (const cpu of [0, 1]) expectFault(() => space.translate(va, W, cpu, true), 'permission', `cpu ${cpu} after protect`);

      const a = mmu.createAddressSpace();
      a.map(va, 0xa000, PAGE, READ | USER);
      for (const cpu of [0, 1]) expect(a.translate(va, R, cpu)).toBe(0xa000);
      a.destroy();
      for (let i = 0; i < 4; i++) {
        const b = mmu.createAddressSpace();
        for (const cpu of [0, 1]) expectFault(() => b.translate(va, R, cpu), 'not-present', `fresh space ${i} on cpu ${cpu}`);
        b.map(va, 0xb000 + i * PAGE, PAGE, READ | USER);
        for (const cpu of [0, 1]) expect(b.translate(va, R, cpu)).toBe(0xb000 + i * PAGE);
        b.destroy();
      }
    },
  },

  'mmu.accessed-dirty': {
    checks: 'a new mapping is neither accessed nor dirty; a read sets accessed only; a write sets dirty, also when the read was cached in the TLB',
    run(ctx) {
      const { space } = machine(ctx.arch);
      const va = 0x80_0000;
      space.map(va, 0x5000, 3 * PAGE, READ | WRITE | USER);
      expect(space.lookup(va)).toMatchObject({ accessed: false, dirty: false });
      space.translate(va, R, 0, true);
      expect(space.lookup(va)).toMatchObject({ accessed: true, dirty: false });
      space.translate(va + 8, W, 0, true);
      expect(space.lookup(va)).toMatchObject({ accessed: true, dirty: true });
      space.translate(va + PAGE, W, 0, true);
      expect(space.lookup(va + PAGE)).toMatchObject({ accessed: true, dirty: true });
      expect(space.lookup(va + 2 * PAGE)).toMatchObject({ accessed: false, dirty: false });
      for (let i = 0; i < 3; i++) space.translate(va + 2 * PAGE + i, R, 0, true);
      expect(space.lookup(va + 2 * PAGE)).toMatchObject({ accessed: true, dirty: false });
      space.translate(va + 2 * PAGE, W, 0, true);
      expect(space.lookup(va + 2 * PAGE), 'a write after a cached read').toMatchObject({ accessed: true, dirty: true });
    },
  },

  'mmu.golden-entries': {
    checks: "map writes the golden leaf entry (and table flags, table addresses masked by the arch's tableAddressMask) of every vector the backend supplies (`golden.pageTable`), lookup reads its fields back (address, size, permissions, markers, global, accessed, dirty), and splitAddress gives the golden indices",
    needsGolden: 'pageTable',
    run(ctx) {
      const golden = ctx.golden.pageTable!;
      const TABLE_ADDRESS = ctx.arch.addressSpace.tableAddressMask;
      expect(golden.arch).toBe(ctx.arch.name);
      expect(golden.entries.length).toBeGreaterThan(0);
      for (const e of golden.entries) {
        const { space } = machine(ctx.arch);
        const va = vaOf(e.va);
        const pa = Number(BigInt(e.pa));
        const markers = flagsOf(PageMarker, e.markers);
        space.map(va, pa, e.pageSize, flagsOf(PagePerm, e.perms), { pageSize: e.pageSize, markers, global: e.global });
        const walk = space.walk(va);
        expect(walk.length, `${e.name}: walk reaches a leaf`).toBeGreaterThan(0);
        expect(hex64(walk[walk.length - 1]!), `${e.name}: leaf entry`).toBe(e.leaf);
        if (e.tableFlags) {
          const masked = walk.map((v, i) => (i < walk.length - 1 ? v & ~TABLE_ADDRESS : v));
          expect(masked.map(hex64), `${e.name}: entries along the walk`).toEqual(e.tableFlags);
        }
        expect(space.lookup(va), `${e.name}: lookup`).toMatchObject({ pa, size: e.pageSize, perms: flagsOf(PagePerm, e.lookupPerms ?? e.perms), markers, global: e.global, accessed: false, dirty: false });
      }
      const { mmu } = machine(ctx.arch);
      for (const s of golden.indices) expect(mmu.splitAddress(vaOf(s.va)), `split of ${s.va}`).toEqual({ indices: s.indices, offset: s.offset });
      for (const bad of golden.invalid) expectFault(() => mmu.splitAddress(BigInt(bad)), 'invalid-address', `split of ${bad}`);
    },
  },
};
