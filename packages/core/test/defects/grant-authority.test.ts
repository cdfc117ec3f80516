// Defect 6: grant() needed no authority over the target process, so any process could fill any
// pid's capability space (its connect/createEndpoint then fail with OutOfMemory). In v2 granting into
// another process needs a PROCESS capability to it carrying GRANT in the granter's own space
// (kernel.processCapability(holder, target, rights)).
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { IpcError, ObjectKind, Rights, type Process } from '@veridian/core';
import { testKernel } from '../support/kernel.ts';

/** The v2 host API (absent today: calling it is a TypeError, which fails these tests). */


function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return e instanceof IpcError ? e.code : `${(e as Error).name}: ${(e as Error).message}`;
  }
}

describe('defect 6: grant needs authority over the target process', () => {
  it('granting to a bare pid fails with nothing changed; the victim can still connect and create endpoints', async () => {
    const k = testKernel();
    let victimPid = 0;
    let release!: () => void;
    const done = new Promise<void>((r) => (release = r));
    const victimResults: string[] = [];
    const victim = k.spawn({ name: 'victim' }, async (p) => {
      victimPid = p.pid;
      await done;
      victimResults.push(codeOf(() => p.connect('attacker-ep')));
      victimResults.push(codeOf(() => p.createEndpoint()));
    });
    const outcomes: string[] = [];
    let unchanged = true;
    const attacker = k.spawn({ name: 'attacker' }, async (p) => {
      const ep = p.createEndpoint({ name: 'attacker-ep' });
      await p.yield();
      // Try to fill the victim's space (32 slots) with bare-pid grants.
      for (let i = 0; i < 40; i++) {
        const before = k.snapshot();
        const got = codeOf(() => p.grant(ep, victimPid, Rights.SEND));
        outcomes.push(got);
        if (!isDeepStrictEqual(k.snapshot(), before)) unchanged = false;
      }
      release();
      await p.sleep(50_000_000);
    });
    await victim.exited;
    await attacker.kill();
    expect(
      outcomes.filter((o) => o !== 'InvalidCapability' && o !== 'PermissionDenied'),
      'bare-pid grants that did not fail with InvalidCapability or PermissionDenied',
    ).toEqual([]);
    expect(unchanged).toBe(true);
    expect(victimResults).toEqual(['ok', 'ok']);
  });

  it('with a process capability carrying GRANT (kernel.processCapability) the grant lands in the target', async () => {
    const k = testKernel();
    let targetPid = 0;
    let granted = -1;
    let go!: () => void;
    const ready = new Promise<void>((r) => (go = r));
    const target = k.spawn({ name: 'target' }, async (p) => {
      targetPid = p.pid;
      await ready;
      expect(granted, 'the granter minted no capability into the target').not.toBe(-1);
      // The granted SEND capability works in the target's space: call the granter's endpoint.
      const r = await p.call(granted, { type: 3, data: new Uint8Array() });
      expect(r.type).toBe(4);
    });
    let granterProc: Process | undefined;
    const granter = k.spawn({ name: 'granter' }, async (p) => {
      granterProc = p;
      const ep = p.createEndpoint();
      await p.yield();
      try {
        setUp(ep);
      } finally {
        go();
      }
      const m = await p.receive(ep);
      p.reply(m.sender, { type: m.type + 1, data: new Uint8Array() });
    });
    function setUp(ep: number): void {
      const p = granterProc!;
      // A process capability without GRANT is no authority; nothing changes.
      const weak = k.processCapability(p.pid, targetPid, Rights.SEND);
      expect(p.inspect(weak).kind).toBe(ObjectKind.Process);
      const before = k.snapshot();
      expect(codeOf(() => p.grant(ep, targetPid, Rights.SEND))).toBe('PermissionDenied');
      expect(k.snapshot()).toEqual(before);
      const pcap = k.processCapability(p.pid, targetPid);
      const info = p.inspect(pcap);
      expect(info.kind).toBe(ObjectKind.Process);
      expect(info.permissions & Rights.GRANT).toBe(Rights.GRANT);
      granted = p.grant(ep, targetPid, Rights.SEND);
    }
    const t = await target.exited;
    const g = await Promise.race([granter.exited, new Promise((r) => setTimeout(r, 2000)).then(() => granter.kill())]);
    expect(g.error).toBeUndefined();
    expect(g.reason).toBe('returned');
    expect(t.error).toBeUndefined();
    expect(t.reason).toBe('returned');
  });
});
