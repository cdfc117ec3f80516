import { IpcError, messageCaps, type Process } from '@veridian/core';
import { writeReport } from '../report.js';

export interface RingReaderArgs {
  /** `consumer`: drain an async channel until it closes; `subscriber`: read `count` publications of a topic. */
  role: 'consumer' | 'subscriber';
  /** The endpoint on which the ring's capability arrives (in an ordinary call). */
  name: string;
  count: number;
  report: SharedArrayBuffer;
}

/**
 * The receiving side of the async scene, on a worker CPU: it waits for one call carrying the
 * capability to the ring (the kernel re-mints it in this process's space), replies, and then
 * reads the ring with the blocking `receiveSync` — lock-free, the same rings as on CPU 0.
 */
export default function ringReader(proc: Process, args: RingReaderArgs): void {
  const m = proc.receiveSync(proc.createEndpoint({ name: args.name }));
  const [cap] = messageCaps(m);
  if (cap === undefined) throw new Error('the call carried no capability');
  const sender = m.sender;
  if (args.role === 'consumer') {
    proc.reply(sender, { type: 0, data: new Uint8Array(0) });
    const ch = proc.channel(cap);
    let got = 0;
    let sum = 0;
    const lines: string[] = [];
    try {
      for (;;) {
        const r = ch.receiveSync();
        if (r.buffer !== null) {
          // The 1 MiB Move: the frames mapped here are the producer's (their numbers came inline).
          const b = r.buffer;
          const sent = new Int32Array(r.bytes.slice(0, r.length).buffer);
          const mine = proc.memory.frames(b.va, sent.length);
          const same = sent.every((f, i) => f === mine[i]);
          const present = proc.memory.pages(b.va, b.length / 4096).filter((p) => p.present).length;
          const page5 = proc.memory.read(b.va + 5 * 4096, 1)[0];
          lines.push(`took a ${b.length / (1 << 20)} MiB buffer by Move: frames ${Array.from(mine.subarray(0, 4)).join(', ')}, … ${same ? 'are' : 'are NOT'} the producer's; ${present} pages present before the first read, page 5 reads ${page5}`);
          proc.memory.unmap(b.va, b.length);
          continue;
        }
        sum += r.type;
        got++;
      }
    } catch (e) {
      if (!(e instanceof IpcError && e.code === 'ChannelClosed')) throw e;
    }
    writeReport(args.report, [...lines, `drained ${got} messages (types sum ${sum}); the channel closed behind them`]);
    return;
  }
  // Subscribe before replying, so the publisher only starts once every subscriber listens.
  const sub = proc.topic(cap).subscribe();
  proc.reply(sender, { type: 0, data: new Uint8Array(0) });
  let got = 0;
  let inOrder = true;
  while (got < args.count) if (sub.receiveSync().type !== ++got) inOrder = false;
  writeReport(args.report, [`saw all ${got} publications ${inOrder ? 'in order' : 'OUT OF ORDER'} (missed ${sub.missedTotal})`]);
  sub.unsubscribe();
}
