/**
 * Pipes, dup/dup2/fcntl, on both arch backends, in-thread (CPU 0). Each test quotes the
 * POSIX.1-2017 sentence it checks (XSH `pipe`, `read`, `write`, `close`, `dup`, `fcntl`).
 */
import { describe, expect, it } from 'vitest';
import { FD_CLOEXEC, F_DUPFD, F_GETFD, F_GETFL, F_SETFD, F_SETFL, O_CLOEXEC, O_NONBLOCK, O_RDONLY, O_WRONLY, PIPE_BUF, PosixError, createPosix, type Posix } from '@veridian/posix';
import { ARCHS, pattern, rejectsWith, sameBytes, world } from './support/setup.ts';

async function drain(px: Posix, fd: number, max = 1 << 20): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const buf = new Uint8Array(max);
  for (let n; (n = await px.read(fd, buf)) > 0; ) parts.push(buf.slice(0, n));
  const out = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe.each(ARCHS)('pipes on %s', (_name, arch) => {
  it('pipe: "fildes[0] for reading and fildes[1] for writing", the lowest free descriptors', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      // pipe(): "shall place two file descriptors into the arguments fildes[0] and fildes[1] … fildes[0] open for reading and fildes[1] open for writing"
      // open/allocation rule: "the lowest numbered file descriptor not currently open"
      expect(await px.pipe()).toEqual([0, 1]);
      expect(await px.pipe()).toEqual([2, 3]);
      await px.close(0);
      expect(await px.pipe()).toEqual([0, 4]);
      expect(px.fcntl(0, F_GETFL) & 3).toBe(O_RDONLY);
      expect(px.fcntl(4, F_GETFL) & 3).toBe(O_WRONLY);
      // "The O_NONBLOCK and FD_CLOEXEC flags shall be clear on both file descriptors."
      expect(px.fcntl(0, F_GETFL) & O_NONBLOCK).toBe(0);
      expect(px.fcntl(0, F_GETFD)).toBe(0);
      for (const fd of [0, 1, 2, 3, 4]) await px.close(fd);
    });
    expect(w.host.stats().descriptions).toBe(0);
  });

  it('read: "If no process has the pipe open for writing, read() shall return 0 to indicate end-of-file."', async () => {
    await using w = await world(arch);
    const out = await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      await px.write(wr, pattern(100));
      await px.close(wr);
      const buf = new Uint8Array(64);
      // "The value returned may be less than nbyte if the number of bytes left … is less than nbyte"
      return [await px.read(r, buf), await px.read(r, buf), await px.read(r, buf), await px.read(r, buf)];
    });
    expect(out).toEqual([64, 36, 0, 0]);
  });

  it('read: "If some process has the pipe open for writing and O_NONBLOCK is set, read() shall return -1 and set errno to [EAGAIN]."', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r] = await px.pipe2(O_NONBLOCK);
      await rejectsWith(px.read(r, new Uint8Array(8)), 'EAGAIN', 'read');
      // and through fcntl(F_SETFL) on a blocking pipe
      const [r2] = await px.pipe();
      px.fcntl(r2, F_SETFL, px.fcntl(r2, F_GETFL) | O_NONBLOCK);
      await rejectsWith(px.read(r2, new Uint8Array(8)), 'EAGAIN', 'read');
    });
  });

  it('read: "If … O_NONBLOCK is clear, read() shall block the calling thread until some data is written or the pipe is closed by all processes that had the pipe open for writing."', async () => {
    await using w = await world(arch);
    const got = await w.run(async (px, proc) => {
      const [r, wr] = await px.pipe();
      const [r2, wr2] = await px.pipe();
      w.host.spawn(
        { name: 'writer' },
        async (p, cpx) => {
          await p.sleep(2e6);
          await cpx.write(wr, pattern(10, 1));
          await p.sleep(2e6);
          await cpx.close(wr);
          await cpx.close(wr2); // its inherited copy; the parent's is closed below
        },
        { from: px },
      );
      await px.close(wr);
      await px.close(wr2);
      const buf = new Uint8Array(100);
      const t0 = performance.now();
      const a = await px.read(r, buf);
      const first = buf.slice(0, a);
      const b = await px.read(r, buf); // blocks until the writer closes: then end-of-file
      const c = await px.read(r2, buf);
      void proc;
      return { a, first, b, c, waited: performance.now() - t0 };
    });
    expect(got.a).toBe(10);
    expect(got.first).toEqual(pattern(10, 1));
    expect(got.b).toBe(0);
    expect(got.c).toBe(0);
  });

  it('write: "[EPIPE] An attempt is made to write to a pipe or FIFO that is not open for reading by any process"', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      await px.close(r);
      await rejectsWith(px.write(wr, pattern(5)), 'EPIPE', 'write');
      // A writer waiting for room gets EPIPE when the last reader closes.
      const [r2, w2] = await px.pipe();
      const [rs, ws] = await px.pipe(); // signal pipe
      w.host.spawn(
        { name: 'closer' },
        async (_p, cpx) => {
          await cpx.read(rs, new Uint8Array(1));
          await cpx.close(r2);
        },
        { from: px },
      );
      await px.close(r2);
      await px.write(w2, pattern(65536)); // fills the pipe
      const blocked = px.write(w2, pattern(10)); // waits for room
      // Another process tells the closer to close the last read end while this write waits.
      await w.host.spawn({ name: 'signal' }, async (_p, cpx) => void (await cpx.write(ws, new Uint8Array(1))), { from: px }).exited;
      await rejectsWith(blocked, 'EPIPE', 'write');
    });
  });

  it('write: "Write requests of {PIPE_BUF} bytes or less shall not be interleaved with data from other processes doing writes on the same pipe."', async () => {
    await using w = await world(arch);
    const data = await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      const writers = [1, 2, 3].map((id) =>
        w.host.spawn(
          { name: `writer${id}` },
          async (_p, cpx) => {
            const block = new Uint8Array(PIPE_BUF).fill(id);
            for (let i = 0; i < 40; i++) expect(await cpx.write(wr, block)).toBe(PIPE_BUF);
            await cpx.close(wr);
          },
          { from: px },
        ),
      );
      await px.close(wr);
      const all = await drain(px, r, 3000); // odd read sizes: atomicity is about writes
      await Promise.all(writers.map((h) => h.exited));
      return all;
    });
    expect(data.length).toBe(3 * 40 * PIPE_BUF);
    const counts = [0, 0, 0, 0];
    for (let o = 0; o < data.length; o += PIPE_BUF) {
      const v = data[o]!;
      for (let i = 1; i < PIPE_BUF; i++) if (data[o + i] !== v) throw new Error(`block at ${o} interleaved`);
      counts[v]!++;
    }
    expect(counts.slice(1)).toEqual([40, 40, 40]);
  });

  it('write with O_NONBLOCK on a full pipe: EAGAIN for ≤ PIPE_BUF, a partial write for more', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe2(O_NONBLOCK);
      const cap = 65536;
      expect(await px.write(wr, pattern(cap - 100))).toBe(cap - 100);
      // "A write request for {PIPE_BUF} or fewer bytes shall have the following effect: if there is sufficient space available in the pipe, write() shall transfer all the data and return the number of bytes requested. Otherwise, write() shall transfer no data and return -1 with errno set to [EAGAIN]."
      await rejectsWith(px.write(wr, pattern(200)), 'EAGAIN', 'write');
      expect(await px.write(wr, pattern(50))).toBe(50);
      // "A write request for more than {PIPE_BUF} bytes shall cause one of the following: When at least one byte can be written, transfer what it can and return the number of bytes written."
      expect(await px.write(wr, pattern(PIPE_BUF * 2))).toBe(50);
      // "When no data can be written, transfer no data, and return -1 with errno set to [EAGAIN]."
      await rejectsWith(px.write(wr, pattern(PIPE_BUF * 2)), 'EAGAIN', 'write');
      const buf = new Uint8Array(cap);
      expect(await px.read(r, buf)).toBe(cap);
      expect(buf.subarray(0, cap - 100)).toEqual(pattern(cap - 100));
    });
  });

  it('write: "If the O_NONBLOCK flag is clear, a write request may cause the thread to block, but on normal completion it shall return nbyte."', async () => {
    await using w = await world(arch);
    const got = await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      const big = pattern(3 << 20, 5); // 3 MiB: over the pipe's capacity and over one large message
      const reader = w.host.spawn({ name: 'reader' }, async (_p, cpx) => {
        await cpx.close(wr);
        const got = await drain(cpx, r, 50_000);
        expect(sameBytes(got, big)).toBe(true);
      }, { from: px });
      await px.close(r);
      const n = await px.write(wr, big);
      await px.close(wr);
      const exit = await reader.exited;
      return { n, exit: exit.reason };
    });
    expect(got).toEqual({ n: 3 << 20, exit: 'returned' });
  });

  it('read/write/close: "[EBADF] The fildes argument is not a valid file descriptor open for reading" (and for writing)', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      await rejectsWith(px.write(r, pattern(1)), 'EBADF', 'write');
      await rejectsWith(px.read(wr, new Uint8Array(1)), 'EBADF', 'read');
      await rejectsWith(px.read(99, new Uint8Array(1)), 'EBADF', 'read');
      await rejectsWith(px.read(-1, new Uint8Array(1)), 'EBADF', 'read');
      await px.close(r);
      // close: "[EBADF] The fildes argument is not a open file descriptor."
      await rejectsWith(px.close(r), 'EBADF', 'close');
      try {
        await px.read(r, new Uint8Array(1));
      } catch (e) {
        // Node's SystemError shape
        expect(e).toMatchObject({ name: 'PosixError', code: 'EBADF', errno: 9, syscall: 'read' });
        expect((e as Error).message).toMatch(/^EBADF: bad file descriptor, read/);
      }
      // …Sync variants block the thread: worker CPUs only.
      await rejectsWith(() => px.readSync(wr, new Uint8Array(1)), 'EINVAL', 'read');
    });
  });

  it('dup: "the new file descriptor … shall be the lowest numbered available … shall refer to the same open file description … and the FD_CLOEXEC flag … shall be cleared"', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe2(O_CLOEXEC);
      expect(px.fcntl(wr, F_GETFD)).toBe(FD_CLOEXEC);
      const d = px.dup(wr);
      expect(d).toBe(2);
      expect(px.fcntl(d, F_GETFD)).toBe(0);
      // Status flags belong to the open file description: set through one, seen through the other.
      px.fcntl(d, F_SETFL, O_NONBLOCK);
      expect(px.fcntl(wr, F_GETFL) & O_NONBLOCK).toBe(O_NONBLOCK);
      px.fcntl(d, F_SETFL, 0);
      // End of file only once every descriptor of the writing end is closed.
      await px.close(wr);
      await px.write(d, pattern(3));
      const buf = new Uint8Array(8);
      expect(await px.read(r, buf)).toBe(3);
      await px.close(d);
      expect(await px.read(r, buf)).toBe(0);
      // "[EBADF] The fildes argument is not a valid open file descriptor."
      expect(() => px.dup(wr)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'dup' }));
      // fcntl(F_DUPFD): "the lowest numbered available file descriptor greater than or equal to the third argument"
      expect(px.fcntl(r, F_DUPFD, 10)).toBe(10);
      expect(() => px.fcntl(r, 9999)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'fcntl' }));
      px.fcntl(r, F_SETFD, FD_CLOEXEC);
      expect(px.fcntl(r, F_GETFD)).toBe(FD_CLOEXEC);
    });
  });

  it('dup2: closes fildes2 first; "If fildes is equal to fildes2 … dup2() shall return fildes2 without closing it"; invalid fildes does not close fildes2', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      const [r2, w2] = await px.pipe();
      expect(await px.dup2(wr, wr)).toBe(wr);
      await px.write(wr, pattern(1));
      // "If fildes is not a valid file descriptor, dup2() shall return -1 and shall not close fildes2."
      await rejectsWith(px.dup2(77, w2), 'EBADF', 'dup2');
      await px.write(w2, pattern(1));
      await rejectsWith(px.dup2(wr, -1), 'EBADF', 'dup2');
      // fildes2 = w2 (the only writer of the second pipe) is closed: its reader sees end of file.
      expect(await px.dup2(wr, w2)).toBe(w2);
      const buf = new Uint8Array(8);
      expect(await px.read(r2, buf)).toBe(1);
      expect(await px.read(r2, buf)).toBe(0);
      await px.write(w2, pattern(2, 9));
      expect(await px.read(r, buf)).toBe(3);
      expect(await px.dup2(r, 40)).toBe(40);
    });
  });

  it('"[EMFILE] All, or all but one, of the file descriptors available to the process are currently open."', async () => {
    await using w = await world(arch);
    await w.run(async (_px, proc) => {
      const px = createPosix(proc, { openMax: 3 });
      await px.pipe();
      await rejectsWith(px.pipe(), 'EMFILE', 'pipe');
      expect(() => px.dup(0)).not.toThrow();
      expect(() => px.dup(0)).toThrow(expect.objectContaining({ code: 'EMFILE' }));
      await rejectsWith(px.pipe2(0x1234), 'EINVAL', 'pipe2');
    });
  });

  it('the spawn helper passes descriptors without FD_CLOEXEC and releases them when the child exits', async () => {
    await using w = await world(arch);
    const seen = await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      const [r2, w2] = await px.pipe2(O_CLOEXEC);
      let childView: unknown;
      const child = w.host.spawn(
        { name: 'child' },
        async (_p, cpx) => {
          childView = { wr: cpx.fcntl(wr, F_GETFL) & 3, cloexecGone: await cpx.write(w2, pattern(1)).catch((e: unknown) => (e instanceof PosixError ? e.code : e)) };
          await cpx.write(wr, pattern(4)); // and exits without closing wr
        },
        { from: px },
      );
      await px.close(wr);
      const buf = new Uint8Array(8);
      const n = await px.read(r, buf);
      await child.exited;
      const eof = await px.read(r, buf); // the child's descriptor was released at exit
      void r2;
      return { n, eof, childView };
    });
    expect(seen).toEqual({ n: 4, eof: 0, childView: { wr: O_WRONLY, cloexecGone: 'EBADF' } });
  });
});
