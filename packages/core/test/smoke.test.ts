import { describe, expect, it } from 'vitest';
import { createKernel, Rights } from '@veridian/core';
import { testArch } from './support/test-arch.ts';

describe('smoke', () => {
  it('call reply one cpu', async () => {
    const k = createKernel({ arch: testArch, frames: 256 });
    const log: string[] = [];
    let ep = 0;
    let serverPid = 0;
    const s = k.spawn({ name: 'server' }, async (proc) => {
      serverPid = proc.pid;
      ep = proc.createEndpoint({ name: 'echo' });
      for (let i = 0; i < 3; i++) {
        const m = await proc.receive(ep);
        log.push(`got ${m.type} from ${m.sender}`);
        proc.reply(m.sender, { type: m.type + 1, data: m.bytes.slice(0, m.length) });
      }
    });
    const c = k.spawn({ name: 'client' }, async (proc) => {
      const ch = proc.connect('echo');
      for (let i = 0; i < 3; i++) {
        const r = await proc.call(ch, { type: 10 + i, data: new Uint8Array([1, 2, 3, i]) });
        log.push(`reply ${r.type} len ${r.length} ${Array.from(r.bytes.slice(0, r.length))}`);
      }
      return proc.pid;
    });
    await k.idle();
    expect((await c.exited).reason).toBe('returned');
    expect((await s.exited).reason).toBe('returned');
    console.log(log, serverPid, Rights.SEND);
    expect(log).toHaveLength(6);
    expect(k.stats().processes).toBe(0);
  });
});
