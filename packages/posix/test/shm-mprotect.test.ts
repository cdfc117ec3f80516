import { x86_64 } from '@veridian/arch-x86_64';
import { describe, expect, it } from 'vitest';
import { MAP_PRIVATE, MAP_SHARED, O_CREAT, O_RDONLY, O_RDWR, PAGE_SIZE, PROT_NONE, PROT_READ, PROT_WRITE } from '@veridian/posix';
import { rejectsWith, world, settledStats } from './support/setup.ts';

const RW = PROT_READ | PROT_WRITE;

describe('mprotect back to PROT_WRITE on shared memory (POSIX.1-2017: EACCES only for MAP_SHARED of an object not opened for write)', () => {
  it('MAP_SHARED of an O_RDWR descriptor: PROT_READ, then PROT_READ|PROT_WRITE again; the write is seen through a second mapping (and a process that maps it later)', async () => {
    await using w = await world(x86_64);
    const base = settledStats(w);
    await w.run(async (px, proc) => {
      const fd = await px.shm_open('/raise', O_CREAT | O_RDWR);
      await px.ftruncate(fd, 2 * PAGE_SIZE);
      const va = await px.mmap(null, 2 * PAGE_SIZE, RW, MAP_SHARED, fd);
      const other = await px.mmap(null, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, fd);
      px.mprotect(va, 2 * PAGE_SIZE, PROT_READ);
      expect(() => proc.memory.write(va, new Uint8Array([1]))).toThrow(expect.objectContaining({ code: 'AccessFault' }));
      expect(proc.memory.pages(va, 1)[0]!.writable).toBe(false);
      px.mprotect(va, 2 * PAGE_SIZE, RW);
      proc.memory.write(va + PAGE_SIZE, new Uint8Array([42]));
      expect(proc.memory.read(other + PAGE_SIZE, 1)[0]).toBe(42);
      // Mapped PROT_READ (or PROT_NONE) in the first place: raised all the same.
      px.mprotect(other, PAGE_SIZE, RW);
      proc.memory.write(other, new Uint8Array([7]));
      const none = await px.mmap(null, PAGE_SIZE, PROT_NONE, MAP_SHARED, fd);
      px.mprotect(none, PAGE_SIZE, RW);
      expect(proc.memory.read(none, 1)[0]).toBe(7);
      proc.memory.write(none, new Uint8Array([9]));
      expect(proc.memory.read(va, 1)[0]).toBe(9);
      for (const at of [va, other]) px.munmap(at, 2 * PAGE_SIZE);
      px.munmap(none, PAGE_SIZE);
      await px.close(fd);
    });
    await w.run(async (px, proc) => {
      const fd = await px.shm_open('/raise', O_RDONLY);
      const va = await px.mmap(null, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, fd);
      expect(Array.from(proc.memory.read(va, 1))).toEqual([9]);
      expect(proc.memory.read(va + PAGE_SIZE, 1)[0]).toBe(42);
      px.munmap(va, 2 * PAGE_SIZE);
      await px.close(fd);
      await px.shm_unlink('/raise');
    });
    expect(w.host.stats().shmObjects).toBe(0);
    for (let i = 0; i < 100 && w.kernel.stats().processes > base.processes; i++) await new Promise((r) => setTimeout(r, 5));
    expect(settledStats(w)).toEqual(base);
  });

  it('an O_RDONLY descriptor: MAP_SHARED cannot be raised (EACCES, nothing changed); MAP_PRIVATE PROT_READ can, copy-on-write (the object is unchanged)', async () => {
    await using w = await world(x86_64);
    await w.run(async (px, proc) => {
      const rw = await px.shm_open('/ro', O_CREAT | O_RDWR);
      await px.ftruncate(rw, PAGE_SIZE);
      const shared = await px.mmap(null, PAGE_SIZE, RW, MAP_SHARED, rw);
      proc.memory.write(shared, new Uint8Array([5]));
      const ro = await px.shm_open('/ro', O_RDONLY);
      const rom = await px.mmap(null, PAGE_SIZE, PROT_READ, MAP_SHARED, ro);
      const before = w.kernel.snapshot();
      await rejectsWith(() => px.mprotect(rom, PAGE_SIZE, RW), 'EACCES', 'mprotect');
      expect(w.kernel.snapshot()).toEqual(before);
      expect(proc.memory.pages(rom, 1)[0]!.writable).toBe(false);
      const priv = await px.mmap(null, PAGE_SIZE, PROT_READ, MAP_PRIVATE, ro);
      expect(proc.memory.pages(priv, 1)[0]!.writable).toBe(false);
      px.mprotect(priv, PAGE_SIZE, RW);
      expect(proc.memory.pages(priv, 1)[0]!.copyOnWrite).toBe(true);
      proc.memory.write(priv, new Uint8Array([99]));
      expect(proc.memory.read(priv, 1)[0]).toBe(99);
      expect(proc.memory.read(shared, 1)[0]).toBe(5);
      expect(proc.memory.read(rom, 1)[0]).toBe(5);
      for (const va of [shared, rom, priv]) px.munmap(va, PAGE_SIZE);
      await px.close(ro);
      await px.close(rw);
      await px.shm_unlink('/ro');
    });
    expect(w.host.stats().shmObjects).toBe(0);
  });
});
