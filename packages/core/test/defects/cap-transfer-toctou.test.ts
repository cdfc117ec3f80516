// Defect 5: capabilities in a message were checked at the call but read again from the sender's
// register frame at delivery. Rewriting the handle in the (public) frame after the check transferred a
// capability without SHARE; closing it before delivery made the re-mint read slot -1 and mint junk.
import { describe, expect, it } from 'vitest';
import { IpcError, ObjectKind, Rights, writeSlot, type Capability, type Process } from '@veridian/core';
import { testKernel } from '../support/kernel.ts';

interface Delivery {
  capCount: number;
  caps: Capability[];
  /** Every capability in the server's space after delivery, as (kind, rights). */
  callResult: string;
}

/**
 * Client queues a call carrying `shareable` (SEND|SHARE) while the server is not receiving, then
 * `tamper`s with its own state; then the server receives and inspects what arrived.
 */
async function scenario(tamper: (p: Process, h: { shareable: number; noShare: number; frameSlot: (i: number, v: number) => void }) => void): Promise<Delivery> {
  const k = testKernel();
  let gate!: () => void;
  const open = new Promise<void>((r) => (gate = r));
  const out: Delivery = { capCount: -1, caps: [], callResult: 'pending' };
  k.spawn({ name: 'server' }, async (p) => {
    const ep = p.createEndpoint({ name: 's' });
    await open;
    const m = await p.receive(ep);
    out.capCount = m.capCount;
    for (let i = 0; i < m.capCount; i++) {
      try {
        out.caps.push(p.inspect(m.caps[i]!));
      } catch (e) {
        out.caps.push({ kind: -1, permissions: -1, error: String(e) } as never);
      }
    }
    p.reply(m.sender, { type: 0, data: new Uint8Array() });
  });
  await k.whenNamed('s');
  const c = k.spawn({ name: 'client' }, async (p) => {
    const ch = p.connect('s');
    const own = p.createEndpoint();
    const shareable = p.derive(own, Rights.SEND | Rights.SHARE);
    const noShare = p.derive(own, Rights.SEND | Rights.RECEIVE | Rights.REVOKE);
    const pending = p.call(ch, { type: 1, data: new Uint8Array(), caps: [shareable] });
    const layout = k.arch.fastPath.layout;
    tamper(p, { shareable, noShare, frameSlot: (i, v) => writeSlot(p.frame, layout.caps[i]!, v) });
    gate();
    try {
      await pending;
      out.callResult = 'ok';
    } catch (e) {
      out.callResult = e instanceof IpcError ? e.code : String(e);
    }
    // Keep the client (and its endpoint) alive until the server has inspected what it got.
    await p.sleep(1_000_000);
  });
  await c.exited;
  await k.shutdown();
  return out;
}

describe('defect 5: capability transfer is checked and delivered from the same snapshot', () => {
  it('rewriting the capability handle in the frame after the call does not transfer a capability without SHARE', async () => {
    const d = await scenario((_p, h) => h.frameSlot(0, h.noShare));
    expect(d.callResult).toBe('ok');
    expect(d.capCount).toBe(1);
    // What arrives is the capability that was checked (SEND|SHARE), never the unshareable one.
    expect(d.caps.map((c) => [c.kind, c.permissions])).toEqual([[ObjectKind.Endpoint, Rights.SEND | Rights.SHARE]]);
  });

  it('closing the transferred capability before delivery never mints a junk capability', async () => {
    const d = await scenario((p, h) => p.close(h.shareable));
    // Either the capability was taken at the call (it arrives as checked) or the call fails cleanly.
    if (d.callResult === 'ok') {
      expect(d.capCount).toBe(1);
      expect(d.caps.map((c) => [c.kind, c.permissions])).toEqual([[ObjectKind.Endpoint, Rights.SEND | Rights.SHARE]]);
    } else {
      expect(['ChannelClosed', 'InvalidCapability']).toContain(d.callResult);
      expect(d.capCount).toBeLessThanOrEqual(0);
    }
    for (const c of d.caps) expect(c.permissions & ~Rights.ALL, 'rights within Rights.ALL').toBe(0);
    for (const c of d.caps) expect(Object.values(ObjectKind)).toContain(c.kind);
  });
});
