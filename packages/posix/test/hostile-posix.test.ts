/**
 * Hostile-user tests of @veridian/posix: bad plain-JavaScript inputs, errno codes, state left
 * by failed calls, leaks. x86_64 only (the POSIX layer is arch-independent).
 */
import { describe, expect, it } from 'vitest';
import { x86_64 } from '@veridian/arch-x86_64';
import {
  AF_UNIX, FD_CLOEXEC, F_DUPFD, F_GETFD, F_GETFL, F_SETFL, MAP_SHARED, O_CLOEXEC, MSG_DONTWAIT, O_CREAT, O_EXCL, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY,
  PAGE_SIZE, PIPE_BUF, POLLERR, POLLIN, POLLNVAL, POLLOUT, PROT_READ, PROT_WRITE, SCM_RIGHTS, SIGEV_NONE, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_STREAM, SOL_SOCKET,
  PosixError, createPosix, timespecIn,
} from '@veridian/posix';
import { pattern, rejectsWith, world } from './support/setup.ts';

const arch = x86_64;
const T = 10_000;
const MSG_OOB = 0x1; // Linux value; not exported by the package
const attr = { mq_maxmsg: 4, mq_msgsize: 64 };

/** Settles within `ms` or resolves 'hang'. */
function within<T>(p: Promise<T>, ms = 1000): Promise<T | 'hang'> {
  return Promise.race([p, new Promise<'hang'>((r) => setTimeout(() => r('hang'), ms))]);
}

/** The error thrown/rejected by `fn` (sync throws included). */
async function errOf(fn: () => unknown): Promise<unknown> {
  try {
    await fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('hostile: descriptors', () => {
  it('bad fds (NaN, -1, 1.5, huge, string) give EBADF on read/write/close/dup/fcntl/dup2', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r] = await px.pipe();
      for (const fd of [NaN, -1, 1.5, 2 ** 40, Infinity, '0' as never, null as never]) {
        await rejectsWith(px.read(fd, new Uint8Array(4)), 'EBADF', 'read');
        await rejectsWith(px.write(fd, new Uint8Array(4)), 'EBADF', 'write');
        await rejectsWith(px.close(fd), 'EBADF', 'close');
        await rejectsWith(() => px.dup(fd), 'EBADF', 'dup');
        await rejectsWith(() => px.fcntl(fd, F_GETFD), 'EBADF', 'fcntl');
        await rejectsWith(px.dup2(fd, 7), 'EBADF', 'dup2');
        await rejectsWith(px.dup2(r, fd), 'EBADF', 'dup2');
      }
      expect(px.fcntl(r, F_GETFD)).toBe(0);
    });
  }, T);

  it('close twice: second is EBADF; dup2(fd, fd) returns it; dup2 onto open fd closes it', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      expect(await px.dup2(r, r)).toBe(r);
      const [r2, w2] = await px.pipe();
      expect(await px.dup2(r, r2)).toBe(r2);
      // r2 now refers to the first pipe
      await px.write(wr, new Uint8Array([9]));
      const b = new Uint8Array(1);
      expect(await px.read(r2, b)).toBe(1);
      // w2's pipe has no reader now: EPIPE
      await rejectsWith(px.write(w2, new Uint8Array(1)), 'EPIPE', 'write');
      await px.close(r);
      await rejectsWith(px.close(r), 'EBADF', 'close');
      for (const fd of [wr, r2, w2]) await px.close(fd);
    });
    expect(w.host.stats().descriptions).toBe(0);
  }, T);

  it('fcntl: F_DUPFD bad args EINVAL, unknown cmd EINVAL, F_DUPFD lowest ≥ arg, EMFILE', async () => {
    await using w = await world(arch);
    await w.run(async (px0, proc) => {
      const px = createPosix(proc, { openMax: 8 });
      void px0;
      const [r, wr] = await px.pipe();
      await rejectsWith(() => px.fcntl(r, F_DUPFD, -1), 'EINVAL', 'fcntl');
      await rejectsWith(() => px.fcntl(r, F_DUPFD, 8), 'EINVAL', 'fcntl');
      await rejectsWith(() => px.fcntl(r, F_DUPFD, NaN), 'EINVAL', 'fcntl');
      await rejectsWith(() => px.fcntl(r, 12345), 'EINVAL', 'fcntl');
      expect(px.fcntl(r, F_DUPFD, 5)).toBe(5);
      expect(px.fcntl(r, F_DUPFD, 5)).toBe(6);
      expect(px.fcntl(r, F_DUPFD, 5)).toBe(7);
      await rejectsWith(() => px.fcntl(r, F_DUPFD, 5), 'EMFILE', 'fcntl');
      expect(px.dup(r)).toBe(2);
      px.dup(r); px.dup(r);
      await rejectsWith(() => px.dup(r), 'EMFILE', 'dup');
      expect(px.fcntl(wr, F_GETFL) & 3).toBe(O_WRONLY);
      for (let fd = 0; fd < 8; fd++) await px.close(fd);
    });
    expect(w.host.stats().descriptions).toBe(0);
  }, T);

  it('close during a pending call of the same process: a failed close leaves the descriptor open', async () => {
    await using w = await world(arch);
    let descsAfter = -1;
    const out = await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      const [r2, w2] = await px.pipe();
      const pending = px.poll([], 0, 50); // a call that waits in the server
      const e = await errOf(() => px.close(r2));
      const stillOpen = (() => { try { px.fcntl(r2, F_GETFD); return true; } catch { return false; } })();
      await pending;
      if (stillOpen) await px.close(r2);
      for (const fd of [r, wr, w2]) await px.close(fd);
      return { code: e instanceof PosixError ? e.code : e === undefined ? 'ok' : String(e as Error), stillOpen };
    });
    descsAfter = w.host.stats().descriptions;
    // Either close succeeded (and r2 is gone), or it failed and r2 must still be open.
    if (out.code !== 'ok') expect.soft(out.stillOpen).toBe(true);
    else expect.soft(out.stillOpen).toBe(false);
    // and whatever happened, closing everything leaves no description at the server
    expect(descsAfter).toBe(0);
  }, T);

  it('dup2 during a pending call of the same process: a failed dup2 does not close fildes2', async () => {
    await using w = await world(arch);
    const out = await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      const [r2] = await px.pipe();
      void r;
      const pending = px.poll([], 0, 50);
      const e = await errOf(() => px.dup2(wr, r2));
      // F_GETFL asks the server that keeps the status flags: after the pending call settles.
      await pending;
      let kind = 'closed';
      try { kind = (px.fcntl(r2, F_GETFL) & 3) === O_WRONLY ? 'dup' : 'orig'; } catch { /* closed */ }
      return { code: e instanceof PosixError ? e.code : e === undefined ? 'ok' : String(e as Error), kind };
    });
    if (out.code !== 'ok') expect(out.kind).toBe('orig');
    else expect(out.kind).toBe('dup');
  }, T);
});

describe('hostile: pipes', () => {
  it('read/write wrong end: EBADF; no bytes lost', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      await rejectsWith(px.write(r, new Uint8Array(1)), 'EBADF', 'write');
      await rejectsWith(px.read(wr, new Uint8Array(1)), 'EBADF', 'read');
      await rejectsWith(px.recv(r, new Uint8Array(1)), 'ENOTSOCK', 'recv');
      await rejectsWith(px.send(wr, new Uint8Array(1)), 'ENOTSOCK', 'send');
      await px.write(wr, pattern(10));
      await rejectsWith(px.read(r, new Uint8Array(4), 5), 'EFAULT', 'read');
      await rejectsWith(px.read(r, new Uint8Array(4), -1), 'EFAULT', 'read');
      await rejectsWith(px.read(r, new Uint8Array(4), 1.5), 'EFAULT', 'read');
      await rejectsWith(px.write(wr, new Uint8Array(4), 2 ** 53), 'EFAULT', 'write');
      const b = new Uint8Array(20);
      expect(await px.read(r, b)).toBe(10);
    });
  }, T);

  it('read(fd, non-buffer) fails with a PosixError, not a TypeError', async () => {
    await using w = await world(arch);
    const e = await w.run(async (px) => {
      const [r] = await px.pipe();
      return errOf(() => px.read(r, null as never));
    });
    expect(e).toBeInstanceOf(PosixError);
  }, T);

  it('write(fd, non-buffer, n) fails with a PosixError, not a TypeError', async () => {
    await using w = await world(arch);
    const e = await w.run(async (px) => {
      const [, wr] = await px.pipe();
      return errOf(() => px.write(wr, 'hello' as never, 5));
    });
    expect(e).toBeInstanceOf(PosixError);
  }, T);

  it('read of 0 bytes on an empty pipe with a writer returns 0 at once', async () => {
    await using w = await world(arch);
    const n = await w.run(async (px) => {
      const [r] = await px.pipe();
      return within(px.read(r, new Uint8Array(4), 0));
    });
    expect(n).toBe(0);
  }, T);

  it('pipe2 bad flags EINVAL, no descriptor allocated', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      await rejectsWith(px.pipe2(O_RDWR), 'EINVAL', 'pipe2');
      await rejectsWith(px.pipe2(NaN), 'EINVAL', 'pipe2');
      await rejectsWith(px.pipe2(-1), 'EINVAL', 'pipe2');
      expect(await px.pipe()).toEqual([0, 1]);
    });
  }, T);

  it('pipe with one descriptor left: EMFILE, nothing leaked at the server', async () => {
    await using w = await world(arch);
    await w.run(async (_px, proc) => {
      const px = createPosix(proc, { openMax: 3 });
      const [r, wr] = await px.pipe();
      await rejectsWith(px.pipe(), 'EMFILE', 'pipe');
      await rejectsWith(px.socketpair(AF_UNIX, SOCK_STREAM, 0), 'EMFILE', 'socketpair');
      await px.close(r);
      await px.close(wr);
    });
    expect(w.host.stats().descriptions).toBe(0);
  }, T);

  it('nonblocking write > PIPE_BUF to a full-ish pipe is partial; ≤ PIPE_BUF that does not fit is EAGAIN with nothing written', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe2(O_NONBLOCK);
      const cap = 64 * 1024;
      expect(await px.write(wr, pattern(cap - 100))).toBe(cap - 100);
      await rejectsWith(px.write(wr, pattern(PIPE_BUF)), 'EAGAIN', 'write');
      expect(await px.write(wr, pattern(PIPE_BUF + 1))).toBe(100);
      await rejectsWith(px.write(wr, pattern(1)), 'EAGAIN', 'write');
      const b = new Uint8Array(cap * 2);
      expect(await px.read(r, b)).toBe(cap);
      await rejectsWith(px.read(r, b), 'EAGAIN', 'read');
    });
  }, T);

  it('write with no reader: EPIPE; poll shows POLLERR on the write end; read after writer close is 0', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      await px.close(r);
      await rejectsWith(px.write(wr, pattern(3)), 'EPIPE', 'write');
      const fds = [{ fd: wr, events: POLLOUT, revents: 0 }];
      expect(await px.poll(fds, 1, 0)).toBe(1);
      expect(fds[0]!.revents & POLLERR).toBe(POLLERR);
      await px.close(wr);
    });
    expect(w.host.stats().descriptions).toBe(0);
  }, T);

  it('F_SETFL O_NONBLOCK is shared by dup', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r] = await px.pipe();
      const d = px.dup(r);
      px.fcntl(r, F_SETFL, O_NONBLOCK);
      expect(px.fcntl(d, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
      await rejectsWith(px.read(d, new Uint8Array(1)), 'EAGAIN', 'read');
    });
  }, T);
});

describe('hostile: message queues', () => {
  it('mq_send bad priority / EMSGSIZE / EFAULT: no message enqueued', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const q = await px.mq_open('/h1', O_CREAT | O_RDWR, 0o600, attr);
      await rejectsWith(px.mq_send(q, pattern(4), 4, 32768), 'EINVAL', 'mq_send');
      await rejectsWith(px.mq_send(q, pattern(4), 4, -1), 'EINVAL', 'mq_send');
      await rejectsWith(px.mq_send(q, pattern(4), 4, 1.5), 'EINVAL', 'mq_send');
      await rejectsWith(px.mq_send(q, pattern(65), 65, 0), 'EMSGSIZE', 'mq_send');
      await rejectsWith(px.mq_send(q, pattern(4), 5, 0), 'EFAULT', 'mq_send');
      expect((await px.mq_getattr(q)).mq_curmsgs).toBe(0);
      await px.mq_send(q, pattern(64), 64, 32767);
      expect((await px.mq_getattr(q)).mq_curmsgs).toBe(1);
    });
  }, T);

  it('mq_receive with msg_len < mq_msgsize: EMSGSIZE, message kept', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const q = await px.mq_open('/h2', O_CREAT | O_RDWR, 0o600, attr);
      await px.mq_send(q, pattern(3), 3, 2);
      await rejectsWith(px.mq_receive(q, new Uint8Array(63)), 'EMSGSIZE', 'mq_receive');
      await rejectsWith(px.mq_receive(q, new Uint8Array(64), 65), 'EFAULT', 'mq_receive');
      expect((await px.mq_getattr(q)).mq_curmsgs).toBe(1);
      const prio = { value: -1 };
      expect(await px.mq_receive(q, new Uint8Array(64), 64, prio)).toBe(3);
      expect(prio.value).toBe(2);
    });
  }, T);

  it('mq_* on wrong access mode / wrong kind: EBADF', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const qw = await px.mq_open('/h3', O_CREAT | O_WRONLY, 0o600, attr);
      const qr = await px.mq_open('/h3', O_RDONLY);
      await rejectsWith(px.mq_receive(qw, new Uint8Array(64)), 'EBADF', 'mq_receive');
      await rejectsWith(px.mq_send(qr, pattern(1)), 'EBADF', 'mq_send');
      const [r] = await px.pipe();
      await rejectsWith(px.mq_send(r, pattern(1)), 'EBADF', 'mq_send');
      await rejectsWith(px.mq_getattr(r), 'EBADF', 'mq_getattr');
      await rejectsWith(px.mq_close(r), 'EBADF', 'mq_close');
      await rejectsWith(px.mq_notify(r, null), 'EBADF', 'mq_notify');
      await rejectsWith(px.read(qr, new Uint8Array(64)), 'EBADF', 'read');
      await rejectsWith(px.write(qw, new Uint8Array(64)), 'EBADF', 'write');
      expect(px.fcntl(r, F_GETFD)).toBe(0);
      await rejectsWith(px.mq_getattr(NaN), 'EBADF', 'mq_getattr');
    });
  }, T);

  it('mq_open bad attributes / names: EINVAL / ENAMETOOLONG, no descriptor consumed', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      for (const a of [{ mq_maxmsg: 0, mq_msgsize: 8 }, { mq_maxmsg: 8, mq_msgsize: 0 }, { mq_maxmsg: -1, mq_msgsize: 8 }, { mq_maxmsg: 65537, mq_msgsize: 8 }, { mq_maxmsg: 4, mq_msgsize: 2 ** 32 + 8 }, { mq_maxmsg: 1.5, mq_msgsize: 8 }, { mq_maxmsg: NaN, mq_msgsize: 8 }])
        await rejectsWith(px.mq_open('/h4', O_CREAT | O_RDWR, 0o600, a), 'EINVAL', 'mq_open');
      await rejectsWith(px.mq_open('/h4', O_RDONLY), 'ENOENT', 'mq_open');
      for (const n of ['/', 'x', '/a/b', '', 5 as never, null as never]) await rejectsWith(px.mq_open(n, O_CREAT | O_RDWR, 0o600, attr), 'EINVAL', 'mq_open');
      await rejectsWith(px.mq_open(`/${'a'.repeat(256)}`, O_CREAT | O_RDWR, 0o600, attr), 'ENAMETOOLONG', 'mq_open');
      await rejectsWith(px.mq_open('/h4', O_CREAT | O_RDWR | O_WRONLY, 0o600, attr), 'EINVAL', 'mq_open');
      const q = await px.mq_open(`/${'a'.repeat(255)}`, O_CREAT | O_EXCL | O_RDWR, 0o600, attr);
      expect(q).toBe(0);
      await rejectsWith(px.mq_open(`/${'a'.repeat(255)}`, O_CREAT | O_EXCL | O_RDWR, 0o600, attr), 'EEXIST', 'mq_open');
      expect(px.dup(q)).toBe(1);
      await rejectsWith(px.mq_unlink('/nope'), 'ENOENT', 'mq_unlink');
      await rejectsWith(px.mq_unlink('nope'), 'EINVAL', 'mq_unlink');
    });
  }, T);

  it('mq_timedreceive: bad tv_nsec EINVAL when it would wait; past deadline ETIMEDOUT; a message is taken regardless', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const q = await px.mq_open('/h5', O_CREAT | O_RDWR, 0o600, attr);
      const buf = new Uint8Array(64);
      await rejectsWith(px.mq_timedreceive(q, buf, 64, null, { tv_sec: 0, tv_nsec: 1e9 }), 'EINVAL', 'mq_timedreceive');
      await rejectsWith(px.mq_timedreceive(q, buf, 64, null, { tv_sec: 0, tv_nsec: -1 }), 'EINVAL', 'mq_timedreceive');
      await rejectsWith(px.mq_timedreceive(q, buf, 64, null, { tv_sec: 0, tv_nsec: 0 }), 'ETIMEDOUT', 'mq_timedreceive');
      await rejectsWith(px.mq_timedreceive(q, buf, 64, null, timespecIn(20)), 'ETIMEDOUT', 'mq_timedreceive');
      await px.mq_send(q, pattern(2), 2, 0);
      expect(await px.mq_timedreceive(q, buf, 64, null, { tv_sec: 0, tv_nsec: 1e9 })).toBe(2);
      for (let i = 0; i < 4; i++) await px.mq_send(q, pattern(1), 1, 0);
      await rejectsWith(px.mq_timedsend(q, pattern(1), 1, 0, { tv_sec: 0, tv_nsec: 2e9 }), 'EINVAL', 'mq_timedsend');
      await rejectsWith(px.mq_timedsend(q, pattern(1), 1, 0, timespecIn(10)), 'ETIMEDOUT', 'mq_timedsend');
      expect((await px.mq_getattr(q)).mq_curmsgs).toBe(4);
    });
  }, T);

  it('mq_notify: EBUSY for a second registration; freed by mq_close of the registering descriptor', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const q1 = await px.mq_open('/h6', O_CREAT | O_RDWR, 0o600, attr);
      const q2 = await px.mq_open('/h6', O_RDWR);
      await px.mq_notify(q1, { sigev_notify: SIGEV_NONE });
      await rejectsWith(px.mq_notify(q2, { sigev_notify: SIGEV_NONE }), 'EBUSY', 'mq_notify');
      await px.mq_close(q1);
      await px.mq_notify(q2, { sigev_notify: SIGEV_NONE });
      await rejectsWith(px.mq_notify(q2, { sigev_notify: 99 } as never), 'EINVAL', 'mq_notify');
      await px.mq_close(q2);
      await px.mq_unlink('/h6');
    });
    expect(w.host.stats().descriptions).toBe(0);
  }, T);

  it('mq_setattr O_NONBLOCK: receive EAGAIN; omqstat gets old attributes', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const q = await px.mq_open('/h7', O_CREAT | O_RDWR, 0o600, attr);
      const old = { mq_flags: -1, mq_maxmsg: -1, mq_msgsize: -1, mq_curmsgs: -1 };
      await px.mq_setattr(q, { mq_flags: O_NONBLOCK }, old);
      expect(old).toEqual({ mq_flags: 0, mq_maxmsg: 4, mq_msgsize: 64, mq_curmsgs: 0 });
      await rejectsWith(px.mq_receive(q, new Uint8Array(64)), 'EAGAIN', 'mq_receive');
      for (let i = 0; i < 4; i++) await px.mq_send(q, pattern(1), 1, 0);
      await rejectsWith(px.mq_send(q, pattern(1), 1, 0), 'EAGAIN', 'mq_send');
      expect((await px.mq_getattr(q)).mq_flags).toBe(O_NONBLOCK);
    });
  }, T);
});

describe('hostile: sockets', () => {
  it('socketpair errnos', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      await rejectsWith(px.socketpair(99, SOCK_STREAM, 0), 'EAFNOSUPPORT', 'socketpair');
      await rejectsWith(px.socketpair(AF_UNIX, SOCK_DGRAM, 0), 'EPROTOTYPE', 'socketpair');
      await rejectsWith(px.socketpair(AF_UNIX, SOCK_STREAM, 1), 'EPROTONOSUPPORT', 'socketpair');
      expect(await px.socketpair(AF_UNIX, SOCK_STREAM)).toEqual([0, 1]);
    });
  }, T);

  it('send: bad flags EOPNOTSUPP; peer closed EPIPE; recv after peer close 0', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      await rejectsWith(px.send(a, pattern(1), 1, MSG_OOB), 'EOPNOTSUPP', 'send');
      await rejectsWith(px.recv(b, new Uint8Array(1), 1, MSG_OOB), 'EOPNOTSUPP', 'recv');
      await rejectsWith(px.recv(b, new Uint8Array(1), 1, MSG_DONTWAIT), 'EAGAIN', 'recv');
      await px.send(a, pattern(3));
      await px.close(a);
      const buf = new Uint8Array(8);
      expect(await px.recv(b, buf)).toBe(3);
      expect(await px.recv(b, buf)).toBe(0);
      await rejectsWith(px.send(b, pattern(1)), 'EPIPE', 'send');
      await px.close(b);
    });
    expect(w.host.stats().descriptions).toBe(0);
  }, T);

  it('sendmsg with a closed passed descriptor: EBADF, nothing sent', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      await rejectsWith(px.sendmsg(a, { msg_iov: [pattern(4)], msg_control: [{ cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS, cmsg_data: [42] }] }), 'EBADF', 'sendmsg');
      await rejectsWith(px.sendmsg(a, { msg_iov: [pattern(4)], msg_control: [{ cmsg_level: 99, cmsg_type: SCM_RIGHTS, cmsg_data: [] }] }), 'EINVAL', 'sendmsg');
      await rejectsWith(px.sendmsg(a, { msg_iov: [pattern(4)], msg_control: [{ cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS, cmsg_data: Array<number>(64).fill(b) }] }), 'EINVAL', 'sendmsg');
      await rejectsWith(px.recv(b, new Uint8Array(8), 8, MSG_DONTWAIT), 'EAGAIN', 'recv');
    });
  }, T);

  it('recvmsg with a full table: MSG_CTRUNC, passed descriptions released', async () => {
    await using w = await world(arch);
    await w.run(async (_px, proc) => {
      const px = createPosix(proc, { openMax: 4 });
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      const [r, wr] = await px.pipe();
      await px.sendmsg(a, { msg_iov: [pattern(2)], msg_control: [{ cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS, cmsg_data: [r] }] });
      const msg = { msg_iov: [new Uint8Array(8)], msg_control: [] as never[], msg_flags: 0 };
      expect(await px.recvmsg(b, msg as never)).toBe(2);
      expect(msg.msg_flags & 8).toBe(8); // MSG_CTRUNC
      for (const fd of [a, b, r, wr]) await px.close(fd);
    });
    expect(w.host.stats().descriptions).toBe(0);
  }, T);

  it('seqpacket: a longer message is cut and discarded (MSG_TRUNC)', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_SEQPACKET, 0);
      await px.send(a, pattern(10));
      await px.send(a, pattern(3));
      const msg = { msg_iov: [new Uint8Array(4)], msg_flags: 0 };
      expect(await px.recvmsg(b, msg as never)).toBe(4);
      expect(msg.msg_flags & 0x20).toBe(0x20);
      expect(await px.recv(b, new Uint8Array(8))).toBe(3);
    });
  }, T);
});

describe('hostile: poll', () => {
  it('poll: nfds > length EINVAL; closed fd POLLNVAL at once; negative fd skipped', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r] = await px.pipe();
      await rejectsWith(px.poll([{ fd: r, events: POLLIN, revents: 0 }], 2, 0), 'EINVAL', 'poll');
      await rejectsWith(px.poll([], -1, 0), 'EINVAL', 'poll');
      const fds = [{ fd: 77, events: POLLIN, revents: 0 }, { fd: -1, events: POLLIN, revents: 123 }, { fd: r, events: POLLIN, revents: 0 }];
      expect(await within(px.poll(fds, 3, -1))).toBe(1);
      expect(fds.map((f) => f.revents)).toEqual([POLLNVAL, 0, 0]);
    });
  }, T);

  it('poll: the same descriptor 64 times is one distinct descriptor (README: "over 63 distinct open descriptors")', async () => {
    await using w = await world(arch);
    const out = await w.run(async (px) => {
      const [, wr] = await px.pipe();
      const fds = Array.from({ length: 64 }, () => ({ fd: wr, events: POLLOUT, revents: 0 }));
      const e = await errOf(() => px.poll(fds, 64, 0));
      return e === undefined ? fds.every((f) => f.revents === POLLOUT) : String(e as Error);
    });
    expect(out).toBe(true);
  }, T);

  it('poll: 0 entries with timeout 0 returns 0', async () => {
    await using w = await world(arch);
    expect(await w.run(async (px) => within(px.poll([], 0, 0)))).toBe(0);
  }, T);
});

describe('hostile: more', () => {
  it('poll: a huge timeout (2^32 ms) waits, it does not wrap to 0', async () => {
    await using w = await world(arch);
    const out = await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      void wr;
      const fds = [{ fd: r, events: POLLIN, revents: 0 }];
      return within(px.poll(fds, 1, 2 ** 32), 300);
    });
    expect(out).toBe('hang');
  }, T);

  it('poll: timeout NaN is not a silent 0 (waits or EINVAL)', async () => {
    await using w = await world(arch);
    const out = await w.run(async (px) => {
      const [r] = await px.pipe();
      const e = await errOf(() => within(px.poll([{ fd: r, events: POLLIN, revents: 0 }], 1, NaN), 300).then((v) => { if (v !== 'hang') throw new Error(`returned ${v}`); }));
      return e === undefined ? 'hang' : e instanceof PosixError ? e.code : String(e as Error);
    });
    expect(['hang', 'EINVAL']).toContain(out);
  }, T);

  it('mq_open with a full table: EMFILE, no queue description left at the server', async () => {
    await using w = await world(arch);
    await w.run(async (_px, proc) => {
      const px = createPosix(proc, { openMax: 1 });
      const q = await px.mq_open('/m1', O_CREAT | O_RDWR, 0o600, attr);
      await rejectsWith(px.mq_open('/m1', O_RDWR), 'EMFILE', 'mq_open');
      await rejectsWith(px.shm_open('/s1', O_CREAT | O_RDWR, 0o600), 'EMFILE', 'shm_open');
      await px.mq_close(q);
      await px.mq_unlink('/m1');
    });
    expect(w.host.stats().descriptions).toBe(0);
  }, T);

  it('SCM_RIGHTS: a socket sent over itself and never received is released when both ends close', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      await px.sendmsg(a, { msg_iov: [pattern(1)], msg_control: [{ cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS, cmsg_data: [b] }] });
      await px.close(a);
      await px.close(b);
    });
    expect(w.host.stats().descriptions).toBe(0);
  }, T);

  it('SCM_RIGHTS: a pipe end in flight is released when the receiving socket closes', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_SEQPACKET, 0);
      const [r, wr] = await px.pipe();
      await px.sendmsg(a, { msg_iov: [pattern(1)], msg_control: [{ cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS, cmsg_data: [r, wr] }] });
      await px.close(r);
      await px.close(wr);
      await px.close(b);
      await px.close(a);
    });
    expect(w.host.stats().descriptions).toBe(0);
  }, T);

  it('recv of a plain read on a socket carrying descriptors: descriptors dropped, not leaked', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      const [r, wr] = await px.pipe();
      await px.sendmsg(a, { msg_iov: [pattern(4)], msg_control: [{ cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS, cmsg_data: [r] }] });
      await px.close(r);
      expect(await px.read(b, new Uint8Array(8))).toBe(4);
      // the only reader was the in-flight one, dropped by read(): the pipe has no reader
      await rejectsWith(px.write(wr, pattern(1)), 'EPIPE', 'write');
      for (const fd of [a, b, wr]) await px.close(fd);
    });
    expect(w.host.stats().descriptions).toBe(0);
  }, T);

  it('fcntl F_GETFL on queues reports the access mode; F_SETFL O_NONBLOCK shows in mq_getattr', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const q = await px.mq_open('/m2', O_CREAT | O_WRONLY, 0o600, attr);
      expect(px.fcntl(q, F_GETFL) & 3).toBe(O_WRONLY);
      px.fcntl(q, F_SETFL, O_NONBLOCK);
      expect((await px.mq_getattr(q)).mq_flags).toBe(O_NONBLOCK);
    });
  }, T);
});

describe('hostile: exit', () => {
  it('a spawned child that exits (or throws) without closing releases its inherited descriptors', async () => {
    await using w = await world(arch);
    const out = await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      const [cr, cw] = await px.pipe2(O_CLOEXEC);
      const seen: string[] = [];
      const a = w.host.spawn({ name: 'a' }, async (_p, cpx) => {
        await cpx.write(wr, pattern(3));
        try { cpx.fcntl(cr, F_GETFD); seen.push('cloexec-inherited'); } catch (e) { seen.push((e as PosixError).code); }
      }, { from: px });
      const b = w.host.spawn({ name: 'b' }, async (_p, cpx) => {
        await cpx.write(wr, pattern(2));
        throw new Error('boom');
      }, { from: px });
      await a.exited;
      await b.exited.catch(() => undefined);
      await px.close(wr);
      const buf = new Uint8Array(16);
      const got: Array<number | 'hang'> = [];
      for (let i = 0; i < 3; i++) {
        const n = await within(px.read(r, buf), 1000);
        got.push(n);
        if (n === 0 || n === 'hang') break;
      }
      await px.close(r); await px.close(cr); await px.close(cw);
      return { seen, got };
    });
    expect(out.seen).toEqual(['EBADF']);
    expect(out.got.at(-1)).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    expect(w.host.stats().descriptions).toBe(0);
  }, T);
});

describe('hostile: shared memory errnos 2', () => {
  it('mmap huge len: ENOMEM (POSIX: EINVAL only for len 0); munmap len 0: EINVAL; mprotect of unmapped: ENOMEM; closed fd: EBADF', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const fd = await px.shm_open('/s2', O_RDWR | O_CREAT, 0o600);
      await px.ftruncate(fd, PAGE_SIZE);
      const va = await px.mmap(null, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0);
      await rejectsWith(() => px.munmap(va, 0), 'EINVAL', 'munmap');
      await rejectsWith(() => px.mprotect(va + 64 * PAGE_SIZE, PAGE_SIZE, PROT_READ), 'ENOMEM', 'mprotect');
      await rejectsWith(px.fstat(99), 'EBADF', 'fstat');
      await rejectsWith(px.ftruncate(99, 0), 'EBADF', 'ftruncate');
      await rejectsWith(px.mmap(null, 2 ** 41, PROT_READ, MAP_SHARED, fd, 0), 'ENOMEM', 'mmap');
    });
  }, T);
});

describe('hostile: wrong types', () => {
  it('wrong argument types (via as never) give PosixErrors, never TypeErrors', async () => {
    await using w = await world(arch);
    const bad = await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      const [a] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      const q = await px.mq_open('/t1', O_CREAT | O_RDWR, 0o600, attr);
      const calls: Array<[string, () => unknown]> = [
        ['read(r, null, 4)', () => px.read(r, null as never, 4)],
        ['write(wr, {}, 1)', () => px.write(wr, {} as never, 1)],
        ['mq_send(q, null, 1)', () => px.mq_send(q, null as never, 1, 0)],
        ['mq_receive(q, null, 64)', () => px.mq_receive(q, null as never, 64)],
        ['sendmsg(a, {})', () => px.sendmsg(a, {} as never)],
        ['recvmsg(a, {})', () => px.recvmsg(a, {} as never)],
        ['mq_setattr(q, null)', () => px.mq_setattr(q, null as never)],
        ['mq_notify(q, undefined)', () => px.mq_notify(q, undefined as never)],
        ['poll(null)', () => px.poll(null as never, 0, 0)],
        ['poll([null], 1)', () => px.poll([null as never], 1, 0)],
      ];
      const out: string[] = [];
      for (const [name, fn] of calls) {
        const e = await errOf(fn);
        if (!(e instanceof PosixError)) out.push(`${name}: ${e === undefined ? 'success' : String(e as Error)}`);
      }
      return out;
    });
    expect(bad).toEqual([]);
  }, T);
});

describe('hostile: server exhaustion', () => {
  it('ENFILE from a full server leaves no half-made description; all released after close', async () => {
    await using w = await world(arch, { endpoints: 48, capSlots: 512 });
    const out = await w.run(async (px) => {
      const fds: number[] = [];
      let code = '';
      for (let i = 0; i < 100; i++) {
        try {
          fds.push(...(await px.pipe()));
        } catch (e) {
          code = e instanceof PosixError ? e.code : String(e);
          break;
        }
      }
      const open = fds.length;
      const descs = w.host.stats().descriptions;
      for (const fd of fds) await px.close(fd);
      // after freeing, a pipe can be made again
      const again = await px.pipe();
      for (const fd of again) await px.close(fd);
      return { code, open, descs };
    });
    expect(out.code).toBe('ENFILE');
    expect(out.descs).toBe(out.open);
    expect(w.host.stats().descriptions).toBe(0);
  }, T);
});

describe('hostile: poll kinds', () => {
  it('poll: socket with closed peer gives POLLHUP|POLLIN and no POLLOUT; shm always ready; events 0 counts only HUP/ERR/NVAL', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      await px.close(b);
      const fds = [{ fd: a, events: POLLIN | POLLOUT, revents: 0 }];
      expect(await px.poll(fds, 1, 0)).toBe(1);
      expect(fds[0]!.revents & POLLOUT).toBe(0);
      expect(fds[0]!.revents & 0x10).toBe(0x10); // POLLHUP
      const [r, wr] = await px.pipe();
      await px.write(wr, pattern(1));
      const f2 = [{ fd: r, events: 0, revents: 0 }];
      expect(await px.poll(f2, 1, 0)).toBe(0);
      const s = await px.shm_open('/p1', O_CREAT | O_RDWR, 0o600);
      const f3 = [{ fd: s, events: POLLIN | POLLOUT, revents: 0 }];
      expect(await within(px.poll(f3, 1, 100))).toBe(1);
    });
  }, T);

  it('mq_unlink: the old queue lives on; O_CREAT makes a new, empty one', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const q = await px.mq_open('/u1', O_CREAT | O_RDWR, 0o600, attr);
      await px.mq_send(q, pattern(1), 1, 0);
      await px.mq_unlink('/u1');
      await rejectsWith(px.mq_open('/u1', O_RDWR), 'ENOENT', 'mq_open');
      const q2 = await px.mq_open('/u1', O_CREAT | O_EXCL | O_RDWR, 0o600, attr);
      expect((await px.mq_getattr(q2)).mq_curmsgs).toBe(0);
      expect((await px.mq_getattr(q)).mq_curmsgs).toBe(1);
      await px.mq_close(q);
      await px.mq_close(q2);
      await px.mq_unlink('/u1');
    });
    expect(w.host.stats().descriptions).toBe(0);
    expect(w.host.stats().queues).toBe(0);
  }, T);
});

describe('hostile: timeouts and limits', () => {
  it('mq_timedreceive with a missing abs_timeout (undefined) fails EINVAL instead of waiting forever', async () => {
    await using w = await world(arch);
    const out = await w.run(async (px) => {
      const q = await px.mq_open('/t2', O_CREAT | O_RDWR, 0o600, { mq_maxmsg: 1, mq_msgsize: 8 });
      const r = await errOf(() => within(px.mq_timedreceive(q, new Uint8Array(8), 8, null, undefined as never), 300).then((v) => { if (v === 'hang') throw new Error('hang'); }));
      return r instanceof PosixError ? r.code : String(r);
    });
    expect(out).toBe('EINVAL');
  }, T);

  it('O_NONBLOCK read of an empty pipe with no writer is 0 (end of file), not EAGAIN', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe2(O_NONBLOCK);
      await px.close(wr);
      expect(await px.read(r, new Uint8Array(4))).toBe(0);
    });
  }, T);

  it('mq: a message of the largest mq_msgsize goes through (timed and untimed)', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const big = 1024 * 1024 - 4096;
      const q = await px.mq_open('/t3', O_CREAT | O_RDWR, 0o600, { mq_maxmsg: 2, mq_msgsize: big });
      await px.mq_send(q, pattern(big), big, 1);
      await px.mq_timedsend(q, pattern(big, 3), big, 2, timespecIn(1000));
      const buf = new Uint8Array(big);
      expect(await px.mq_timedreceive(q, buf, big, null, timespecIn(1000))).toBe(big);
      expect(buf[1]).toBe(pattern(2, 3)[1]);
      expect(await px.mq_receive(q, buf, big)).toBe(big);
      await rejectsWith(px.mq_open('/t4', O_CREAT | O_RDWR, 0o600, { mq_maxmsg: 2, mq_msgsize: big + 1 }), 'EINVAL', 'mq_open');
    });
  }, T);

  it('seqpacket message larger than the socket buffer: EMSGSIZE, nothing queued', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_SEQPACKET, 0);
      await rejectsWith(px.send(a, pattern(212992 + 1)), 'EMSGSIZE', 'send');
      await rejectsWith(px.send(a, pattern(2 * 1024 * 1024)), 'EMSGSIZE', 'send');
      await rejectsWith(px.recv(b, new Uint8Array(8), 8, MSG_DONTWAIT), 'EAGAIN', 'recv');
    });
  }, T);
});

describe('hostile: poll duplicates', () => {
  it('poll: the same descriptor twice gets revents in both entries and counts 2', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      await px.write(wr, pattern(1));
      const fds = [{ fd: r, events: POLLIN, revents: 0 }, { fd: r, events: POLLIN, revents: 0 }];
      expect(await px.poll(fds, 2, 0)).toBe(2);
      expect(fds.map((f) => f.revents & POLLIN)).toEqual([POLLIN, POLLIN]);
    });
  }, T);
});

describe('hostile: shared memory', () => {
  it('shm errnos: ftruncate/fstat/mmap on pipes, negative size, size 0, bad flags; no fd consumed', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r] = await px.pipe();
      await rejectsWith(px.ftruncate(r, 10), 'EINVAL', 'ftruncate');
      await rejectsWith(px.fstat(r), 'EINVAL', 'fstat');
      await rejectsWith(px.mmap(null, PAGE_SIZE, PROT_READ, MAP_SHARED, r, 0), 'ENODEV', 'mmap');
      await rejectsWith(px.mmap(null, PAGE_SIZE, PROT_READ, MAP_SHARED, 99, 0), 'EBADF', 'mmap');
      await rejectsWith(px.shm_open('/s', O_WRONLY | O_CREAT, 0o600), 'EINVAL', 'shm_open');
      await rejectsWith(px.shm_open('/s', O_RDWR), 'ENOENT', 'shm_open');
      const fd = await px.shm_open('/s', O_RDWR | O_CREAT | O_EXCL, 0o600);
      await rejectsWith(px.shm_open('/s', O_RDWR | O_CREAT | O_EXCL, 0o600), 'EEXIST', 'shm_open');
      await rejectsWith(px.mmap(null, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 0), 'ENXIO', 'mmap');
      await rejectsWith(px.ftruncate(fd, -1), 'EINVAL', 'ftruncate');
      await rejectsWith(px.ftruncate(fd, 1.5), 'EINVAL', 'ftruncate');
      await rejectsWith(px.ftruncate(fd, 2 ** 41), 'EFBIG', 'ftruncate');
      await px.ftruncate(fd, 100);
      expect((await px.fstat(fd)).st_size).toBe(100);
      await rejectsWith(px.mmap(null, 0, PROT_READ, MAP_SHARED, fd, 0), 'EINVAL', 'mmap');
      await rejectsWith(px.mmap(null, PAGE_SIZE, PROT_READ, 0, fd, 0), 'EINVAL', 'mmap');
      await rejectsWith(px.mmap(null, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, 1), 'EINVAL', 'mmap');
      await rejectsWith(px.mmap(null, PAGE_SIZE, PROT_READ, MAP_SHARED, fd, -PAGE_SIZE), 'EINVAL', 'mmap');
      await rejectsWith(px.read(fd, new Uint8Array(4)), 'EBADF', 'read');
      const ro = await px.shm_open('/s', O_RDONLY, 0);
      await rejectsWith(px.mmap(null, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ro, 0), 'EACCES', 'mmap');
      await rejectsWith(px.ftruncate(ro, 10), 'EINVAL', 'ftruncate');
      expect(px.dup(r)).toBe(ro + 1);
      const va = await px.mmap(null, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      await rejectsWith(() => px.munmap(va + 1, PAGE_SIZE), 'EINVAL', 'munmap');
      await rejectsWith(() => px.msync(va, PAGE_SIZE, 1 | 4), 'EINVAL', 'msync');
      px.munmap(va, PAGE_SIZE);
      await px.shm_unlink('/s');
      await rejectsWith(px.shm_unlink('/s'), 'ENOENT', 'shm_unlink');
      void FD_CLOEXEC;
    });
  }, T);
});
