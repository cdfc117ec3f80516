import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FRAME_SIZE, IpcError, PhysicalMemory } from '@veridian/core';

describe('PhysicalMemory', () => {
  it('hands out zeroed frames, never frame 0, and takes them back', () => {
    const phys = PhysicalMemory.create({ frames: 8 });
    expect(phys.freeFrames).toBe(7);
    const a = phys.allocFrame();
    expect(a).toBeGreaterThan(0);
    phys.bytes.fill(0xab, phys.frameOffset(a), phys.frameOffset(a) + FRAME_SIZE);
    phys.freeFrame(a);
    const b = phys.allocFrame();
    expect(b).toBe(a);
    expect(phys.bytes.subarray(phys.frameOffset(b), phys.frameOffset(b) + FRAME_SIZE).every((x) => x === 0)).toBe(true);
  });

  it('fails with OutOfMemory and changes nothing when empty', () => {
    const phys = PhysicalMemory.create({ frames: 3 });
    phys.allocFrame();
    phys.allocFrame();
    expect(() => phys.allocFrame()).toThrow(expect.objectContaining({ code: 'OutOfMemory' }));
    expect(phys.freeFrames).toBe(0);
    expect(() => phys.allocFrames(1)).toThrow(IpcError);
  });

  it('allocFrames is all-or-nothing', () => {
    const phys = PhysicalMemory.create({ frames: 5 });
    expect(() => phys.allocFrames(5)).toThrow(expect.objectContaining({ code: 'OutOfMemory' }));
    expect(phys.freeFrames).toBe(4);
    expect(phys.allocFrames(4)).toHaveLength(4);
  });

  it('rejects bad frees', () => {
    const phys = PhysicalMemory.create({ frames: 4 });
    expect(() => phys.freeFrame(0)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => phys.freeFrame(4)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => phys.freeFrame(1)).toThrow(expect.objectContaining({ code: 'InvalidState' }));
  });

  it('an attached view shares the allocator', () => {
    const phys = PhysicalMemory.create({ frames: 16 });
    const other = PhysicalMemory.attach(phys.buffer, phys.controlOffset);
    const f = other.allocFrame();
    expect(phys.freeFrames).toBe(14);
    phys.freeFrame(f);
    expect(other.freeFrames).toBe(15);
  });

  it('lockWhileShared: the allocator locks only while the sharers word is non-zero', () => {
    const phys = PhysicalMemory.create({ frames: 8, offset: FRAME_SIZE });
    const lock = phys.controlOffset / 4;
    const sharers = 5; // a word before the control block
    phys.lockWhileShared(sharers);
    // No other thread: a held lock is not even looked at (it would spin forever if it were).
    phys.i32[lock] = 0x10000;
    const f = phys.allocFrame();
    phys.freeFrame(f);
    expect(phys.i32[lock]).toBe(0x10000);
    // Shared: each allocation and each free takes a ticket and serves it.
    phys.i32[lock] = 0;
    phys.i32[sharers] = 1;
    const g = phys.allocFrame();
    expect(phys.i32[lock]).toBe(0x10001);
    phys.freeFrame(g);
    expect(phys.i32[lock]).toBe(0x20002);
    expect(phys.freeFrames).toBe(7);
  });

  it('never hands out a frame twice (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 200 }), (ops) => {
        const phys = PhysicalMemory.create({ frames: 32 });
        const held = new Set<number>();
        for (const alloc of ops) {
          if (alloc && phys.freeFrames > 0) {
            const f = phys.allocFrame();
            expect(held.has(f)).toBe(false);
            held.add(f);
          } else if (!alloc && held.size > 0) {
            const f = held.values().next().value!;
            held.delete(f);
            phys.freeFrame(f);
          }
          expect(phys.usedFrames).toBe(held.size);
        }
      }),
    );
  });
});
