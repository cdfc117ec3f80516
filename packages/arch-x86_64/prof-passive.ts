import { createKernel } from '@veridian/core';
import { x86_64 } from '@veridian/arch-x86_64';
const k = createKernel({ arch: x86_64 });
k.spawn({ name: 's', priority: 10 }, (p) => p.serve(p.createEndpoint({ name: 's' }), (m) => ({ type: m.type + 1, data: m.bytes.subarray(0, m.length) })));
await k.whenNamed('s');
const data = new Uint8Array(64);
const c = k.spawn({ name: 'c', priority: 10 }, async (p) => {
  const ch = p.connect('s');
  for (let round = 0; round < 5; round++) {
    const n = 1_000_000;
    const t0 = performance.now();
    for (let i = 0; i < n; i++) await p.call(ch, { type: i, data });
    console.log(`${((performance.now() - t0) * 1e6 / n).toFixed(1)} ns/call`);
  }
});
await c.exited;
await k.shutdown();
