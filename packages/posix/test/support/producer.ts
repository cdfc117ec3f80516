import type { Process } from '@veridian/core';
import { createPosix } from '@veridian/posix';
import { slice } from './stream.ts';

/** Worker CPU: writes `total` bytes of the test stream to inherited descriptor `fd` (a pipe, a socket or a queue), then closes it. */
export default function producer(proc: Process, args: { fd: number; total: number; chunk: number; kind: 'pipe' | 'socket' | 'mq' }): void {
  const px = createPosix(proc);
  let pos = 0;
  while (pos < args.total) {
    const n = Math.min(args.chunk, args.total - pos);
    if (args.kind === 'mq') {
      px.mq_sendSync(args.fd, slice(pos, n), n, 0);
      pos += n;
    } else pos += args.kind === 'socket' ? px.sendSync(args.fd, slice(pos, n), n, 0) : px.writeSync(args.fd, slice(pos, n));
  }
  if (args.kind === 'mq') px.mq_sendSync(args.fd, new Uint8Array(0), 0, 0); // end marker
  px.closeSync(args.fd);
}
