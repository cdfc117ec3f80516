/**
 * File status flags live with the open file description (issue #17). POSIX.1-2017, fcntl:
 * "F_SETFL: Set the file status flags, defined in <fcntl.h>, for the file description
 * associated with fildes"; "F_GETFD … F_SETFD: … the file descriptor flags … associated with the
 * file descriptor fildes" (FD_CLOEXEC is the descriptor's own). dup: the new descriptor refers
 * "to the same open file description as the original file descriptor, and shall share any
 * locks". A descriptor passed with SCM_RIGHTS, or inherited across fork/exec, refers to the same
 * open file description too — so O_NONBLOCK set in one process is seen by F_GETFL, and obeyed
 * by read, in the other; FD_CLOEXEC is not shared.
 */
import { describe, expect, it } from 'vitest';
import { AF_UNIX, FD_CLOEXEC, F_GETFD, F_GETFL, F_SETFD, F_SETFL, MSG_CMSG_CLOEXEC, O_CREAT, O_NONBLOCK, O_RDONLY, O_RDWR, SCM_RIGHTS, SOCK_NONBLOCK, SOCK_STREAM, SOL_SOCKET, type MsgHdr, type Posix } from '@veridian/posix';
import { ARCHS, here, rejectsWith, world } from './support/setup.ts';

function rights(...fds: number[]): MsgHdr {
  return { msg_iov: [new Uint8Array([1])], msg_control: [{ cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS, cmsg_data: fds }] };
}

async function received(px: Posix, sock: number, flags = 0): Promise<number[]> {
  const m: MsgHdr = { msg_iov: [new Uint8Array(4)] };
  expect(await px.recvmsg(sock, m, flags)).toBe(1);
  return m.msg_control![0]!.cmsg_data;
}

const nonblocking = (px: Posix, fd: number): boolean => (px.fcntl(fd, F_GETFL) & O_NONBLOCK) !== 0;

describe.each(ARCHS)('file status flags of an open file description on %s', (_name, arch) => {
  it('SCM_RIGHTS: F_SETFL O_NONBLOCK in the receiver is seen by F_GETFL and read in the sender, and back; FD_CLOEXEC stays per descriptor', async () => {
    await using w = await world(arch);
    const exits = await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      const sender = w.host.spawn({ name: 'sender' }, async (_proc, cpx) => {
        const [r, wr] = await cpx.pipe();
        expect(await cpx.sendmsg(a, rights(r), 0)).toBe(1);
        expect(await cpx.recv(a, new Uint8Array(1), 1, 0)).toBe(1); // the receiver set O_NONBLOCK
        expect(nonblocking(cpx, r)).toBe(true);
        await rejectsWith(cpx.read(r, new Uint8Array(1)), 'EAGAIN', 'read');
        // FD_CLOEXEC is the descriptor's: the receiver's MSG_CMSG_CLOEXEC did not set it here.
        expect(cpx.fcntl(r, F_GETFD)).toBe(0);
        cpx.fcntl(r, F_SETFL, 0);
        await cpx.write(wr, new Uint8Array([9]));
        await cpx.send(a, new Uint8Array([1]), 1, 0);
        expect(await cpx.recv(a, new Uint8Array(1), 1, 0)).toBe(1); // the receiver saw it cleared
        await cpx.close(r);
        await cpx.close(wr);
        await cpx.close(a);
      }, { from: px });
      const receiver = w.host.spawn({ name: 'receiver' }, async (_proc, cpx) => {
        const [r] = await received(cpx, b, MSG_CMSG_CLOEXEC);
        expect(cpx.fcntl(r!, F_GETFD)).toBe(FD_CLOEXEC);
        expect(nonblocking(cpx, r!)).toBe(false);
        cpx.fcntl(r!, F_SETFL, cpx.fcntl(r!, F_GETFL) | O_NONBLOCK);
        await cpx.send(b, new Uint8Array([1]), 1, 0);
        expect(await cpx.recv(b, new Uint8Array(1), 1, 0)).toBe(1);
        expect(nonblocking(cpx, r!)).toBe(false);
        // Cleared by the sender: this read waits for data (there is a byte), it is not EAGAIN.
        const buf = new Uint8Array(1);
        expect(await cpx.read(r!, buf)).toBe(1);
        expect(buf[0]).toBe(9);
        await cpx.send(b, new Uint8Array([1]), 1, 0);
        await cpx.close(r!);
        await cpx.close(b);
      }, { from: px });
      await px.close(a);
      await px.close(b);
      return Promise.all([sender.exited, receiver.exited]);
    });
    expect(exits.map((e) => [e.reason, (e as { error?: unknown }).error === undefined ? '' : String((e as { error?: Error }).error)])).toEqual([['returned', ''], ['returned', '']]);
    expect(w.host.stats().descriptions).toBe(0);
  });

  it('inheritance through the spawn helpers (fork + exec): the child and the parent share the status flags both ways', async () => {
    await using w = await world(arch);
    const exit = await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      const [s0, s1] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      px.fcntl(s0, F_SETFD, FD_CLOEXEC);
      const child = w.host.spawn({ name: 'child' }, async (_proc, cpx) => {
        expect(await cpx.recv(s1, new Uint8Array(1), 1, 0)).toBe(1);
        expect(nonblocking(cpx, r)).toBe(true);
        await rejectsWith(cpx.read(r, new Uint8Array(1)), 'EAGAIN', 'read');
        cpx.fcntl(r, F_SETFL, 0);
        await cpx.send(s1, new Uint8Array([1]), 1, 0);
        await cpx.close(r);
        await cpx.close(wr);
        await cpx.close(s1);
      }, { from: px });
      // Set after the child was started: it still sees it (the same description, not a copy).
      px.fcntl(r, F_SETFL, O_NONBLOCK);
      await px.send(s0, new Uint8Array([1]), 1, 0);
      expect(await px.recv(s0, new Uint8Array(1), 1, 0)).toBe(1);
      expect(nonblocking(px, r)).toBe(false);
      await px.close(r);
      await px.close(wr);
      await px.close(s0);
      await px.close(s1);
      return child.exited;
    });
    expect(exit).toMatchObject({ reason: 'returned' });
  });

  it('separate open file descriptions keep separate flags: the two ends of a pipe or a socket pair, two mq_open of one queue; dup shares', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe2(O_NONBLOCK);
      expect([nonblocking(px, r), nonblocking(px, wr)]).toEqual([true, true]);
      px.fcntl(wr, F_SETFL, 0);
      expect([nonblocking(px, r), nonblocking(px, wr)]).toEqual([true, false]);
      const d = px.dup(wr);
      px.fcntl(d, F_SETFL, O_NONBLOCK);
      expect(nonblocking(px, wr)).toBe(true);
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
      px.fcntl(a, F_SETFL, 0);
      expect([nonblocking(px, a), nonblocking(px, b)]).toEqual([false, true]);
      const q1 = await px.mq_open('/fl', O_CREAT | O_RDWR | O_NONBLOCK, 0o600, { mq_maxmsg: 2, mq_msgsize: 8 });
      const q2 = await px.mq_open('/fl', O_RDONLY);
      expect([(await px.mq_getattr(q1)).mq_flags, (await px.mq_getattr(q2)).mq_flags]).toEqual([O_NONBLOCK, 0]);
      await px.mq_setattr(q2, { mq_flags: O_NONBLOCK });
      await rejectsWith(px.mq_receive(q2, new Uint8Array(8), 8), 'EAGAIN', 'mq_receive');
      expect(nonblocking(px, q2)).toBe(true);
      // Other bits of F_SETFL are ignored; a non-integer is EINVAL; a closed descriptor EBADF.
      px.fcntl(r, F_SETFL, 0x7fff_ffff & ~O_NONBLOCK);
      expect(px.fcntl(r, F_GETFL)).toBe(O_RDONLY);
      expect(() => px.fcntl(r, F_SETFL, 1.5)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
      expect(() => px.fcntl(999, F_GETFL)).toThrow(expect.objectContaining({ code: 'EBADF' }));
      for (const fd of [r, wr, d, a, b, q1, q2]) await px.close(fd);
      await px.mq_unlink('/fl');
    });
    expect(w.host.stats().descriptions).toBe(0);
  });

  it('a message queue descriptor passed with SCM_RIGHTS: mq_setattr in one process is mq_getattr\'s mq_flags in the other', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      const q = await px.mq_open('/pq', O_CREAT | O_RDWR, 0o600, { mq_maxmsg: 2, mq_msgsize: 8 });
      await px.sendmsg(a, rights(q), 0);
      const [q2] = await received(px, b);
      await px.close(q);
      const child = w.host.spawn({ name: 'mq-child' }, async (_proc, cpx) => {
        await cpx.mq_setattr(q2!, { mq_flags: O_NONBLOCK });
        await cpx.close(q2!);
      }, { from: px });
      expect(await child.exited).toMatchObject({ reason: 'returned' });
      expect((await px.mq_getattr(q2!)).mq_flags).toBe(O_NONBLOCK);
      await rejectsWith(px.mq_receive(q2!, new Uint8Array(8), 8), 'EAGAIN', 'mq_receive');
      await px.close(q2!);
      await px.close(a);
      await px.close(b);
      await px.mq_unlink('/pq');
    });
  });

  it('a worker CPU sets O_NONBLOCK on an inherited descriptor (fcntl there asks posixd): the parent on CPU 0 sees it', async () => {
    await using w = await world(arch);
    const exit = await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      const [s0, s1] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      px.fcntl(s0, F_SETFD, FD_CLOEXEC);
      const child = w.host.spawnWorker(here('scenarios.ts'), { name: 'flags', args: { scenario: 'flags', fd: r, sock: s1 } }, { from: px });
      expect(await px.recv(s0, new Uint8Array(1), 1, 0)).toBe(1);
      expect(nonblocking(px, r)).toBe(true);
      await rejectsWith(px.read(r, new Uint8Array(1)), 'EAGAIN', 'read');
      px.fcntl(r, F_SETFL, 0);
      await px.send(s0, new Uint8Array([1]), 1, 0);
      const e = await child.exited;
      for (const fd of [r, wr, s0, s1]) await px.close(fd);
      return e;
    });
    expect(exit).toMatchObject({ reason: 'returned' });
  });
});
