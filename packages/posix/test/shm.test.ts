import { IpcError, type Process } from '@veridian/core';
import { x86_64 } from '@veridian/arch-x86_64';
import { describe, expect, it } from 'vitest';
import { MAP_FIXED, MAP_PRIVATE, MAP_SHARED, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, O_WRONLY, PAGE_SIZE, PROT_EXEC, PROT_NONE, PROT_READ, PROT_WRITE, PosixError, type Posix } from '@veridian/posix';
import { rejectsWith, world, settledStats } from './support/setup.ts';

const RW = PROT_READ | PROT_WRITE;

function faults(proc: Process, fn: () => unknown): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(IpcError);
  expect((err as IpcError).code).toBe('AccessFault');
  expect((PosixError.from(err, 'access') as PosixError).code).toBe('EFAULT');
  void proc;
}

/** Waits for the processes to finish exiting, then checks the kernel is back to `base` (no frame, capability or record left). */
async function baseline(w: Awaited<ReturnType<typeof world>>, base: ReturnType<typeof w.kernel.stats>): Promise<void> {
  for (let i = 0; i < 100 && w.kernel.stats().processes > base.processes; i++) await new Promise((r) => setTimeout(r, 5));
  expect(settledStats(w)).toEqual(base);
}

/** Runs two processes on CPU 0 that meet through `ready`. */
function pair<A, B>(w: Awaited<ReturnType<typeof world>>, a: (px: Posix, proc: Process) => Promise<A>, b: (px: Posix, proc: Process) => Promise<B>): Promise<[A, B]> {
  return Promise.all([w.run(a, 'a'), w.run(b, 'b')]);
}

describe('POSIX shared memory (x86_64)', () => {
  it('two processes share the same frames through shm_open + mmap(MAP_SHARED); writes are seen both ways', async () => {
    await using w = await world(x86_64);
    const base = settledStats(w);
    let frameA: number[] = [];
    let signal!: () => void;
    const created = new Promise<void>((r) => (signal = r));
    let done!: () => void;
    const bWrote = new Promise<void>((r) => (done = r));
    await pair(
      w,
      async (px, proc) => {
        const fd = await px.shm_open('/shared', O_CREAT | O_EXCL | O_RDWR, 0o640);
        await px.ftruncate(fd, 3 * PAGE_SIZE);
        expect(await px.fstat(fd)).toEqual({ st_size: 3 * PAGE_SIZE, st_mode: 0o640 });
        const va = await px.mmap(null, 3 * PAGE_SIZE, RW, MAP_SHARED, fd, 0);
        proc.memory.write(va + 10, new Uint8Array([1, 2, 3]));
        frameA = Array.from(proc.memory.frames(va, 3));
        signal();
        await bWrote;
        expect(Array.from(proc.memory.read(va + PAGE_SIZE, 2))).toEqual([9, 8]);
        px.munmap(va, 3 * PAGE_SIZE);
        await px.close(fd);
      },
      async (px, proc) => {
        await created;
        const fd = await px.shm_open('/shared', O_RDWR, 0);
        const va = await px.mmap(null, 3 * PAGE_SIZE, RW, MAP_SHARED, fd, 0);
        expect(Array.from(proc.memory.read(va + 10, 3))).toEqual([1, 2, 3]);
        expect(Array.from(proc.memory.frames(va, 3))).toEqual(frameA);
        proc.memory.write(va + PAGE_SIZE, new Uint8Array([9, 8]));
        // An offset mapping sees the same pages.
        const va2 = await px.mmap(null, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, PAGE_SIZE);
        expect(proc.memory.frames(va2)[0]).toBe(frameA[1]);
        px.munmap(va2, PAGE_SIZE);
        done();
        px.munmap(va, 3 * PAGE_SIZE);
        await px.close(fd);
        await px.shm_unlink('/shared');
      },
    );
    expect(w.host.stats().shmObjects).toBe(0);
    await baseline(w, base);
  });

  it('MAP_PRIVATE is copy-on-write: writes are not seen by others, and need only O_RDONLY', async () => {
    await using w = await world(x86_64);
    await w.run(async (px, proc) => {
      const rw = await px.shm_open('/priv', O_CREAT | O_RDWR);
      await px.ftruncate(rw, 100);
      const shared = await px.mmap(null, PAGE_SIZE, RW, MAP_SHARED, rw);
      proc.memory.write(shared, new Uint8Array([5]));
      const ro = await px.shm_open('/priv', O_RDONLY);
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, MAP_SHARED, ro), 'EACCES', 'mmap');
      const priv = await px.mmap(null, PAGE_SIZE, RW, MAP_PRIVATE, ro);
      expect(proc.memory.read(priv, 1)[0]).toBe(5);
      proc.memory.write(priv, new Uint8Array([42]));
      expect(proc.memory.read(priv, 1)[0]).toBe(42);
      expect(proc.memory.read(shared, 1)[0]).toBe(5);
      expect(proc.memory.frames(priv)[0]).not.toBe(proc.memory.frames(shared)[0]);
      // A later shared write is seen by new mappings, not by the private copy.
      proc.memory.write(shared, new Uint8Array([6]));
      expect(proc.memory.read(priv, 1)[0]).toBe(42);
      // Read-only shared mapping of the read-only descriptor: fine, and cannot be made writable.
      const rom = await px.mmap(null, PAGE_SIZE, PROT_READ, MAP_SHARED, ro);
      expect(proc.memory.read(rom, 1)[0]).toBe(6);
      expect(() => px.mprotect(rom, PAGE_SIZE, RW)).toThrow(expect.objectContaining({ code: 'EACCES' }));
      faults(proc, () => proc.memory.write(rom, new Uint8Array([1])));
      for (const va of [shared, priv, rom]) px.munmap(va, PAGE_SIZE);
      await px.close(ro);
      await px.close(rw);
      await px.shm_unlink('/priv');
    });
    expect(w.host.stats().shmObjects).toBe(0);
  });

  it('O_EXCL → EEXIST, no O_CREAT → ENOENT, names as POSIX says', async () => {
    await using w = await world(x86_64);
    await w.run(async (px) => {
      await rejectsWith(px.shm_open('/none', O_RDWR), 'ENOENT', 'shm_open');
      const fd = await px.shm_open('/x', O_CREAT | O_RDWR);
      await rejectsWith(px.shm_open('/x', O_CREAT | O_EXCL | O_RDWR), 'EEXIST', 'shm_open');
      const again = await px.shm_open('/x', O_CREAT | O_RDWR);
      await px.close(again);
      for (const bad of ['x', '/', '/a/b', '', 'noslash/'] as const) await rejectsWith(px.shm_open(bad, O_CREAT | O_RDWR), 'EINVAL', 'shm_open');
      await rejectsWith(px.shm_open(`/${'n'.repeat(256)}`, O_CREAT | O_RDWR), 'ENAMETOOLONG', 'shm_open');
      await px.close(await px.shm_open(`/${'n'.repeat(255)}`, O_CREAT | O_RDWR));
      await px.shm_unlink(`/${'n'.repeat(255)}`);
      await rejectsWith(px.shm_unlink('/none'), 'ENOENT', 'shm_unlink');
      await rejectsWith(px.shm_unlink('bad'), 'EINVAL', 'shm_unlink');
      await rejectsWith(px.shm_open('/x', O_WRONLY), 'EINVAL');
      await rejectsWith(px.shm_open('/x', O_RDONLY | O_TRUNC), 'EINVAL');
      await px.close(fd);
      await px.shm_unlink('/x');
    });
  });

  it('shm_unlink while mapped: the mapping works, the name is gone, O_CREAT makes a new object', async () => {
    await using w = await world(x86_64);
    const base = settledStats(w);
    await w.run(async (px, proc) => {
      const fd = await px.shm_open('/u', O_CREAT | O_RDWR);
      await px.ftruncate(fd, PAGE_SIZE);
      const va = await px.mmap(null, PAGE_SIZE, RW, MAP_SHARED, fd);
      proc.memory.write(va, new Uint8Array([7]));
      await px.close(fd); // the mapping holds the object
      await px.shm_unlink('/u');
      await rejectsWith(px.shm_open('/u', O_RDWR), 'ENOENT');
      expect(w.host.stats().shmObjects).toBe(0);
      proc.memory.write(va, new Uint8Array([8]));
      expect(proc.memory.read(va, 1)[0]).toBe(8);
      const fresh = await px.shm_open('/u', O_CREAT | O_EXCL | O_RDWR);
      expect((await px.fstat(fresh)).st_size).toBe(0);
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, MAP_SHARED, fresh), 'ENXIO', 'mmap');
      await px.ftruncate(fresh, PAGE_SIZE);
      const va2 = await px.mmap(null, PAGE_SIZE, RW, MAP_SHARED, fresh);
      expect(proc.memory.read(va2, 1)[0]).toBe(0);
      expect(proc.memory.frames(va2)[0]).not.toBe(proc.memory.frames(va)[0]);
      px.munmap(va, PAGE_SIZE);
      px.munmap(va2, PAGE_SIZE);
      await px.close(fresh);
      await px.shm_unlink('/u');
    });
    await baseline(w, base);
  });

  it('EINVAL and friends for bad mmap arguments; nothing is mapped', async () => {
    await using w = await world(x86_64);
    await w.run(async (px) => {
      const fd = await px.shm_open('/args', O_CREAT | O_RDWR);
      await px.ftruncate(fd, 2 * PAGE_SIZE);
      const before = w.kernel.stats();
      await rejectsWith(px.mmap(null, 0, RW, MAP_SHARED, fd), 'EINVAL', 'mmap');
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, MAP_SHARED | MAP_PRIVATE, fd), 'EINVAL');
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, 0, fd), 'EINVAL');
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, MAP_SHARED | MAP_FIXED, fd), 'EINVAL');
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, MAP_SHARED, fd, 100), 'EINVAL');
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, MAP_SHARED, fd, -PAGE_SIZE), 'EINVAL');
      await rejectsWith(px.mmap(null, PAGE_SIZE, 8, MAP_SHARED, fd), 'EINVAL');
      await rejectsWith(px.mmap(null, PAGE_SIZE, PROT_READ | PROT_EXEC | 0x10, MAP_SHARED, fd), 'EINVAL');
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, MAP_SHARED, fd, 3 * PAGE_SIZE), 'ENXIO');
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, MAP_SHARED, fd, 2 ** 40), 'EOVERFLOW');
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, MAP_SHARED, 77), 'EBADF');
      const [r, wr] = await px.pipe();
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, MAP_SHARED, r), 'ENODEV');
      await rejectsWith(px.ftruncate(wr, 10), 'EINVAL', 'ftruncate');
      await rejectsWith(px.fstat(wr), 'EINVAL', 'fstat');
      await rejectsWith(px.read(fd, new Uint8Array(4)), 'EBADF', 'read');
      // Plain JS: strings, NaN, negatives.
      const js = px as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
      await rejectsWith(js.mmap!('0x1000', PAGE_SIZE, RW, MAP_SHARED, fd, 0), 'EINVAL');
      await rejectsWith(js.mmap!(null, '4096', RW, MAP_SHARED, fd, 0), 'EINVAL');
      await rejectsWith(js.mmap!(null, NaN, RW, MAP_SHARED, fd, 0), 'EINVAL');
      await rejectsWith(js.mmap!(null, PAGE_SIZE, 'rw', MAP_SHARED, fd, 0), 'EINVAL');
      await rejectsWith(js.mmap!(null, PAGE_SIZE, RW, NaN, fd, 0), 'EINVAL');
      await rejectsWith(js.mmap!(null, PAGE_SIZE, RW, MAP_SHARED, '3', 0), 'EBADF');
      await rejectsWith(js.mmap!(null, PAGE_SIZE, RW, MAP_SHARED, fd, NaN), 'EINVAL');
      await rejectsWith(js.ftruncate!(fd, -1), 'EINVAL');
      await rejectsWith(js.ftruncate!(fd, NaN), 'EINVAL');
      await rejectsWith(js.ftruncate!(fd, '10'), 'EINVAL');
      await rejectsWith(js.ftruncate!(fd, 2 ** 41), 'EFBIG');
      await rejectsWith(js.shm_open!(42, O_CREAT | O_RDWR), 'EINVAL');
      await rejectsWith(js.shm_open!('/args', 'x'), 'EINVAL');
      await rejectsWith(js.shm_open!('/args', O_RDWR, -1), 'EINVAL');
      await rejectsWith(() => js.munmap!('x', PAGE_SIZE), 'EINVAL', 'munmap');
      await rejectsWith(() => js.mprotect!(0, NaN, PROT_READ), 'EINVAL', 'mprotect');
      expect(w.kernel.stats()).toEqual({ ...before, endpoints: before.endpoints + 2, capabilities: w.kernel.stats().capabilities });
      expect((await px.fstat(fd)).st_size).toBe(2 * PAGE_SIZE);
      await px.close(r);
      await px.close(wr);
      const ro = await px.shm_open('/args', O_RDONLY);
      await rejectsWith(px.ftruncate(ro, 10), 'EINVAL', 'ftruncate');
      await px.close(ro);
      await px.close(fd);
      await px.shm_unlink('/args');
    });
  });

  it('ftruncate then a mapping larger than the object: the access past the end fails with a typed error', async () => {
    await using w = await world(x86_64);
    await w.run(async (px, proc) => {
      const fd = await px.shm_open('/short', O_CREAT | O_RDWR);
      await px.ftruncate(fd, 100); // one page
      const va = await px.mmap(null, 3 * PAGE_SIZE, RW, MAP_SHARED, fd);
      proc.memory.write(va + PAGE_SIZE - 1, new Uint8Array([1])); // the rest of the last page is there, as POSIX says
      faults(proc, () => proc.memory.read(va + PAGE_SIZE, 1));
      faults(proc, () => proc.memory.write(va + 2 * PAGE_SIZE, new Uint8Array([1])));
      px.munmap(va, 3 * PAGE_SIZE);
      await px.close(fd);
      await px.shm_unlink('/short');
    });
  });

  it('resizing: in place (tail zeroed, growth zero-filled), and a mapping made before sees the object after every resize', async () => {
    await using w = await world(x86_64);
    const body = async (px: Posix, proc: Process): Promise<void> => {
      const fd = await px.shm_open('/grow', O_CREAT | O_RDWR);
      await px.ftruncate(fd, PAGE_SIZE);
      const old = await px.mmap(null, 2 * PAGE_SIZE, RW, MAP_SHARED, fd);
      proc.memory.write(old, new Uint8Array([1, 2, 3, 4]));
      await px.ftruncate(fd, 2);
      await px.ftruncate(fd, 4);
      expect(Array.from(proc.memory.read(old, 4))).toEqual([1, 2, 0, 0]);
      await px.ftruncate(fd, 2 * PAGE_SIZE);
      expect((await px.fstat(fd)).st_size).toBe(2 * PAGE_SIZE);
      const grown = await px.mmap(null, 2 * PAGE_SIZE, RW, MAP_SHARED, fd);
      expect(Array.from(proc.memory.read(grown, 4))).toEqual([1, 2, 0, 0]);
      proc.memory.write(grown + PAGE_SIZE, new Uint8Array([9]));
      proc.memory.write(grown, new Uint8Array([7]));
      // "shall be visible to all other processes that have the same region mapped": the mapping from before too.
      expect(proc.memory.read(old, 1)[0]).toBe(7);
      expect(proc.memory.read(old + PAGE_SIZE, 1)[0]).toBe(9);
      expect(proc.memory.frames(old, 2)).toEqual(proc.memory.frames(grown, 2));
      // Another process opening afterwards sees the same memory.
      await w.run(async (px2, p2) => {
        const fd2 = await px2.shm_open('/grow', O_RDONLY);
        const va = await px2.mmap(null, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, fd2);
        expect(p2.memory.frames(va, 2)).toEqual(proc.memory.frames(grown, 2));
        await px2.close(fd2);
        px2.munmap(va, 2 * PAGE_SIZE);
      });
      await px.ftruncate(fd, 0);
      faults(proc, () => proc.memory.read(old, 1));
      await rejectsWith(px.mmap(null, PAGE_SIZE, RW, MAP_SHARED, fd), 'ENXIO');
      px.munmap(old, 2 * PAGE_SIZE);
      px.munmap(grown, 2 * PAGE_SIZE);
      await px.close(fd);
      await px.shm_unlink('/grow');
    };
    // The server maps a page to zero a tail: its address space keeps a page-table frame after the first time.
    const first = w.kernel.stats();
    await w.run(body);
    for (let i = 0; i < 100 && w.kernel.stats().processes > first.processes; i++) await new Promise((r) => setTimeout(r, 5));
    expect(first.usedFrames - w.kernel.stats().usedFrames).toBeGreaterThanOrEqual(-1);
    const base = settledStats(w);
    await w.run(body);
    await baseline(w, base);
  });

  it('munmap and mprotect', async () => {
    await using w = await world(x86_64);
    await w.run(async (px, proc) => {
      const fd = await px.shm_open('/mp', O_CREAT | O_RDWR);
      await px.ftruncate(fd, 4 * PAGE_SIZE);
      const va = await px.mmap(null, 4 * PAGE_SIZE, RW, MAP_SHARED, fd);
      proc.memory.write(va, new Uint8Array(4 * PAGE_SIZE).fill(3));
      px.mprotect(va + PAGE_SIZE, PAGE_SIZE, PROT_READ);
      faults(proc, () => proc.memory.write(va + PAGE_SIZE, new Uint8Array([1])));
      proc.memory.write(va, new Uint8Array([1]));
      px.mprotect(va + 2 * PAGE_SIZE, PAGE_SIZE, PROT_NONE);
      faults(proc, () => proc.memory.read(va + 2 * PAGE_SIZE, 1));
      px.mprotect(va + 2 * PAGE_SIZE, PAGE_SIZE, PROT_READ);
      expect(proc.memory.read(va + 2 * PAGE_SIZE, 1)[0]).toBe(3);
      // Raised back: the descriptor is O_RDWR (POSIX.1-2017 mprotect).
      px.mprotect(va + PAGE_SIZE, PAGE_SIZE, RW);
      proc.memory.write(va + PAGE_SIZE, new Uint8Array([8]));
      expect(() => px.mprotect(va + 1, PAGE_SIZE, PROT_READ)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect(() => px.mprotect(va, 5 * PAGE_SIZE, PROT_READ)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
      // PROT_EXEC: the arch MMU's execute permission (PROT_EXEC alone implies PROT_READ).
      px.mprotect(va, PAGE_SIZE, PROT_EXEC);
      expect(proc.memory.pages(va, 1)[0]).toMatchObject({ executable: true, writable: false });
      expect(proc.memory.read(va, 1)[0]).toBe(1);
      px.mprotect(va, PAGE_SIZE, RW);
      expect(proc.memory.pages(va, 1)[0]).toMatchObject({ executable: false, writable: true });
      // Partial munmap splits the mapping; the rest keeps working; unmapping nothing is not an error.
      px.munmap(va + PAGE_SIZE, PAGE_SIZE);
      faults(proc, () => proc.memory.read(va + PAGE_SIZE, 1));
      expect(proc.memory.read(va + 3 * PAGE_SIZE, 1)[0]).toBe(3);
      px.munmap(va + PAGE_SIZE, PAGE_SIZE);
      expect(() => px.mprotect(va, 2 * PAGE_SIZE, PROT_READ)).toThrow(expect.objectContaining({ code: 'ENOMEM' }));
      expect(() => px.munmap(va + 1, PAGE_SIZE)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'munmap' }));
      expect(() => px.munmap(va, 0)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      // PROT_NONE at mmap.
      const none = await px.mmap(null, PAGE_SIZE, PROT_NONE, MAP_SHARED, fd);
      faults(proc, () => proc.memory.read(none, 1));
      px.munmap(none, PAGE_SIZE);
      px.munmap(va, 4 * PAGE_SIZE);
      faults(proc, () => proc.memory.read(va, 1));
      await px.close(fd);
      await px.shm_unlink('/mp');
    });
  });

  it('descriptors and mappings are released when a process exits; the unlinked object goes; dup shares the description', async () => {
    await using w = await world(x86_64);
    const base = settledStats(w);
    await new Promise<void>((resolve, reject) => {
      const h = w.host.spawn({ name: 'leaver' }, async (proc, px) => {
        const fd = await px.shm_open('/exit', O_CREAT | O_RDWR);
        await px.ftruncate(fd, 8 * PAGE_SIZE);
        const d = px.dup(fd);
        await px.close(fd);
        const va = await px.mmap(null, 8 * PAGE_SIZE, RW, MAP_SHARED, d);
        proc.memory.write(va, new Uint8Array(8 * PAGE_SIZE).fill(1));
        await px.shm_unlink('/exit');
        expect(w.host.stats().shmObjects).toBe(1); // still open through d
      });
      h.exited.then(() => resolve(), reject);
    });
    for (let i = 0; i < 50 && w.host.stats().shmObjects > 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(w.host.stats().shmObjects).toBe(0);
    await baseline(w, base);
  });
});
