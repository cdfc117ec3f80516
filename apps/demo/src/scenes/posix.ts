/**
 * POSIX on native IPC: a shell-style pipeline between two processes. The parent writes text
 * into a pipe; the child (spawned with the parent's descriptors, fork + exec style) reads it to
 * end of file, counts lines and words, and answers on a message queue. Every descriptor is a
 * capability to an endpoint of the object server `posixd`, which the scene stops at the end.
 */
import { O_CREAT, O_RDWR, posixFor } from '@veridian/posix';
import type { Scene } from '../scene.js';
import { heading } from '../ui.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const POEM = 'the kernel moves frames\nnot bytes\nand every message\nknows its sender\n';

export async function posixScene(s: Scene): Promise<void> {
  const { kernel } = s;
  heading('POSIX: pipe | wc, answered on a message queue');
  const host = posixFor(kernel);
  await host.ready;
  const parent = host.spawn({ name: 'sh', priority: 10 }, async (_proc, px) => {
    const [r, w] = await px.pipe();
    const q = await px.mq_open('/wc', O_CREAT | O_RDWR, 0o600, { mq_maxmsg: 4, mq_msgsize: 64 });
    const child = host.spawn(
      { name: 'wc', priority: 10 },
      async (_p, cx) => {
        await cx.close(w); // or the pipe would never reach end of file
        const buf = new Uint8Array(256);
        let text = '';
        for (let n; (n = await cx.read(r, buf)) > 0; ) text += dec.decode(buf.subarray(0, n), { stream: true });
        const lines = text.split('\n').length - 1;
        const words = text.split(/\s+/).filter(Boolean).length;
        const answer = enc.encode(`${lines} ${words} ${text.length}`);
        await cx.mq_send(q, answer, answer.length, 1);
        await cx.close(r);
        await cx.mq_close(q);
      },
      { from: px },
    );
    await px.close(r);
    const written = await px.write(w, enc.encode(POEM));
    await px.close(w);
    console.log(`[sh]  wrote ${written} bytes into the pipe and closed it (wc inherited fds ${r} and ${w} and queue ${q})`);
    const out = new Uint8Array(64);
    const n = await px.mq_receive(q, out, 64);
    const answer = dec.decode(out.subarray(0, n));
    console.log(`[sh]  wc answered on mq /wc: "${answer}" (lines words bytes)`);
    if (answer !== `4 12 ${POEM.length}`) s.fail(`wc answered "${answer}"`);
    s.counts['posix pipe bytes'] = written;
    await child.exited;
    await px.mq_close(q);
    await px.mq_unlink('/wc');
  });
  const exit = await parent.exited;
  if (exit.reason !== 'returned') throw exit.error;
  // Not kernel.idle(): posixd waits in receive forever. The reapers that release an exited
  // process's descriptors run on later turns; give them a few.
  for (let i = 0; i < 50 && host.stats().descriptions > 0; i++) await new Promise((r) => setTimeout(r, 1));
  const left = host.stats();
  console.log(`[posixd] after the pipeline: ${left.descriptions} open descriptions, ${left.queues} queues; stopping the object server`);
  await host.server.kill();
  s.ran.push('posix');
}
