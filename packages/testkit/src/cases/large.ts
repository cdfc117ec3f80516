/** Conformance cases of large messages (over 64 bytes or 4 capabilities): copy-in, move-between. Zero-copy buffers: `zero-copy.ts`. */
import { MAX_LARGE_CAPS, MAX_LARGE_DATA, MessageFlags, Rights, messageCaps, messagePayload } from '@veridian/core';
import { expect } from 'vitest';
import { echoType, reversed } from '../support/bytes.js';
import { EMPTY, expectSameState, pattern, rejection, returned } from '../support/harness.js';
import { workerUrl } from '../support/worker-url.js';
import type { LandedCaseId } from '../case-ids.js';
import type { CaseSubset } from './types.js';
import type { ZeroCopyCaseId } from './zero-copy.js';

/** The `large` cases of this file; the zero-copy buffer cases are in `zero-copy.ts`. */
export const largeCases: CaseSubset<Exclude<Extract<LandedCaseId, `large.${string}`>, ZeroCopyCaseId>> = {
  'large.copy': {
    checks: 'a 100 000-byte request and reply arrive exact; the receiver owns its copy (the sender may reuse its buffer); every frame returns to the pool',
    async run(ctx) {
      const k = ctx.kernel();
      const base = k.stats();
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        const m = await p.receive(p.createEndpoint({ name: 'large.copy' }));
        expect(m.flags & MessageFlags.LARGE).toBeTruthy();
        const got = messagePayload(m);
        expect(got).toEqual(pattern(100_000, 3));
        p.reply(m.sender, { type: echoType(m.type), data: reversed(got) });
      });
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const data = pattern(100_000, 3);
        const call = p.call(p.connect('large.copy'), { type: 7, data });
        // The payload was copied into machine memory when the call was made: reusing the buffer is safe.
        data.fill(0);
        const r = await call;
        expect(r.type).toBe(echoType(7));
        expect(r.length).toBe(100_000);
        expect(messagePayload(r)).toEqual(reversed(pattern(100_000, 3)));
      });
      await returned(server, client);
      expect(k.stats()).toEqual(base);
    },
  },
  'large.caps-batch': {
    checks: 'twelve capabilities travel in one message and arrive usable; one without SHARE refuses the whole message with nothing changed',
    async run(ctx) {
      const k = ctx.kernel();
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        const m = await p.receive(p.createEndpoint({ name: 'large.caps' }));
        const caps = messageCaps(m);
        expect(caps.length).toBe(12);
        for (const h of caps) expect(p.inspect(h).permissions).toBe(Rights.SEND | Rights.SHARE);
        // The capabilities are live endpoint capabilities in the receiver's space.
        expect(p.validate(caps[0]!, Rights.SEND)).toBe(true);
        p.reply(m.sender, { type: 0, data: EMPTY });
      });
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const own = p.createEndpoint();
        const caps = Array.from({ length: 12 }, () => p.derive(own, Rights.SEND | Rights.SHARE));
        const ch = p.connect('large.caps');
        const before = k.snapshot();
        expect(await rejection(p.call(ch, { type: 0, data: EMPTY, caps: [...caps, p.derive(own, Rights.SEND)] }))).toBe('PermissionDenied');
        // The refused message left nothing: only the derive above changed the capability space.
        expect(k.snapshot().freeFrames).toBe(before.freeFrames);
        await p.call(ch, { type: 0, data: EMPTY, caps });
      });
      await returned(server, client);
    },
  },
  'large.too-large': {
    checks: 'more than 1 MiB or 64 capabilities, or a large message to a register-only endpoint, is MessageTooLarge with the kernel unchanged; exactly 1 MiB travels',
    async run(ctx) {
      const k = ctx.kernel();
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        p.createEndpoint({ name: 'large.regs', registerOnly: true });
        const m = await p.receive(p.createEndpoint({ name: 'large.max' }));
        expect(m.length).toBe(MAX_LARGE_DATA);
        p.reply(m.sender, { type: 0, data: EMPTY });
      });
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const ch = p.connect('large.max');
        const own = p.createEndpoint();
        const share = p.derive(own, Rights.SEND | Rights.SHARE);
        const before = k.snapshot();
        expect(await rejection(p.call(ch, { type: 0, data: new Uint8Array(MAX_LARGE_DATA + 1) }))).toBe('MessageTooLarge');
        expect(await rejection(p.call(ch, { type: 0, data: EMPTY, caps: Array.from({ length: MAX_LARGE_CAPS + 1 }, () => share) }))).toBe('MessageTooLarge');
        expect(await rejection(p.call(p.connect('large.regs'), { type: 0, data: new Uint8Array(65) }))).toBe('MessageTooLarge');
        const after = k.snapshot();
        expect(after.freeFrames).toBe(before.freeFrames);
        await p.call(ch, { type: 0, data: pattern(MAX_LARGE_DATA) });
      });
      await returned(server, client);
    },
  },
  'large.oom-rollback': {
    checks: 'a message needing more frames than are free, or capability slots the receiver lacks, fails with OutOfMemory and changes nothing',
    async run(ctx) {
      const k = ctx.kernel({ frames: 64, capSlots: 6 });
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'large.oom' });
        // Four of six slots used: a message with three capabilities cannot be delivered.
        p.derive(ep, Rights.SEND);
        p.derive(ep, Rights.SEND);
        p.derive(ep, Rights.SEND);
        await p.receive(ep).catch(() => undefined);
      });
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const ch = p.connect('large.oom');
        const own = p.createEndpoint();
        const caps = [0, 1, 2].map(() => p.derive(own, Rights.SEND | Rights.SHARE));
        const before = k.snapshot();
        expect(await rejection(p.call(ch, { type: 0, data: new Uint8Array(100 * 4096) }))).toBe('OutOfMemory');
        expectSameState(k.snapshot(), before, 'after running out of frames');
        expect(await rejection(p.call(ch, { type: 0, data: pattern(5000), caps }))).toBe('OutOfMemory');
        expectSameState(k.snapshot(), before, "after the receiver's capability space was full");
      });
      await returned(client);
      await k.shutdown();
      await server.exited;
    },
  },
  'large.cross-cpu': {
    checks: 'a 1 MiB message and its reply travel between the kernel CPU and a worker CPU exact, and the frames return',
    timeout: 60_000,
    async run(ctx) {
      const k = ctx.kernel();
      const base = k.stats();
      const server = k.spawnWorker(workerUrl('echo-server'), { name: 'echo', args: { name: 'large.xcpu', count: 1 } });
      await k.whenNamed('large.xcpu');
      const client = k.spawn({ name: 'client' }, async (p) => {
        const data = pattern(MAX_LARGE_DATA, 9);
        const r = await p.call(p.connect('large.xcpu'), { type: 5, data });
        expect(r.type).toBe(echoType(5));
        expect(messagePayload(r)).toEqual(reversed(data));
      });
      await returned(client, server);
      expect(k.stats()).toEqual(base);
    },
  },
};
