import { describe, expect, it } from 'vitest';
import { LIMBO_CAPACITY, MmuSharedState, PhysicalMemory } from '../../src/index.js';

const MAGIC = 0x7e57;

function setup(frames = 64) {
  const phys = PhysicalMemory.create({ frames });
  const state = MmuSharedState.create(phys, { magic: MAGIC, asidBits: 8 });
  state.reclaim.registerCpus(4);
  return { phys, state, reclaim: state.reclaim };
}

describe('TableReclaim (deferred freeing of page-table frames)', () => {
  it('frees at once when no walk is in progress', () => {
    const { phys, reclaim } = setup();
    const f = phys.allocFrame();
    const free = phys.freeFrames;
    reclaim.retire(f);
    expect(phys.freeFrames).toBe(free + 1);
    expect(reclaim.pending).toBe(0);
  });

  it('holds a frame while a walk that may have seen it is in progress; a walk begun after the retire does not hold it', () => {
    const { phys, reclaim } = setup();
    const f = phys.allocFrame();
    const free = phys.freeFrames;
    reclaim.enter(1);
    reclaim.retire(f);
    expect(phys.freeFrames).toBe(free);
    expect(reclaim.pending).toBe(1);
    reclaim.enter(2); // began after the retire: cannot reach the frame
    expect(reclaim.collect()).toBe(0);
    reclaim.exit(1);
    expect(reclaim.collect()).toBe(1);
    expect(phys.freeFrames).toBe(free + 1);
    reclaim.exit(2);
  });

  it('stays safe when the epoch passes 2^30 and 2^31 (31-bit announcements compared modulo)', () => {
    for (const start of [2 ** 30 + 5, 2 ** 31 - 2, -3]) {
      const { phys, state, reclaim } = setup();
      Atomics.store(state.i32, state.base + 48, start | 0);
      const f = phys.allocFrame();
      const g = phys.allocFrame();
      const free = phys.freeFrames;
      reclaim.enter(1);
      reclaim.retire(f);
      reclaim.retire(g);
      expect(reclaim.collect(), `epoch ${start}`).toBe(0);
      expect(phys.freeFrames).toBe(free);
      reclaim.exit(1);
      expect(reclaim.collect()).toBe(2);
    }
  });

  it('a full limbo waits for the walk; a walk that never ends is InvalidState after the limit (the frame is kept, never freed under a reader)', () => {
    const { phys, reclaim } = setup(LIMBO_CAPACITY + 16);
    reclaim.enter(3);
    const frames = Array.from({ length: LIMBO_CAPACITY }, () => phys.allocFrame());
    for (const f of frames) reclaim.retire(f);
    expect(reclaim.pending).toBe(LIMBO_CAPACITY);
    const extra = phys.allocFrame();
    const free = phys.freeFrames;
    expect(() => reclaim.retire(extra)).toThrow(expect.objectContaining({ code: 'InvalidState' }));
    expect(phys.freeFrames).toBe(free);
    reclaim.exit(3);
    expect(reclaim.synchronize()).toBe(LIMBO_CAPACITY);
    expect(reclaim.pending).toBe(0);
  }, 10_000);

  it('destroying the shared state drains the limbo and returns every frame', () => {
    const phys = PhysicalMemory.create({ frames: 32 });
    const free = phys.freeFrames;
    const state = MmuSharedState.create(phys, { magic: MAGIC, asidBits: 8 });
    state.reclaim.enter(0);
    state.reclaim.retire(phys.allocFrame());
    state.reclaim.exit(0);
    state.reclaim.enter(0);
    state.destroy(phys);
    expect(phys.freeFrames).toBe(free);
  });
});
