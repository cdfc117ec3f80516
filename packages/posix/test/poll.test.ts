/**
 * `poll` over pipes, queues and sockets on both arch backends (CPU 0). Each test quotes the
 * POSIX.1-2017 sentence of XSH `poll` it checks.
 */
import { describe, expect, it } from 'vitest';
import { AF_UNIX, O_CREAT, O_NONBLOCK, O_RDONLY, O_WRONLY, POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLRDNORM, POLLWRNORM, SOCK_STREAM, type PollFd } from '@veridian/posix';
import { ARCHS, pattern, rejectsWith, world } from './support/setup.ts';

describe.each(ARCHS)('poll on %s', (_name, arch) => {
  it('"If none of the defined events have occurred on any selected file descriptor, poll() shall wait at least timeout milliseconds"; timeout 0 returns at once; returns the number of ready entries', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      const fds: PollFd[] = [{ fd: r, events: POLLIN }];
      const t0 = performance.now();
      expect(await px.poll(fds, 1, 20)).toBe(0);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(19);
      expect(fds[0]!.revents).toBe(0);
      // "If the value of timeout is 0, poll() shall return immediately."
      expect(await px.poll(fds, 1, 0)).toBe(0);
      // the write end is writable: "POLLOUT Normal data may be written without blocking."
      const both: PollFd[] = [{ fd: r, events: POLLIN }, { fd: wr, events: POLLOUT }];
      expect(await px.poll(both, 2, -1)).toBe(1);
      expect(both[1]!.revents).toBe(POLLOUT);
      await px.write(wr, pattern(3));
      // "POLLIN Data other than high-priority data may be read without blocking."
      expect(await px.poll(both, 2, 0)).toBe(2);
      expect(both[0]!.revents).toBe(POLLIN);
      expect((await px.poll([{ fd: r, events: POLLRDNORM }], 1, 0))).toBe(1);
      await rejectsWith(px.poll(both, 3, 0), 'EINVAL', 'poll');
    });
  });

  it('"If the value of timeout is -1, poll() shall block until a requested event has occurred"', async () => {
    await using w = await world(arch);
    const got = await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      const [r2] = await px.pipe();
      w.host.spawn({ name: 'late' }, async (p, cpx) => {
        await p.sleep(5e6);
        await cpx.write(wr, pattern(1));
      }, { from: px });
      const fds: PollFd[] = [{ fd: r2, events: POLLIN }, { fd: r, events: POLLIN }];
      const n = await px.poll(fds, 2, -1);
      return { n, revents: fds.map((f) => f.revents) };
    });
    expect(got).toEqual({ n: 1, revents: [0, POLLIN] });
  });

  it('"POLLHUP … This flag is only valid in the revents bitmask; it shall be ignored in the events member" (reported whatever events says); POLLERR on a pipe with no reader; POLLNVAL "The specified fd value is invalid."; "If the value of fd is less than 0, events shall be ignored, and revents shall be set to 0"', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      const [r2, w2] = await px.pipe();
      await px.close(wr);
      await px.close(r2);
      const fds: PollFd[] = [
        { fd: r, events: POLLIN },
        { fd: w2, events: POLLOUT },
        { fd: 50, events: POLLIN },
        { fd: -3, events: POLLIN, revents: 77 },
        { fd: r, events: 0 },
      ];
      expect(await px.poll(fds, fds.length, -1)).toBe(4);
      expect(fds.map((f) => f.revents)).toEqual([POLLHUP, POLLERR, POLLNVAL, 0, POLLHUP]);
      // "This event and POLLOUT are mutually-exclusive; a stream can never be writable if a hangup has occurred."
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      const s: PollFd[] = [{ fd: a, events: POLLIN | POLLOUT }];
      expect(await px.poll(s, 1, 0)).toBe(1);
      expect(s[0]!.revents).toBe(POLLOUT);
      await px.close(b);
      await px.poll(s, 1, 0);
      expect((s[0]!.revents ?? 0) & POLLHUP).toBe(POLLHUP);
      expect((s[0]!.revents ?? 0) & POLLOUT).toBe(0);
    });
  });

  it('poll over message queues and sockets together; a full pipe is not writable', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const q = await px.mq_open('/pq', O_CREAT | O_WRONLY, 0o600, { mq_maxmsg: 1, mq_msgsize: 8 });
      const qr = await px.mq_open('/pq', O_RDONLY);
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      const [, wr] = await px.pipe2(O_NONBLOCK);
      const fds: PollFd[] = [
        { fd: qr, events: POLLIN },
        { fd: q, events: POLLOUT },
        { fd: b, events: POLLIN },
        { fd: wr, events: POLLOUT | POLLWRNORM },
      ];
      expect(await px.poll(fds, 4, 0)).toBe(2);
      expect(fds.map((f) => f.revents)).toEqual([0, POLLOUT, 0, POLLOUT | POLLWRNORM]);
      await px.mq_send(q, pattern(1), 1, 0);
      await px.send(a, pattern(1), 1, 0);
      while (await px.write(wr, pattern(8192)).catch(() => 0)) {
        /* fill */
      }
      expect(await px.poll(fds, 4, 0)).toBe(2);
      expect(fds.map((f) => f.revents)).toEqual([POLLIN, 0, POLLIN, 0]);
    });
  });
});
