/** Conformance cases of asynchronous channels: lock-free rings, batches, overflow policies, cross-CPU wake-ups. */
import { IpcError, Rights, SharedBuffer, createMessageBuffer, type Kernel, type Process, type ProcessHandle } from '@veridian/core';
import { expect } from 'vitest';
import { codeOf, pattern, rejection, returned, settle } from '../support/harness.js';
import { workerUrl } from '../support/worker-url.js';
import type { CaseTable } from './types.js';

const msg = (type: number, n = 4) => ({ type, data: pattern(n, type) });

/** Runs `body` as one CPU-0 process. */
async function one(k: Kernel, body: (p: Process) => Promise<void> | void): Promise<void> {
  await returned(k.spawn({ name: 'async' }, body));
}

/** Types received from `ch` until it is empty. */
function drain(ch: ReturnType<Process['channel']>): number[] {
  const out: number[] = [];
  for (let m = ch.tryReceive(); m; m = ch.tryReceive()) out.push(m.type);
  return out;
}

/**
 * Worker producers granted SEND on a channel (or topic) owned by a CPU-0 process `owner` creates;
 * `consume` runs in the owner. Returns once every process has returned.
 */
export async function withProducers(
  k: Kernel,
  producers: Array<{ id: number; count: number; delayMs?: number }>,
  create: (p: Process) => number,
  consume: (p: Process, h: number, go: () => void) => Promise<void>,
  topic = false,
): Promise<void> {
  const ctls = producers.map(() => new Int32Array(new SharedArrayBuffer(16)));
  const workers: ProcessHandle[] = producers.map((s, i) => k.spawnWorker(workerUrl('async-producer'), { name: `producer${i}`, args: { ...s, ctl: ctls[i]!.buffer, topic } }));
  const owner = k.spawn({ name: 'owner' }, async (p) => {
    const h = create(p);
    workers.forEach((w, i) => {
      k.processCapability(p.pid, w.pid);
      Atomics.store(ctls[i]!, 0, p.grant(h, w.pid, Rights.SEND));
      Atomics.notify(ctls[i]!, 0);
    });
    await consume(p, h, () => {
      for (const c of ctls) {
        Atomics.store(c, 1, 1);
        Atomics.notify(c, 1);
      }
    });
  });
  await returned(owner, ...workers);
}

/** Checks a stream of types: per producer id (top 8 bits) the sequence numbers run 0, 1, 2, … */
export function fifoPerProducer(types: readonly number[], producers: number, each: number): void {
  const next = new Array<number>(producers).fill(0);
  for (const t of types) {
    const id = t >>> 24;
    expect(id, 'producer id').toBeLessThan(producers);
    expect(t & 0xffffff, `message of producer ${id}`).toBe(next[id]);
    next[id]!++;
  }
  expect(next).toEqual(new Array<number>(producers).fill(each));
}

export const asyncCases: CaseTable<'async'> = {
  'async.fifo': {
    checks: 'messages of 0–64 bytes arrive in order with their type, payload and true sender; bytes past the length are zero; a 65-byte message is MessageTooLarge',
    async run(ctx) {
      await one(ctx.kernel(), (p) => {
        const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 128 }));
        for (let n = 0; n <= 64; n++) expect(ch.trySend({ type: 0xffffff00 + n, data: pattern(n, n) })).toBe(true);
        for (let n = 0; n <= 64; n++) {
          const m = ch.tryReceive()!;
          expect(m.type).toBe(0xffffff00 + n);
          expect(m.length).toBe(n);
          expect(m.sender).toBe(p.pid);
          expect(m.bytes.subarray(0, n)).toEqual(pattern(n, n));
          expect(m.bytes.subarray(n).every((b) => b === 0)).toBe(true);
        }
        expect(ch.tryReceive()).toBeNull();
        expect(codeOf(() => ch.trySend({ type: 1, data: new Uint8Array(65) }))).toBe('MessageTooLarge');
        expect(ch.stats()).toMatchObject({ messages: 65, bytes: (64 * 65) / 2 });
      });
    },
  },
  'async.batch': {
    checks: 'sendBatch puts a batch in order and stops when the ring is full, receiveBatch takes up to its buffers; counters count each message',
    async run(ctx) {
      await one(ctx.kernel(), (p) => {
        const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 32 }));
        expect(ch.sendBatch(Array.from({ length: 20 }, (_, i) => msg(i)))).toBe(20);
        expect(ch.sendBatch(Array.from({ length: 20 }, (_, i) => msg(20 + i)))).toBe(12);
        const out = Array.from({ length: 8 }, () => createMessageBuffer());
        const got: number[] = [];
        for (let n = ch.receiveBatch(out); n > 0; n = ch.receiveBatch(out)) got.push(...out.slice(0, n).map((m) => m.type));
        expect(got).toEqual(Array.from({ length: 32 }, (_, i) => i));
        expect(ch.stats()).toMatchObject({ messages: 32, fullEvents: 1 });
      });
    },
  },
  'async.overflow-reject': {
    checks: "a full 'reject' channel fails sendAsync with ChannelFull and trySend returns false; nothing queued is lost",
    async run(ctx) {
      await one(ctx.kernel(), async (p) => {
        const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 4, overflow: 'reject' }));
        for (let i = 0; i < 4; i++) await ch.sendAsync(msg(i));
        expect(await rejection(ch.sendAsync(msg(9)))).toBe('ChannelFull');
        expect(ch.trySend(msg(9))).toBe(false);
        expect(drain(ch)).toEqual([0, 1, 2, 3]);
        expect(ch.stats().fullEvents).toBe(2);
      });
    },
  },
  'async.overflow-drop-oldest': {
    checks: "a full 'drop-oldest' channel discards its oldest message for each new one and counts the drops",
    async run(ctx) {
      await one(ctx.kernel(), async (p) => {
        const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 4, overflow: 'drop-oldest' }));
        for (let i = 0; i < 10; i++) await ch.sendAsync(msg(i));
        expect(drain(ch)).toEqual([6, 7, 8, 9]);
        expect(ch.stats().drops).toBe(6);
      });
    },
  },
  'async.overflow-drop-newest': {
    checks: "a full 'drop-newest' channel discards the new message (sendAsync resolves, trySend returns false) and counts the drops",
    async run(ctx) {
      await one(ctx.kernel(), async (p) => {
        const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 4, overflow: 'drop-newest' }));
        for (let i = 0; i < 9; i++) await ch.sendAsync(msg(i));
        expect(ch.trySend(msg(9))).toBe(false);
        expect(drain(ch)).toEqual([0, 1, 2, 3]);
        expect(ch.stats().drops).toBe(6);
      });
    },
  },
  'async.overflow-block': {
    checks: "a full 'block' channel makes sendAsync wait until a receive frees a slot (then it completes in order), and a timeout fails it with Timeout leaving nothing queued",
    async run(ctx) {
      await one(ctx.kernel(), async (p) => {
        const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 2, overflow: 'block' }));
        await ch.sendAsync(msg(0));
        await ch.sendAsync(msg(1));
        let done = false;
        const third = ch.sendAsync(msg(2)).then(() => (done = true));
        await settle();
        expect(done).toBe(false);
        expect(ch.tryReceive()!.type).toBe(0);
        await third;
        expect(await rejection(ch.sendAsync(msg(3), { timeout: 2_000_000 }))).toBe('Timeout');
        expect(drain(ch)).toEqual([1, 2]);
      });
    },
  },
  'async.wake-waiting-consumer': {
    checks: 'a CPU-0 consumer waiting in receiveAsync is woken by a worker-CPU producer; an aborted wait rejects with AbortError',
    timeout: 60_000,
    async run(ctx) {
      const k = ctx.kernel();
      await withProducers(
        k,
        [{ id: 1, count: 3, delayMs: 20 }],
        (p) => p.createChannel({ type: 'async', bufferSize: 4, overflow: 'block' }),
        async (p, h, go) => {
          const ch = p.channel(h);
          const ac = new AbortController();
          const aborted = ch.receiveAsync({ signal: ac.signal });
          ac.abort();
          expect(await aborted.then(() => 'ok', (e: Error) => e.name)).toBe('AbortError');
          const first = ch.receiveAsync();
          go();
          const types = [(await first).type];
          for (let i = 0; i < 2; i++) types.push((await ch.receiveAsync({ timeout: 10_000_000_000 })).type);
          expect(types).toEqual([1 << 24, (1 << 24) | 1, (1 << 24) | 2]);
        },
      );
    },
  },
  'async.close-drains': {
    checks: 'after close(), sends fail with ChannelClosed, the consumer still receives everything sent before, then ChannelClosed; for await ends; a waiting receiver wakes with ChannelClosed',
    async run(ctx) {
      await one(ctx.kernel(), async (p) => {
        const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 8 }));
        const waiting = p.channel(p.createChannel({ type: 'async' }));
        const pending = rejection(waiting.receiveAsync());
        for (let i = 0; i < 5; i++) ch.trySend(msg(i));
        ch.close();
        waiting.close();
        expect(await pending).toBe('ChannelClosed');
        expect(codeOf(() => ch.trySend(msg(9)))).toBe('ChannelClosed');
        expect(ch.tryReceive()!.type).toBe(0);
        const rest: number[] = [];
        for await (const m of ch) rest.push(m.type);
        expect(rest).toEqual([1, 2, 3, 4]);
        expect(await rejection(ch.receiveAsync())).toBe('ChannelClosed');
        try {
          ch.tryReceive();
          expect.unreachable();
        } catch (e) {
          expect(e instanceof IpcError && e.code).toBe('ChannelClosed');
        }
      });
    },
  },
  'async.multi-producer-cross-cpu': {
    checks: 'two worker-CPU producers and a CPU-0 consumer move 40 000 messages through one small ring: none lost or duplicated, FIFO per producer, CAS retries counted',
    timeout: 120_000,
    async run(ctx) {
      const k = ctx.kernel();
      const each = 20_000;
      await withProducers(
        k,
        [
          { id: 0, count: each },
          { id: 1, count: each },
        ],
        (p) => p.createChannel({ type: 'async', bufferSize: 64, overflow: 'block' }),
        async (p, h, go) => {
          const ch = p.channel(h);
          go();
          const types: number[] = [];
          while (types.length < 2 * each) {
            const m = await ch.receiveAsync({ timeout: 30_000_000_000 });
            types.push(m.type);
            expect(m.length).toBe(4);
            expect(new DataView(m.bytes.buffer, m.bytes.byteOffset).getUint32(0, true)).toBe(m.type & 0xffffff);
          }
          fifoPerProducer(types, 2, each);
          const s = ch.stats();
          expect(s.messages).toBe(2 * each);
          expect(s.queued).toBe(0);
          expect(s.casRetries).toBeGreaterThanOrEqual(0);
        },
      );
    },
  },
  'async.buffer-transfer': {
    checks:
      "a channel message carries a SharedBuffer: by Move the consumer maps the producer's very frames (the producer's access faults), by Share the same frames copy-on-write (a write copies one page), by Copy new frames; a send the ring refuses leaves the producer's pages and the frame counts as they were; a message discarded by drop-oldest frees its frames; kernel.stats() returns to baseline",
    async run(ctx) {
      const PAGE = 4096;
      const k = ctx.kernel({ frames: 1024 });
      const base = k.stats();
      await one(k, (p) => {
        const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 2, overflow: 'reject' }));
        const va = p.memory.map(16 * PAGE);
        for (let i = 0; i < 16; i++) p.memory.write(va + i * PAGE, pattern(8, i));
        const frames = Array.from(p.memory.frames(va, 16));
        // Share, then Move, of the same pages: the ring holds both.
        expect(ch.trySend({ type: 1, data: pattern(4, 1), buffer: new SharedBuffer(va, 16 * PAGE), transfer: 'share' })).toBe(true);
        expect(p.memory.pages(va, 16).every((s) => s.copyOnWrite && !s.writable), 'shared pages are copy-on-write').toBe(true);
        const shared = ch.tryReceive()!.buffer!;
        expect(Array.from(p.memory.frames(shared.va, 16)), 'Share maps the same frames').toEqual(frames);
        p.memory.write(shared.va + 3 * PAGE, Uint8Array.of(99));
        expect(Array.from(p.memory.frames(shared.va, 16)).filter((f, i) => f !== frames[i]).length, 'a write copies one page').toBe(1);
        expect(p.memory.read(va + 3 * PAGE, 8), 'the other side keeps the old contents').toEqual(pattern(8, 3));
        p.memory.unmap(shared.va, shared.length);
        // A refused send changes nothing.
        expect(ch.trySend(msg(2))).toBe(true);
        expect(ch.trySend(msg(3))).toBe(true);
        const before = k.snapshot();
        const kept = Array.from(p.memory.frames(va, 16));
        for (const transfer of ['move', 'share', 'copy'] as const) expect(ch.trySend({ type: 4, data: new Uint8Array(0), buffer: new SharedBuffer(va, 16 * PAGE), transfer }), `a ${transfer} into a full ring`).toBe(false);
        expect(codeOf(() => ch.trySend({ type: 4, data: new Uint8Array(0), buffer: new SharedBuffer(0x7f00_0000, 10) })), 'a buffer outside mapped memory').toBe('AccessFault');
        const after = k.snapshot();
        expect([after.freeFrames, after.frames], 'frames after refused sends').toEqual([before.freeFrames, before.frames]);
        expect(Array.from(p.memory.frames(va, 16)), "the producer's pages after refused sends").toEqual(kept);
        expect(p.memory.pages(va, 16).every((s) => s.mapped && s.present), "the producer's pages stay mapped").toBe(true);
        expect(p.memory.read(va + 5 * PAGE, 8)).toEqual(pattern(8, 5));
        expect(drain(ch)).toEqual([2, 3]);
        // Move: the very frames, and the producer faults.
        const mine = Array.from(p.memory.frames(va, 16));
        expect(ch.trySend({ type: 5, data: new Uint8Array(0), buffer: new SharedBuffer(va, 16 * PAGE), transfer: 'move' })).toBe(true);
        expect(codeOf(() => p.memory.read(va, 1)), "the producer's access after a Move").toBe('AccessFault');
        const moved = ch.tryReceive()!.buffer!;
        expect(Array.from(p.memory.frames(moved.va, 16)), 'Move maps the same frames').toEqual(mine);
        expect(p.memory.read(moved.va + 7 * PAGE, 8)).toEqual(pattern(8, 7));
        // Copy: new frames, the same bytes.
        expect(ch.trySend({ type: 6, data: new Uint8Array(0), buffer: new SharedBuffer(moved.va + 10, 3 * PAGE), transfer: 'copy' })).toBe(true);
        const copied = ch.tryReceive()!.buffer!;
        expect(p.memory.read(copied.va, 3 * PAGE), 'Copy carries the bytes').toEqual(p.memory.read(moved.va + 10, 3 * PAGE));
        expect(Array.from(p.memory.frames(copied.va, 3)).some((f) => mine.includes(f)), 'Copy uses new frames').toBe(false);
        expect(copied.va % PAGE, 'the offset in the page is kept').toBe(10);
        p.memory.unmap(copied.va - 10, 4 * PAGE);
        // drop-oldest discards a message holding a buffer: its frames come back.
        const lossy = p.channel(p.createChannel({ type: 'async', bufferSize: 1, overflow: 'drop-oldest' }));
        expect(lossy.trySend({ type: 7, data: new Uint8Array(0), buffer: new SharedBuffer(moved.va, 16 * PAGE), transfer: 'move' })).toBe(true);
        const held = k.stats().freeFrames;
        expect(lossy.trySend(msg(8))).toBe(true);
        expect(k.stats().freeFrames - held, 'frames freed by the discard').toBeGreaterThanOrEqual(16);
        expect(drain(lossy)).toEqual([8]);
      });
      expect(k.stats()).toEqual(base);
    },
  },
  'async.one-slot': {
    checks: 'a one-slot channel holds exactly one message under every overflow policy, lap after lap: a second send is refused, dropped or replaces the first as its policy says, never written into the occupied slot',
    async run(ctx) {
      await one(ctx.kernel(), (p) => {
        const ring = (overflow: 'reject' | 'drop-oldest' | 'drop-newest') => p.channel(p.createChannel({ type: 'async', bufferSize: 1, overflow }));
        const rej = ring('reject');
        for (let lap = 0; lap < 300; lap++) {
          expect(rej.trySend(msg(lap & 0xff))).toBe(true);
          expect(rej.trySend(msg(0x100)), 'a second message into a full one-slot ring').toBe(false);
          expect(rej.stats().queued).toBe(1);
          expect(drain(rej)).toEqual([lap & 0xff]);
        }
        const old = ring('drop-oldest');
        for (let i = 0; i < 5; i++) old.trySend(msg(i));
        expect(drain(old)).toEqual([4]);
        const nw = ring('drop-newest');
        for (let i = 0; i < 5; i++) nw.trySend(msg(i));
        expect(drain(nw)).toEqual([0]);
        expect([old.stats().drops, nw.stats().drops]).toEqual([4, 4]);
      });
    },
  },
};
