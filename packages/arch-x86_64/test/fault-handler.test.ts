import { describe, expect, it } from 'vitest';
import { AccessKind, PageFault, PageMarker, PagePerm, PhysicalMemory } from '@veridian/core';
import type { PageFaultHandler } from '@veridian/core';
import { x86_64 } from '../src/index.js';

const { READ, WRITE, USER } = PagePerm;

function setup(cpus = 1) {
  const phys = PhysicalMemory.create({ frames: 32 });
  const mmu = x86_64.createMmu(phys, { cpus });
  return { phys, mmu, space: mmu.createAddressSpace() };
}

describe('fault handlers', () => {
  it('install a LAZY entry on first access, then translate succeeds', () => {
    const { mmu, space } = setup();
    space.map(0x40_0000, 0x9000, 4096, READ | WRITE | USER, { markers: PageMarker.LAZY });
    const faults: PageFault[] = [];
    mmu.onFault((fault, s) => {
      faults.push(fault);
      if (fault.reason !== 'lazy' || !fault.mapping) return false;
      s.protect(fault.mapping.va, fault.mapping.size, fault.mapping.perms, 0);
      return true;
    });
    expect(space.translate(0x40_0123, AccessKind.Write, 0, true)).toBe(0x9123);
    expect(faults).toHaveLength(1);
    expect(faults[0]!.mapping).toMatchObject({ present: false, markers: PageMarker.LAZY, pa: 0x9000 });
    expect(space.lookup(0x40_0000)).toMatchObject({ present: true, markers: 0, dirty: true, perms: READ | WRITE | USER });
    expect(space.translate(0x40_0456, AccessKind.Read, 0, true)).toBe(0x9456);
    expect(faults).toHaveLength(1);
  });

  it('copy a COW page on a write fault; another CPU never sees the old frame', () => {
    const { phys, mmu, space } = setup(2);
    const shared = phys.allocFrame() * 4096;
    phys.bytes.set([1, 2, 3, 4], phys.physOffset(shared));
    space.map(0x10_0000, shared, 4096, READ | USER, { markers: PageMarker.COPY_ON_WRITE });
    expect(space.translate(0x10_0002, AccessKind.Read, 1, true)).toBe(shared + 2);
    const cow: PageFaultHandler = (fault, s) => {
      const m = fault.mapping;
      if (fault.reason !== 'permission' || fault.access !== AccessKind.Write || !m || !(m.markers & PageMarker.COPY_ON_WRITE)) return false;
      const copy = phys.allocFrame() * 4096;
      phys.bytes.copyWithin(phys.physOffset(copy), phys.physOffset(m.pa), phys.physOffset(m.pa) + 4096);
      s.unmap(m.va, m.size);
      s.map(m.va, copy, m.size, READ | WRITE | USER);
      return true;
    };
    mmu.onFault(cow);
    const written = space.translate(0x10_0002, AccessKind.Write, 0, true);
    expect(written).not.toBe(shared + 2);
    expect(phys.bytes[phys.physOffset(written)]).toBe(3);
    expect(space.translate(0x10_0002, AccessKind.Read, 1, true)).toBe(written);
    expect(space.lookup(0x10_0000)).toMatchObject({ markers: 0, perms: READ | WRITE | USER, dirty: true });
  });

  it('throw the fault when no handler repairs it, and stop being called once removed', () => {
    const { mmu, space } = setup();
    let calls = 0;
    const remove = mmu.onFault(() => {
      calls++;
      return false;
    });
    expect(() => space.translate(0x1000, AccessKind.Read)).toThrow(expect.objectContaining({ reason: 'not-present' }));
    expect(calls).toBe(1);
    remove();
    expect(() => space.translate(0x1000, AccessKind.Read)).toThrow(PageFault);
    expect(calls).toBe(1);
  });

  it('retry only once: a handler that claims a repair it did not make gets the fault', () => {
    const { mmu, space } = setup();
    let calls = 0;
    mmu.onFault(() => {
      calls++;
      return true;
    });
    expect(() => space.translate(0x1000, AccessKind.Read)).toThrow(expect.objectContaining({ reason: 'not-present' }));
    expect(calls).toBe(1);
  });

  it('stop at the first handler that repairs', () => {
    const { mmu, space } = setup();
    const order: string[] = [];
    mmu.onFault(() => {
      order.push('a');
      return false;
    });
    mmu.onFault((_fault, s) => {
      order.push('b');
      s.map(0x1000, 0x7000, 4096, READ);
      return true;
    });
    mmu.onFault(() => {
      order.push('c');
      return true;
    });
    expect(space.translate(0x1008, AccessKind.Read)).toBe(0x7008);
    expect(order).toEqual(['a', 'b']);
  });
});
