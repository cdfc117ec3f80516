/**
 * Local socket pairs and descriptor passing on both arch backends, in-thread (CPU 0). Each
 * test quotes the POSIX.1-2017 sentence it checks (XSH `socketpair`, `send`, `recv`, `sendmsg`,
 * `recvmsg`; XBD `<sys/socket.h>` for SCM_RIGHTS).
 */
import { describe, expect, it } from 'vitest';
import { AF_UNIX, F_GETFD, F_SETFL, O_NONBLOCK, FD_CLOEXEC, MSG_CMSG_CLOEXEC, MSG_DONTWAIT, MSG_PEEK, MSG_TRUNC, MSG_WAITALL, O_CREAT, O_RDWR, SCM_RIGHTS, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_SEQPACKET, SOCK_STREAM, SOL_SOCKET, type MsgHdr } from '@veridian/posix';
import { ARCHS, pattern, rejectsWith, world } from './support/setup.ts';

describe.each(ARCHS)('socket pairs on %s', (_name, arch) => {
  it('socketpair: "shall create an unbound pair of connected sockets"; data goes both ways; recv returns 0 after the peer closes', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      expect(await px.send(a, pattern(10), 10, 0)).toBe(10);
      expect(await px.write(b, pattern(3, 1))).toBe(3);
      const buf = new Uint8Array(32);
      expect(await px.recv(b, buf, 32, 0)).toBe(10);
      expect(buf.subarray(0, 10)).toEqual(pattern(10));
      expect(await px.read(a, buf)).toBe(3);
      // recv: "If no messages are available to be received and the peer has performed an orderly shutdown, recv() shall return 0."
      await px.close(a);
      expect(await px.recv(b, buf, 32, 0)).toBe(0);
      // send: "[EPIPE] The socket is shut down for writing, or the socket is connection-mode and is no longer connected."
      await rejectsWith(px.send(b, pattern(1), 1, 0), 'EPIPE', 'send');
    });
  });

  it('socketpair errors: "[EAFNOSUPPORT] The implementation does not support the specified address family." "[EPROTOTYPE] The socket type is not supported by the protocol." "[EPROTONOSUPPORT] The protocol is not supported"', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      await rejectsWith(px.socketpair(2 /* AF_INET */, SOCK_STREAM, 0), 'EAFNOSUPPORT', 'socketpair');
      await rejectsWith(px.socketpair(AF_UNIX, SOCK_DGRAM, 0), 'EPROTOTYPE', 'socketpair');
      await rejectsWith(px.socketpair(AF_UNIX, SOCK_STREAM, 6), 'EPROTONOSUPPORT', 'socketpair');
      const [a] = await px.socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      expect(px.fcntl(a, F_GETFD)).toBe(FD_CLOEXEC);
      // recv: "[EAGAIN] or [EWOULDBLOCK] The socket's file descriptor is marked O_NONBLOCK and no data is waiting to be received"
      await rejectsWith(px.recv(a, new Uint8Array(4), 4, 0), 'EAGAIN', 'recv');
      // "[ENOTSOCK] The socket argument does not refer to a socket."
      const [r, wr] = await px.pipe();
      await rejectsWith(px.send(wr, pattern(1), 1, 0), 'ENOTSOCK', 'send');
      await rejectsWith(px.recv(r, new Uint8Array(1), 1, 0), 'ENOTSOCK', 'recv');
      await rejectsWith(px.send(99, pattern(1), 1, 0), 'EBADF', 'send');
      // "[EOPNOTSUPP] The specified flags are not supported for this socket type or protocol."
      await rejectsWith(px.recv(a, new Uint8Array(1), 1, 0x1 /* MSG_OOB */), 'EOPNOTSUPP', 'recv');
    });
  });

  it('SOCK_SEQPACKET keeps record boundaries; "If a message is too long to fit in the supplied buffer, … excess bytes shall be discarded" and MSG_TRUNC is set', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_SEQPACKET, 0);
      await px.send(a, pattern(5, 1), 5, 0);
      await px.send(a, pattern(7, 2), 7, 0);
      await px.send(a, new Uint8Array(0), 0, 0);
      const buf = new Uint8Array(64);
      expect(await px.recv(b, buf, 64, 0)).toBe(5);
      const m: MsgHdr = { msg_iov: [new Uint8Array(3)] };
      expect(await px.recvmsg(b, m, 0)).toBe(3);
      expect(m.msg_flags! & MSG_TRUNC).toBe(MSG_TRUNC);
      expect(m.msg_iov[0]).toEqual(pattern(7, 2).subarray(0, 3));
      expect(await px.recv(b, buf, 64, MSG_DONTWAIT)).toBe(0); // the empty record
      await rejectsWith(px.recv(b, buf, 64, MSG_DONTWAIT), 'EAGAIN', 'recv');
      // send: "[EMSGSIZE] The message is too large to be sent all at once, as the socket requires."
      await rejectsWith(px.send(a, pattern(300_000), 300_000, 0), 'EMSGSIZE', 'send');
    });
  });

  it('MSG_PEEK: "Peeks at an incoming message. The data is treated as unread and the next recv() or similar function shall still return this data."; MSG_WAITALL waits for the full amount', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      await px.send(a, pattern(8), 8, 0);
      const buf = new Uint8Array(8);
      expect(await px.recv(b, buf, 8, MSG_PEEK)).toBe(8);
      expect(await px.recv(b, buf, 8, 0)).toBe(8);
      expect(buf).toEqual(pattern(8));
      const sender = w.host.spawn({ name: 'trickle' }, async (p, cpx) => {
        for (let i = 0; i < 4; i++) {
          await cpx.send(a, pattern(2, i), 2, 0);
          await p.sleep(5e5);
        }
      }, { from: px });
      // MSG_WAITALL: "the function shall block until the full amount of data can be returned"
      expect(await px.recv(b, buf, 8, MSG_WAITALL)).toBe(8);
      await sender.exited;
    });
  });

  it('SCM_RIGHTS: the receiver gets a new descriptor for the same open file description; the sender\'s stays valid', async () => {
    await using w = await world(arch);
    const got = await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      const [r, wr] = await px.pipe();
      const q = await px.mq_open('/passed', O_CREAT | O_RDWR, 0o600, { mq_maxmsg: 2, mq_msgsize: 8 });
      let childGot: unknown;
      const child = w.host.spawn(
        { name: 'receiver' },
        async (_p, cpx) => {
          const m: MsgHdr = { msg_iov: [new Uint8Array(4), new Uint8Array(4)] };
          const n = await cpx.recvmsg(b, m, MSG_CMSG_CLOEXEC);
          const c = m.msg_control![0]!;
          const [pr, pq] = c.cmsg_data as [number, number];
          // use the capabilities behind the received descriptors
          const buf = new Uint8Array(16);
          const k = await cpx.read(pr, buf);
          await cpx.mq_send(pq, pattern(2), 2, 3);
          childGot = { n, level: c.cmsg_level, type: c.cmsg_type, k, data: Array.from(buf.subarray(0, k)), cloexec: cpx.fcntl(pr, F_GETFD), iov: Array.from(m.msg_iov[1]!) };
          await cpx.close(pr);
        },
        { from: px },
      );
      await px.close(b);
      await px.write(wr, pattern(3, 4));
      // sendmsg with SCM_RIGHTS, gathered iov
      expect(await px.sendmsg(a, { msg_iov: [pattern(5), pattern(3, 9)], msg_control: [{ cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS, cmsg_data: [r, q] }] }, 0)).toBe(8);
      await child.exited;
      // the sender's descriptors are still valid
      const buf = new Uint8Array(8);
      await px.write(wr, pattern(2));
      const after = await px.read(r, buf);
      const prio = { value: 0 };
      await px.mq_receive(q, buf, 8, prio);
      // passing a descriptor that is not open: EBADF
      await rejectsWith(px.sendmsg(a, { msg_iov: [pattern(1)], msg_control: [{ cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS, cmsg_data: [55] }] }, 0), 'EBADF', 'sendmsg');
      await rejectsWith(px.sendmsg(a, { msg_iov: [pattern(1)], msg_control: [{ cmsg_level: 9, cmsg_type: 9, cmsg_data: [] }] }, 0), 'EINVAL', 'sendmsg');
      return { childGot, after, prio: prio.value };
    });
    expect(got).toEqual({
      childGot: { n: 8, level: SOL_SOCKET, type: SCM_RIGHTS, k: 3, data: Array.from(pattern(3, 4)), cloexec: FD_CLOEXEC, iov: [pattern(5)[4], ...pattern(3, 9)] },
      after: 2,
      prio: 3,
    });
  });

  it('a descriptor in flight keeps its object alive: the pipe stays open after the sender closes it', async () => {
    await using w = await world(arch);
    const got = await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_SEQPACKET, 0);
      const [r, wr] = await px.pipe();
      await px.sendmsg(a, { msg_iov: [pattern(1)], msg_control: [{ cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS, cmsg_data: [wr] }] });
      await px.close(wr); // the only writer left is the one in flight
      // not end-of-file: a writer exists (in flight), so a non-blocking read finds nothing yet
      px.fcntl(r, F_SETFL, O_NONBLOCK);
      await rejectsWith(px.read(r, new Uint8Array(1)), 'EAGAIN', 'read');
      px.fcntl(r, F_SETFL, 0);
      const m: MsgHdr = { msg_iov: [new Uint8Array(1)] };
      await px.recvmsg(b, m);
      const nw = m.msg_control![0]!.cmsg_data[0]!;
      await px.write(nw, pattern(4));
      await px.close(nw);
      const buf = new Uint8Array(8);
      const n = await px.read(r, buf);
      const eof = await px.read(r, buf);
      // Descriptors still in flight when the socket closes are released with it.
      const [c, d] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      const [r2, w2] = await px.pipe();
      await px.sendmsg(c, { msg_iov: [pattern(1)], msg_control: [{ cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS, cmsg_data: [w2] }] });
      await px.close(w2);
      await px.close(d);
      await px.close(c);
      const eof2 = await px.read(r2, buf);
      for (const fd of [a, b, r, r2]) await px.close(fd);
      return { n, eof, eof2 };
    });
    expect(got).toEqual({ n: 4, eof: 0, eof2: 0 });
    expect(w.host.stats().descriptions).toBe(0);
  });
});
