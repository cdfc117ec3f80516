/** Process cases: worker CPUs, cross-CPU calls, killing mid-call, memory back on exit. */
import { expect } from 'vitest';
import { Rights, type MessageBuffer } from '@veridian/core';
import { echoType, pattern, reversed } from '../support/bytes.js';
import { EMPTY, rejection, returned, settle, within } from '../support/harness.js';
import { workerUrl } from '../support/worker-url.js';
import type { EchoClientArgs } from '../workers/echo-client.js';
import type { EchoServerArgs } from '../workers/echo-server.js';
import type { CaseTable } from './types.js';

/** Generous wall-clock bound for things that involve worker threads (start-up included). */
const WORKER_BOUND_MS = 10_000;

/** The `proc.*` cases. */
export const procCases: CaseTable<'proc'> = {
  'proc.spawn-worker': {
    checks: 'a worker process runs on its own CPU with its own pid, answers calls as that pid, returns normally; a crashing worker is reported as crashed; both leave the pools at baseline',
    timeout: 30_000,
    async run(ctx) {
      const k = ctx.kernel();
      const baseline = k.stats();
      const a = k.spawnWorker(workerUrl('identity-server'), { name: 'ident-a', args: { name: 'proc.id.a' } });
      const b = k.spawnWorker(workerUrl('identity-server'), { name: 'ident-b', args: { name: 'proc.id.b' } });
      expect(a.cpu).toBeGreaterThan(0);
      expect(b.cpu).toBeGreaterThan(0);
      expect(a.cpu).not.toBe(b.cpu);
      expect(a.pid).not.toBe(b.pid);
      await within(WORKER_BOUND_MS, 'worker endpoints', Promise.all([k.whenNamed('proc.id.a'), k.whenNamed('proc.id.b')]));
      const client = k.spawn({ name: 'client' }, async (p) => {
        for (const [w, name] of [
          [a, 'proc.id.a'],
          [b, 'proc.id.b'],
        ] as const) {
          const r = await p.call(p.connect(name), { type: 0xffffffff, data: EMPTY });
          expect(r.sender).toBe(w.pid);
          expect(r.type).toBe(0xffffffff);
          expect(r.length).toBe(8);
          const view = new DataView(r.bytes.buffer, r.bytes.byteOffset, 8);
          expect(view.getUint32(0, true), 'pid the worker sees for itself').toBe(w.pid);
          expect(view.getUint32(4, true), 'CPU the worker runs on').toBe(w.cpu);
        }
      });
      await returned(client);
      await within(WORKER_BOUND_MS, 'worker exits', returned(a, b));
      expect(k.stats()).toEqual(baseline);

      const crash = k.spawnWorker(workerUrl('crash'), { name: 'crash' });
      const exit = await within(WORKER_BOUND_MS, 'crashed worker exit', crash.exited);
      expect(exit.reason).toBe('crashed');
      expect(String(exit.error)).toContain('deliberate failure');
      expect(k.lookupName('crash.ep')).toBeUndefined();
      expect(k.stats()).toEqual(baseline);
    },
  },

  'proc.worker-call-reply': {
    checks: 'calls cross CPUs with exact payloads (0..64 bytes), types and true senders: a main-CPU client against a worker server, a worker client against a worker server, and a worker client against main-CPU servers (receive/reply and passive serve)',
    timeout: 30_000,
    async run(ctx) {
      const k = ctx.kernel();
      const baseline = k.stats();
      const count = 260;
      const server = k.spawnWorker(workerUrl('echo-server'), { name: 'echo', args: { name: 'proc.echo', count } satisfies EchoServerArgs });
      await within(WORKER_BOUND_MS, 'echo server endpoint', k.whenNamed('proc.echo'));
      const client = k.spawn({ name: 'client' }, async (p) => {
        const ch = p.connect('proc.echo');
        for (let i = 0; i < count; i++) {
          const n = i % 65;
          const type = i % 2 ? 0xffffffff - i : i;
          const data = pattern(n, i);
          const r = await p.call(ch, { type, data });
          expect(r.sender).toBe(server.pid);
          expect(r.type).toBe(echoType(type));
          expect(r.length).toBe(n);
          expect(Array.from(r.bytes.subarray(0, n))).toEqual(Array.from(reversed(data)));
        }
      });
      await within(WORKER_BOUND_MS, 'main-CPU client against a worker server', returned(client, server));

      const server2 = k.spawnWorker(workerUrl('echo-server'), { name: 'echo2', args: { name: 'proc.echo2', count: 500 } satisfies EchoServerArgs });
      await within(WORKER_BOUND_MS, 'second echo server endpoint', k.whenNamed('proc.echo2'));
      const client2 = k.spawnWorker(workerUrl('echo-client'), {
        name: 'echo-client',
        args: { name: 'proc.echo2', count: 500, serverPid: server2.pid } satisfies EchoClientArgs,
      });
      expect(client2.cpu).not.toBe(server2.cpu);
      await within(WORKER_BOUND_MS, 'worker client against a worker server', returned(client2, server2));

      // A worker client against servers on the kernel's own CPU: receive/reply, and passive serve().
      for (const style of ['receive', 'serve'] as const) {
        const name = `proc.main.${style}`;
        const calls = 300;
        const answer = (m: MessageBuffer) => ({ type: echoType(m.type), data: reversed(m.bytes.subarray(0, m.length)) });
        const main = k.spawn({ name: `main-${style}` }, async (p) => {
          const ep = p.createEndpoint({ name });
          if (style === 'serve') return p.serve(ep, answer);
          let m = await p.receive(ep);
          for (let i = 1; i < calls; i++) m = await p.replyReceive(m.sender, answer(m), ep);
          p.reply(m.sender, answer(m));
        });
        await within(WORKER_BOUND_MS, `${style} server endpoint`, k.whenNamed(name));
        const worker = k.spawnWorker(workerUrl('echo-client'), { name: `client-${style}`, args: { name, count: calls, serverPid: main.pid } satisfies EchoClientArgs });
        await within(WORKER_BOUND_MS, `worker client against a main-CPU ${style} server`, returned(worker));
        if (style === 'serve') await main.kill();
        else await returned(main);
      }
      expect(k.stats()).toEqual(baseline);
    },
  },

  'proc.kill-mid-call': {
    checks: 'killing a worker server that holds a call (parked in the kernel, or spinning in its own code) wakes the waiting client with ChannelClosed or ProcessNotFound in bounded time; the pools return to baseline',
    timeout: 40_000,
    async run(ctx) {
      const k = ctx.kernel();
      const baseline = k.stats();
      for (const busy of [false, true]) {
        const name = `proc.hold.${busy ? 'busy' : 'parked'}`;
        const server = k.spawnWorker(workerUrl('hold-server'), { name: 'hold', args: { name, signal: `${name}.held`, busy } });
        await within(WORKER_BOUND_MS, 'hold server endpoint', k.whenNamed(name));
        let code = '';
        const client = k.spawn({ name: 'client' }, async (p) => {
          code = await rejection(p.call(p.connect(name), { type: 1, data: pattern(16) }));
        });
        await within(WORKER_BOUND_MS, 'the server holding the call', k.whenNamed(`${name}.held`));
        await settle();
        expect(code, 'the client is still waiting').toBe('');
        const exit = await within(WORKER_BOUND_MS, `kill of a ${busy ? 'spinning' : 'parked'} server`, server.kill());
        expect(exit.reason).toBe('killed');
        await within(WORKER_BOUND_MS, 'the client waking up', returned(client));
        expect(['ChannelClosed', 'ProcessNotFound']).toContain(code);
        expect(k.lookupName(name)).toBeUndefined();
        expect(k.stats()).toEqual(baseline);
      }
    },
  },

  'proc.exit-frees-memory': {
    checks: 'a process uses frames while alive; after it returns, crashes or is killed (main CPU or worker), frames, records and capabilities are all back to baseline, with no drift over many rounds',
    timeout: 30_000,
    async run(ctx) {
      const k = ctx.kernel();
      const baseline = k.stats();
      let used = 0;
      for (let round = 0; round < 25; round++) {
        const h = k.spawn({ name: `p${round}` }, (p) => {
          used = Math.max(used, k.stats().usedFrames);
          const a = p.createEndpoint({ name: `proc.mem.${round}` });
          const b = p.createEndpoint();
          p.derive(a, Rights.SEND);
          p.derive(b, Rights.SEND | Rights.SHARE);
          p.grant(a, p.pid, Rights.SEND);
          if (round % 5 === 4) throw new Error('deliberate crash');
        });
        const exit = await h.exited;
        expect(exit.reason).toBe(round % 5 === 4 ? 'crashed' : 'returned');
        expect(k.stats(), `after round ${round}`).toEqual(baseline);
      }
      expect(used, 'a live process occupies frames').toBeGreaterThan(baseline.usedFrames);

      const blocked = k.spawn({ name: 'blocked' }, async (p) => {
        await p.receive(p.createEndpoint());
      });
      await settle();
      expect(k.stats().usedFrames).toBeGreaterThan(baseline.usedFrames);
      await blocked.kill();
      expect(k.stats()).toEqual(baseline);

      const w = k.spawnWorker(workerUrl('identity-server'), { name: 'worker', args: { name: 'proc.mem.w' } });
      await within(WORKER_BOUND_MS, 'worker endpoint', k.whenNamed('proc.mem.w'));
      expect(k.stats().usedFrames).toBeGreaterThan(baseline.usedFrames);
      const client = k.spawn({ name: 'client' }, async (p) => {
        await p.call(p.connect('proc.mem.w'), { type: 0, data: EMPTY });
      });
      await within(WORKER_BOUND_MS, 'worker round trip', returned(client, w));
      expect(k.stats()).toEqual(baseline);
    },
  },
};
