import { describe, expect, it } from 'vitest';
import { AccessKind, IpcError, PagePerm, PhysicalMemory } from '@veridian/core';
import {
  Aarch64PageFault,
  AttrIndex,
  DEFAULT_MAIR,
  Dfsc,
  createAarch64Mmu,
  decodeLeafAttributes,
  decodeLeafDescriptor,
  decodeTableDescriptor,
  encodeTableDescriptor,
  type Aarch64AddressSpace,
  type Aarch64MmuOptions,
} from '../src/index.ts';

const { READ, WRITE, EXECUTE, USER } = PagePerm;
const VA = 0x40_0000;

function setup(options: Aarch64MmuOptions = {}): { mmu: ReturnType<typeof createAarch64Mmu>; space: Aarch64AddressSpace } {
  const mmu = createAarch64Mmu(PhysicalMemory.create({ frames: 64 }), options);
  return { mmu, space: mmu.createAddressSpace() };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof IpcError) return e.code;
    throw e;
  }
  return undefined;
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

const leaf = (s: Aarch64AddressSpace, va = VA): bigint => s.readDescriptor(va, 3)!;

describe('memory attributes: AttrIndx, MAIR_EL1, shareability', () => {
  it('memoryType picks the MAIR slot; attrIndx and shareability are written as given and kept by protect', () => {
    const { space } = setup();
    space.map(VA, 0x5000, 4096, READ | WRITE, { memoryType: 'normal-nc', shareability: 2 });
    space.map(VA + 4096, 0x6000, 4096, READ | WRITE, { attrIndx: 1, shareability: 0 });
    expect(decodeLeafAttributes(leaf(space))).toMatchObject({ attrIndx: AttrIndex.NORMAL_NC, shareability: 2 });
    expect(decodeLeafAttributes(leaf(space, VA + 4096))).toMatchObject({ attrIndx: 1, shareability: 0 });
    space.protect(VA, 2 * 4096, READ | USER);
    expect(decodeLeafAttributes(leaf(space))).toMatchObject({ attrIndx: AttrIndex.NORMAL_NC, shareability: 2, apEl0: true, apReadOnly: true });
    expect(decodeLeafAttributes(leaf(space, VA + 4096))).toMatchObject({ attrIndx: 1, shareability: 0 });
    expect(space.dump()).toContain('MEM/NORMAL-NC');
    expect(space.dump()).toContain('MEM/NORMAL-TAGGED');
  });

  it('device memory is never executable: map and protect refuse EXECUTE with nothing changed', () => {
    const { space } = setup();
    expect(codeOf(() => space.map(VA, 0x900_0000, 4096, READ | EXECUTE, { memoryType: 'device-nGnRE' }))).toBe('InvalidArgument');
    expect(space.mappings()).toEqual([]);
    space.map(VA, 0x900_0000, 4096, READ | WRITE, { memoryType: 'device-nGnRnE' });
    const before = leaf(space);
    expect(decodeLeafAttributes(before)).toMatchObject({ attrIndx: AttrIndex.DEVICE_nGnRnE, pxn: true, uxn: true });
    expect(codeOf(() => space.protect(VA, 4096, READ | EXECUTE))).toBe('InvalidArgument');
    expect(leaf(space)).toBe(before);
    expect(faultOf(() => space.translate(VA, AccessKind.Execute)).reason).toBe('permission');
    expect(space.dump()).toContain('DEVICE/nGnRnE');
  });

  it('rejects bad attributes, and types the MAIR does not hold', () => {
    const { space } = setup({ mair: 0x00n });
    expect(codeOf(() => space.map(VA, 0x5000, 4096, READ, { attrIndx: 8 }))).toBe('InvalidArgument');
    expect(codeOf(() => space.map(VA, 0x5000, 4096, READ, { shareability: 1 }))).toBe('InvalidArgument');
    expect(codeOf(() => space.map(VA, 0x5000, 4096, READ, { attrIndx: 0, memoryType: 'normal' }))).toBe('InvalidArgument');
    expect(codeOf(() => space.map(VA, 0x5000, 4096, READ, { memoryType: 'normal' }))).toBe('InvalidArgument');
    // Under a MAIR of all Device-nGnRnE, even AttrIndx 0 is device memory.
    expect(codeOf(() => space.map(VA, 0x5000, 4096, READ | EXECUTE))).toBe('InvalidArgument');
    expect(space.mappings()).toEqual([]);
    expect(() => createAarch64Mmu(PhysicalMemory.create({ frames: 8 }), { mair: -1n })).toThrow(IpcError);
    expect(setup().mmu.mair).toBe(DEFAULT_MAIR);
  });
});

describe('dirty-bit management as an option', () => {
  it('a plain RW page (DBM = 0, AP[2] = 0) is writable at once and stays plain through protect', () => {
    const { space } = setup();
    space.map(VA, 0x5000, 4096, READ | WRITE | USER, { dbm: false });
    expect(decodeLeafAttributes(leaf(space))).toMatchObject({ dbm: false, apReadOnly: false });
    expect(space.translate(VA + 1, AccessKind.Write, 0, true)).toBe(0x5001);
    expect(decodeLeafAttributes(leaf(space))).toMatchObject({ dbm: false, apReadOnly: false, accessFlag: true });
    expect(space.lookup(VA)).toMatchObject({ perms: READ | WRITE | USER, dirty: false });
    space.protect(VA, 4096, READ | USER);
    expect(decodeLeafAttributes(leaf(space))).toMatchObject({ dbm: false, apReadOnly: true, software: 16 });
    expect(faultOf(() => space.translate(VA, AccessKind.Write, 0, true)).dfsc).toBe(Dfsc.permission(3));
    space.protect(VA, 4096, READ | WRITE | USER);
    expect(decodeLeafAttributes(leaf(space))).toMatchObject({ dbm: false, apReadOnly: false, software: 0 });
  });

  it('a DBM page starts writable-clean and the first write makes it writable-dirty', () => {
    const { space } = setup();
    space.map(VA, 0x5000, 4096, READ | WRITE | USER);
    expect(decodeLeafAttributes(leaf(space))).toMatchObject({ dbm: true, apReadOnly: true });
    space.translate(VA, AccessKind.Read, 0, true);
    expect(decodeLeafAttributes(leaf(space)).apReadOnly).toBe(true);
    space.translate(VA, AccessKind.Write, 0, true);
    expect(decodeLeafAttributes(leaf(space))).toMatchObject({ dbm: true, apReadOnly: false });
    expect(space.lookup(VA)!.dirty).toBe(true);
  });
});

describe('descriptor decoding by level', () => {
  it('level-3 0b01 is reserved (not present); a table value at levels 1–2 is not a block; level 0 has no leaves', () => {
    expect(decodeLeafDescriptor(0x0000_0000_0000_5401n, { level: 3 }).present).toBe(false);
    expect(decodeLeafDescriptor(0x0000_0000_0000_5401n, 4096).present).toBe(false);
    expect(decodeLeafDescriptor(0x0000_0000_0020_0401n, { level: 2 }).present).toBe(true);
    expect(decodeLeafDescriptor(0x0000_0000_0000_5403n, { level: 3 }).present).toBe(true);
    expect(() => decodeLeafDescriptor(0x0000_0000_0000_5003n, { level: 2 })).toThrow(IpcError);
    expect(() => decodeLeafDescriptor(0x0000_0000_0000_5003n, { level: 1 })).toThrow(IpcError);
    expect(() => decodeLeafDescriptor(0x0000_0000_0000_0001n, { level: 0 })).toThrow(IpcError);
  });

  it('table descriptors encode and decode; bad values are refused', () => {
    const v = encodeTableDescriptor(0x1_2345_6000, { apTable: 3, uxnTable: true, pxnTable: true, nsTable: true });
    expect(v).toBe(0xf800_0001_2345_6003n);
    expect(decodeTableDescriptor(v)).toEqual({ address: 0x1_2345_6000, apTable: 3, uxnTable: true, pxnTable: true, nsTable: true });
    expect(() => decodeTableDescriptor(0x5001n)).toThrow(IpcError);
    expect(() => encodeTableDescriptor(0x1001)).toThrow(IpcError);
    expect(() => encodeTableDescriptor(0x1000, { apTable: 4 })).toThrow(IpcError);
  });
});

describe('table controls on a live space', () => {
  it('setTableAttributes takes effect at once on every CPU (TLB entries dropped) and is undone by writing zero controls', () => {
    const { mmu, space } = setup({ cpus: 2 });
    space.map(VA, 0x5000, 4096, READ | WRITE | USER, { global: true });
    for (const cpu of [0, 1]) expect(space.translate(VA, AccessKind.Write, cpu, true)).toBe(0x5000);
    const hits = mmu.tlbStats.hits;
    for (const cpu of [0, 1]) space.translate(VA, AccessKind.Write, cpu, true);
    expect(mmu.tlbStats.hits).toBe(hits + 2);
    space.setTableAttributes(VA, 1, { apTable: 2 });
    for (const cpu of [0, 1]) expect(faultOf(() => space.translate(VA, AccessKind.Write, cpu, true)).dfsc).toBe(Dfsc.permission(3));
    expect(space.translate(VA, AccessKind.Read, 1, true)).toBe(0x5000);
    expect(decodeTableDescriptor(space.readDescriptor(VA, 1)!).apTable).toBe(2);
    space.setTableAttributes(VA, 1, {});
    expect(space.translate(VA, AccessKind.Write, 0, true)).toBe(0x5000);
  });

  it('refuses a level without a table descriptor', () => {
    const { space } = setup();
    expect(codeOf(() => space.setTableAttributes(VA, 0, {}))).toBe('InvalidArgument');
    space.map(VA, 0x20_0000, 0x20_0000, READ, { pageSize: 0x20_0000 });
    expect(codeOf(() => space.setTableAttributes(VA, 2, {}))).toBe('InvalidArgument');
    expect(codeOf(() => space.setTableAttributes(VA, 3, {}))).toBe('InvalidArgument');
    expect(space.readDescriptor(VA, 3)).toBeUndefined();
    expect(codeOf(() => space.setTableAttributes(VA, 1, { apTable: 5 }))).toBe('InvalidArgument');
  });
});

describe('fault information: ESR_EL1, FAR_EL1, access flag faults', () => {
  it('with TCR_EL1.HA = 0 an access to a page with AF = 0 is an access flag fault the kernel resolves', () => {
    const { mmu, space } = setup({ hardwareAccessFlag: false });
    expect(mmu.hardwareAccessFlag).toBe(false);
    space.map(VA, 0x5000, 4096, READ | USER);
    space.map(0x20_0000, 0x20_0000, 0x20_0000, READ, { pageSize: 0x20_0000 });
    const f = faultOf(() => space.translate(VA + 3, AccessKind.Read, 0, true));
    expect(f.reason).toBe('access-flag');
    expect(f.dfsc).toBe(Dfsc.accessFlag(3));
    expect(f.mapping).toMatchObject({ pa: 0x5000, accessed: false });
    expect(faultOf(() => space.translate(0x20_0000, AccessKind.Read)).dfsc).toBe(Dfsc.accessFlag(2));
    // Access flag faults come before permission faults.
    expect(faultOf(() => space.translate(VA, AccessKind.Write, 0, true)).reason).toBe('access-flag');
    let seen = 0;
    mmu.onFault((fault, s) => {
      if (fault.reason !== 'access-flag' || !fault.mapping) return false;
      seen++;
      return (s as Aarch64AddressSpace).setAccessFlag(Number(fault.mapping.va), fault.mapping.size) > 0;
    });
    expect(space.translate(VA + 3, AccessKind.Read, 0, true)).toBe(0x5003);
    expect(space.translate(VA + 4, AccessKind.Read, 0, true)).toBe(0x5004);
    expect(seen).toBe(1);
    expect(space.lookup(VA)!.accessed).toBe(true);
    expect(faultOf(() => space.translate(VA, AccessKind.Write, 0, true)).reason).toBe('permission');
  });

  it('an address outside TTBR0 is a translation fault at level 0, with FAR the full address', () => {
    const { mmu, space } = setup();
    const f = faultOf(() => space.translate(0xffff_0000_0000_1000n, AccessKind.Write, 0, true));
    expect(f.reason).toBe('invalid-address');
    expect(f.dfsc).toBe(Dfsc.translation(0));
    expect(f.far).toBe(0xffff_0000_0000_1000n);
    expect(f.esr).toBe(0x9200_0044);
    expect((faultOf(() => mmu.splitAddress(1n << 48n)) as Aarch64PageFault).dfsc).toBe(Dfsc.translation(0));
  });

  it('reserved encodings in machine memory fault: a block at level 0, a 0b01 descriptor at level 3', () => {
    const phys = PhysicalMemory.create({ frames: 64 });
    const space = createAarch64Mmu(phys).createAddressSpace();
    // Level-0 entry 2 written by hand as a "block" (bits[1:0] = 0b01, AF, address 0).
    const w = phys.physOffset(space.root) / 4 + 2 * 2;
    phys.u32[w] = 0x401;
    const f0 = faultOf(() => space.translate(2 * 2 ** 39, AccessKind.Read));
    expect(f0.dfsc).toBe(Dfsc.translation(0));
    expect(f0.reason).toBe('not-present');
    phys.u32[w] = 0;
    space.map(VA, 0x5000, 4096, READ);
    expect(space.translate(VA, AccessKind.Read)).toBe(0x5000);
    const l3 = space.readDescriptor(VA, 2)!;
    const table = Number(l3 & 0x0000_ffff_ffff_f000n);
    const wl3 = phys.physOffset(table) / 4 + 2 * ((VA >>> 12) & 511);
    phys.u32[wl3] = (phys.u32[wl3]! & ~0b10) >>> 0; // 0b11 -> 0b01: reserved at level 3
    space.setTableAttributes(VA, 2, {}); // invalidate the TLB, as a kernel would after the write
    const f3 = faultOf(() => space.translate(VA, AccessKind.Read));
    expect(f3.dfsc).toBe(Dfsc.translation(3));
    expect(decodeLeafDescriptor(space.readDescriptor(VA, 3)!, { level: 3 }).present).toBe(false);
  });

  it('the level in the fault is where the walk stopped', () => {
    const { space } = setup();
    expect(faultOf(() => space.translate(VA, AccessKind.Read)).level).toBe(0);
    space.map(0x4000_0000, 0x5000, 4096, READ);
    expect(faultOf(() => space.translate(VA, AccessKind.Read)).level).toBe(1);
    expect(faultOf(() => space.translate(0x4020_0000, AccessKind.Read)).level).toBe(2);
    expect(faultOf(() => space.translate(0x4000_1000, AccessKind.Read)).level).toBe(3);
  });
});
