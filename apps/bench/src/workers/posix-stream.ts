import type { Process } from '@veridian/core';
import { createPosix } from '@veridian/posix';
import { MIB, sink, totalMiB, type StreamArgs } from './stream-sink.js';

/** What the bench hands each side of the POSIX stream bench. */
export interface PosixStreamArgs extends StreamArgs {
  role: 'producer' | 'consumer';
  kind: 'pipe' | 'mq';
  fd: number;
  /** Bytes per write / message. */
  chunk: number;
}

/** Worker CPU: one side of a POSIX pipe or message-queue stream (the descriptor is inherited). */
export default function posixStream(proc: Process, a: PosixStreamArgs): void {
  const px = createPosix(proc);
  const total = totalMiB(a) * MIB;
  const buf = new Uint8Array(a.chunk);
  if (a.role === 'producer') {
    for (let i = 0; i < buf.length; i++) buf[i] = i & 0xff;
    for (let sent = 0; sent < total; ) {
      const n = Math.min(a.chunk, total - sent);
      if (a.kind === 'mq') {
        px.mq_sendSync(a.fd, buf, n, 0);
        sent += n;
      } else sent += px.writeSync(a.fd, buf, n);
    }
    if (a.kind === 'mq') px.mq_sendSync(a.fd, buf, 0, 0);
    px.closeSync(a.fd);
    return;
  }
  const count = sink(a);
  for (let got = 0; ; ) {
    const n = a.kind === 'mq' ? px.mq_receiveSync(a.fd, buf) : px.readSync(a.fd, buf);
    if (n === 0) break;
    if (buf[0] !== (got % a.chunk) % 256 && a.kind === 'mq') throw new Error('corrupt message');
    got += n;
    count(n);
  }
  px.closeSync(a.fd);
}
