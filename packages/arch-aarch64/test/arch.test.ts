import { describe, expect, it } from 'vitest';
import { AccessKind, PagePerm, PhysicalMemory } from '@veridian/core';
import type { Arch } from '@veridian/core';
import { Aarch64Mmu, aarch64, aarch64FastPath } from '../src/index.ts';

describe('aarch64 Arch object', () => {
  it('describes the backend', () => {
    expect(aarch64.name).toBe('aarch64');
    expect(aarch64.pageSizes).toEqual([4096, 2 * 1024 * 1024, 1024 * 1024 * 1024]);
    expect(aarch64.fastPath).toBe(aarch64FastPath);
    expect(aarch64.fastPath.arch).toBe('aarch64');
    expect(aarch64.exportName).toBe('aarch64');
  });

  it('can be reloaded from moduleUrl/exportName, as a worker CPU does', async () => {
    const mod = (await import(aarch64.moduleUrl)) as Record<string, unknown>;
    const again = mod[aarch64.exportName] as Arch;
    expect(again.name).toBe('aarch64');
    expect(again.pageSizes).toEqual(aarch64.pageSizes);
  });

  it('creates an MMU whose spaces translate', () => {
    const phys = PhysicalMemory.create({ frames: 32 });
    const mmu = aarch64.createMmu(phys, { cpus: 2 });
    expect(mmu).toBeInstanceOf(Aarch64Mmu);
    expect(mmu.arch).toBe('aarch64');
    expect(mmu.pageSizes).toEqual(aarch64.pageSizes);
    expect(mmu.cpuCount).toBe(2);
    expect(mmu.phys).toBe(phys);
    expect(phys.isInstalled(mmu.sharedState)).toBe(true);
    const space = mmu.createAddressSpace();
    expect(phys.isInstalled(space.root)).toBe(true);
    expect(space.tableFrameCount()).toBe(1);
    space.map(0x10_0000, 0x7000, 4096, PagePerm.READ | PagePerm.WRITE | PagePerm.USER);
    expect(space.translate(0x10_0abc, AccessKind.Write, 1, true)).toBe(0x7abc);
  });
});
