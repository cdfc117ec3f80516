/**
 * MAP_FIXED and PROT_EXEC (issue #17). POSIX.1-2017 mmap: "When MAP_FIXED is set in the flags
 * argument, the implementation is informed that the value of pa shall be addr, exactly. If
 * MAP_FIXED is set, mmap() may return MAP_FAILED and set errno to [EINVAL]. If a MAP_FIXED
 * request is successful, then any previous mappings or memory locks for those whole pages
 * containing any part of the address range [pa,pa+len) shall be removed, as if by an
 * appropriate call to munmap(), before the new mapping is established." — "[EINVAL] The addr
 * argument (if MAP_FIXED was specified) or off is not a multiple of the page size". —
 * "PROT_EXEC Data can be executed."
 */
import { describe, expect, it } from 'vitest';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, O_CREAT, O_RDONLY, O_RDWR, PAGE_SIZE, PROT_EXEC, PROT_READ, PROT_WRITE, type Posix } from '@veridian/posix';
import type { Process } from '@veridian/core';
import { ARCHS, rejectsWith, settledStats, world } from './support/setup.ts';

const RW = PROT_READ | PROT_WRITE;

async function object(px: Posix, proc: Process, name: string, pages: number, fill: number): Promise<number> {
  const fd = await px.shm_open(name, O_CREAT | O_RDWR);
  await px.ftruncate(fd, pages * PAGE_SIZE);
  const va = await px.mmap(null, pages * PAGE_SIZE, RW, MAP_SHARED, fd);
  proc.memory.write(va, new Uint8Array(pages * PAGE_SIZE).fill(fill));
  px.munmap(va, pages * PAGE_SIZE);
  return fd;
}

describe.each(ARCHS)('MAP_FIXED and PROT_EXEC on %s', (_name, arch) => {
  it('MAP_FIXED maps at addr exactly and replaces the whole pages of earlier mappings there; the rest of those stays', async () => {
    await using w = await world(arch);
    const base = settledStats(w);
    await w.run(async (px, proc) => {
      const one = await object(px, proc, '/one', 4, 1);
      const two = await object(px, proc, '/two', 2, 2);
      const va = await px.mmap(null, 4 * PAGE_SIZE, RW, MAP_SHARED, one);
      const ref = await px.mmap(null, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, two);
      // Not page-aligned (and partly inside a page): the whole pages containing it are replaced.
      expect(await px.mmap(va + PAGE_SIZE, 2 * PAGE_SIZE - 100, RW, MAP_SHARED | MAP_FIXED, two)).toBe(va + PAGE_SIZE);
      expect(Array.from(proc.memory.read(va, 1))).toEqual([1]);
      expect(Array.from(proc.memory.read(va + PAGE_SIZE, 1))).toEqual([2]);
      expect(Array.from(proc.memory.read(va + 3 * PAGE_SIZE, 1))).toEqual([1]);
      expect(proc.memory.frames(va + PAGE_SIZE, 2)).toEqual(proc.memory.frames(ref, 2));
      proc.memory.write(va + 2 * PAGE_SIZE, new Uint8Array([7]));
      expect(proc.memory.read(ref + PAGE_SIZE, 1)[0]).toBe(7);
      // MAP_ANONYMOUS | MAP_FIXED over one page: fresh zeros there, nobody else's.
      expect(await px.mmap(va + 3 * PAGE_SIZE, PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0)).toBe(va + 3 * PAGE_SIZE);
      expect(proc.memory.read(va + 3 * PAGE_SIZE, 1)[0]).toBe(0);
      // The four pages are four mmap pages again: mprotect and munmap see them all.
      px.mprotect(va, 4 * PAGE_SIZE, PROT_READ);
      px.munmap(va, 4 * PAGE_SIZE);
      px.msync(va, 0, 0);
      expect(() => px.msync(va, PAGE_SIZE, 0)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
      // Into a free range (just unmapped): exactly there.
      expect(await px.mmap(va + 2 * PAGE_SIZE, PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_FIXED, one)).toBe(va + 2 * PAGE_SIZE);
      expect(proc.memory.read(va + 2 * PAGE_SIZE, 1)[0]).toBe(1);
      px.munmap(va + 2 * PAGE_SIZE, PAGE_SIZE);
      px.munmap(ref, 2 * PAGE_SIZE);
      for (const fd of [one, two]) await px.close(fd);
      await px.shm_unlink('/one');
      await px.shm_unlink('/two');
    });
    for (let i = 0; i < 100 && w.kernel.stats().processes > base.processes; i++) await new Promise((r) => setTimeout(r, 5));
    expect(settledStats(w).freeFrames).toBeGreaterThanOrEqual(base.freeFrames - 1); // the server's page-table frame
  });

  it('MAP_FIXED errors: addr null or not a multiple of the page size is EINVAL; memory that mmap did not map is not replaced (ENOMEM)', async () => {
    await using w = await world(arch);
    await w.run(async (px, proc) => {
      const fd = await object(px, proc, '/fx', 1, 3);
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED, fd), 'EINVAL', 'mmap');
      const va = await px.mmap(null, 2 * PAGE_SIZE, RW, MAP_SHARED, fd);
      await rejectsWith(px.mmap(va + 1, PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED, fd), 'EINVAL', 'mmap');
      await rejectsWith(px.mmap(va + 1, PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0), 'EINVAL', 'mmap');
      // Nothing was removed by the refused requests.
      expect(proc.memory.read(va, 1)[0]).toBe(3);
      const own = proc.memory.map(PAGE_SIZE);
      proc.memory.write(own, new Uint8Array([9]));
      await rejectsWith(px.mmap(own, PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED, fd), 'ENOMEM', 'mmap');
      expect(proc.memory.read(own, 1)[0]).toBe(9);
      proc.memory.unmap(own, PAGE_SIZE);
      px.munmap(va, 2 * PAGE_SIZE);
      await px.close(fd);
      await px.shm_unlink('/fx');
    });
  });

  it('a MAP_FIXED mapping longer than its object follows ftruncate like any other', async () => {
    await using w = await world(arch);
    await w.run(async (px, proc) => {
      const fd = await object(px, proc, '/fz', 1, 4);
      const hole = await px.mmap(null, 3 * PAGE_SIZE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      expect(await px.mmap(hole, 3 * PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED, fd)).toBe(hole);
      expect(() => proc.memory.read(hole + PAGE_SIZE, 1)).toThrow(expect.objectContaining({ code: 'AccessFault' }));
      await px.ftruncate(fd, 3 * PAGE_SIZE);
      proc.memory.write(hole + 2 * PAGE_SIZE, new Uint8Array([5]));
      const again = await px.mmap(null, 3 * PAGE_SIZE, PROT_READ, MAP_SHARED, fd);
      expect(proc.memory.read(again + 2 * PAGE_SIZE, 1)[0]).toBe(5);
      px.munmap(again, 3 * PAGE_SIZE);
      px.munmap(hole, 3 * PAGE_SIZE);
      await px.close(fd);
      await px.shm_unlink('/fz');
    });
  });

  it('PROT_EXEC maps pages executable (the MMU\'s execute permission), on O_RDONLY descriptors too; mprotect takes it away and back', async () => {
    await using w = await world(arch);
    await w.run(async (px, proc) => {
      const rw = await object(px, proc, '/ex', 2, 6);
      const ro = await px.shm_open('/ex', O_RDONLY);
      const rx = await px.mmap(null, 2 * PAGE_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED, ro);
      expect(proc.memory.pages(rx, 2).map((p) => [p.executable, p.writable])).toEqual([[true, false], [true, false]]);
      expect(proc.memory.read(rx, 1)[0]).toBe(6);
      const plain = await px.mmap(null, PAGE_SIZE, RW, MAP_SHARED, rw);
      expect(proc.memory.pages(plain, 1)[0]!.executable).toBe(false);
      const rwx = await px.mmap(null, PAGE_SIZE, RW | PROT_EXEC, MAP_PRIVATE, ro);
      expect(proc.memory.pages(rwx, 1)[0]).toMatchObject({ executable: true, copyOnWrite: true });
      proc.memory.write(rwx, new Uint8Array([1]));
      expect(proc.memory.pages(rwx, 1)[0]).toMatchObject({ executable: true, writable: true });
      expect(proc.memory.read(plain, 1)[0]).toBe(6);
      px.mprotect(rx, PAGE_SIZE, PROT_READ);
      expect(proc.memory.pages(rx, 2).map((p) => p.executable)).toEqual([false, true]);
      px.mprotect(rx, 2 * PAGE_SIZE, PROT_EXEC);
      expect(proc.memory.pages(rx, 2).map((p) => p.executable)).toEqual([true, true]);
      // MAP_SHARED + PROT_WRITE on the O_RDONLY descriptor is still EACCES, PROT_EXEC or not.
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW | PROT_EXEC, MAP_SHARED, ro), 'EACCES', 'mmap');
      const anon = await px.mmap(null, PAGE_SIZE, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      expect(proc.memory.pages(anon, 1)[0]).toMatchObject({ executable: true, writable: false });
      for (const [va, n] of [[rx, 2], [plain, 1], [rwx, 1], [anon, 1]] as const) px.munmap(va, n * PAGE_SIZE);
      await px.close(ro);
      await px.close(rw);
      await px.shm_unlink('/ex');
    });
  });
});
