/**
 * The POSIX layer across worker CPUs, on both arch backends: the …Sync calls on workers, a
 * descriptor passed between two workers, and the two-process pipeline (a producer and a
 * consumer on two worker CPUs) that moves 100 MB through a pipe, a message queue and a socket
 * with every byte checked.
 */
import { describe, expect, it } from 'vitest';
import { AF_UNIX, FD_CLOEXEC, F_SETFD, O_CREAT, O_RDWR, SOCK_STREAM } from '@veridian/posix';
import { ARCHS, here, world } from './support/setup.ts';

const MB100 = 100 * 1000 * 1000;

describe.each(ARCHS)('worker CPUs on %s', (_name, arch) => {
  it.each(['pipe', 'mq', 'poll'])('scenario %s with the …Sync calls', async (scenario) => {
    await using w = await world(arch);
    const exit = await w.host.spawnWorker(here('scenarios.ts'), { name: `s-${scenario}`, args: { scenario } }).exited;
    expect(exit).toMatchObject({ reason: 'returned' });
    await new Promise((r) => setTimeout(r, 5));
    expect(w.host.stats().descriptions).toBe(0);
  });

  it('SCM_RIGHTS between two worker CPUs: the receiver writes through the passed capability', async () => {
    await using w = await world(arch);
    const exits = await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      const s = w.host.spawnWorker(here('scenarios.ts'), { name: 'sender', args: { scenario: 'rights-send', sock: a } }, { from: px });
      const r = w.host.spawnWorker(here('scenarios.ts'), { name: 'receiver', args: { scenario: 'rights-recv', sock: b } }, { from: px });
      await px.close(a);
      await px.close(b);
      return Promise.all([s.exited, r.exited]);
    });
    expect(exits.map((e) => e.reason)).toEqual(['returned', 'returned']);
  });
});

describe.each(ARCHS)('100 MB pipeline between two worker CPUs on %s', (_name, arch) => {
  const cases: Array<[string, 'pipe' | 'mq' | 'socket', number]> = [
    ['pipe', 'pipe', 1 << 20],
    ['message queue', 'mq', 256 << 10],
    ['socket', 'socket', 1 << 20],
  ];
  it.each(cases)('through a %s, every byte checked', async (_what, kind, chunk) => {
    await using w = await world(arch, { frames: 4096 });
    const exits = await w.run(async (px) => {
      let rd: number;
      let wr: number;
      if (kind === 'pipe') [rd, wr] = await px.pipe();
      else if (kind === 'socket') [rd, wr] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      else {
        wr = await px.mq_open('/pipeline', O_CREAT | O_RDWR, 0o600, { mq_maxmsg: 8, mq_msgsize: chunk });
        rd = px.dup(wr);
      }
      // As after fork, each child must not hold the other end: FD_CLOEXEC keeps it back.
      px.fcntl(rd, F_SETFD, kind === 'mq' ? 0 : FD_CLOEXEC);
      const producer = w.host.spawnWorker(here('producer.ts'), { name: 'producer', args: { fd: wr, total: MB100, chunk, kind } }, { from: px });
      px.fcntl(rd, F_SETFD, 0);
      if (kind !== 'mq') px.fcntl(wr, F_SETFD, FD_CLOEXEC);
      const consumer = w.host.spawnWorker(here('consumer.ts'), { name: 'consumer', args: { fd: rd, total: MB100, chunk, kind } }, { from: px });
      await px.close(rd);
      if (kind !== 'mq') await px.close(wr);
      return Promise.all([producer.exited, consumer.exited]);
    });
    for (const e of exits) expect(e, String(e.error)).toMatchObject({ reason: 'returned' });
  }, 60_000);
});
