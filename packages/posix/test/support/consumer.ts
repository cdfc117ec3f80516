import type { Process } from '@veridian/core';
import { createPosix } from '@veridian/posix';
import { check } from './stream.ts';

/** Worker CPU: reads the test stream from inherited descriptor `fd` until end of file, checking every byte; throws on any difference or a wrong total. */
export default function consumer(proc: Process, args: { fd: number; total: number; chunk: number; kind: 'pipe' | 'socket' | 'mq' }): void {
  const px = createPosix(proc);
  const buf = new Uint8Array(args.chunk);
  let pos = 0;
  for (;;) {
    const n = args.kind === 'mq' ? px.mq_receiveSync(args.fd, buf) : args.kind === 'socket' ? px.recvSync(args.fd, buf, buf.length, 0) : px.readSync(args.fd, buf);
    if (n === 0) break;
    check(pos, buf.subarray(0, n));
    pos += n;
  }
  if (pos !== args.total) throw new Error(`got ${pos} bytes, expected ${args.total}`);
  px.closeSync(args.fd);
}
