// A kernel on an AArch64 MMU that leaves the access flag to software (TCR_EL1.HA = 0): every
// first access to a page raises an access flag fault (DFSC 0b0010LL) that the kernel's fault
// handler must resolve by setting AF (Arm ARM D8.4.7, "The Access flag"), through the
// contract's AddressSpace.setAccessed.
import { describe, expect, it } from 'vitest';
import { createKernel, type Arch } from '@veridian/core';
import { aarch64, createAarch64Mmu } from '../src/index.ts';

const softwareAf: Arch = { ...aarch64, createMmu: (phys, options) => createAarch64Mmu(phys, { ...options, hardwareAccessFlag: false }) };

describe('software-managed access flag (hardwareAccessFlag: false)', () => {
  it('a process maps, writes and reads its memory: each first access is repaired by setting AF', async () => {
    const k = createKernel({ arch: softwareAf, frames: 256, processes: 4 });
    let read: number[] = [];
    const h = k.spawn({ name: 'touch' }, (p) => {
      const va = p.memory.map(3 * 4096);
      p.memory.write(va + 4090, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9));
      read = [...p.memory.read(va + 4090, 9)];
    });
    expect((await h.exited).reason).toBe('returned');
    expect(read).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    await k.shutdown();
  });

  it('a moved buffer is mapped lazily in the receiver, then its AF set on first access', async () => {
    const k = createKernel({ arch: softwareAf, frames: 512, processes: 4 });
    let got: number[] = [];
    k.spawn({ name: 'sink' }, async (p) => {
      const ep = p.createEndpoint({ name: 'sink' });
      const m = await p.receive(ep);
      got = [...p.memory.read(m.buffer!.va, 4)];
      p.reply(m.sender, { type: 0, data: new Uint8Array(0) });
    });
    await k.whenNamed('sink');
    const src = k.spawn({ name: 'src' }, async (p) => {
      const va = p.memory.map(2 * 4096);
      p.memory.write(va, Uint8Array.of(9, 8, 7, 6));
      await p.call(p.connect('sink'), { type: 1, data: new Uint8Array(0), buffer: p.memory.buffer(va, 2 * 4096), transfer: 'move' });
    });
    expect((await src.exited).reason).toBe('returned');
    expect(got).toEqual([9, 8, 7, 6]);
    await k.shutdown();
  });
});
