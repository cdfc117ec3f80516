import { describe, expect, it } from 'vitest';
import { IPC_BUFFER_VA, type Process } from '@veridian/core';
import { testKernel } from './support/kernel.ts';

describe('processes', () => {
  it('exit returns every frame, record and capability to the pools', async () => {
    const k = testKernel();
    const base = k.stats();
    const h = k.spawn({ name: 'p' }, (p) => {
      const ep = p.createEndpoint({ name: 'x' });
      p.derive(ep, 1);
      expect(k.stats().usedFrames).toBeGreaterThan(base.usedFrames);
      expect(k.stats()).toMatchObject({ processes: 1, endpoints: 1, capabilities: 2 });
    });
    expect(await h.exited).toMatchObject({ reason: 'returned', name: 'p' });
    expect(k.stats()).toEqual(base);
  });

  it('each process has its own address space with the IPC buffer mapped', async () => {
    const k = testKernel();
    const h = k.spawn({ name: 'p' }, () => {
      expect(k.stats().usedFrames).toBe(3); // root and leaf tables + IPC buffer page
      expect(IPC_BUFFER_VA % 4096).toBe(0);
    });
    expect(await h.exited).toMatchObject({ reason: 'returned' });
  });

  it('a crash is reported with its error and cleaned up', async () => {
    const k = testKernel();
    const h = k.spawn({ name: 'bad' }, () => {
      throw new Error('boom');
    });
    const exit = await h.exited;
    expect(exit.reason).toBe('crashed');
    expect((exit.error as Error).message).toBe('boom');
    expect(k.stats().processes).toBe(0);
  });

  it('kill wakes nothing stale and frees everything; syscalls of a dead process fail', async () => {
    const k = testKernel();
    const base = k.stats();
    let proc!: Process;
    const h = k.spawn({ name: 'victim' }, async (p) => {
      proc = p;
      await p.receive(p.createEndpoint());
    });
    await new Promise((r) => setTimeout(r, 1));
    expect(await h.kill()).toMatchObject({ reason: 'killed' });
    expect(k.stats()).toEqual(base);
    expect(proc.alive).toBe(false);
    expect(() => proc.createEndpoint()).toThrow(expect.objectContaining({ code: 'ProcessNotFound' }));
  });

  it('out of process records or frames is OutOfMemory with nothing changed', async () => {
    const k = testKernel({ processes: 2 });
    const hs = [k.spawn({ name: 'a' }, (p) => p.sleep(1e9)), k.spawn({ name: 'b' }, (p) => p.sleep(1e9))];
    const before = k.snapshot();
    expect(() => k.spawn({ name: 'c' }, () => undefined)).toThrow(expect.objectContaining({ code: 'OutOfMemory' }));
    expect(k.snapshot()).toEqual(before);
    await Promise.all(hs.map((h) => h.kill()));
    const tiny = testKernel({ frames: 4 });
    tiny.spawn({ name: 'one' }, (p) => p.sleep(1e9));
    const before2 = tiny.snapshot();
    expect(() => tiny.spawn({ name: 'two' }, () => undefined)).toThrow(expect.objectContaining({ code: 'OutOfMemory' }));
    expect(tiny.snapshot()).toEqual(before2);
    await tiny.shutdown();
  });

  it('rejects a bad priority', () => {
    const k = testKernel();
    expect(() => k.spawn({ name: 'x', priority: 32 }, () => undefined)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => k.spawn({ name: 'x', priority: -1 }, () => undefined)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });

  it('a pid is never reused for a new process', async () => {
    const k = testKernel({ processes: 1 });
    const pids = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const h = k.spawn({ name: 'p' }, () => undefined);
      expect(pids.has(h.pid)).toBe(false);
      pids.add(h.pid);
      await h.exited;
    }
  });
});
