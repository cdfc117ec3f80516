/**
 * POSIX message queues on both arch backends, in-thread (CPU 0). Each test quotes the
 * POSIX.1-2017 sentence it checks (XSH `mq_open`, `mq_send`, `mq_receive`, `mq_timedreceive`,
 * `mq_timedsend`, `mq_getattr`, `mq_setattr`, `mq_notify`, `mq_close`, `mq_unlink`).
 */
import { describe, expect, it } from 'vitest';
import { O_CREAT, O_EXCL, O_NONBLOCK, O_RDONLY, O_RDWR, O_WRONLY, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD, timespecIn, MQ_DEFAULT_MAXMSG, MQ_DEFAULT_MSGSIZE } from '@veridian/posix';
import { ARCHS, pattern, rejectsWith, world } from './support/setup.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const attr = { mq_maxmsg: 4, mq_msgsize: 64 };

describe.each(ARCHS)('message queues on %s', (_name, arch) => {
  it('mq_receive: "shall receive the oldest of the highest priority message(s)"; mq_send: "A message shall be inserted after other messages in the queue, if any, with equal msg_prio."', async () => {
    await using w = await world(arch);
    const order = await w.run(async (px) => {
      const q = await px.mq_open('/prio', O_CREAT | O_RDWR, 0o600, { mq_maxmsg: 8, mq_msgsize: 64 });
      const sends: Array<[string, number]> = [['a', 1], ['b', 5], ['c', 1], ['d', 5], ['e', 0], ['f', 31]];
      for (const [s, p] of sends) await px.mq_send(q, enc.encode(s), 1, p);
      const out: string[] = [];
      const buf = new Uint8Array(64);
      const prio = { value: -1 };
      for (let i = 0; i < sends.length; i++) {
        const n = await px.mq_receive(q, buf, 64, prio);
        out.push(`${dec.decode(buf.subarray(0, n))}${prio.value}`);
      }
      return out;
    });
    expect(order).toEqual(['f31', 'b5', 'd5', 'a1', 'c1', 'e0']);
  });

  it('mq_open: O_CREAT, O_EXCL, "[EEXIST] O_CREAT and O_EXCL are set and the named message queue already exists", "[ENOENT] O_CREAT is not set and the named message queue does not exist"', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      await rejectsWith(px.mq_open('/nope', O_RDONLY), 'ENOENT', 'mq_open');
      const q = await px.mq_open('/x', O_CREAT | O_EXCL | O_WRONLY, 0o600, attr);
      await rejectsWith(px.mq_open('/x', O_CREAT | O_EXCL | O_RDONLY, 0o600, attr), 'EEXIST', 'mq_open');
      // O_CREAT on an existing queue opens it; the attributes are those it was created with.
      const q2 = await px.mq_open('/x', O_CREAT | O_RDONLY, 0o600, { mq_maxmsg: 99, mq_msgsize: 99 });
      expect(await px.mq_getattr(q2)).toEqual({ mq_flags: 0, mq_maxmsg: 4, mq_msgsize: 64, mq_curmsgs: 0 });
      // default attributes (attr NULL)
      const d = await px.mq_open('/defaults', O_CREAT | O_RDONLY);
      expect(await px.mq_getattr(d)).toMatchObject({ mq_maxmsg: MQ_DEFAULT_MAXMSG, mq_msgsize: MQ_DEFAULT_MSGSIZE });
      // "[EINVAL] O_CREAT was specified in oflag, the value of attr is not NULL, and either mq_maxmsg or mq_msgsize was less than or equal to zero."
      await rejectsWith(px.mq_open('/bad', O_CREAT | O_RDWR, 0o600, { mq_maxmsg: 0, mq_msgsize: 8 }), 'EINVAL', 'mq_open');
      await rejectsWith(px.mq_open('/bad', O_CREAT | O_RDWR, 0o600, { mq_maxmsg: 1, mq_msgsize: -1 }), 'EINVAL', 'mq_open');
      // "[EINVAL] The mq_open() function is not supported for the given name." (no leading slash, or a second one)
      await rejectsWith(px.mq_open('noslash', O_CREAT | O_RDWR), 'EINVAL', 'mq_open');
      await rejectsWith(px.mq_open('/a/b', O_CREAT | O_RDWR), 'EINVAL', 'mq_open');
      // "[ENAMETOOLONG] The length of the name argument exceeds … {NAME_MAX}"
      await rejectsWith(px.mq_open(`/${'n'.repeat(256)}`, O_CREAT | O_RDWR), 'ENAMETOOLONG', 'mq_open');
      await rejectsWith(px.mq_open('/x', 3), 'EINVAL', 'mq_open');
      for (const fd of [q, q2, d]) await px.mq_close(fd);
    });
  });

  it('mq_send/mq_receive errors: EBADF (not open for writing/reading), EMSGSIZE, EINVAL priority, EAGAIN with O_NONBLOCK', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const rq = await px.mq_open('/e', O_CREAT | O_RDONLY | O_NONBLOCK, 0o600, attr);
      const wq = await px.mq_open('/e', O_WRONLY | O_NONBLOCK);
      const buf = new Uint8Array(64);
      // mq_send: "[EBADF] The mqdes argument is not a valid message queue descriptor open for writing."
      await rejectsWith(px.mq_send(rq, pattern(1), 1, 0), 'EBADF', 'mq_send');
      await rejectsWith(px.mq_send(99, pattern(1), 1, 0), 'EBADF', 'mq_send');
      // mq_receive: "[EBADF] The mqdes argument is not a valid message queue descriptor open for reading."
      await rejectsWith(px.mq_receive(wq, buf, 64), 'EBADF', 'mq_receive');
      // mq_send: "[EMSGSIZE] The specified message length, msg_len, exceeds the message size attribute of the message queue."
      await rejectsWith(px.mq_send(wq, pattern(65), 65, 0), 'EMSGSIZE', 'mq_send');
      // mq_send: "[EINVAL] The value of msg_prio was outside the valid range."
      await rejectsWith(px.mq_send(wq, pattern(1), 1, 32768), 'EINVAL', 'mq_send');
      // mq_receive: "[EAGAIN] O_NONBLOCK was set in the message description associated with mqdes, and the specified message queue is empty."
      await rejectsWith(px.mq_receive(rq, buf, 64), 'EAGAIN', 'mq_receive');
      for (let i = 0; i < 4; i++) await px.mq_send(wq, pattern(64, i), 64, 0);
      // mq_send: "[EAGAIN] The O_NONBLOCK flag is set in the message queue description associated with mqdes, and the specified message queue is full."
      await rejectsWith(px.mq_send(wq, pattern(1), 1, 0), 'EAGAIN', 'mq_send');
      // mq_receive: "[EMSGSIZE] The specified message buffer size, msg_len, is less than the message size attribute of the message queue."
      await rejectsWith(px.mq_receive(rq, buf, 63), 'EMSGSIZE', 'mq_receive');
      expect((await px.mq_getattr(rq)).mq_curmsgs).toBe(4);
      expect(await px.mq_receive(rq, buf, 64)).toBe(64);
      expect(buf).toEqual(pattern(64, 0));
      // mq_getattr / mq_close on a descriptor that is not a queue: EBADF
      const [pr] = await px.pipe();
      await rejectsWith(px.mq_getattr(pr), 'EBADF', 'mq_getattr');
      await px.mq_close(rq);
      // mq_close: "[EBADF] The mqdes argument is not a valid message queue descriptor."
      await rejectsWith(px.mq_close(rq), 'EBADF', 'mq_close');
      await rejectsWith(px.mq_close(pr), 'EBADF', 'mq_close');
    });
  });

  it('blocking: "If the specified message queue is empty and O_NONBLOCK is not set …, mq_receive() shall block until a message is enqueued"; a full queue blocks mq_send until there is room', async () => {
    await using w = await world(arch);
    const got = await w.run(async (px) => {
      const q = await px.mq_open('/block', O_CREAT | O_RDWR, 0o600, { mq_maxmsg: 2, mq_msgsize: 16 });
      const out: number[] = [];
      const consumer = w.host.spawn(
        { name: 'consumer' },
        async (p, cpx) => {
          const buf = new Uint8Array(16);
          for (let i = 0; i < 6; i++) {
            const n = await cpx.mq_receive(q, buf);
            out.push(buf[0]! + n * 1000);
            if (i === 0) await p.sleep(3e6); // let the producer fill the queue and block
          }
        },
        { from: px },
      );
      for (let i = 0; i < 6; i++) await px.mq_send(q, new Uint8Array([i]), 1, 0);
      await consumer.exited;
      return { out, left: (await px.mq_getattr(q)).mq_curmsgs };
    });
    expect(got).toEqual({ out: [1000, 1001, 1002, 1003, 1004, 1005], left: 0 });
  });

  it('mq_timedreceive: "the wait shall be terminated when the specified timeout expires" with [ETIMEDOUT]; "Under no circumstance shall the operation fail with a timeout if a message can be removed from the message queue immediately."', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const q = await px.mq_open('/timed', O_CREAT | O_RDWR, 0o600, { mq_maxmsg: 1, mq_msgsize: 8 });
      const buf = new Uint8Array(8);
      await rejectsWith(px.mq_timedreceive(q, buf, 8, null, timespecIn(5)), 'ETIMEDOUT', 'mq_timedreceive');
      // already expired
      await rejectsWith(px.mq_timedreceive(q, buf, 8, null, { tv_sec: 0, tv_nsec: 0 }), 'ETIMEDOUT', 'mq_timedreceive');
      // "[EINVAL] The process or thread would have blocked, and the abs_timeout parameter specified a nanoseconds field value less than zero or greater than or equal to 1000 million."
      await rejectsWith(px.mq_timedreceive(q, buf, 8, null, { tv_sec: 0, tv_nsec: 1e9 }), 'EINVAL', 'mq_timedreceive');
      await px.mq_send(q, pattern(3), 3, 7);
      // a message is there: no timeout, no check of abs_timeout
      const prio = { value: 0 };
      expect(await px.mq_timedreceive(q, buf, 8, prio, { tv_sec: 0, tv_nsec: -5 })).toBe(3);
      expect(prio.value).toBe(7);
      // mq_timedsend on a full queue
      await px.mq_send(q, pattern(1), 1, 0);
      await rejectsWith(px.mq_timedsend(q, pattern(1), 1, 0, timespecIn(5)), 'ETIMEDOUT', 'mq_timedsend');
      await rejectsWith(px.mq_timedsend(q, pattern(1), 1, 0, { tv_sec: 1, tv_nsec: 2e9 }), 'EINVAL', 'mq_timedsend');
      expect(await px.mq_timedreceive(q, buf, 8, null, timespecIn(1000))).toBe(1);
      // room: succeeds whatever abs_timeout says
      await px.mq_timedsend(q, pattern(2), 2, 0, { tv_sec: 0, tv_nsec: 0 });
    });
  });

  it('mq_setattr: "The mq_flags member … O_NONBLOCK … The values of the mq_maxmsg, mq_msgsize, and mq_curmsgs members … shall be ignored"; omqstat gets the previous attributes', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const q = await px.mq_open('/attr', O_CREAT | O_RDWR, 0o600, attr);
      const old = await px.mq_setattr(q, { mq_flags: O_NONBLOCK, mq_maxmsg: 1000, mq_msgsize: 1, mq_curmsgs: 5 } as never);
      expect(old).toEqual({ mq_flags: 0, mq_maxmsg: 4, mq_msgsize: 64, mq_curmsgs: 0 });
      expect(await px.mq_getattr(q)).toEqual({ mq_flags: O_NONBLOCK, mq_maxmsg: 4, mq_msgsize: 64, mq_curmsgs: 0 });
      await rejectsWith(px.mq_receive(q, new Uint8Array(64)), 'EAGAIN', 'mq_receive');
      const o = { mq_flags: -1, mq_maxmsg: 0, mq_msgsize: 0, mq_curmsgs: 0 };
      await px.mq_setattr(q, { mq_flags: 0 }, o);
      expect(o.mq_flags).toBe(O_NONBLOCK);
      await rejectsWith(px.mq_setattr(55, { mq_flags: 0 }), 'EBADF', 'mq_setattr');
    });
  });

  it('mq_unlink: "destruction of the message queue shall be postponed until all references to the message queue have been closed"; later mq_open without O_CREAT fails', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const q = await px.mq_open('/gone', O_CREAT | O_RDWR, 0o600, attr);
      await px.mq_send(q, pattern(5), 5, 1);
      await px.mq_unlink('/gone');
      // "After a successful call to mq_unlink() with name, a call to mq_open() with name shall fail if the flag O_CREAT is not set in flags."
      await rejectsWith(px.mq_open('/gone', O_RDWR), 'ENOENT', 'mq_open');
      // mq_unlink: "[ENOENT] The named message queue does not exist."
      await rejectsWith(px.mq_unlink('/gone'), 'ENOENT', 'mq_unlink');
      // the open descriptor still works
      const buf = new Uint8Array(64);
      expect(await px.mq_receive(q, buf)).toBe(5);
      // a new queue of the same name is a different queue
      const q2 = await px.mq_open('/gone', O_CREAT | O_RDWR | O_NONBLOCK, 0o600, attr);
      await px.mq_send(q, pattern(1), 1, 0);
      await rejectsWith(px.mq_receive(q2, buf), 'EAGAIN', 'mq_receive');
      await px.mq_close(q);
      await px.mq_close(q2);
      await px.mq_unlink('/gone');
    });
    expect(w.host.stats()).toMatchObject({ descriptions: 0, queues: 0 });
  });

  it('queue names are visible to every process of the kernel', async () => {
    await using w = await world(arch);
    await w.run(async (px) => void (await px.mq_send(await px.mq_open('/shared', O_CREAT | O_WRONLY, 0o600, attr), enc.encode('hey'), 3, 2)));
    const got = await w.run(async (px) => {
      const q = await px.mq_open('/shared', O_RDONLY);
      const buf = new Uint8Array(64);
      return dec.decode(buf.subarray(0, await px.mq_receive(q, buf)));
    });
    expect(got).toBe('hey');
  });

  it('mq_notify: notifies on empty → non-empty and removes the registration; "[EBUSY] A process is already registered"; not when a receiver waits', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const q = await px.mq_open('/n', O_CREAT | O_RDWR, 0o600, attr);
      const fired: unknown[] = [];
      await px.mq_notify(q, { sigev_notify: SIGEV_THREAD, sigev_notify_function: (v) => fired.push(v), sigev_value: 42 });
      // "If any process is registered … and the calling process attempts to register, mq_notify() shall fail [EBUSY]."
      await rejectsWith(px.mq_notify(q, { sigev_notify: SIGEV_NONE }), 'EBUSY', 'mq_notify');
      await px.mq_send(q, pattern(1), 1, 0);
      await new Promise((r) => setImmediate(r));
      await new Promise((r) => setImmediate(r));
      expect(fired).toEqual([42]);
      // "When the notification is sent to the registered process, its registration shall be removed."
      await px.mq_notify(q, { sigev_notify: SIGEV_NONE });
      // "If notification is NULL and the process is currently registered …, the existing registration shall be removed."
      await px.mq_notify(q, null);
      await px.mq_notify(q, { sigev_notify: SIGEV_THREAD, sigev_notify_function: (v) => fired.push(v), sigev_value: 1 });
      await px.mq_receive(q, new Uint8Array(64));
      // "If some thread is blocked in mq_receive() waiting to receive a message when a message arrives at an empty queue, then the appropriate mq_receive() shall complete successfully and no notification shall be sent."
      const waiter = w.host.spawn({ name: 'waiter' }, async (_p, cpx) => void (await cpx.mq_receive(q, new Uint8Array(64))), { from: px });
      await new Promise((r) => setTimeout(r, 5));
      await px.mq_send(q, pattern(1), 1, 0);
      await waiter.exited;
      await new Promise((r) => setImmediate(r));
      expect(fired).toEqual([42]);
      await rejectsWith(px.mq_notify(q, { sigev_notify: SIGEV_SIGNAL }), 'EINVAL', 'mq_notify');
      await rejectsWith(px.mq_notify(77, null), 'EBADF', 'mq_notify');
      // mq_close removes this process's registration made through the descriptor
      await px.mq_close(q);
      const q2 = await px.mq_open('/n', O_RDWR);
      await px.mq_notify(q2, { sigev_notify: SIGEV_NONE });
    });
  });
});
