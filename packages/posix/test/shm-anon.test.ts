// MAP_ANONYMOUS mappings and msync (issue #17: shared-memory gaps closed).
import { IpcError, type Process } from '@veridian/core';
import { describe, expect, it } from 'vitest';
import { MAP_ANON, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, MS_ASYNC, MS_INVALIDATE, MS_SYNC, O_CREAT, O_RDWR, PAGE_SIZE, PROT_NONE, PROT_READ, PROT_WRITE } from '@veridian/posix';
import { ARCHS, rejectsWith, world, settledStats } from './support/setup.ts';

const RW = PROT_READ | PROT_WRITE;

function faults(fn: () => unknown): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(IpcError);
  expect((err as IpcError).code).toBe('AccessFault');
}

function zeros(proc: Process, va: number, n: number): boolean {
  return proc.memory.read(va, n).every((b) => b === 0);
}

describe.each(ARCHS)('MAP_ANONYMOUS and msync (%s)', (_name, arch) => {
  it('MAP_PRIVATE|MAP_ANONYMOUS and MAP_SHARED|MAP_ANONYMOUS with fildes -1: zero-filled, writable, unmapped by munmap; nothing left behind', async () => {
    await using w = await world(arch);
    await w.run(async (px, proc) => {
      // The first mapping may give the process a page-table frame that stays: warm up first.
      px.munmap(await px.mmap(null, PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), PAGE_SIZE);
      const base = settledStats(w);
      const a = await px.mmap(null, 3 * PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      const b = await px.mmap(null, PAGE_SIZE + 1, RW, MAP_SHARED | MAP_ANON, -1);
      expect(a % PAGE_SIZE).toBe(0);
      expect(zeros(proc, a, 3 * PAGE_SIZE)).toBe(true);
      expect(zeros(proc, b, 2 * PAGE_SIZE)).toBe(true);
      proc.memory.write(a + PAGE_SIZE, new Uint8Array([1, 2, 3]));
      proc.memory.write(b + PAGE_SIZE, new Uint8Array([9]));
      expect(Array.from(proc.memory.read(a + PAGE_SIZE, 3))).toEqual([1, 2, 3]);
      expect(proc.memory.read(b + PAGE_SIZE, 1)[0]).toBe(9);
      // The two are distinct memory.
      expect(proc.memory.read(b + PAGE_SIZE, 3)[1]).toBe(0);
      px.munmap(a, 3 * PAGE_SIZE);
      px.munmap(b, 2 * PAGE_SIZE);
      faults(() => proc.memory.read(a, 1));
      faults(() => proc.memory.read(b, 1));
      expect(settledStats(w)).toEqual(base);
    });
  });

  it('MAP_ANONYMOUS: PROT_NONE and PROT_READ at mmap, and mprotect raises them to PROT_WRITE again', async () => {
    await using w = await world(arch);
    await w.run(async (px, proc) => {
      const none = await px.mmap(null, PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      faults(() => proc.memory.read(none, 1));
      px.mprotect(none, PAGE_SIZE, RW);
      proc.memory.write(none, new Uint8Array([5]));
      expect(proc.memory.read(none, 1)[0]).toBe(5);
      const ro = await px.mmap(null, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
      faults(() => proc.memory.write(ro, new Uint8Array([1])));
      px.mprotect(ro, 2 * PAGE_SIZE, RW);
      proc.memory.write(ro + PAGE_SIZE, new Uint8Array([7]));
      px.mprotect(ro, PAGE_SIZE, PROT_READ);
      faults(() => proc.memory.write(ro, new Uint8Array([1])));
      px.mprotect(ro, PAGE_SIZE, RW);
      proc.memory.write(ro, new Uint8Array([8]));
      expect(Array.from(proc.memory.read(ro, 1))).toEqual([8]);
      px.munmap(none, PAGE_SIZE);
      px.munmap(ro, 2 * PAGE_SIZE);
    });
  });

  it('MAP_ANONYMOUS: EINVAL for a descriptor other than -1, a non-zero off, or no MAP_SHARED/MAP_PRIVATE; the usual checks of len and prot', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const base = settledStats(w);
      const fd = await px.shm_open('/anon', O_CREAT | O_RDWR);
      await px.ftruncate(fd, PAGE_SIZE);
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS, fd, 0), 'EINVAL', 'mmap');
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS, 0, 0), 'EINVAL', 'mmap');
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, PAGE_SIZE), 'EINVAL', 'mmap');
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, MAP_ANONYMOUS, -1, 0), 'EINVAL', 'mmap');
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), 'EINVAL', 'mmap');
      await rejectsWith(px.mmap(null, 0, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), 'EINVAL', 'mmap');
      await rejectsWith(px.mmap(null, PAGE_SIZE, 8, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), 'EINVAL', 'mmap');
      await px.close(fd);
      await px.shm_unlink('/anon');
      expect(settledStats(w)).toEqual(base);
    });
  });

  it('msync: a no-op on mmap mappings (shm and anonymous) that checks its arguments as POSIX says', async () => {
    await using w = await world(arch);
    await w.run(async (px, proc) => {
      const fd = await px.shm_open('/sync', O_CREAT | O_RDWR);
      await px.ftruncate(fd, 2 * PAGE_SIZE);
      const va = await px.mmap(null, 2 * PAGE_SIZE, RW, MAP_SHARED, fd);
      const anon = await px.mmap(null, PAGE_SIZE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      proc.memory.write(va, new Uint8Array([4]));
      for (const flags of [MS_SYNC, MS_ASYNC, MS_SYNC | MS_INVALIDATE, MS_ASYNC | MS_INVALIDATE, MS_INVALIDATE, 0]) px.msync(va, 2 * PAGE_SIZE, flags);
      px.msync(va + PAGE_SIZE, 1, MS_SYNC);
      px.msync(anon, PAGE_SIZE, MS_SYNC);
      px.msync(va, 0, MS_SYNC);
      expect(proc.memory.read(va, 1)[0]).toBe(4);
      // [EINVAL] The value of flags is invalid.
      expect(() => px.msync(va, PAGE_SIZE, MS_SYNC | MS_ASYNC)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'msync' }));
      expect(() => px.msync(va, PAGE_SIZE, 0x100)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'msync' }));
      // [EINVAL] The value of addr is not a multiple of the page size.
      expect(() => px.msync(va + 1, PAGE_SIZE, MS_SYNC)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'msync' }));
      expect(() => px.msync(va + 1, 0, MS_SYNC)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      // [ENOMEM] … one or more pages that are not mapped.
      const far = Math.max(va, anon) + 64 * PAGE_SIZE;
      expect(() => px.msync(far, PAGE_SIZE, MS_SYNC)).toThrow(expect.objectContaining({ code: 'ENOMEM', syscall: 'msync' }));
      px.munmap(va + PAGE_SIZE, PAGE_SIZE);
      expect(() => px.msync(va, 2 * PAGE_SIZE, MS_SYNC)).toThrow(expect.objectContaining({ code: 'ENOMEM', syscall: 'msync' }));
      px.msync(va, PAGE_SIZE, MS_SYNC);
      px.munmap(anon, PAGE_SIZE);
      expect(() => px.msync(anon, PAGE_SIZE, MS_ASYNC)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
      const js = px as unknown as Record<string, (...a: unknown[]) => unknown>;
      expect(() => js.msync!(va, -1, MS_SYNC)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect(() => js.msync!('x', PAGE_SIZE, MS_SYNC)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect(() => js.msync!(va, PAGE_SIZE, NaN)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      px.munmap(va, PAGE_SIZE);
      await px.close(fd);
      await px.shm_unlink('/sync');
    });
  });
});
