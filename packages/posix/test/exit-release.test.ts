/**
 * XSH 2.14 / `_exit`: "All of the file descriptors … open in the calling process shall be
 * closed" when a process ends — also one that never calls `close`, however it was started.
 */
import { describe, expect, it } from 'vitest';
import { O_CREAT, O_RDWR, createPosix } from '@veridian/posix';
import { ARCHS, here, world } from './support/setup.ts';

/** Resolves once `ready()` holds (bounded by the test's timeout, not asserted as a time). */
async function until(ready: () => boolean): Promise<void> {
  while (!ready()) await new Promise((r) => setTimeout(r, 1));
}

describe.each(ARCHS)('descriptors of an ended process on %s', (_name, arch) => {
  it('a process started with plain kernel.spawn that exits without closing has every description released', async () => {
    await using w = await world(arch);
    const h = w.kernel.spawn({ name: 'leaky' }, async (proc) => {
      const px = createPosix(proc);
      await px.pipe();
      await px.mq_open('/leaky', O_CREAT | O_RDWR, 0o600, { mq_maxmsg: 4, mq_msgsize: 16 });
      await px.mq_unlink('/leaky'); // the queue lives until its last descriptor closes
    });
    await h.exited;
    await until(() => w.host.stats().descriptions === 0);
    expect(w.host.stats()).toMatchObject({ descriptions: 0, queues: 0 });
  });

  it('a crashed or killed process has its descriptions released too', async () => {
    await using w = await world(arch);
    const crash = w.kernel.spawn({ name: 'crash' }, async (proc) => {
      await createPosix(proc).pipe();
      throw new Error('boom');
    });
    w.kernel.on('error', () => {});
    await crash.exited;
    const stuck = w.kernel.spawn({ name: 'stuck' }, async (proc) => {
      const px = createPosix(proc);
      const [r] = await px.pipe();
      await px.read(r, new Uint8Array(1)); // never returns: its own write end is open
    });
    await until(() => w.host.stats().descriptions === 2);
    await stuck.kill();
    await until(() => w.host.stats().descriptions === 0);
    expect(w.host.stats().descriptions).toBe(0);
  });

  it('read sees end of file once the last writer — a worker that exited without closing — is gone', async () => {
    await using w = await world(arch);
    const got = await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      const child = w.host.spawnWorker(here('scenarios.ts'), { name: 'writer', args: { scenario: 'write-exit', w: wr } }, { from: px });
      await px.close(wr);
      expect((await child.exited).reason).toBe('returned');
      const buf = new Uint8Array(8);
      const n = await px.read(r, buf);
      const eof = await px.read(r, buf);
      await px.close(r);
      return { bytes: [...buf.subarray(0, n)], eof };
    });
    expect(got).toEqual({ bytes: [7, 8, 9], eof: 0 });
    await until(() => w.host.stats().descriptions === 0);
  });
});

describe('kernel exit events', () => {
  it("'exit' reports every process's end with its reason; a throwing listener is reported, not rethrown", async () => {
    const [, arch] = ARCHS[0]!;
    await using w = await world(arch);
    const seen: string[] = [];
    const listener = (e: { name: string; reason: string }) => void seen.push(`${e.name}:${e.reason}`);
    w.kernel.on('exit', listener);
    w.kernel.on('exit', () => {
      throw new Error('listener bug');
    });
    w.kernel.on('error', () => {});
    await w.kernel.spawn({ name: 'ok' }, () => undefined).exited;
    await w.kernel.spawn({ name: 'bad' }, () => {
      throw new Error('x');
    }).exited;
    w.kernel.off('exit', listener);
    await w.kernel.spawn({ name: 'after-off' }, () => undefined).exited;
    expect(seen).toEqual(['ok:returned', 'bad:crashed']);
    expect(() => w.kernel.on('nope' as 'exit', listener)).toThrow(/'error' or 'exit'/);
  });
});
