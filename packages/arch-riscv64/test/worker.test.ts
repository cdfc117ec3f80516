import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { PagePerm, PhysicalMemory } from '@veridian/core';
import { riscv64 } from '../src/index.js';

// Node 20 workers do not inherit tsx from the parent: bootstrap it by hand (see TOOLCHAIN.md).
const BOOTSTRAP = `
const { workerData } = require('node:worker_threads');
import(workerData.tsxApi).then(({ tsImport }) => tsImport(workerData.entry, workerData.entry));
`;

function startWorker(data: Record<string, unknown>): Worker {
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;
  const entry = new URL('./fixtures/translate-worker.ts', import.meta.url).href;
  return new Worker(BOOTSTRAP, { eval: true, workerData: { ...data, tsxApi, entry }, execArgv: ['--conditions=@veridian/source'] });
}

function next(worker: Worker): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
}

describe('shootdown across worker threads', () => {
  it("a hart in another thread never uses a translation unmapped here (core's shootdown ring through machine memory)", async () => {
    const phys = PhysicalMemory.create({ frames: 64 });
    const mmu = riscv64.createMmu(phys);
    const space = mmu.createAddressSpace();
    const va = 0x40_0000;
    const pa = 0x12_3000;
    space.map(va, pa, 4096, PagePerm.READ);
    const signal = new SharedArrayBuffer(4);
    const worker = startWorker({ buffer: phys.buffer, controlOffset: phys.controlOffset, sharedState: mmu.sharedState, root: space.root, asid: space.asid, va, pa, signal });
    try {
      const ready = await next(worker);
      expect(ready).toMatchObject({ kind: 'ready', warm: [pa, pa], hits: 1 });
      const done = next(worker);
      space.unmap(va, 4096);
      Atomics.store(new Int32Array(signal), 0, 1);
      const result = await done;
      expect(result).toMatchObject({ kind: 'done', after: 'not-present', wrong: 0 });
      expect(result.invalidations).toBeGreaterThanOrEqual(1);
    } finally {
      await worker.terminate();
    }
  });
});
