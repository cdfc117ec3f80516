// `await using`: the kernel is shut down when the scope ends, even with a server still waiting.
import { createKernel } from '@veridian/core';
import { testArch } from '../support/test-arch.ts';

{
  await using kernel = createKernel({ arch: testArch, frames: 256, processes: 8, endpoints: 8, capSlots: 16 });
  kernel.spawn({ name: 'server' }, async (p) => {
    await p.receive(p.createEndpoint({ name: 's' }));
  });
  kernel.spawnWorker(new URL('../support/echo-worker.ts', import.meta.url), { name: 'echo', args: { name: 'echo' } });
  await kernel.whenNamed('echo');
  console.log(`live ${kernel.stats().processes}`);
  (globalThis as { k?: unknown }).k = kernel;
}
const k = (globalThis as { k?: { stats(): { processes: number } } }).k!;
console.log(`after ${k.stats().processes}`);
