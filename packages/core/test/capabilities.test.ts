import { describe, expect, it } from 'vitest';
import { ObjectKind, Rights, type Process } from '@veridian/core';
import { testKernel } from './support/kernel.ts';

/** Runs `body` as a process and returns its result. */
async function inProcess<T>(k: ReturnType<typeof testKernel>, body: (p: Process) => Promise<T> | T): Promise<T> {
  let out!: T;
  const h = k.spawn({ name: 'p' }, async (p) => {
    out = await body(p);
  });
  const exit = await h.exited;
  if (exit.reason !== 'returned') throw exit.error;
  return out;
}

describe('capabilities', () => {
  it('tokens are 64-bit, distinct, and reproducible only with a seed', async () => {
    const tokens = async (seed?: number) => {
      const k = testKernel(seed === undefined ? { seed: undefined } : { seed });
      return inProcess(k, (p) => {
        const ep = p.createEndpoint();
        return Array.from({ length: 20 }, () => p.inspect(p.derive(ep, Rights.SEND)).token);
      });
    };
    const a = await tokens(7);
    expect(new Set(a).size).toBe(20);
    expect(a.some((t) => t > 0xffffffffn)).toBe(true);
    expect(await tokens(7)).toEqual(a);
    expect(await tokens(8)).not.toEqual(a);
    expect(await tokens()).not.toEqual(a);
  });

  it('a handle is only meaningful in its own space; made-up handles are rejected', async () => {
    const k = testKernel();
    await inProcess(k, (p) => {
      const ep = p.createEndpoint();
      for (const forged of [0, 1, ep + 1, ep ^ 0x1000, 0xffffffff]) {
        expect(() => p.inspect(forged)).toThrow(expect.objectContaining({ code: 'InvalidCapability' }));
      }
      expect(p.inspect(ep)).toMatchObject({ kind: ObjectKind.Endpoint, permissions: Rights.SEND | Rights.RECEIVE | Rights.SHARE | Rights.GRANT | Rights.REVOKE });
    });
  });

  it('derive never adds rights; grant needs GRANT, a subset, and a process capability to the target', async () => {
    const k = testKernel();
    let otherPid = 0;
    const other = k.spawn({ name: 'other' }, (p) => {
      otherPid = p.pid;
      return p.sleep(1e6);
    });
    await inProcess(k, (p) => {
      const ep = p.createEndpoint();
      const send = p.derive(ep, Rights.SEND);
      expect(() => p.derive(send, Rights.SEND | Rights.RECEIVE)).toThrow(expect.objectContaining({ code: 'PermissionDenied' }));
      const sendGrant = p.derive(ep, Rights.SEND | Rights.GRANT);
      // Into its own space a grant needs no more than GRANT.
      expect(p.grant(sendGrant, p.pid, Rights.SEND)).toBeGreaterThan(0);
      // Without a capability to the target process, nothing can be put into its space.
      const before = k.snapshot();
      expect(() => p.grant(sendGrant, otherPid, Rights.SEND)).toThrow(expect.objectContaining({ code: 'PermissionDenied' }));
      expect(k.snapshot()).toEqual(before);
      k.processCapability(p.pid, otherPid, Rights.SEND);
      expect(() => p.grant(sendGrant, otherPid, Rights.SEND)).toThrow(expect.objectContaining({ code: 'PermissionDenied' }));
      k.processCapability(p.pid, otherPid);
      expect(() => p.grant(send, otherPid, Rights.SEND)).toThrow(expect.objectContaining({ code: 'PermissionDenied' }));
      expect(() => p.grant(sendGrant, otherPid, Rights.RECEIVE)).toThrow(expect.objectContaining({ code: 'PermissionDenied' }));
      const h = p.grant(sendGrant, otherPid, Rights.SEND);
      expect(h).toBeGreaterThan(0);
      expect(() => p.grant(sendGrant, 0x7fff0000, Rights.SEND)).toThrow(expect.objectContaining({ code: 'ProcessNotFound' }));
    });
    await other.kill();
  });

  it('revoke kills every other capability to the object at once, and the revoker keeps its own', async () => {
    const k = testKernel();
    await inProcess(k, (p) => {
      const ep = p.createEndpoint();
      const kids = [p.derive(ep, Rights.SEND), p.derive(ep, Rights.SEND | Rights.SHARE), p.derive(ep, Rights.RECEIVE)];
      for (const c of kids) expect(p.validate(c, 0)).toBe(true);
      expect(() => p.revoke(kids[0]!)).toThrow(expect.objectContaining({ code: 'PermissionDenied' }));
      p.revoke(ep);
      for (const c of kids) {
        expect(p.validate(c, 0)).toBe(false);
        expect(() => p.derive(c, Rights.SEND)).toThrow(expect.objectContaining({ code: 'InvalidCapability' }));
      }
      expect(p.validate(ep, Rights.SEND)).toBe(true);
      expect(p.inspect(ep).generation).toBe(p.inspect(kids[0]!).generation + 1);
    });
  });

  it('a closed handle never names the capability later put in the same slot', async () => {
    const k = testKernel();
    await inProcess(k, (p) => {
      const ep = p.createEndpoint();
      const a = p.derive(ep, Rights.SEND);
      p.close(a);
      // Free slots are reused least recently freed first: cycle until the slot comes round.
      let b = p.derive(ep, Rights.RECEIVE);
      for (let i = 0; i < 64 && (b & 0x1f) !== (a & 0x1f); i++) {
        p.close(b);
        b = p.derive(ep, Rights.RECEIVE);
      }
      expect(b & 0x1f).toBe(a & 0x1f);
      expect(b).not.toBe(a);
      expect(() => p.inspect(a)).toThrow(expect.objectContaining({ code: 'InvalidCapability' }));
    });
  });

  it('revocation never runs out: 70 000 revokes keep the endpoint open and every older capability dead', async () => {
    const k = testKernel({ endpoints: 1 });
    await inProcess(k, (p) => {
      const ep = p.createEndpoint();
      const first = p.derive(ep, Rights.SEND);
      const gen0 = p.inspect(ep).generation;
      for (let i = 0; i < 70_000; i++) p.revoke(ep);
      expect(p.inspect(ep).generation).toBe(gen0 + 70_000);
      expect(p.validate(ep, Rights.SEND)).toBe(true);
      expect(p.validate(first, 0)).toBe(false);
      expect(() => p.derive(first, Rights.SEND)).toThrow(expect.objectContaining({ code: 'InvalidCapability' }));
      expect(() => p.derive(ep, Rights.SEND)).not.toThrow();
    });
  });

  it('a full capability space fails with OutOfMemory and changes nothing', async () => {
    const k = testKernel({ capSlots: 4 });
    await inProcess(k, (p) => {
      const ep = p.createEndpoint();
      p.derive(ep, Rights.SEND);
      p.derive(ep, Rights.SEND);
      p.derive(ep, Rights.SEND);
      const before = k.snapshot();
      expect(() => p.derive(ep, Rights.SEND)).toThrow(expect.objectContaining({ code: 'OutOfMemory' }));
      expect(() => p.createEndpoint()).toThrow(expect.objectContaining({ code: 'OutOfMemory' }));
      expect(k.snapshot()).toEqual(before);
    });
  });
});

describe('registry', () => {
  it('resolves ids in O(1) and never resolves a stale id to a new object', async () => {
    const k = testKernel({ endpoints: 1 });
    await inProcess(k, (p) => {
      p.createEndpoint({ name: 'a' });
      const id = k.lookupName('a')!;
      expect(k.lookupEndpoint(id)).toBe(true);
      expect(k.lookupEndpoint(id + 0x10000)).toBe(false);
      return id;
    }).then((id) => {
      // The owner exited: the endpoint closed, its name is free and the id is stale.
      expect(k.lookupEndpoint(id)).toBe(false);
      expect(k.lookupName('a')).toBeUndefined();
      return inProcess(k, (p) => {
        p.createEndpoint({ name: 'a' });
        const again = k.lookupName('a')!;
        expect(again & 0xffff).toBe(id & 0xffff);
        expect(again).not.toBe(id);
        expect(k.lookupEndpoint(id)).toBe(false);
      });
    });
  });

  it('names are unique and connect yields SEND only', async () => {
    const k = testKernel();
    await inProcess(k, (p) => {
      p.createEndpoint({ name: 'svc' });
      expect(() => p.createEndpoint({ name: 'svc' })).toThrow(expect.objectContaining({ code: 'AlreadyExists' }));
      expect(() => p.connect('nope')).toThrow(expect.objectContaining({ code: 'NotFound' }));
      const ch = p.connect('svc');
      expect(p.inspect(ch).permissions).toBe(Rights.SEND);
      expect(() => p.createEndpoint({ name: 'x'.repeat(33) })).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    });
  });
});
