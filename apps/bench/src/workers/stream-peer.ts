import { parentPort, workerData, type MessagePort } from 'node:worker_threads';

/**
 * The `messageport-stream` baseline: one worker streams 64-byte messages (a `Uint8Array`, cloned
 * by `postMessage`) to another over a `MessagePort`; each sample is a batch of messages followed
 * by a flush marker the receiver acknowledges, timed at the sender, per message.
 */
const { role, port, warmupMs, samples, sampleMs } = workerData as { role: 'send' | 'receive'; port: MessagePort; warmupMs: number; samples: number; sampleMs: number };

if (role === 'receive') {
  let count = 0;
  port.on('message', (m: unknown) => {
    if (typeof m === 'number') port.postMessage(count);
    else count++;
  });
} else {
  const data = new Uint8Array(64).fill(7);
  let acked: (() => void) | undefined;
  port.on('message', () => acked?.());
  const run = (n: number) =>
    new Promise<void>((resolve) => {
      acked = resolve;
      for (let i = 0; i < n; i++) port.postMessage(data);
      port.postMessage(0);
    });
  void (async () => {
    const warmEnd = performance.now() + warmupMs;
    while (performance.now() < warmEnd) await run(256);
    let batch = 256;
    for (;;) {
      const t0 = performance.now();
      await run(batch);
      const dt = performance.now() - t0;
      if (dt >= sampleMs / 4) {
        batch = Math.max(1, Math.round((batch * sampleMs) / dt));
        break;
      }
      batch *= 4;
    }
    const perOp: number[] = [];
    for (let s = 0; s < samples; s++) {
      const t0 = process.hrtime.bigint();
      await run(batch);
      perOp.push(Number(process.hrtime.bigint() - t0) / batch);
    }
    parentPort!.postMessage({ perOp, batch });
    port.close();
  })();
}
