import { describe, expect, it } from 'vitest';
import { PageMarker, PagePerm, PhysicalMemory } from '@veridian/core';
import { formatSize, x86_64 } from '../src/index.js';

const { READ, WRITE, EXECUTE, USER } = PagePerm;

describe('dump', () => {
  it('prints sizes like Linux', () => {
    expect(formatSize(4096)).toBe('4K');
    expect(formatSize(3 * 4096)).toBe('12K');
    expect(formatSize(2 << 20)).toBe('2M');
    expect(formatSize(1536 * 1024)).toBe('1536K');
    expect(formatSize(1 << 30)).toBe('1G');
    expect(formatSize(2 ** 40)).toBe('1T');
  });

  it('merges contiguous runs with the same rights and size', () => {
    const phys = PhysicalMemory.create({ frames: 32 });
    const space = x86_64.createMmu(phys).createAddressSpace();
    space.map(0x40_0000, 0x20_0000, 2 << 20, READ | WRITE | USER, { pageSize: 2 << 20 });
    space.map(0x60_0000, 0x1000, 3 * 4096, READ | EXECUTE | USER);
    space.map(0x60_3000, 0x9000, 4096, READ | USER, { markers: PageMarker.COPY_ON_WRITE });
    space.map(0x60_4000, 0xa000, 4096, READ | WRITE | USER, { markers: PageMarker.LAZY });
    space.map(0x60_5000, 0xb000, 4096, 0);
    space.map(0xffff_8000_0000_0000n, 0x40_0000, 2 * (2 << 20), READ | WRITE, { pageSize: 2 << 20, global: true });
    space.map(0xffff_ffff_ffe0_0000n, 0x60_0000, 2 << 20, READ | EXECUTE, { pageSize: 2 << 20, global: true });
    expect(space.dump()).toBe(
      [
        '---[ User Space ]---',
        '0x0000000000400000-0x0000000000600000         2M  RW USR     NX          pmd',
        '0x0000000000600000-0x0000000000603000        12K  ro USR     x           pte',
        '0x0000000000603000-0x0000000000604000         4K  ro USR     NX COW      pte',
        '0x0000000000604000-0x0000000000605000         4K  RW USR     NX LAZY     pte',
        '0x0000000000605000-0x0000000000606000         4K  --         NX np       pte',
        '---[ Kernel Space ]---',
        '0xffff800000000000-0xffff800000400000         4M  RW     GLB NX          pmd',
        '0xffffffffffe00000-0x0000000000000000         2M  ro     GLB x           pmd',
        '',
      ].join('\n'),
    );
  });

  it('prints only the headings for an empty space', () => {
    const space = x86_64.createMmu(PhysicalMemory.create({ frames: 8 })).createAddressSpace();
    expect(space.dump()).toBe('---[ User Space ]---\n---[ Kernel Space ]---\n');
  });
});
