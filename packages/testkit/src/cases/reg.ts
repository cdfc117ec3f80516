/** Registry cases: lookup by id, stale ids, names, cleanup. */
import { expect } from 'vitest';
import { Rights } from '@veridian/core';
import { EMPTY, codeOf, expectSameState, rejection, returned, settle } from '../support/harness.js';
import type { CaseTable } from './types.js';

/** Ids that can never name an endpoint. */
const MALFORMED_IDS = [0, -1, -0x10001, 0.5, 0x10000 + 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, -(2 ** 31)];

/** The `reg.*` cases. */
export const regCases: CaseTable<'reg'> = {
  'reg.lookup': {
    checks: 'every open endpoint’s id resolves (by index and generation) and names it; ids are distinct; ids never issued and malformed ids do not resolve',
    async run(ctx) {
      const k = ctx.kernel({ endpoints: 24, capSlots: 64 });
      const ids: number[] = [];
      const h = k.spawn({ name: 'registrar' }, (p) => {
        for (let i = 0; i < 24; i++) {
          const ep = p.createEndpoint({ name: `reg.${i}` });
          expect(p.validate(ep, Rights.SEND | Rights.RECEIVE)).toBe(true);
          ids.push(p.inspect(ep).resource);
        }
        expect(new Set(ids).size).toBe(ids.length);
        for (let i = 0; i < ids.length; i++) {
          expect(k.lookupEndpoint(ids[i]!), `id of endpoint ${i}`).toBe(true);
          expect(k.lookupName(`reg.${i}`)).toBe(ids[i]);
          // The same capability, obtained by name, names the same object.
          expect(p.inspect(p.connect(`reg.${i}`)).resource).toBe(ids[i]);
        }
        const issued = new Set(ids);
        for (const id of MALFORMED_IDS) expect(k.lookupEndpoint(id), `malformed id ${id}`).toBe(false);
        let probes = 0;
        for (let id = 1; probes < 2000 && id < 0x400000; id += 97) {
          if (issued.has(id)) continue;
          probes++;
          expect(k.lookupEndpoint(id), `never-issued id 0x${id.toString(16)}`).toBe(false);
        }
      });
      await returned(h);
    },
  },

  'reg.stale-id-rejected': {
    checks: 'the id of a closed or revoked endpoint never resolves again, also after its record is reused; a stale pid is ProcessNotFound for grant and reply even after its record is reused',
    async run(ctx) {
      const k = ctx.kernel({ processes: 3, endpoints: 1, capSlots: 8 });
      const ids: number[] = [];
      for (let i = 0; i < 4; i++) {
        const owner = k.spawn({ name: `owner${i}` }, (p) => {
          const ep = p.createEndpoint();
          const id = p.inspect(ep).resource;
          for (const old of ids) expect(k.lookupEndpoint(old), `stale id 0x${old.toString(16)}`).toBe(false);
          expect(k.lookupEndpoint(id)).toBe(true);
          ids.push(id);
          p.revoke(ep);
          expect(k.lookupEndpoint(id), 'id of a revoked generation').toBe(false);
          ids.push(p.inspect(ep).resource);
          expect(k.lookupEndpoint(p.inspect(ep).resource)).toBe(true);
        });
        await returned(owner);
        for (const id of ids) expect(k.lookupEndpoint(id)).toBe(false);
      }
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of MALFORMED_IDS) expect(k.lookupEndpoint(id)).toBe(false);

      // Process ids: with two records, each short-lived process reuses the same record; an old
      // pid must never name the new process.
      const k2 = ctx.kernel({ processes: 2, endpoints: 8, capSlots: 16 });
      const pids: number[] = [];
      const checker = k2.spawn({ name: 'checker', priority: 10 }, async (p) => {
        const ep = p.createEndpoint();
        for (let round = 0; round < 6; round++) {
          const live = k2.spawn({ name: `live${round}`, priority: 10 }, async (q) => {
            await q.call(q.connect(`reg.checker${round}`), { type: round, data: EMPTY });
          });
          const named = p.createEndpoint({ name: `reg.checker${round}` });
          const m = await p.receive(named);
          expect(m.sender).toBe(live.pid);
          expect(pids).not.toContain(live.pid);
          for (const old of pids) {
            const before = k2.snapshot();
            expect(codeOf(() => p.grant(ep, old, Rights.SEND)), `grant to stale pid ${old}`).toBe('ProcessNotFound');
            expect(codeOf(() => p.reply(old, { type: 0, data: EMPTY })), `reply to stale pid ${old}`).toBe('ProcessNotFound');
            expectSameState(k2.snapshot(), before, 'after stale-pid syscalls');
          }
          p.reply(m.sender, { type: 0, data: EMPTY });
          pids.push(live.pid);
          while (k2.stats().processes > 1) await p.yield();
        }
      });
      await returned(checker);
    },
  },

  'reg.named-lookup': {
    checks: 'a named endpoint is found by name (lookupName, whenNamed, connect gives a SEND-only capability to it); unknown names are NotFound; duplicate and malformed names are refused without changing anything',
    async run(ctx) {
      const k = ctx.kernel();
      let id = 0;
      const owner = k.spawn({ name: 'owner', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'reg.svc' });
        id = p.inspect(ep).resource;
        expect(k.lookupName('reg.svc')).toBe(id);
        const max = 'x'.repeat(32);
        const utf8 = 'é'.repeat(16);
        p.createEndpoint({ name: max });
        p.createEndpoint({ name: utf8 });
        expect(k.lookupName(max)).toBeDefined();
        expect(k.lookupName(utf8)).toBeDefined();
        const before = k.snapshot();
        expect(codeOf(() => p.createEndpoint({ name: 'reg.svc' }))).toBe('AlreadyExists');
        expect(codeOf(() => p.createEndpoint({ name: '' }))).toBe('InvalidArgument');
        expect(codeOf(() => p.createEndpoint({ name: 'y'.repeat(33) }))).toBe('InvalidArgument');
        expect(codeOf(() => p.createEndpoint({ name: 'é'.repeat(17) }))).toBe('InvalidArgument');
        expectSameState(k.snapshot(), before, 'after refused names');
        const m = await p.receive(ep);
        p.reply(m.sender, { type: m.type, data: EMPTY });
      });
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        expect(await k.whenNamed('reg.svc')).toBe(id);
        const before = k.snapshot();
        expect(codeOf(() => p.createEndpoint({ name: 'reg.svc' }))).toBe('AlreadyExists');
        expect(codeOf(() => p.connect('reg.none'))).toBe('NotFound');
        expectSameState(k.snapshot(), before, 'after a refused name and an unknown lookup');
        expect(k.lookupName('reg.none')).toBeUndefined();
        const ch = p.connect('reg.svc');
        const cap = p.inspect(ch);
        expect(cap.permissions).toBe(Rights.SEND);
        expect(cap.resource).toBe(id);
        expect(await rejection(p.receive(ch))).toBe('PermissionDenied');
        const r = await p.call(ch, { type: 77, data: EMPTY });
        expect(r.type).toBe(77);
      });
      await returned(client);
      await owner.exited;
    },
  },

  'reg.cleanup-on-exit': {
    checks: 'names are freed when their owner exits or is killed: lookups fail, connect is NotFound, and the name can be registered again under a new id',
    async run(ctx) {
      const k = ctx.kernel();
      const oldIds: number[] = [];
      const first = k.spawn({ name: 'first' }, (p) => {
        oldIds.push(p.inspect(p.createEndpoint({ name: 'reg.a' })).resource, p.inspect(p.createEndpoint({ name: 'reg.b' })).resource);
      });
      await returned(first);
      expect(k.lookupName('reg.a')).toBeUndefined();
      expect(k.lookupName('reg.b')).toBeUndefined();
      for (const id of oldIds) expect(k.lookupEndpoint(id)).toBe(false);

      const second = k.spawn({ name: 'second' }, async (p) => {
        expect(codeOf(() => p.connect('reg.a'))).toBe('NotFound');
        const ep = p.createEndpoint({ name: 'reg.a' });
        const id = p.inspect(ep).resource;
        expect(oldIds).not.toContain(id);
        expect(k.lookupName('reg.a')).toBe(id);
        await p.receive(ep);
      });
      await settle();
      expect(k.lookupName('reg.a')).toBeDefined();
      await second.kill();
      expect(k.lookupName('reg.a')).toBeUndefined();
      expect(k.stats().endpoints).toBe(0);

      const third = k.spawn({ name: 'third' }, (p) => {
        expect(codeOf(() => p.connect('reg.a'))).toBe('NotFound');
        p.createEndpoint({ name: 'reg.a' });
        p.createEndpoint({ name: 'reg.b' });
      });
      await returned(third);
      expect(k.stats().endpoints).toBe(0);
    },
  },
};
