import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { MIB, sink, totalMiB, type StreamArgs } from './stream-sink.js';

/** The MessagePort stream peer: the producer posts copies of a chunk (at most `window` unacknowledged), the consumer acknowledges each. */
const a = workerData as StreamArgs & { role: 'producer' | 'consumer'; port: MessagePort; chunk: number; window: number };
const total = totalMiB(a) * MIB;

if (a.role === 'consumer') {
  const count = sink(a);
  let got = 0;
  a.port.on('message', (m: Uint8Array) => {
    got += m.length;
    count(m.length);
    a.port.postMessage(0);
    if (got >= total) {
      parentPort!.postMessage('done');
      a.port.close();
    }
  });
} else {
  const data = new Uint8Array(a.chunk);
  for (let i = 0; i < data.length; i++) data[i] = i & 0xff;
  let sent = 0;
  let inFlight = 0;
  const pump = () => {
    while (inFlight < a.window && sent < total) {
      a.port.postMessage(data); // structured clone: the bytes are copied, as through the kernel
      sent += data.length;
      inFlight++;
    }
    if (sent >= total && inFlight === 0) a.port.close();
  };
  a.port.on('message', () => {
    inFlight--;
    pump();
  });
  pump();
}
