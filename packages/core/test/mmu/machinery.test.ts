import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  FaultHandlerList,
  MmuSharedState,
  PageFault,
  PhysicalMemory,
  SHOOTDOWN_SLOTS,
  ShootdownKind,
  ShootdownReader,
  checkAttach,
  formatMappings,
  formatSize,
  type AddressSpace,
  type ShootdownTarget,
} from '@veridian/core';

const MAGIC = 0x7e57_0001;

class Recorder implements ShootdownTarget {
  readonly log: string[] = [];
  invalidateRange(cpu: number, asid: number, vpn: number, count: number): void {
    this.log.push(`${cpu}:range:${asid}:${vpn}:${count}`);
  }
  flushAsid(cpu: number, asid: number): void {
    this.log.push(`${cpu}:asid:${asid}`);
  }
  flushAll(cpu: number): void {
    this.log.push(`${cpu}:all`);
  }
}

describe('ASID allocator in shared state', () => {
  it('hands out every ASID of the width once, never 0, lowest free first; OutOfMemory when exhausted', () => {
    for (const bits of [1, 4, 9]) {
      const phys = PhysicalMemory.create({ frames: 16 });
      const s = MmuSharedState.create(phys, { magic: MAGIC, asidBits: bits });
      const got = Array.from({ length: 2 ** bits - 1 }, () => s.allocAsid());
      expect(got).toEqual(Array.from({ length: 2 ** bits - 1 }, (_, i) => i + 1));
      expect(() => s.allocAsid()).toThrow(expect.objectContaining({ code: 'OutOfMemory' }));
      s.freeAsid(1);
      expect(s.asidInUse(1)).toBe(false);
      expect(s.asidInUse(2 ** bits), 'past the width').toBe(false);
      expect(s.allocAsid()).toBe(1);
    }
  });

  it('16-bit ASIDs span several bitmap frames, and a model of alloc/free agrees with the bitmap', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant(-1), fc.nat({ max: 40 })), { maxLength: 80 }), (ops) => {
        const phys = PhysicalMemory.create({ frames: 8 });
        const s = MmuSharedState.create(phys, { magic: MAGIC, asidBits: 16 });
        const live = new Set<number>();
        for (const op of ops) {
          if (op === -1) {
            const a = s.allocAsid();
            expect(live.has(a)).toBe(false);
            expect(a).toBe(Math.min(...[...Array(live.size + 2).keys()].slice(1).filter((x) => !live.has(x))));
            live.add(a);
          } else {
            s.freeAsid(op);
            live.delete(op);
          }
        }
        for (let a = 0; a < 64; a++) expect(s.asidInUse(a)).toBe(live.has(a));
        expect(s.asidInUse(65535)).toBe(false);
        expect(s.asidCount).toBe(65536);
      }),
      { numRuns: 50 },
    );
  });

  it('up to 13-bit ASIDs the state is one frame (plus the two of the table reclaimer); 16-bit ASIDs take two more', () => {
    for (const [bits, frames] of [
      [12, 3],
      [13, 3],
      [14, 4],
      [16, 5],
    ] as const) {
      const phys = PhysicalMemory.create({ frames: 8 });
      const free = phys.freeFrames;
      const s = MmuSharedState.create(phys, { magic: MAGIC, asidBits: bits });
      expect(free - phys.freeFrames, `${bits} bits`).toBe(frames);
      for (let i = 0; i < 40; i++) s.allocAsid();
      for (let i = 0; i < 128; i++) s.post(ShootdownKind.Range, 1, i, 1); // the ring never touches the bitmap
      expect(s.asidInUse(40)).toBe(true);
      expect(s.asidInUse(41)).toBe(false);
    }
  });

  it('attach needs the same magic; the attached view shares ASIDs; bad widths are InvalidArgument; destroy returns the frames', () => {
    const phys = PhysicalMemory.create({ frames: 16 });
    const free = phys.freeFrames;
    expect(() => MmuSharedState.create(phys, { magic: MAGIC, asidBits: 17 })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(phys.freeFrames).toBe(free);
    const s = MmuSharedState.create(phys, { magic: MAGIC, asidBits: 16 });
    const a = s.allocAsid();
    const t = MmuSharedState.attach(phys, s.pa, MAGIC);
    expect(t.asidInUse(a)).toBe(true);
    expect(t.allocAsid()).toBe(a + 1);
    expect(() => MmuSharedState.attach(phys, s.pa, MAGIC + 1)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => MmuSharedState.attach(phys, s.pa + 4, MAGIC)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    s.destroy(phys);
    expect(phys.freeFrames).toBe(free);
  });
});

describe('round-robin ASIDs and the table seqlock', () => {
  it('round-robin hands out a freed ASID only after every other free one', () => {
    const phys = PhysicalMemory.create({ frames: 8 });
    const s = MmuSharedState.create(phys, { magic: MAGIC, asidBits: 3, asidPolicy: 'round-robin' });
    expect([s.allocAsid(), s.allocAsid(), s.allocAsid()]).toEqual([1, 2, 3]);
    s.freeAsid(2);
    expect([s.allocAsid(), s.allocAsid(), s.allocAsid(), s.allocAsid()]).toEqual([4, 5, 6, 7]);
    expect(s.allocAsid(), 'wraps round past the reserved 0').toBe(2);
    expect(() => s.allocAsid()).toThrow(expect.objectContaining({ code: 'OutOfMemory' }));
  });

  it('the generation word is odd exactly while a write is in progress; attaching counts instances', () => {
    const phys = PhysicalMemory.create({ frames: 8 });
    const s = MmuSharedState.create(phys, { magic: MAGIC, asidBits: 8 });
    const g = Atomics.load(s.i32, s.generationIndex);
    s.beginWrite();
    expect(Atomics.load(s.i32, s.generationIndex) & 1).toBe(1);
    s.endWrite();
    expect(Atomics.load(s.i32, s.generationIndex)).toBe(g + 2);
    expect(s.instances).toBe(1);
    expect(MmuSharedState.attach(phys, s.pa, MAGIC).instances).toBe(2);
  });
});

describe('shootdown ring', () => {
  it('replays each posted record once per CPU, in order, across attached instances', () => {
    const phys = PhysicalMemory.create({ frames: 8 });
    const s = MmuSharedState.create(phys, { magic: MAGIC, asidBits: 8 });
    const other = MmuSharedState.attach(phys, s.pa, MAGIC);
    const rec = new Recorder();
    const reader = new ShootdownReader(other, 2, rec);
    reader.sync(0);
    expect(rec.log).toEqual([]);
    s.post(ShootdownKind.Range, 5, 2 ** 40 + 3, 2);
    s.post(ShootdownKind.Asid, 7, 0, 0);
    s.post(ShootdownKind.All, 0, 0, 0);
    reader.sync(0);
    reader.sync(0);
    reader.sync(1);
    expect(rec.log).toEqual([`0:range:5:${2 ** 40 + 3}:2`, '0:asid:7', '0:all', `1:range:5:${2 ** 40 + 3}:2`, '1:asid:7', '1:all']);
  });

  it('a CPU that falls a whole ring behind flushes everything instead of replaying torn records', () => {
    const phys = PhysicalMemory.create({ frames: 8 });
    const s = MmuSharedState.create(phys, { magic: MAGIC, asidBits: 8 });
    const rec = new Recorder();
    const reader = new ShootdownReader(s, 1, rec);
    for (let i = 0; i < SHOOTDOWN_SLOTS; i++) s.post(ShootdownKind.Range, 1, i, 1);
    reader.sync(0);
    expect(rec.log).toEqual(['0:all']);
    s.post(ShootdownKind.Range, 1, 9, 1);
    reader.sync(0);
    expect(rec.log).toEqual(['0:all', '0:range:1:9:1']);
  });
});

describe('fault handlers, attach checks, dumps', () => {
  it('handlers run in order until one repairs; removal is idempotent', () => {
    const list = new FaultHandlerList();
    const calls: string[] = [];
    const fault = new PageFault(0x1000, 1, true, 'lazy');
    const space = {} as AddressSpace;
    const r1 = list.add(() => (calls.push('a'), false));
    list.add(() => (calls.push('b'), true));
    list.add(() => (calls.push('c'), true));
    expect(list.repair(fault, space)).toBe(true);
    expect(calls).toEqual(['a', 'b']);
    r1();
    r1();
    expect(list.size).toBe(2);
    const empty = new FaultHandlerList();
    expect(empty.repair(fault, space)).toBe(false);
  });

  it('checkAttach wants an installed frame address and an allocated ASID', () => {
    const phys = PhysicalMemory.create({ frames: 8 });
    const s = MmuSharedState.create(phys, { magic: MAGIC, asidBits: 8 });
    const asid = s.allocAsid();
    const root = PhysicalMemory.addressOf(phys.allocFrame());
    expect(() => checkAttach(phys, s, root, asid)).not.toThrow();
    for (const [r, a] of [
      [root / 4096, asid],
      [root + 8, asid],
      [root, asid + 1],
      [root, 0],
    ] as const) {
      expect(() => checkAttach(phys, s, r, a)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    }
  });

  it('dumps merge contiguous runs and name sizes like Linux', () => {
    expect([4096, 2 << 20, 1 << 30, 1536 * 1024, 100].map(formatSize)).toEqual(['4K', '2M', '1G', '1536K', '100B']);
    const m = (va: number, perms: number) => ({ va, pa: va, size: 4096, perms, markers: 0, accessed: false, dirty: false, global: false, present: true });
    const out = formatMappings([m(0x1000, 0xb), m(0x2000, 0xb), m(0x4000, 0x9)], { levelName: () => 'pte' });
    expect(out).toBe(
      [
        '---[ User Space ]---',
        '0x0000000000001000-0x0000000000003000         8K  RW USR     NX          pte',
        '0x0000000000004000-0x0000000000005000         4K  ro USR     NX          pte',
        '---[ Kernel Space ]---',
        '',
      ].join('\n'),
    );
  });
});
