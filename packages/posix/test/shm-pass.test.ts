/**
 * Shared memory descriptors passed with SCM_RIGHTS (XSH `sendmsg`/`recvmsg`, XBD
 * `<sys/socket.h>`: "the receiving process shall receive a new file descriptor … that refers to
 * the same open file description") and inherited through the spawn helpers: the receiver can
 * fstat, mmap and ftruncate per the description's access mode, the sender's descriptor stays
 * valid, and the object lives until its last descriptor closes, even after shm_unlink.
 */
import { describe, expect, it } from 'vitest';
import { AF_UNIX, MAP_SHARED, O_CREAT, O_RDONLY, O_RDWR, PAGE_SIZE, POLLIN, POLLOUT, PROT_READ, PROT_WRITE, SCM_RIGHTS, SOCK_STREAM, SOL_SOCKET, type MsgHdr, type Posix } from '@veridian/posix';
import { ARCHS, here, rejectsWith, settledStats, world } from './support/setup.ts';

const RW = PROT_READ | PROT_WRITE;

function rights(...fds: number[]): MsgHdr {
  return { msg_iov: [new Uint8Array([1])], msg_control: [{ cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS, cmsg_data: fds }] };
}

async function received(px: Posix, sock: number): Promise<number[]> {
  const m: MsgHdr = { msg_iov: [new Uint8Array(4)] };
  expect(await px.recvmsg(sock, m, 0)).toBe(1);
  return m.msg_control![0]!.cmsg_data;
}

describe.each(ARCHS)('shared memory descriptors over SCM_RIGHTS on %s', (_name, arch) => {
  it('one process passes an shm descriptor to another: both map it; it survives shm_unlink and the sender\'s close; the last close frees its frames', async () => {
    await using w = await world(arch);
    // The server keeps the page-table frames of its address space after its first in-place shrink (README): warm it up.
    await w.run(async (px) => {
      const fd = await px.shm_open('/warm', O_CREAT | O_RDWR);
      await px.ftruncate(fd, PAGE_SIZE);
      await px.ftruncate(fd, 1);
      await px.close(fd);
      await px.shm_unlink('/warm');
    });
    // posixd and posix.fl stay.
    for (let i = 0; i < 100 && w.kernel.stats().processes > 2; i++) await new Promise((r) => setTimeout(r, 5));
    const base = settledStats(w);
    // A parent makes the socket pair; each child inherits both ends and uses one.
    const parent = await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      const sender = w.host.spawn({ name: 'sender' }, async (proc, cpx) => {
        const fd = await cpx.shm_open('/pass', O_CREAT | O_RDWR);
        await cpx.ftruncate(fd, 3 * PAGE_SIZE);
        const va = await cpx.mmap(null, 3 * PAGE_SIZE, RW, MAP_SHARED, fd);
        proc.memory.write(va + 2 * PAGE_SIZE, new Uint8Array([7, 8, 9]));
        const ro = await cpx.shm_open('/pass', O_RDONLY);
        expect(await cpx.sendmsg(a, rights(fd, ro), 0)).toBe(1);
        // The sender's descriptors stay valid.
        expect((await cpx.fstat(fd)).st_size).toBe(3 * PAGE_SIZE);
        await cpx.shm_unlink('/pass');
        await cpx.close(fd);
        await cpx.close(ro);
        expect(w.host.stats().shmObjects).toBe(1); // held by the descriptions in flight
        const done = new Uint8Array(1);
        expect(await cpx.recv(a, done, 1, 0)).toBe(1);
        // The receiver's writes through its mapping show in the sender's.
        expect(Array.from(proc.memory.read(va, 2))).toEqual([4, 2]);
        expect(Array.from(proc.memory.read(va + 3 * PAGE_SIZE - 2, 2))).toEqual([5, 5]);
        cpx.munmap(va, 3 * PAGE_SIZE);
        await cpx.close(a);
      }, { from: px });
      const receiver = w.host.spawn({ name: 'receiver' }, async (proc, cpx) => {
        const [rw, ro] = await received(cpx, b);
        expect((await cpx.fstat(rw)).st_size).toBe(3 * PAGE_SIZE);
        const va = await cpx.mmap(null, 3 * PAGE_SIZE, RW, MAP_SHARED, rw);
        expect(Array.from(proc.memory.read(va + 2 * PAGE_SIZE, 3))).toEqual([7, 8, 9]);
        proc.memory.write(va, new Uint8Array([4, 2]));
        // The access mode travels with the description: the read-only one cannot write or size it.
        await rejectsWith(cpx.mmap(null, PAGE_SIZE, RW, MAP_SHARED, ro), 'EACCES', 'mmap');
        await rejectsWith(cpx.ftruncate(ro, PAGE_SIZE), 'EINVAL', 'ftruncate');
        const rom = await cpx.mmap(null, PAGE_SIZE, PROT_READ, MAP_SHARED, ro);
        expect(proc.memory.read(rom, 1)[0]).toBe(4);
        await rejectsWith(cpx.read(rw, new Uint8Array(1)), 'EBADF', 'read');
        const fds = [{ fd: rw, events: POLLIN | POLLOUT }];
        expect(await cpx.poll(fds, 1, 0)).toBe(1);
        // ftruncate per the access mode: same page count, in place (both mappings see it).
        await cpx.ftruncate(rw, 3 * PAGE_SIZE - 2);
        await cpx.ftruncate(rw, 3 * PAGE_SIZE);
        proc.memory.write(va + 3 * PAGE_SIZE - 2, new Uint8Array([5, 5]));
        await cpx.close(ro);
        await cpx.close(rw);
        expect(w.host.stats().shmObjects).toBe(0); // the last descriptor: the object goes (the mappings hold its frames)
        await cpx.send(b, new Uint8Array([1]), 1, 0);
        cpx.munmap(va, 3 * PAGE_SIZE);
        cpx.munmap(rom, PAGE_SIZE);
        await cpx.close(b);
      }, { from: px });
      await px.close(a);
      await px.close(b);
      return Promise.all([sender.exited, receiver.exited]);
    });
    expect(parent.map((e) => e.reason)).toEqual(['returned', 'returned']);
    for (let i = 0; i < 100 && w.kernel.stats().processes > base.processes; i++) await new Promise((r) => setTimeout(r, 5));
    expect(w.host.stats()).toMatchObject({ descriptions: 0, shmObjects: 0 });
    expect(settledStats(w)).toEqual(base);
  });

  it('a description in flight holds the object until the socket goes; never received, it is released; inherited by a spawn helper child', async () => {
    await using w = await world(arch);
    const base = settledStats(w);
    await w.run(async (px, proc) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      const fd = await px.shm_open('/lost', O_CREAT | O_RDWR);
      await px.ftruncate(fd, PAGE_SIZE);
      await px.sendmsg(a, rights(fd), 0);
      await px.shm_unlink('/lost');
      await px.close(fd);
      expect(w.host.stats().shmObjects).toBe(1);
      await px.close(b); // nobody can receive it now
      expect(w.host.stats().shmObjects).toBe(0);
      await px.close(a);
      // Inheritance: the child gets the descriptor at the same number.
      const kid = await px.shm_open('/kid', O_CREAT | O_RDWR);
      await px.ftruncate(kid, PAGE_SIZE);
      const va = await px.mmap(null, PAGE_SIZE, RW, MAP_SHARED, kid);
      await px.shm_unlink('/kid');
      const child = w.host.spawn({ name: 'child' }, async (cproc, cpx) => {
        const cva = await cpx.mmap(null, PAGE_SIZE, RW, MAP_SHARED, kid);
        cproc.memory.write(cva, new Uint8Array([3]));
        cpx.munmap(cva, PAGE_SIZE);
        await cpx.close(kid);
      }, { from: px });
      expect((await child.exited).reason).toBe('returned');
      expect(proc.memory.read(va, 1)[0]).toBe(3);
      px.munmap(va, PAGE_SIZE);
      await px.close(kid);
    });
    for (let i = 0; i < 100 && w.kernel.stats().processes > base.processes; i++) await new Promise((r) => setTimeout(r, 5));
    expect(w.host.stats()).toMatchObject({ descriptions: 0, shmObjects: 0 });
    expect(settledStats(w)).toEqual(base);
  });

  it('between two worker CPUs: the receiver maps the object the sender unlinked and closed, and writes to it', async () => {
    await using w = await world(arch);
    const exits = await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      const s = w.host.spawnWorker(here('scenarios.ts'), { name: 'shm-sender', args: { scenario: 'shm-send', sock: a } }, { from: px });
      const r = w.host.spawnWorker(here('scenarios.ts'), { name: 'shm-receiver', args: { scenario: 'shm-recv', sock: b } }, { from: px });
      await px.close(a);
      await px.close(b);
      return Promise.all([s.exited, r.exited]);
    });
    expect(exits.map((e) => e.reason)).toEqual(['returned', 'returned']);
    await new Promise((r) => setTimeout(r, 5));
    expect(w.host.stats()).toMatchObject({ descriptions: 0, shmObjects: 0 });
  });
});
