// A program that never calls kernel.shutdown(): a worker server waits forever in receive, a
// client on CPU 0 calls it once and ends. The host must exit by itself.
import { createKernel } from '@veridian/core';
import { testArch } from '../support/test-arch.ts';

const kernel = createKernel({ arch: testArch, frames: 256, processes: 8, endpoints: 8, capSlots: 16 });
kernel.spawnWorker(new URL('../support/echo-worker.ts', import.meta.url), { name: 'echo', args: { name: 'echo' } });
await kernel.whenNamed('echo');
const client = kernel.spawn({ name: 'client' }, async (p) => {
  const r = await p.call(p.connect('echo'), { type: 7, data: new Uint8Array([1, 2, 3]) });
  console.log(`reply ${r.type} ${r.length}`);
});
await client.exited;
console.log('client done');
