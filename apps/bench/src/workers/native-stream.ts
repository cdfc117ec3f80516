import { messagePayload, type Process } from '@veridian/core';
import { MIB, sink, totalMiB, type StreamArgs } from './stream-sink.js';

/** What the bench hands each side of the native stream bench. */
export interface NativeStreamArgs extends StreamArgs {
  role: 'producer' | 'consumer';
  chunk: number;
}

/** Worker CPU: one side of the native-channel stream: `callSync` with large messages to a server that takes each one. */
export default function nativeStream(proc: Process, a: NativeStreamArgs): void {
  const total = totalMiB(a) * MIB;
  if (a.role === 'consumer') {
    const ep = proc.createEndpoint({ name: 'stream' });
    const count = sink(a);
    const ack = { type: 0, data: new Uint8Array(0) };
    let got = 0;
    let m = proc.receiveSync(ep);
    for (;;) {
      const n = messagePayload(m).length;
      got += n;
      count(n);
      if (got >= total) {
        proc.reply(m.sender, ack);
        return;
      }
      m = proc.replyReceiveSync(m.sender, ack, ep);
    }
  }
  let ch = -1;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  while (ch < 0) {
    try {
      ch = proc.connect('stream');
    } catch {
      Atomics.wait(pause, 0, 0, 1);
    }
  }
  const data = new Uint8Array(a.chunk);
  for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
  const msg = { type: 1, data };
  for (let sent = 0; sent < total; sent += a.chunk) proc.callSync(ch, msg);
}
