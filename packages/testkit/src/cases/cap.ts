/** Capability cases: unforgeable tokens, rights, derivation, grant, transfer, revocation, generations, cleanup. */
import { expect } from 'vitest';
import { Rights, type CapHandle, type Kernel, type Process } from '@veridian/core';
import { EMPTY, codeOf, exitedPid, expectSameState, rejection, returned, settle } from '../support/harness.js';
import type { CaseTable } from './types.js';

const ENDPOINT_RIGHTS = Rights.SEND | Rights.RECEIVE | Rights.SHARE | Rights.GRANT | Rights.REVOKE;

/** Tokens of an endpoint capability and `n` capabilities derived from it, in one process. */
async function mintTokens(kernel: Kernel, n: number): Promise<bigint[]> {
  const tokens: bigint[] = [];
  const h = kernel.spawn({ name: 'minter' }, (p) => {
    const ep = p.createEndpoint();
    tokens.push(p.inspect(ep).token);
    for (let i = 0; i < n; i++) tokens.push(p.inspect(p.derive(ep, Rights.SEND)).token);
  });
  await returned(h);
  return tokens;
}

/** `true` when `code` says a capability names nothing live (stale or closed). */
const dead = (code: string) => code === 'InvalidCapability' || code === 'ChannelClosed';

/** The `cap.*` cases. */
export const capCases: CaseTable<'cap'> = {
  'cap.token-unforgeable': {
    checks:
      'tokens are 64-bit, all distinct, every bit varies; a seeded RNG repeats its tokens and another seed does not; handles are per process and a guessed or foreign handle names nothing',
    async run(ctx) {
      const tokens = await mintTokens(ctx.kernel({ seed: undefined, capSlots: 256 }), 200);
      expect(new Set(tokens).size).toBe(tokens.length);
      for (const t of tokens) expect(t >= 0n && t < 1n << 64n, `token ${t} is a u64`).toBe(true);
      for (let bit = 0n; bit < 64n; bit++) {
        const set = tokens.filter((t) => (t >> bit) & 1n).length;
        expect(set, `bit ${bit} varies across tokens`).toBeGreaterThan(0);
        expect(set, `bit ${bit} varies across tokens`).toBeLessThan(tokens.length);
      }
      const a = await mintTokens(ctx.kernel({ seed: 1234 }), 20);
      const b = await mintTokens(ctx.kernel({ seed: 1234 }), 20);
      const c = await mintTokens(ctx.kernel({ seed: 4321 }), 20);
      expect(a).toEqual(b);
      expect(c).not.toEqual(a);

      const k = ctx.kernel();
      const handles: CapHandle[] = [];
      const owner = k.spawn({ name: 'owner', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'cap.tok' });
        handles.push(ep, p.derive(ep, Rights.SEND), p.derive(ep, Rights.SEND | Rights.SHARE));
        await p.receive(ep);
      });
      const other = k.spawn({ name: 'other', priority: 10 }, async (p) => {
        let before = k.snapshot();
        for (const h of handles) {
          // Another process's handle values name nothing in this process's (empty) space.
          expect(p.validate(h, 0)).toBe(false);
          expect(codeOf(() => p.inspect(h))).toBe('InvalidCapability');
          expect(await rejection(p.call(h, { type: 0, data: EMPTY }))).toBe('InvalidCapability');
        }
        expectSameState(k.snapshot(), before, 'after foreign handles');
        // Guesses next to a handle this process really holds name nothing either.
        const mine = p.createEndpoint();
        before = k.snapshot();
        for (const guess of [0, 1, 0xffffffff, mine + 1, mine + 0x1000, mine - 0x1000, mine ^ 0x80000000, 0x7fffffff]) {
          expect(p.validate(guess >>> 0, 0)).toBe(false);
          expect(await rejection(p.send(guess >>> 0, { type: 0, data: EMPTY }))).toBe('InvalidCapability');
        }
        expectSameState(k.snapshot(), before, 'after guessed handles');
        expect(p.validate(mine, Rights.SEND)).toBe(true);
      });
      await returned(other);
      await owner.kill();
    },
  },

  'cap.send-requires-right': {
    checks: 'call and send on a capability without SEND fail with PermissionDenied and change nothing; with SEND the call goes through',
    async run(ctx) {
      const k = ctx.kernel();
      let granted = -1;
      const got: number[] = [];
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        expect(p.inspect(granted).permissions).toBe(ENDPOINT_RIGHTS & ~Rights.SEND);
        expect(p.validate(granted, Rights.SEND)).toBe(false);
        expect(p.validate(granted, Rights.RECEIVE)).toBe(true);
        const before = k.snapshot();
        const call = p.call(granted, { type: 1, data: EMPTY });
        const afterCall = k.snapshot();
        expect(await rejection(call)).toBe('PermissionDenied');
        expectSameState(afterCall, before, 'after a denied call');
        expect(await rejection(p.send(granted, { type: 1, data: EMPTY }))).toBe('PermissionDenied');
        expectSameState(k.snapshot(), before, 'after a denied send');
        const r = await p.call(p.connect('cap.send'), { type: 2, data: EMPTY });
        expect(r.type).toBe(3);
      });
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'cap.send' });
        // Granting into another process needs authority over it: a process capability (host-minted).
        k.processCapability(p.pid, client.pid);
        granted = p.grant(ep, client.pid, ENDPOINT_RIGHTS & ~Rights.SEND);
        const none = p.derive(ep, Rights.NONE);
        expect(await rejection(p.send(none, { type: 9, data: EMPTY }))).toBe('PermissionDenied');
        const m = await p.receive(ep);
        got.push(m.type);
        p.reply(m.sender, { type: m.type + 1, data: EMPTY });
      });
      await returned(client, server);
      expect(got).toEqual([2]);
    },
  },

  'cap.receive-requires-right': {
    checks: 'receive on a capability without RECEIVE fails with PermissionDenied and changes nothing; a granted RECEIVE capability lets a non-owner serve the endpoint',
    async run(ctx) {
      const k = ctx.kernel();
      let receiveCap = -1;
      const receiver = k.spawn({ name: 'receiver', priority: 10 }, async (p) => {
        const sendOnly = p.connect('cap.recv');
        const before = k.snapshot();
        const r = p.receive(sendOnly);
        const after = k.snapshot();
        expect(await rejection(r)).toBe('PermissionDenied');
        expectSameState(after, before, 'after a denied receive');
        const m = await p.receive(receiveCap);
        expect(m.type).toBe(7);
        p.reply(m.sender, { type: 8, data: EMPTY });
      });
      const owner = k.spawn({ name: 'owner', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'cap.recv' });
        const noReceive = p.derive(ep, ENDPOINT_RIGHTS & ~Rights.RECEIVE);
        const before = k.snapshot();
        const r = p.receive(noReceive);
        expectSameState(k.snapshot(), before, 'after the owner’s denied receive');
        expect(await rejection(r)).toBe('PermissionDenied');
        k.processCapability(p.pid, receiver.pid);
        receiveCap = p.grant(ep, receiver.pid, Rights.RECEIVE);
        await p.receive(p.createEndpoint());
      });
      const caller = k.spawn({ name: 'caller', priority: 5 }, async (p) => {
        const r = await p.call(p.connect('cap.recv'), { type: 7, data: EMPTY });
        expect(r.type).toBe(8);
        expect(r.sender).toBe(receiver.pid);
      });
      await returned(receiver, caller);
      await owner.kill();
    },
  },

  'cap.derive-subset-only': {
    checks: 'derive succeeds exactly when the new rights are a subset of the parent’s (all 256 masks against every parent subset); a failed derive changes nothing',
    async run(ctx) {
      const k = ctx.kernel({ processes: 2, endpoints: 2, capSlots: 4 });
      const h = k.spawn({ name: 'deriver' }, (p) => {
        const ep = p.createEndpoint();
        const { resource } = p.inspect(ep);
        for (let parentRights = 0; parentRights <= 0xff; parentRights++) {
          if ((parentRights & ~ENDPOINT_RIGHTS) !== 0) continue;
          const parent = p.derive(ep, parentRights);
          for (let rights = 0; rights <= 0xff; rights++) {
            const allowed = (rights & ~parentRights) === 0;
            const before = k.snapshot();
            let child = -1;
            const code = codeOf(() => (child = p.derive(parent, rights)));
            const what = `derive 0x${rights.toString(16)} from 0x${parentRights.toString(16)}`;
            if (allowed) {
              expect(code, what).toBe('ok');
              const cap = p.inspect(child);
              expect(cap.permissions).toBe(rights);
              expect(cap.resource).toBe(resource);
              p.close(child);
            } else {
              expect(code, what).toBe('PermissionDenied');
              expectSameState(k.snapshot(), before, `after refused ${what}`);
            }
          }
          p.close(parent);
        }
      });
      await returned(h);
    },
  },

  'cap.grant-requires-right': {
    checks: 'grant needs GRANT, a subset of the granter’s rights and authority over the target (a process capability with GRANT) (PermissionDenied, nothing changed), and a live target (ProcessNotFound); the granted capability works in the target',
    async run(ctx) {
      const k = ctx.kernel();
      const gone = await exitedPid(k);
      let granted = -1;
      const target = k.spawn({ name: 'target', priority: 10 }, async (p) => {
        expect(p.inspect(granted).permissions).toBe(Rights.SEND);
        // No GRANT on the granted capability: it cannot be passed on this way.
        expect(codeOf(() => p.grant(granted, p.pid, Rights.SEND))).toBe('PermissionDenied');
        const r = await p.call(granted, { type: 11, data: EMPTY });
        expect(r.type).toBe(12);
      });
      const granter = k.spawn({ name: 'granter', priority: 20 }, async (p) => {
        const ep = p.createEndpoint();
        const noGrant = p.derive(ep, Rights.SEND | Rights.RECEIVE | Rights.SHARE);
        const withGrant = p.derive(ep, Rights.SEND | Rights.GRANT);
        // No authority over the target process yet: even a GRANT capability cannot go there.
        const unauthorized = k.snapshot();
        expect(codeOf(() => p.grant(withGrant, target.pid, Rights.SEND))).toBe('PermissionDenied');
        expectSameState(k.snapshot(), unauthorized, 'after a grant without authority over the target');
        k.processCapability(p.pid, target.pid);
        const before = k.snapshot();
        expect(codeOf(() => p.grant(noGrant, target.pid, Rights.SEND))).toBe('PermissionDenied');
        expect(codeOf(() => p.grant(withGrant, target.pid, Rights.SEND | Rights.RECEIVE))).toBe('PermissionDenied');
        expect(codeOf(() => p.grant(withGrant, target.pid, Rights.ALL))).toBe('PermissionDenied');
        expect(codeOf(() => p.grant(ep, gone, Rights.SEND))).toBe('ProcessNotFound');
        expectSameState(k.snapshot(), before, 'after refused grants');
        granted = p.grant(withGrant, target.pid, Rights.SEND);
        const m = await p.receive(ep);
        expect(m.sender).toBe(target.pid);
        p.reply(m.sender, { type: m.type + 1, data: EMPTY });
      });
      await returned(target, granter);
    },
  },

  'cap.transfer-requires-share': {
    checks:
      'a message (call, send or reply) carrying a capability without SHARE fails with PermissionDenied, delivers nothing and changes nothing; with SHARE the capability arrives; a passive server answering with such a capability fails the call without leaving the request’s capabilities behind',
    async run(ctx) {
      const k = ctx.kernel();
      const log: string[] = [];
      let ownResource = -1;
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'cap.share' });
        const m = await p.receive(ep);
        log.push(`got ${m.type} with ${m.capCount} caps`);
        const cap = p.inspect(m.caps[0]!);
        expect(cap.permissions).toBe(Rights.SEND | Rights.SHARE);
        expect(cap.resource).toBe(ownResource);
        // A reply is a message too: a capability without SHARE cannot travel back.
        const caller = m.sender;
        const noShare = p.derive(ep, Rights.SEND);
        const before = k.snapshot();
        expect(codeOf(() => p.reply(caller, { type: 1, data: EMPTY, caps: [noShare] }))).toBe('PermissionDenied');
        expectSameState(k.snapshot(), before, 'after a refused reply');
        p.reply(caller, { type: 0, data: EMPTY, caps: [p.derive(ep, Rights.SEND | Rights.SHARE)] });
      });
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const ch = p.connect('cap.share');
        const own = p.createEndpoint();
        ownResource = p.inspect(own).resource;
        const noShare = p.derive(own, Rights.SEND | Rights.RECEIVE | Rights.GRANT);
        const withShare = p.derive(own, Rights.SEND | Rights.SHARE);
        const before = k.snapshot();
        for (const caps of [[noShare], [withShare, noShare], [noShare, withShare, withShare]]) {
          const call = p.call(ch, { type: 1, data: EMPTY, caps });
          expectSameState(k.snapshot(), before, 'right after a refused transfer');
          expect(await rejection(call)).toBe('PermissionDenied');
        }
        expect(await rejection(p.send(ch, { type: 1, data: EMPTY, caps: [noShare] }))).toBe('PermissionDenied');
        await p.yield();
        expect(log, 'nothing was delivered').toEqual([]);
        const r = await p.call(ch, { type: 2, data: EMPTY, caps: [withShare] });
        expect(r.type, 'the refused reply was not delivered').toBe(0);
        expect(r.capCount).toBe(1);
        expect(p.inspect(r.caps[0]!).permissions).toBe(Rights.SEND | Rights.SHARE);
        // The sender keeps its own capability.
        expect(p.validate(withShare, Rights.SEND)).toBe(true);
      });
      await returned(server, client);
      expect(log).toEqual(['got 2 with 1 caps']);

      // A passive server's handler answers with a capability it may not share: the call fails,
      // and the transfer is not half done (the request's capability does not stay behind).
      const passive = k.spawn({ name: 'passive', priority: 20 }, (p) => {
        const ep = p.createEndpoint({ name: 'cap.share.passive' });
        const noShare = p.derive(ep, Rights.SEND);
        return p.serve(ep, () => ({ type: 1, data: EMPTY, caps: [noShare] }));
      });
      const caller = k.spawn({ name: 'caller', priority: 10 }, async (p) => {
        const ch = p.connect('cap.share.passive');
        const own = p.createEndpoint();
        const share = p.derive(own, Rights.SEND | Rights.SHARE);
        const before = k.stats();
        const code = await rejection(p.call(ch, { type: 0, data: EMPTY, caps: [share] }));
        expect(code, 'the call fails').not.toBe('ok');
        const after = k.stats();
        expect(after.capabilities, `capabilities after the failed call (${code}): the request's capability stayed with the server`).toBe(before.capabilities);
        expect(after).toEqual(before);
      });
      try {
        await returned(caller);
      } finally {
        await passive.kill();
      }
    },
  },

  'cap.transfer-four-small': {
    checks: 'four capabilities travel with one small message, arrive in the receiver’s space with the sent rights and objects, and work there',
    async run(ctx) {
      const k = ctx.kernel();
      const resources: number[] = [];
      const sentRights = [Rights.SEND | Rights.SHARE, Rights.SEND | Rights.SHARE | Rights.GRANT, Rights.SEND | Rights.SHARE, Rights.SEND | Rights.SHARE | Rights.RECEIVE];
      let serverPid = 0;
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        serverPid = p.pid;
        const ep = p.createEndpoint({ name: 'cap.four' });
        const m = await p.receive(ep);
        expect(m.capCount).toBe(4);
        const got = Array.from(m.caps.subarray(0, 4));
        expect(new Set(got).size).toBe(4);
        for (let i = 0; i < 4; i++) {
          const cap = p.inspect(got[i]!);
          expect(cap.permissions, `rights of capability ${i}`).toBe(sentRights[i]);
          expect(cap.resource, `object of capability ${i}`).toBe(resources[i]);
          expect(p.validate(got[i]!, Rights.SEND)).toBe(true);
        }
        p.reply(m.sender, { type: 0, data: EMPTY });
        for (let i = 0; i < 4; i++) await p.send(got[i]!, { type: 100 + i, data: new Uint8Array([i]) });
      });
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const eps = [0, 1, 2, 3].map(() => p.createEndpoint());
        for (const ep of eps) resources.push(p.inspect(ep).resource);
        const caps = eps.map((ep, i) => p.derive(ep, sentRights[i]!));
        await p.call(p.connect('cap.four'), { type: 1, data: new Uint8Array(64).fill(0x5a), caps });
        for (let i = 0; i < 4; i++) {
          expect(p.validate(caps[i]!, Rights.SEND)).toBe(true);
          const m = await p.receive(eps[i]!);
          expect(m.type).toBe(100 + i);
          expect(m.sender).toBe(serverPid);
          expect(m.bytes[0]).toBe(i);
        }
      });
      await returned(server, client);

      // The same through a passive (serve) server, whose handler gets the capabilities directly.
      const got: Array<{ permissions: number; resource: number }> = [];
      const passive = k.spawn({ name: 'passive', priority: 20 }, (p) =>
        p.serve(p.createEndpoint({ name: 'cap.four.passive' }), (m) => {
          for (const h of m.caps.subarray(0, m.capCount)) got.push({ permissions: p.inspect(h).permissions, resource: p.inspect(h).resource });
          return { type: m.capCount, data: EMPTY };
        }),
      );
      const caller = k.spawn({ name: 'caller', priority: 10 }, async (p) => {
        resources.length = 0;
        const eps = [0, 1, 2, 3].map(() => p.createEndpoint());
        for (const ep of eps) resources.push(p.inspect(ep).resource);
        const caps = eps.map((ep, i) => p.derive(ep, sentRights[i]!));
        const ch = p.connect('cap.four.passive');
        const noShare = p.derive(eps[3]!, Rights.SEND);
        const before = k.snapshot();
        const refused = p.call(ch, { type: 1, data: EMPTY, caps: [...caps.slice(0, 3), noShare] });
        expectSameState(k.snapshot(), before, 'after a refused transfer to a passive server');
        expect(await rejection(refused)).toBe('PermissionDenied');
        expect(got, 'a refused transfer reaches no handler').toEqual([]);
        const r = await p.call(ch, { type: 1, data: EMPTY, caps });
        expect(r.type).toBe(4);
      });
      await returned(caller);
      await passive.kill();
      expect(got).toEqual(sentRights.map((permissions, i) => ({ permissions, resource: resources[i] })));
    },
  },

  'cap.revoke-kills-derived': {
    checks: 'revoke needs REVOKE; it kills every other capability to the object at once (derived, granted, in other processes: InvalidCapability) while the revoker’s survives and can grant anew',
    async run(ctx) {
      const k = ctx.kernel();
      let revoked = false;
      const caps = { a: -1, b: -1, a2: -1 };
      let oldId = 0;
      let newId = 0;
      const holder = (name: 'a' | 'b', rights: number) => async (p: Process) => {
        const h = caps[name];
        expect(p.inspect(h).permissions).toBe(rights);
        const r = await p.call(h, { type: 1, data: EMPTY });
        expect(r.type).toBe(2);
        while (!revoked) await p.yield();
        expect(p.validate(h, Rights.SEND)).toBe(false);
        expect(await rejection(p.call(h, { type: 1, data: EMPTY }))).toBe('InvalidCapability');
        expect(await rejection(p.send(h, { type: 1, data: EMPTY }))).toBe('InvalidCapability');
        if (name === 'a') {
          const again = await p.call(caps.a2, { type: 3, data: EMPTY });
          expect(again.type).toBe(4);
        }
      };
      const a = k.spawn({ name: 'a', priority: 10 }, holder('a', Rights.SEND));
      const b = k.spawn({ name: 'b', priority: 10 }, holder('b', Rights.SEND | Rights.SHARE));
      const owner = k.spawn({ name: 'owner', priority: 20 }, async (p) => {
        const ep = p.createEndpoint();
        const derived = p.derive(ep, Rights.SEND | Rights.GRANT | Rights.SHARE);
        const derived2 = p.derive(derived, Rights.SEND);
        k.processCapability(p.pid, a.pid);
        k.processCapability(p.pid, b.pid);
        caps.a = p.grant(ep, a.pid, Rights.SEND);
        caps.b = p.grant(derived, b.pid, Rights.SEND | Rights.SHARE);
        const noRevoke = p.derive(ep, ENDPOINT_RIGHTS & ~Rights.REVOKE);
        const before = k.snapshot();
        expect(codeOf(() => p.revoke(noRevoke))).toBe('PermissionDenied');
        expect(codeOf(() => p.revoke(derived))).toBe('PermissionDenied');
        expectSameState(k.snapshot(), before, 'after refused revokes');
        for (let i = 0; i < 2; i++) {
          const m = await p.receive(ep);
          p.reply(m.sender, { type: 2, data: EMPTY });
        }
        oldId = p.inspect(ep).resource;
        expect(k.lookupEndpoint(oldId)).toBe(true);
        p.revoke(ep);
        newId = p.inspect(ep).resource;
        expect(newId).not.toBe(oldId);
        expect(k.lookupEndpoint(oldId)).toBe(false);
        expect(k.lookupEndpoint(newId)).toBe(true);
        expect(p.validate(ep, ENDPOINT_RIGHTS)).toBe(true);
        for (const h of [derived, derived2, noRevoke]) {
          expect(p.validate(h, 0)).toBe(false);
          expect(codeOf(() => p.derive(h, Rights.NONE))).toBe('InvalidCapability');
        }
        expect(codeOf(() => p.grant(derived, a.pid, Rights.SEND))).toBe('InvalidCapability');
        caps.a2 = p.grant(ep, a.pid, Rights.SEND);
        revoked = true;
        const m = await p.receive(ep);
        expect(m.sender).toBe(a.pid);
        p.reply(m.sender, { type: 4, data: EMPTY });
      });
      await returned(a, b, owner);
    },
  },

  'cap.generation-never-aliases': {
    checks:
      'a closed handle never resolves again even after its slot is reused thousands of times; a reused endpoint record gets a new id and stale ids/capabilities never reach the new endpoint; 70 000 revocations (past any u16 wrap) keep the endpoint open and never bring an old generation or id back',
    timeout: 30_000,
    async run(ctx) {
      // 1. Capability slot reuse.
      const k1 = ctx.kernel({ processes: 2, endpoints: 2, capSlots: 3 });
      const slots = k1.spawn({ name: 'slots' }, (p) => {
        const ep = p.createEndpoint();
        const seen = new Set<number>();
        let previous = -1;
        for (let i = 0; i < 3000; i++) {
          const h = p.derive(ep, i % 2 ? Rights.SEND : Rights.SEND | Rights.RECEIVE);
          expect(seen.has(h), `handle 0x${h.toString(16)} reissued`).toBe(false);
          seen.add(h);
          if (previous >= 0) {
            expect(p.validate(previous, 0)).toBe(false);
            expect(codeOf(() => p.inspect(previous))).toBe('InvalidCapability');
            expect(codeOf(() => p.close(previous))).toBe('InvalidCapability');
          }
          p.close(h);
          previous = h;
        }
        const live = p.derive(ep, Rights.SEND);
        for (const h of seen) expect(p.validate(h, 0), `stale handle 0x${h.toString(16)}`).toBe(h === live);
      });
      await returned(slots);

      // 2. Endpoint record reuse: one free record, used by a new owner each round.
      const rounds = 12;
      const k2 = ctx.kernel({ processes: 4, endpoints: 2, capSlots: 32 });
      const issued: Array<{ id: number; handle: number }> = [];
      const keeper = k2.spawn({ name: 'keeper', priority: 10 }, async (p) => {
        const gate = p.createEndpoint({ name: 'gen.keeper' });
        await p.receive(gate);
        for (const { handle } of issued.slice(0, -1)) {
          expect(p.validate(handle, 0)).toBe(false);
          expect(dead(await rejection(p.call(handle, { type: 0xdead, data: EMPTY }))), 'stale capability is dead').toBe(true);
        }
        const r = await p.call(issued[rounds - 1]!.handle, { type: rounds - 1, data: EMPTY });
        expect(r.type).toBe(rounds - 1);
      });
      await settle();
      for (let round = 0; round < rounds; round++) {
        const last = round === rounds - 1;
        const owner = k2.spawn({ name: `owner${round}`, priority: 10 }, async (p) => {
          const ep = p.createEndpoint({ name: 'gen.ep' });
          const id = p.inspect(ep).resource;
          for (const old of issued) expect(k2.lookupEndpoint(old.id), 'an old id resolves while its record is reused').toBe(false);
          expect(k2.lookupEndpoint(id)).toBe(true);
          k2.processCapability(p.pid, keeper.pid);
          issued.push({ id, handle: p.grant(ep, keeper.pid, Rights.SEND) });
          if (!last) return;
          await p.send(p.connect('gen.keeper'), { type: 0, data: EMPTY });
          const m = await p.receive(ep);
          expect(m.sender).toBe(keeper.pid);
          expect(m.type, 'only the live capability reaches the new endpoint').toBe(round);
          p.reply(m.sender, { type: round, data: EMPTY });
        });
        if (!last) await returned(owner);
        else await returned(owner, keeper);
      }
      expect(new Set(issued.map((i) => i.id)).size).toBe(rounds);
      for (const { id } of issued) expect(k2.lookupEndpoint(id)).toBe(false);

      // 3. Generations do not run out: 70 000 revocations of one endpoint (past any u16 wrap).
      const k3 = ctx.kernel({ processes: 2, endpoints: 2, capSlots: 4 });
      const wrap = k3.spawn({ name: 'wrap' }, (p) => {
        const ep = p.createEndpoint();
        const first = p.derive(ep, Rights.SEND);
        const ids = new Set<number>([p.inspect(ep).resource]);
        const firstId = p.inspect(ep).resource;
        for (let revocations = 1; revocations <= 70_000; revocations++) {
          p.revoke(ep);
          const id = p.inspect(ep).resource;
          if (ids.has(id)) expect.fail(`endpoint id 0x${id.toString(16)} came back after ${revocations} revocations`);
          ids.add(id);
          if (p.validate(first, 0)) expect.fail(`a capability of the first generation resolved again after ${revocations} revocations`);
        }
        expect(p.validate(ep, Rights.REVOKE), 'the revoker keeps its capability').toBe(true);
        expect(k3.lookupEndpoint(firstId)).toBe(false);
        // A new endpoint never takes an id the revocations used.
        const fresh = p.createEndpoint();
        expect(ids.has(p.inspect(fresh).resource)).toBe(false);
        expect(p.validate(first, 0)).toBe(false);
        expect(p.validate(ep, 0)).toBe(true);
      });
      await returned(wrap);
    },
  },

  'cap.cleanup-on-exit': {
    checks: 'a process’s endpoints close and its capabilities go when it exits (returns, crashes or is killed); capabilities others hold to its endpoints die; the pools return to baseline',
    async run(ctx) {
      const k = ctx.kernel();
      const baseline = k.stats();
      let granted: number[] = [];
      let serverPid = 0;
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        serverPid = p.pid;
        const eps = [p.createEndpoint({ name: 'cap.clean' }), p.createEndpoint(), p.createEndpoint()];
        for (const ep of eps) p.derive(ep, Rights.SEND);
        const m = await p.receive(eps[0]!);
        k.processCapability(p.pid, m.sender);
        granted = [p.grant(eps[1]!, m.sender, Rights.SEND), p.grant(eps[2]!, m.sender, Rights.SEND | Rights.SHARE)];
        p.reply(m.sender, { type: 0, data: EMPTY });
      });
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const ch = p.connect('cap.clean');
        const own = p.createEndpoint();
        await p.call(ch, { type: 1, data: EMPTY });
        while (k.stats().processes > 1) await p.yield();
        expect(k.stats().endpoints, 'only the client’s own endpoint is open').toBe(1);
        expect(k.lookupName('cap.clean')).toBeUndefined();
        for (const h of [ch, ...granted]) {
          expect(p.validate(h, 0)).toBe(false);
          expect(dead(await rejection(p.call(h, { type: 2, data: EMPTY })))).toBe(true);
        }
        expect(p.validate(own, Rights.RECEIVE)).toBe(true);
      });
      await returned(server, client);
      expect(serverPid).toBe(server.pid);
      expect(k.stats()).toEqual(baseline);

      const crasher = k.spawn({ name: 'crasher' }, (p) => {
        p.derive(p.createEndpoint({ name: 'cap.crash' }), Rights.SEND);
        throw new Error('deliberate crash');
      });
      expect((await crasher.exited).reason).toBe('crashed');
      expect(k.stats()).toEqual(baseline);

      const victim = k.spawn({ name: 'victim' }, async (p) => {
        const ep = p.createEndpoint({ name: 'cap.victim' });
        p.derive(ep, Rights.SEND);
        await p.receive(ep);
      });
      await settle();
      expect(k.stats().endpoints).toBe(1);
      await victim.kill();
      expect(k.stats()).toEqual(baseline);
      expect(k.lookupName('cap.victim')).toBeUndefined();
    },
  },
};
