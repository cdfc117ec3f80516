/** Synchronous IPC cases on the kernel's own CPU: call/reply, payloads, blocking, timeouts, exits, scheduling. */
import { expect } from 'vitest';
import { IpcError, ManualClock, MessageFlags, type MessageBuffer, type Process, type ProcessHandle } from '@veridian/core';
import { echoType, reversed } from '../support/bytes.js';
import { EMPTY, codeOf, diffState, expectSameState, pattern, rejection, returned, settle, type StateDiff } from '../support/harness.js';
import { spoofingArch, type Forgery } from '../support/spoofing-arch.js';
import type { CaseTable } from './types.js';

/** The payload of a received message (a copy: buffers are reused). */
const payload = (m: MessageBuffer) => m.bytes.slice(0, m.length);

/** Asserts a received buffer holds exactly `data` and zeros after it. */
function expectPayload(m: MessageBuffer, data: Uint8Array, what: string): void {
  expect(m.length, `${what}: length`).toBe(data.length);
  expect(Array.from(m.bytes.subarray(0, m.length)), `${what}: bytes`).toEqual(Array.from(data));
  expect(
    m.bytes.subarray(m.length).every((b) => b === 0),
    `${what}: bytes past the length are zero`,
  ).toBe(true);
}

/** Only the caller's own process record may change across a failed blocking call. */
function expectOnlyCallerChanged(diff: StateDiff | undefined): void {
  expect(diff).toBeDefined();
  expect(diff!.endpoints, 'endpoint records (queues) unchanged').toBe(false);
  expect(diff!.capabilities, 'capability slots unchanged').toBe(false);
  expect(diff!.frames, 'free frames unchanged').toBe(false);
  expect(diff!.processes, 'process records changed (only the caller’s own may)').toBeLessThanOrEqual(1);
}

/** The `sync.*` cases. */
export const syncCases: CaseTable<'sync'> = {
  'sync.call-reply': {
    checks:
      'a call reaches the server with the caller as sender, CALL flag, type and payload; the reply comes back with REPLY, the server as sender; replyError, replyReceive and a passive serve() loop work the same way',
    async run(ctx) {
      const k = ctx.kernel();
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'sync.cr' });
        let m = await p.receive(ep);
        expect(m.flags).toBe(MessageFlags.CALL);
        expect(m.sender).toBe(client.pid);
        expect(m.type).toBe(5);
        expect(m.capCount).toBe(0);
        expectPayload(m, new Uint8Array([1, 2, 3]), 'request');
        p.reply(m.sender, { type: 6, data: reversed(payload(m)) });
        m = await p.receive(ep);
        p.replyError(m.sender, 'Filtered');
        m = await p.receive(ep);
        for (let i = 0; i < 3; i++) {
          expect(m.type).toBe(100 + i);
          if (i === 2) p.reply(m.sender, { type: echoType(m.type), data: payload(m) });
          else m = await p.replyReceive(m.sender, { type: echoType(m.type), data: payload(m) }, ep);
        }
      });
      const passive = k.spawn({ name: 'passive', priority: 20 }, (p) =>
        p.serve(p.createEndpoint({ name: 'sync.cr.passive' }), (m) => {
          expect(m.flags).toBe(MessageFlags.CALL);
          expect(m.sender).toBe(client.pid);
          if (m.type === 0) throw new IpcError('NotFound', 'no such thing');
          return { type: echoType(m.type), data: reversed(payload(m)) };
        }),
      );
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const ch = p.connect('sync.cr');
        const r = await p.call(ch, { type: 5, data: new Uint8Array([1, 2, 3]) });
        expect(r.flags).toBe(MessageFlags.REPLY);
        expect(r.sender).toBe(server.pid);
        expect(r.type).toBe(6);
        expect(r.capCount).toBe(0);
        expectPayload(r, new Uint8Array([3, 2, 1]), 'reply');
        expect(await rejection(p.call(ch, { type: 1, data: EMPTY }))).toBe('Filtered');
        for (let i = 0; i < 3; i++) {
          const data = pattern(i * 20, i);
          const e = await p.call(ch, { type: 100 + i, data });
          expect(e.type).toBe(echoType(100 + i));
          expectPayload(e, data, `replyReceive round ${i}`);
        }
        const pc = p.connect('sync.cr.passive');
        for (let i = 1; i <= 3; i++) {
          const data = pattern(i * 9, i);
          const e = await p.call(pc, { type: i, data });
          expect(e.flags).toBe(MessageFlags.REPLY);
          expect(e.sender).toBe(passive.pid);
          expect(e.type).toBe(echoType(i));
          expectPayload(e, reversed(data), `passive round ${i}`);
        }
        expect(await rejection(p.call(pc, { type: 0, data: EMPTY }))).toBe('NotFound');
      });
      await returned(client, server);
      await passive.kill();
    },
  },

  'sync.payload-lengths-0-64': {
    checks: 'every payload length 0..64 travels exactly both ways (bytes, length, zeros past the length), through a receive/reply server and a passive one',
    async run(ctx) {
      const k = ctx.kernel();
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'sync.len' });
        let m = await p.receive(ep);
        for (let n = 0; n <= 64; n++) {
          expectPayload(m, pattern(n, n), `request of ${n} bytes`);
          const reply = { type: n, data: reversed(payload(m)) };
          if (n === 64) p.reply(m.sender, reply);
          else m = await p.replyReceive(m.sender, reply, ep);
        }
      });
      const passive = k.spawn({ name: 'passive', priority: 20 }, (p) =>
        p.serve(p.createEndpoint({ name: 'sync.len.passive' }), (m) => {
          expectPayload(m, pattern(m.type, m.type), `passive request of ${m.type} bytes`);
          return { type: m.type, data: reversed(payload(m)) };
        }),
      );
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        for (const name of ['sync.len', 'sync.len.passive']) {
          const ch = p.connect(name);
          for (let n = 0; n <= 64; n++) {
            const r = await p.call(ch, { type: n, data: pattern(n, n) });
            expect(r.type).toBe(n);
            expectPayload(r, reversed(pattern(n, n)), `${name}: reply of ${n} bytes`);
          }
        }
      });
      await returned(client, server);
      await passive.kill();
    },
  },

  'sync.receive-blocks': {
    checks: 'receive without a timeout blocks (others run, kernel time passes) until a call arrives, then returns exactly that call',
    async run(ctx) {
      const clock = new ManualClock();
      const k = ctx.kernel({ clock });
      const log: string[] = [];
      const server = k.spawn({ name: 'server', priority: 10 }, async (p) => {
        const ep = p.createEndpoint({ name: 'sync.rb' });
        log.push('receive');
        const m = await p.receive(ep);
        log.push(`got ${m.type}`);
        expect(m.sender).toBe(client.pid);
        expectPayload(m, pattern(12), 'request');
        p.reply(m.sender, { type: 0, data: EMPTY });
      });
      const ticker = k.spawn({ name: 'ticker', priority: 10 }, async (p) => {
        for (let i = 0; i < 3; i++) {
          log.push(`tick ${i}`);
          clock.advance(1e12);
          await p.yield();
        }
      });
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const ch = p.connect('sync.rb');
        for (let i = 0; i < 4; i++) await p.yield();
        log.push('call');
        await p.call(ch, { type: 42, data: pattern(12) });
        log.push('replied');
      });
      await returned(server, ticker, client);
      expect(log.indexOf('got 42')).toBeGreaterThan(log.indexOf('call'));
      expect(log.slice(0, log.indexOf('call'))).toEqual(['receive', 'tick 0', 'tick 1', 'tick 2']);
    },
  },

  'sync.reply-once': {
    checks: 'a second reply (or replyError) to the same call, a reply to oneself or to a process not waiting on us, is InvalidState and changes nothing; the caller sees exactly one reply',
    async run(ctx) {
      const k = ctx.kernel();
      const bystander = k.spawn({ name: 'bystander', priority: 30 }, async (p) => {
        await p.receive(p.createEndpoint());
      });
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'sync.once' });
        const m = await p.receive(ep);
        const caller = m.sender;
        p.reply(caller, { type: 1, data: EMPTY });
        const before = k.snapshot();
        expect(codeOf(() => p.reply(caller, { type: 2, data: EMPTY }))).toBe('InvalidState');
        expect(codeOf(() => p.replyError(caller, 'Filtered'))).toBe('InvalidState');
        expect(codeOf(() => p.reply(p.pid, { type: 2, data: EMPTY }))).toBe('InvalidState');
        expect(codeOf(() => p.reply(bystander.pid, { type: 2, data: EMPTY }))).toBe('InvalidState');
        expectSameState(k.snapshot(), before, 'after refused replies');
        const again = await p.receive(ep);
        expect(again.sender).toBe(caller);
        p.reply(again.sender, { type: 3, data: EMPTY });
      });
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const ch = p.connect('sync.once');
        expect((await p.call(ch, { type: 0, data: EMPTY })).type).toBe(1);
        expect((await p.call(ch, { type: 0, data: EMPTY })).type, 'the second call gets its own reply, not a stale one').toBe(3);
      });
      await returned(server, client);
      await bystander.kill();
    },
  },

  'sync.true-sender': {
    checks:
      'the receiver sees the true sender pid and only kernel-set flags even when the sender claims another pid and writes forged sender/flag values into its frame registers',
    async run(ctx) {
      const forgery: Forgery = { sender: 0, forgedSenders: 0 };
      const k = ctx.kernel({ arch: spoofingArch(ctx.arch, forgery) });
      const bystander = k.spawn({ name: 'bystander', priority: 30 }, async (p) => {
        await p.receive(p.createEndpoint());
      });
      forgery.sender = bystander.pid;
      const seen: Array<{ type: number; sender: number; flags: number }> = [];
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'sync.ts' });
        for (let i = 0; i < 3; i++) {
          const m = await p.receive(ep);
          seen.push({ type: m.type, sender: m.sender, flags: m.flags });
          if (m.flags & MessageFlags.CALL) p.reply(m.sender, { type: m.type, data: EMPTY, sender: bystander.pid });
        }
      });
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const ch = p.connect('sync.ts');
        p.frame.fill(0xffffffff);
        const r = await p.call(ch, { type: 1, data: pattern(8), sender: bystander.pid });
        expect(r.sender).toBe(server.pid);
        expect(r.flags).toBe(MessageFlags.REPLY);
        await p.send(ch, { type: 2, data: EMPTY, sender: server.pid });
      });
      const other = k.spawn({ name: 'other', priority: 5 }, async (p) => {
        const r = await p.call(p.connect('sync.ts'), { type: 3, data: EMPTY, sender: client.pid });
        expect(r.sender).toBe(server.pid);
      });
      await returned(server, client, other);
      // The passive path (serve) hands the caller's registers over in place: same guarantees.
      const passiveSeen: Array<{ sender: number; flags: number }> = [];
      const passive = k.spawn({ name: 'passive', priority: 20 }, (p) =>
        p.serve(p.createEndpoint({ name: 'sync.ts.passive' }), (m) => {
          passiveSeen.push({ sender: m.sender, flags: m.flags });
          return { type: m.type, data: EMPTY, sender: bystander.pid };
        }),
      );
      const caller = k.spawn({ name: 'caller', priority: 10 }, async (p) => {
        const r = await p.call(p.connect('sync.ts.passive'), { type: 4, data: pattern(3), sender: bystander.pid });
        expect(r.sender).toBe(passive.pid);
        expect(r.flags).toBe(MessageFlags.REPLY);
      });
      await returned(caller);
      await passive.kill();
      expect(passiveSeen).toEqual([{ sender: caller.pid, flags: MessageFlags.CALL }]);
      await bystander.kill();
      if (forgery.senderSlotForgeable) expect(forgery.forgedSenders, 'frames carried a forged sender').toBeGreaterThanOrEqual(6);
      expect(seen).toEqual([
        { type: 1, sender: client.pid, flags: MessageFlags.CALL },
        { type: 2, sender: client.pid, flags: 0 },
        { type: 3, sender: other.pid, flags: MessageFlags.CALL },
      ]);
    },
  },

  'sync.message-type': {
    checks: 'the message type is a full u32 both ways (0, 1, 2^31−1, 2^31, 0xFFFFFFFE, 0xFFFFFFFF, …) for calls, replies and one-way sends',
    async run(ctx) {
      const k = ctx.kernel();
      const types = [0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x12345678, 0xdeadbeef];
      const sent: number[] = [];
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'sync.type' });
        for (let i = 0; i < types.length * 2; i++) {
          const m = await p.receive(ep);
          if (m.flags & MessageFlags.CALL) {
            expect(m.type).toBe(types[i]);
            p.reply(m.sender, { type: echoType(m.type), data: EMPTY });
          } else sent.push(m.type);
        }
      });
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const ch = p.connect('sync.type');
        for (const t of types) {
          const r = await p.call(ch, { type: t, data: EMPTY });
          expect(r.type, `reply type for 0x${t.toString(16)}`).toBe(echoType(t));
        }
        for (const t of types) await p.send(ch, { type: t, data: EMPTY });
      });
      await returned(server, client);
      expect(sent).toEqual(types);
    },
  },

  'sync.capacity-full': {
    checks: 'with `capacity` callers queued, the next call or send fails at once with ChannelFull and queues nothing; queued calls are served in order, and after they drain calls succeed again',
    async run(ctx) {
      const k = ctx.kernel();
      const order: number[] = [];
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'sync.cap', capacity: 2 });
        const ctl = p.createEndpoint({ name: 'sync.cap.ctl' });
        const go = await p.receive(ctl);
        const trigger = go.sender;
        for (let i = 0; i < 2; i++) {
          const m = await p.receive(ep);
          order.push(m.type);
          p.reply(m.sender, { type: m.type, data: EMPTY });
        }
        p.reply(trigger, { type: 0, data: EMPTY });
        const m = await p.receive(ep);
        order.push(m.type);
        p.reply(m.sender, { type: m.type, data: EMPTY });
      });
      const queued = [0, 1].map((i) =>
        k.spawn({ name: `queued${i}`, priority: 10 }, async (p) => {
          expect((await p.call(p.connect('sync.cap'), { type: i, data: EMPTY })).type).toBe(i);
        }),
      );
      const third = k.spawn({ name: 'third', priority: 10 }, async (p) => {
        const ch = p.connect('sync.cap');
        const before = k.snapshot();
        const call = p.call(ch, { type: 2, data: pattern(5) });
        const afterCall = k.snapshot();
        expect(await rejection(call)).toBe('ChannelFull');
        expectSameState(afterCall, before, 'after a call to a full channel');
        const send = p.send(ch, { type: 2, data: EMPTY });
        const afterSend = k.snapshot();
        expect(await rejection(send)).toBe('ChannelFull');
        expectSameState(afterSend, before, 'after a send to a full channel');
        await p.call(p.connect('sync.cap.ctl'), { type: 0, data: EMPTY });
        expect((await p.call(ch, { type: 22, data: EMPTY })).type).toBe(22);
      });
      await returned(server, ...queued, third);
      expect(order).toEqual([0, 1, 22]);
    },
  },

  'sync.call-timeout': {
    checks:
      'a call times out after exactly its timeout (or the endpoint default) of kernel time with Timeout, leaving no queue entry, capability, frame or inherited priority behind (snapshot); a later call is served normally',
    async run(ctx) {
      const clock = new ManualClock();
      const k = ctx.kernel({ clock });
      const phase: string[] = [];
      const diffs: StateDiff[] = [];
      const priorityAfterTimeout: number[] = [];
      let serverProc: Process | undefined;
      const server = k.spawn({ name: 'server', priority: 10 }, async (p) => {
        serverProc = p;
        const ep = p.createEndpoint({ name: 'sync.to' });
        p.createEndpoint({ name: 'sync.to.default', timeout: 5000 });
        await p.sleep(1e9);
        const m = await p.receive(ep);
        expect(m.type, 'the timed-out call left nothing queued').toBe(2);
        p.reply(m.sender, { type: 3, data: EMPTY });
      });
      await settle();
      const serverPriority = () => serverProc!.priority;
      const client = k.spawn({ name: 'client', priority: 25 }, async (p) => {
        const ch = p.connect('sync.to');
        const chDefault = p.connect('sync.to.default');
        let before = k.snapshot();
        phase.push('call 1');
        expect(await rejection(p.call(ch, { type: 1, data: pattern(10) }, { timeout: 1000 }))).toBe('Timeout');
        phase.push('timeout 1');
        priorityAfterTimeout.push(serverPriority());
        diffs.push(diffState(k, k.snapshot(), before));
        before = k.snapshot();
        phase.push('call 2');
        expect(await rejection(p.call(chDefault, { type: 1, data: EMPTY }))).toBe('Timeout');
        phase.push('timeout 2');
        priorityAfterTimeout.push(serverPriority());
        diffs.push(diffState(k, k.snapshot(), before));
        expect((await p.call(ch, { type: 2, data: EMPTY })).type).toBe(3);
        phase.push('replied');
      });
      await settle();
      expect(phase).toEqual(['call 1']);
      expect(serverPriority(), 'the waiting caller lends the server its priority').toBe(25);
      clock.advance(999);
      await settle();
      expect(phase, 'still waiting 1 ns before the timeout').toEqual(['call 1']);
      clock.advance(1);
      await settle();
      expect(phase).toEqual(['call 1', 'timeout 1', 'call 2']);
      clock.advance(4999);
      await settle();
      expect(phase, 'endpoint default timeout not reached yet').toEqual(['call 1', 'timeout 1', 'call 2']);
      clock.advance(1);
      await settle();
      expect(phase).toEqual(['call 1', 'timeout 1', 'call 2', 'timeout 2']);
      clock.advance(1e9);
      await returned(server, client);
      expect(priorityAfterTimeout, 'server priority after each timed-out call (base 10: the caller no longer waits)').toEqual([10, 10]);
      expect(diffs).toHaveLength(2);
      for (const d of diffs) expectOnlyCallerChanged(d);
    },
  },

  'sync.receive-timeout': {
    checks: 'a receive times out after exactly its timeout with Timeout and leaves no receiver queued; a message before the deadline is received and no timeout fires later',
    async run(ctx) {
      const clock = new ManualClock();
      const k = ctx.kernel({ clock });
      const phase: string[] = [];
      let diff: StateDiff | undefined;
      const server = k.spawn({ name: 'server', priority: 10 }, async (p) => {
        const ep = p.createEndpoint({ name: 'sync.rto' });
        const before = k.snapshot();
        phase.push('receive 1');
        expect(await rejection(p.receive(ep, { timeout: 1000 }))).toBe('Timeout');
        diff = diffState(k, k.snapshot(), before);
        phase.push('timeout 1');
        const m = await p.receive(ep, { timeout: 1e6 });
        phase.push(`got ${m.type}`);
        p.reply(m.sender, { type: 0, data: EMPTY });
        const m2 = await p.receive(ep);
        phase.push(`got ${m2.type}`);
        p.reply(m2.sender, { type: 0, data: EMPTY });
      });
      await settle();
      expect(phase).toEqual(['receive 1']);
      clock.advance(999);
      await settle();
      expect(phase).toEqual(['receive 1']);
      clock.advance(1);
      await settle();
      expect(phase).toEqual(['receive 1', 'timeout 1']);
      const call = (type: number, delay: number) =>
        k.spawn({ name: `client${type}`, priority: 10 }, async (p) => {
          if (delay) await p.sleep(delay);
          await p.call(p.connect('sync.rto'), { type, data: EMPTY });
        });
      const c1 = call(1, 5000);
      await settle();
      clock.advance(5000);
      await settle();
      expect(phase).toEqual(['receive 1', 'timeout 1', 'got 1']);
      clock.advance(2e6);
      await settle();
      expect(phase, 'no late timeout after the message arrived').toEqual(['receive 1', 'timeout 1', 'got 1']);
      const c2 = call(2, 0);
      await returned(server, c1, c2);
      expect(phase).toEqual(['receive 1', 'timeout 1', 'got 1', 'got 2']);
      expectOnlyCallerChanged(diff);
    },
  },

  'sync.server-exit-wakes-callers': {
    checks: 'when a server returns or is killed, the caller awaiting its reply and every queued caller fail with ChannelClosed; the pools return to baseline',
    async run(ctx) {
      const k = ctx.kernel();
      const baseline = k.stats();
      for (const how of ['returns', 'killed'] as const) {
        const name = `sync.sx.${how}`;
        const codes: Record<string, string> = {};
        const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
          const ep = p.createEndpoint({ name });
          const ctl = p.createEndpoint({ name: `${name}.ctl` });
          if (how === 'returns') {
            const go = await p.receive(ctl);
            p.reply(go.sender, { type: 0, data: EMPTY });
            expect((await p.receive(ep)).type).toBe(0);
            return;
          }
          expect((await p.receive(ep)).type).toBe(0);
          await p.receive(ctl);
        });
        const callers: ProcessHandle[] = ['held', 'queued1', 'queued2'].map((who, i) =>
          k.spawn({ name: who, priority: 10 }, async (p) => {
            codes[who] = await rejection(p.call(p.connect(name), { type: i, data: EMPTY }));
          }),
        );
        const others: ProcessHandle[] = [];
        if (how === 'returns') {
          others.push(k.spawn({ name: 'trigger', priority: 5 }, (p) => p.call(p.connect(`${name}.ctl`), { type: 0, data: EMPTY }).then(() => undefined)));
          await returned(server, ...others);
        } else {
          await settle();
          expect(codes, 'callers still waiting before the kill').toEqual({});
          await server.kill();
        }
        await returned(...callers);
        expect(codes, `server ${how}`).toEqual({ held: 'ChannelClosed', queued1: 'ChannelClosed', queued2: 'ChannelClosed' });
        expect(k.stats()).toEqual(baseline);
      }
    },
  },

  'sync.client-exit-before-reply': {
    checks:
      'when the caller is killed before the reply, the server’s reply and replyError fail with ProcessNotFound and change nothing; a killed queued caller leaves the queue; inherited priority follows the callers still waiting',
    async run(ctx) {
      const clock = new ManualClock();
      const k = ctx.kernel({ clock });
      const baseline = k.stats();
      const priorities: number[] = [];
      let later: ProcessHandle | undefined;
      const server = k.spawn({ name: 'server', priority: 10 }, async (p) => {
        const ep = p.createEndpoint({ name: 'sync.ce' });
        const m = await p.receive(ep);
        const caller = m.sender;
        priorities.push(p.priority);
        await p.sleep(1000);
        priorities.push(p.priority);
        const before = k.snapshot();
        expect(codeOf(() => p.reply(caller, { type: 1, data: EMPTY }))).toBe('ProcessNotFound');
        expect(codeOf(() => p.replyError(caller, 'Filtered'))).toBe('ProcessNotFound');
        expectSameState(k.snapshot(), before, 'after replies to an exited caller');
        const next = await p.receive(ep);
        expect(next.sender, 'the killed queued caller left the queue').toBe(later!.pid);
        expect(next.type).toBe(2);
        p.reply(next.sender, { type: 0, data: EMPTY });
        priorities.push(p.priority);
      });
      await settle();
      const call = (name: string, priority: number, type: number) =>
        k.spawn({ name, priority }, async (p) => {
          await p.call(p.connect('sync.ce'), { type, data: EMPTY });
        });
      const client = call('client', 25, 0);
      await settle();
      expect(priorities).toEqual([25]);
      const queued = call('queued', 22, 1);
      later = call('later', 15, 2);
      await settle();
      expect((await client.kill()).reason).toBe('killed');
      expect((await queued.kill()).reason).toBe('killed');
      clock.advance(1000);
      await returned(server, later);
      expect(priorities, 'inherited 25 from the caller; 15 once only the later caller waits; base 10 after').toEqual([25, 15, 10]);
      expect(k.stats()).toEqual(baseline);
    },
  },

  'sync.priority-order': {
    checks: 'queued callers are served highest priority first, FIFO among equal priorities, whatever their arrival order',
    async run(ctx) {
      const k = ctx.kernel();
      const arrival = [5, 5, 20, 10, 20, 10, 1, 20];
      const served: number[] = [];
      const server = k.spawn({ name: 'server', priority: 1 }, async (p) => {
        const ep = p.createEndpoint({ name: 'sync.po' });
        const ctl = p.createEndpoint({ name: 'sync.po.ctl' });
        const driver = (await p.receive(ctl)).sender;
        for (let i = 0; i < arrival.length; i++) {
          const m = await p.receive(ep);
          served.push(m.type);
          p.reply(m.sender, { type: 0, data: EMPTY });
        }
        p.reply(driver, { type: 0, data: EMPTY });
      });
      const callers = arrival.map((priority, i) =>
        k.spawn({ name: `caller${i}`, priority }, async (p) => {
          await p.receive(p.createEndpoint({ name: `sync.po.gate${i}` }));
          await p.call(p.connect('sync.po'), { type: i, data: EMPTY });
        }),
      );
      // Lowest priority: each release lets the released caller run (and queue) before the next.
      const driver = k.spawn({ name: 'driver', priority: 0 }, async (p) => {
        for (let i = 0; i < arrival.length; i++) {
          await p.send(p.connect(`sync.po.gate${i}`), { type: 0, data: EMPTY });
          await p.yield();
        }
        await p.call(p.connect('sync.po.ctl'), { type: 0, data: EMPTY });
      });
      await returned(server, driver, ...callers);
      const expected = arrival.map((prio, i) => ({ prio, i })).sort((a, b) => b.prio - a.prio || a.i - b.i);
      expect(served).toEqual(expected.map((e) => e.i));
    },
  },

  'sync.priority-inheritance': {
    checks:
      'a low-priority server busy for a low caller runs at a high caller’s priority as soon as the high caller waits on it, ahead of a CPU-bound medium process, and drops back to its base priority after replying',
    async run(ctx) {
      const k = ctx.kernel();
      const log: string[] = [];
      const LOW = 1;
      const HIGH = 2;
      const server = k.spawn({ name: 'server', priority: 1 }, async (p) => {
        const ep = p.createEndpoint({ name: 'sync.pi' });
        for (let served = 0; served < 2; served++) {
          const m = await p.receive(ep);
          if (m.type === LOW) {
            for (let chunk = 0; chunk < 4; chunk++) {
              log.push(`S:low:${chunk}:${p.priority}`);
              await p.yield();
            }
          } else log.push(`S:high:${p.priority}`);
          p.reply(m.sender, { type: m.type, data: EMPTY });
        }
        log.push(`S:end:${p.priority}`);
      });
      const high = k.spawn({ name: 'high', priority: 20 }, async (p) => {
        await p.receive(p.createEndpoint({ name: 'sync.pi.high' }));
        log.push('H:call');
        await p.call(p.connect('sync.pi'), { type: HIGH, data: EMPTY });
        log.push('H:done');
      });
      const medium = k.spawn({ name: 'medium', priority: 10 }, async (p) => {
        await p.receive(p.createEndpoint({ name: 'sync.pi.medium' }));
        for (let i = 0; i < 8; i++) {
          log.push(`M:${i}`);
          if (i === 1) await p.send(p.connect('sync.pi.high'), { type: 0, data: EMPTY });
          await p.yield();
        }
      });
      await settle();
      const low = k.spawn({ name: 'low', priority: 2 }, async (p) => {
        await p.send(p.connect('sync.pi.medium'), { type: 0, data: EMPTY });
        await p.call(p.connect('sync.pi'), { type: LOW, data: EMPTY });
        log.push('L:done');
      });
      await returned(server, high, medium, low);
      const at = (entry: string) => {
        const i = log.indexOf(entry);
        expect(i, `${entry} in ${log.join(', ')}`).toBeGreaterThanOrEqual(0);
        return i;
      };
      const hCall = at('H:call');
      const hDone = at('H:done');
      expect(at('M:1')).toBeLessThan(hCall);
      const during = log.slice(hCall, hDone);
      expect(
        during.filter((e) => e.startsWith('M:')),
        `medium ran while high waited: ${log.join(', ')}`,
      ).toEqual([]);
      const serverDuring = during.filter((e) => e.startsWith('S:low') || e.startsWith('S:high'));
      expect(serverDuring.length, `the server finished low’s work and served high: ${log.join(', ')}`).toBeGreaterThanOrEqual(2);
      for (const e of serverDuring) expect(e.endsWith(':20'), `server at high’s priority: ${e}`).toBe(true);
      expect(log.filter((e) => e.startsWith('S:high'))).toEqual(['S:high:20']);
      expect(log[0], 'the server inherits the low caller’s priority').toBe('S:low:0:2');
      expect(log).toContain('S:end:1');
      expect(log.filter((e) => e.startsWith('M:'))).toHaveLength(8);
    },
  },

  'sync.direct-switch': {
    checks:
      'a call to a server waiting in receive runs that server next, before another ready process of equal priority; with a passive serve() server the caller also gets its reply before that process runs',
    async run(ctx) {
      const k = ctx.kernel();
      const log: string[] = [];
      const server = k.spawn({ name: 'server', priority: 10 }, async (p) => {
        const m = await p.receive(p.createEndpoint({ name: 'sync.ds' }));
        log.push('server');
        p.reply(m.sender, { type: 0, data: EMPTY });
      });
      await settle();
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const ch = p.connect('sync.ds');
        log.push('call');
        await p.call(ch, { type: 0, data: EMPTY });
        log.push('back');
      });
      const other = k.spawn({ name: 'other', priority: 10 }, () => {
        log.push('other');
      });
      await returned(server, client, other);
      expect(log.slice(0, 2)).toEqual(['call', 'server']);
      expect(log.indexOf('other')).toBeGreaterThan(log.indexOf('server'));

      const passiveLog: string[] = [];
      const passive = k.spawn({ name: 'passive', priority: 10 }, (p) =>
        p.serve(p.createEndpoint({ name: 'sync.ds.passive' }), (m) => {
          passiveLog.push('handler');
          return { type: m.type, data: EMPTY };
        }),
      );
      await settle();
      const client2 = k.spawn({ name: 'client2', priority: 10 }, async (p) => {
        const ch = p.connect('sync.ds.passive');
        passiveLog.push('call');
        await p.call(ch, { type: 0, data: EMPTY });
        passiveLog.push('back');
      });
      const other2 = k.spawn({ name: 'other2', priority: 10 }, () => {
        passiveLog.push('other');
      });
      await returned(client2, other2);
      await passive.kill();
      expect(passiveLog).toEqual(['call', 'handler', 'back', 'other']);
    },
  },
};
