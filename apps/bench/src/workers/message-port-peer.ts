import { parentPort, workerData, type MessagePort } from 'node:worker_threads';

/** The MessagePort baseline: one worker echoes, the other measures round trips in batches. */
const { role, port, warmupMs, samples, sampleMs } = workerData as { role: 'echo' | 'client'; port: MessagePort; warmupMs: number; samples: number; sampleMs: number };

if (role === 'echo') {
  port.on('message', (m: number) => port.postMessage(m));
} else {
  let pending: (() => void) | undefined;
  port.on('message', () => pending?.());
  const roundTrip = () =>
    new Promise<void>((resolve) => {
      pending = resolve;
      port.postMessage(1);
    });
  const run = async (n: number) => {
    for (let i = 0; i < n; i++) await roundTrip();
  };
  void (async () => {
    const warmEnd = performance.now() + warmupMs;
    while (performance.now() < warmEnd) await run(16);
    let batch = 16;
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
