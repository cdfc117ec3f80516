/**
 * ftruncate of a shared memory object that is mapped (issue #17). POSIX.1-2017: "If the
 * effect of ftruncate() is to decrease the size of a memory mapped file or a shared memory
 * object and whole pages beyond the new end were previously mapped, then the whole pages
 * beyond the new end shall be discarded. References to discarded pages shall result in the
 * generation of a SIGBUS signal." — "If the file size is increased, the extended area shall
 * appear as if it were zero-filled." — mmap: "The mmap() function can be used to map a region
 * of memory that is larger than the current size of the object", and MAP_SHARED writes "shall
 * be visible to all other processes that have the same region mapped". So every mapping sees
 * the same memory after any resize, whole pages past the end fault (SIGBUS: AccessFault, EFAULT
 * through PosixError.from) in every mapping, and pages the object grows into become accessible
 * in the mappings made before.
 */
import { IpcError } from '@veridian/core';
import { describe, expect, it } from 'vitest';
import { AF_UNIX, MAP_PRIVATE, SOCK_STREAM, MAP_SHARED, O_CREAT, O_RDONLY, O_RDWR, PAGE_SIZE, PROT_READ, PROT_WRITE, PosixError } from '@veridian/posix';
import { ARCHS, here, rejectsWith, settledStats, world } from './support/setup.ts';

const RW = PROT_READ | PROT_WRITE;

/** The SIGBUS analogue: the access throws AccessFault, which is EFAULT as a PosixError. */
function sigbus(fn: () => unknown): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(IpcError);
  expect((err as IpcError).code).toBe('AccessFault');
  expect((PosixError.from(err, 'access') as PosixError).code).toBe('EFAULT');
}

async function settle(w: Awaited<ReturnType<typeof world>>, processes: number): Promise<void> {
  for (let i = 0; i < 100 && w.kernel.stats().processes > processes; i++) await new Promise((r) => setTimeout(r, 5));
}

describe.each(ARCHS)('ftruncate of a mapped object on %s', (_name, arch) => {
  it('two processes\' mappings, longer than the object: growth is seen and shared by both, whole pages past a new end fault in both, growing again shows zeros; frames come back', async () => {
    await using w = await world(arch);
    // Warm up the server's own address space (it maps a page to zero a tail: a page-table frame stays).
    await w.run(async (px) => {
      const fd = await px.shm_open('/warm', O_CREAT | O_RDWR);
      await px.ftruncate(fd, 10);
      await px.ftruncate(fd, 5);
      await px.close(fd);
      await px.shm_unlink('/warm');
    });
    await settle(w, 2); // posixd and its flag server
    const base = settledStats(w);
    // Each child waits for the other in a blocking recv (a plain promise would hold CPU 0).
    const exits = await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      const one = new Uint8Array(1);
      const A = w.host.spawn({ name: 'a' }, async (proc, cpx) => {
        const step = async () => {
          await cpx.send(a, one, 1, 0);
          expect(await cpx.recv(a, new Uint8Array(1), 1, 0)).toBe(1);
        };
        const fd = await cpx.shm_open('/rz', O_CREAT | O_RDWR);
        await cpx.ftruncate(fd, PAGE_SIZE);
        const va = await cpx.mmap(null, 4 * PAGE_SIZE, RW, MAP_SHARED, fd);
        proc.memory.write(va, new Uint8Array([1]));
        await step(); // B mapped it
        await cpx.ftruncate(fd, 3 * PAGE_SIZE);
        expect(Array.from(proc.memory.read(va + PAGE_SIZE, 2 * PAGE_SIZE)).every((x) => x === 0)).toBe(true);
        proc.memory.write(va + 2 * PAGE_SIZE, new Uint8Array([2]));
        sigbus(() => proc.memory.read(va + 3 * PAGE_SIZE, 1));
        await step(); // B wrote
        expect(proc.memory.read(va + PAGE_SIZE + 100, 1)[0]).toBe(3);
        await cpx.ftruncate(fd, PAGE_SIZE + 10);
        expect((await cpx.fstat(fd)).st_size).toBe(PAGE_SIZE + 10);
        sigbus(() => proc.memory.read(va + 2 * PAGE_SIZE, 1));
        // The rest of the last page stays accessible.
        expect(proc.memory.read(va + PAGE_SIZE + 100, 1)[0]).toBe(0);
        await step(); // B checked
        await cpx.ftruncate(fd, 3 * PAGE_SIZE);
        expect(proc.memory.read(va + 2 * PAGE_SIZE, 1)[0]).toBe(0);
        expect(proc.memory.frames(va, 3)).not.toContain(-1);
        // A mapping made now shows the same frames.
        const now = await cpx.mmap(null, 3 * PAGE_SIZE, PROT_READ, MAP_SHARED, fd);
        expect(proc.memory.frames(now, 3)).toEqual(proc.memory.frames(va, 3));
        await step(); // B wrote again
        expect(proc.memory.read(now + 2 * PAGE_SIZE + 1, 1)[0]).toBe(5);
        cpx.munmap(now, 3 * PAGE_SIZE);
        cpx.munmap(va, 4 * PAGE_SIZE);
        await cpx.close(fd);
        await cpx.close(a);
      }, { from: px });
      const B = w.host.spawn({ name: 'b' }, async (proc, cpx) => {
        const step = async () => {
          await cpx.send(b, one, 1, 0);
          expect(await cpx.recv(b, new Uint8Array(1), 1, 0)).toBe(1);
        };
        expect(await cpx.recv(b, new Uint8Array(1), 1, 0)).toBe(1); // A made it
        const fd = await cpx.shm_open('/rz', O_RDWR);
        const va = await cpx.mmap(null, 4 * PAGE_SIZE, RW, MAP_SHARED, fd);
        expect(proc.memory.read(va, 1)[0]).toBe(1);
        sigbus(() => proc.memory.read(va + PAGE_SIZE, 1));
        await step(); // A grew it to 3 pages
        expect(proc.memory.read(va + 2 * PAGE_SIZE, 1)[0]).toBe(2);
        proc.memory.write(va + PAGE_SIZE + 100, new Uint8Array([3]));
        sigbus(() => proc.memory.write(va + 3 * PAGE_SIZE, new Uint8Array([3])));
        await step(); // A shrank it to a page and 10 bytes
        sigbus(() => proc.memory.read(va + 2 * PAGE_SIZE, 1));
        sigbus(() => proc.memory.write(va + 2 * PAGE_SIZE, new Uint8Array([4])));
        expect(proc.memory.read(va + PAGE_SIZE + 9, 1)[0]).toBe(0);
        await step(); // A grew it again
        proc.memory.write(va + 2 * PAGE_SIZE + 1, new Uint8Array([5]));
        expect(Array.from(proc.memory.read(va + 2 * PAGE_SIZE, 2))).toEqual([0, 5]);
        await cpx.send(b, one, 1, 0);
        cpx.munmap(va, 4 * PAGE_SIZE);
        await cpx.close(fd);
        await cpx.shm_unlink('/rz');
        await cpx.close(b);
      }, { from: px });
      await px.close(a);
      await px.close(b);
      return Promise.all([A.exited, B.exited]);
    });
    expect(exits.map((e) => [e.reason, (e as { error?: unknown }).error === undefined ? '' : String((e as { error?: Error }).error)])).toEqual([['returned', ''], ['returned', '']]);
    expect(w.host.stats().shmObjects).toBe(0);
    await settle(w, base.processes);
    expect(settledStats(w)).toEqual(base);
  });

  it('a MAP_PRIVATE mapping made before sees the pages the object grows into (copy-on-write); a shrink discards its copies of pages past the end', async () => {
    await using w = await world(arch);
    await w.run(async (px, proc) => {
      const fd = await px.shm_open('/pz', O_CREAT | O_RDWR);
      await px.ftruncate(fd, PAGE_SIZE);
      const shared = await px.mmap(null, 3 * PAGE_SIZE, RW, MAP_SHARED, fd);
      const ro = await px.shm_open('/pz', O_RDONLY);
      const priv = await px.mmap(null, 3 * PAGE_SIZE, RW, MAP_PRIVATE, ro);
      sigbus(() => proc.memory.read(priv + PAGE_SIZE, 1));
      await px.ftruncate(fd, 3 * PAGE_SIZE);
      proc.memory.write(shared + PAGE_SIZE, new Uint8Array([8]));
      expect(proc.memory.read(priv + PAGE_SIZE, 1)[0]).toBe(8);
      proc.memory.write(priv + 2 * PAGE_SIZE, new Uint8Array([9]));
      expect(proc.memory.read(shared + 2 * PAGE_SIZE, 1)[0]).toBe(0);
      await px.ftruncate(fd, PAGE_SIZE);
      sigbus(() => proc.memory.read(priv + 2 * PAGE_SIZE, 1));
      sigbus(() => proc.memory.read(priv + PAGE_SIZE, 1));
      await px.ftruncate(fd, 3 * PAGE_SIZE);
      expect(proc.memory.read(priv + 2 * PAGE_SIZE, 1)[0]).toBe(0);
      px.munmap(shared, 3 * PAGE_SIZE);
      px.munmap(priv, 3 * PAGE_SIZE);
      await px.close(ro);
      await px.close(fd);
      await px.shm_unlink('/pz');
    });
  });

  it('a growth the kernel has no frames for is ENOMEM with nothing changed: the size, the contents, the mappings', async () => {
    await using w = await world(arch, { frames: 1024 });
    await w.run(async (px, proc) => {
      const fd = await px.shm_open('/big', O_CREAT | O_RDWR);
      await px.ftruncate(fd, 100);
      const va = await px.mmap(null, 2 * PAGE_SIZE, RW, MAP_SHARED, fd);
      proc.memory.write(va + 50, new Uint8Array([7]));
      proc.memory.write(va + 200, new Uint8Array([6]));
      await rejectsWith(px.ftruncate(fd, 2000 * PAGE_SIZE), 'ENOMEM', 'ftruncate');
      expect((await px.fstat(fd)).st_size).toBe(100);
      expect(proc.memory.read(va + 50, 1)[0]).toBe(7);
      sigbus(() => proc.memory.read(va + PAGE_SIZE, 1));
      // The zero-fill POSIX asks for the extended area ("as if it were zero-filled").
      await px.ftruncate(fd, 300);
      expect(Array.from(proc.memory.read(va + 50, 1))).toEqual([7]);
      expect(Array.from(proc.memory.read(va + 200, 1))).toEqual([0]);
      px.munmap(va, 2 * PAGE_SIZE);
      await px.close(fd);
      await px.shm_unlink('/big');
    });
  });
  it('a mapping on a worker CPU follows resizes made on CPU 0: the pages grown into are shared, the pages past a new end fault there', async () => {
    await using w = await world(arch);
    const exit = await w.run(async (px, proc) => {
      const fd = await px.shm_open('/wrz', O_CREAT | O_RDWR);
      await px.ftruncate(fd, PAGE_SIZE);
      const va = await px.mmap(null, 3 * PAGE_SIZE, RW, MAP_SHARED, fd);
      proc.memory.write(va, new Uint8Array([1]));
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      const child = w.host.spawnWorker(here('scenarios.ts'), { name: 'resized', args: { scenario: 'shm-resize', sock: b } }, { from: px });
      const one = new Uint8Array(1);
      const wait = async () => expect(await px.recv(a, new Uint8Array(1), 1, 0)).toBe(1);
      await wait(); // mapped
      await px.ftruncate(fd, 3 * PAGE_SIZE);
      proc.memory.write(va + 2 * PAGE_SIZE, new Uint8Array([2]));
      await px.send(a, one, 1, 0);
      await wait(); // wrote page 1
      expect(proc.memory.read(va + PAGE_SIZE, 1)[0]).toBe(3);
      await px.ftruncate(fd, PAGE_SIZE);
      await px.send(a, one, 1, 0);
      await wait(); // checked the faults
      px.munmap(va, 3 * PAGE_SIZE);
      await px.close(fd);
      await px.shm_unlink('/wrz');
      await px.close(a);
      await px.close(b);
      return child.exited;
    });
    expect(exit).toMatchObject({ reason: 'returned' });
  });
});
