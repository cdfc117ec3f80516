import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '@veridian/core';
import type { Arch } from '@veridian/core';
import { X86Mmu, x86_64, x86_64FastPath } from '../src/index.js';

describe('x86_64 arch object', () => {
  it('describes the backend', () => {
    expect(x86_64.name).toBe('x86_64');
    expect([...x86_64.pageSizes]).toEqual([4096, 2097152, 1073741824]);
    expect(x86_64.fastPath).toBe(x86_64FastPath);
    expect(x86_64.exportName).toBe('x86_64');
    expect(x86_64.createMmu(PhysicalMemory.create({ frames: 4 }), { cpus: 2 })).toBeInstanceOf(X86Mmu);
  });

  it('can be loaded again from its module URL, as a worker CPU does', async () => {
    const mod = (await import(x86_64.moduleUrl)) as Record<string, Arch>;
    expect(mod[x86_64.exportName]!.name).toBe('x86_64');
    expect(mod[x86_64.exportName]!.fastPath.registerNames).toEqual(x86_64.fastPath.registerNames);
  });
});
