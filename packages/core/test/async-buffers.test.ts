// Zero-copy buffers over async channels: Move / Share / Copy through a ring, refusals that
// change nothing, buffers discarded unread (overflow, release) freeing their frames.
import { describe, expect, it } from 'vitest';
import { Rights, SharedBuffer, type Kernel, type Process } from '../src/index.js';
import { testKernel } from './support/kernel.js';
import { mapEveryFrame } from './support/memory.js';
import { code, ok } from './support/outcome.js';

const PAGE = 4096;
const MiB = 1 << 20;
const EMPTY = new Uint8Array(0);

/**
 * A consumer that creates a channel, grants SEND to a producer, and runs `consume`; the producer
 * runs `produce` with the channel once granted.
 */
function pair(k: Kernel, options: object, produce: (p: Process, ch: ReturnType<Process['channel']>) => Promise<void> | void, consume: (p: Process, ch: ReturnType<Process['channel']>, sent: Promise<void>) => Promise<void> | void) {
  let handle = 0;
  let done!: () => void;
  const sent = new Promise<void>((r) => (done = r));
  const consumer = k.spawn({ name: 'consumer', priority: 20 }, async (p) => {
    const h = p.createChannel({ type: 'async', ...options });
    k.processCapability(p.pid, producer.pid);
    handle = p.grant(h, producer.pid, Rights.SEND);
    await consume(p, p.channel(h), sent);
  });
  const producer = k.spawn({ name: 'producer', priority: 10 }, async (p) => {
    while (handle === 0) await p.yield();
    try {
      await produce(p, p.channel(handle));
    } finally {
      done();
    }
  });
  return [consumer, producer] as const;
}

describe('zero-copy buffers over async channels', () => {
  it("Move of 1 MiB: the consumer maps the producer's former frames lazily, the producer faults, every frame comes back", async () => {
    const k = testKernel({ frames: 2048 });
    const base = k.stats();
    let frames: Int32Array | undefined;
    const hs = pair(
      k,
      { bufferSize: 4 },
      (p, ch) => {
        const va = p.memory.map(MiB);
        for (let i = 0; i < 256; i++) p.memory.write(va + i * PAGE, new Uint8Array(4).fill(i));
        frames = p.memory.frames(va, 256);
        expect(ch.trySend({ type: 7, data: Uint8Array.of(1, 2, 3), buffer: new SharedBuffer(va, MiB), transfer: 'move' })).toBe(true);
        // Carried at the send: the pages left this process at once.
        expect(p.memory.pages(va, 256).every((s) => !s.mapped)).toBe(true);
        return code(() => p.memory.read(va, 1)).then((c) => expect(c).toBe('AccessFault'));
      },
      async (p, ch, sent) => {
        await sent;
        const m = await ch.receiveAsync();
        expect([m.type, m.length, Array.from(m.bytes.subarray(0, 3))]).toEqual([7, 3, [1, 2, 3]]);
        const b = m.buffer!;
        expect(b.length).toBe(MiB);
        expect(p.memory.pages(b.va, 256).every((s) => s.mapped && !s.present)).toBe(true);
        expect(Array.from(p.memory.frames(b.va, 256))).toEqual(Array.from(frames!));
        expect(Array.from(p.memory.read(b.va + 9 * PAGE, 4))).toEqual([9, 9, 9, 9]);
        expect(p.memory.pages(b.va, 256).filter((s) => s.present).length).toBe(1);
        expect(ch.stats().bytes).toBe(MiB + 3);
        p.memory.unmap(b.va, b.length);
      },
    );
    await ok(...hs);
    expect(k.stats()).toEqual(base);
  });

  it('Share: the consumer maps the same frames read-only; its write copies one page and the producer keeps the old contents', async () => {
    const k = testKernel({ frames: 1024 });
    let mine: Int32Array | undefined;
    let va = 0;
    const hs = pair(
      k,
      {},
      async (p, ch) => {
        va = p.memory.map(16 * PAGE);
        p.memory.write(va + 3 * PAGE, Uint8Array.of(5));
        mine = p.memory.frames(va, 16);
        await ch.sendAsync({ type: 1, data: EMPTY, buffer: p.memory.buffer(va, 16 * PAGE), transfer: 'share' });
        expect(Array.from(p.memory.frames(va, 16))).toEqual(Array.from(mine));
        expect(p.memory.pages(va, 16).every((s) => s.copyOnWrite && !s.writable)).toBe(true);
        expect(p.memory.read(va + 3 * PAGE, 1)[0]).toBe(5);
      },
      async (p, ch, sent) => {
        await sent;
        const b = (await ch.receiveAsync()).buffer!;
        const before = p.memory.frames(b.va, 16);
        expect(Array.from(before)).toEqual(Array.from(mine!));
        p.memory.write(b.va + 3 * PAGE, Uint8Array.of(99));
        const after = p.memory.frames(b.va, 16);
        expect(Array.from(before).filter((f, i) => f !== after[i]).length).toBe(1);
        expect(p.memory.read(b.va + 3 * PAGE, 1)[0]).toBe(99);
      },
    );
    await ok(...hs);
  });

  it('Copy and an unaligned buffer: new frames with only the buffer bytes; the producer keeps everything', async () => {
    const k = testKernel({ frames: 1024 });
    const off = 100;
    const len = 2 * PAGE + 7;
    const data = Uint8Array.from({ length: len }, (_, i) => (i * 7) & 255);
    let sent: Int32Array | undefined;
    const hs = pair(
      k,
      {},
      (p, ch) => {
        const va = p.memory.map(4 * PAGE);
        p.memory.write(va, new Uint8Array(4 * PAGE).fill(0xee));
        p.memory.write(va + off, data);
        sent = p.memory.frames(va, 4);
        expect(ch.trySend({ type: 2, data: EMPTY, buffer: new SharedBuffer(va + off, len), transfer: 'copy' })).toBe(true);
        expect(p.memory.pages(va, 4).every((s) => s.writable && s.present)).toBe(true);
        expect(p.memory.read(va + off, len)).toEqual(data);
      },
      async (p, ch, sent_) => {
        await sent_;
        const b = ch.tryReceive()!.buffer!;
        expect([b.va % PAGE, b.length]).toEqual([off, len]);
        expect(p.memory.read(b.va, len)).toEqual(data);
        expect(p.memory.read(b.va - off, off)).toEqual(new Uint8Array(off));
        expect(Array.from(p.memory.frames(b.va - off, 3)).some((f) => sent!.includes(f))).toBe(false);
      },
    );
    await ok(...hs);
  });

  it('a full ring (reject, block with timeout 0, drop-newest) and bad buffers change nothing: pages, frames and the kernel as before', async () => {
    const k = testKernel({ frames: 1024 });
    const hs = pair(
      k,
      { bufferSize: 1, overflow: 'reject' },
      async (p, ch) => {
        expect(ch.trySend({ type: 0, data: EMPTY })).toBe(true);
        const va = p.memory.map(8 * PAGE);
        p.memory.write(va, Uint8Array.of(42));
        const frames = p.memory.frames(va, 8);
        const ro = p.memory.map(PAGE, 1);
        const before = k.snapshot();
        const buffer = new SharedBuffer(va, 8 * PAGE);
        for (const transfer of ['move', 'share', 'copy'] as const) {
          expect(await code(ch.sendAsync({ type: 1, data: EMPTY, buffer, transfer }))).toBe('ChannelFull');
          expect(ch.trySend({ type: 1, data: EMPTY, buffer, transfer })).toBe(false);
        }
        expect(await code(() => ch.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(0x7f00_0000, 10) }))).toBe('AccessFault');
        expect(await code(() => ch.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(ro, PAGE), transfer: 'move' }))).toBe('PermissionDenied');
        expect(await code(() => ch.trySend({ type: 1, data: EMPTY, buffer: { va, length: PAGE } } as never))).toBe('InvalidArgument');
        expect(await code(() => ch.trySend({ type: 1, data: EMPTY, buffer, transfer: 'steal' } as never))).toBe('InvalidArgument');
        expect(await code(() => ch.trySend({ type: 1, data: new Uint8Array(65), buffer }))).toBe('MessageTooLarge');
        // Every record, frame and reference count as before: only the full-event statistic moved.
        expect(k.snapshot()).toEqual(before);
        expect(ch.stats().fullEvents).toBe(6);
        expect(Array.from(p.memory.frames(va, 8))).toEqual(Array.from(frames));
        expect(p.memory.pages(va, 8).every((s) => s.writable)).toBe(true);
        expect(p.memory.read(va, 1)[0]).toBe(42);
      },
      async (_p, ch, sent) => {
        await sent;
        expect(ch.tryReceive()!.buffer).toBe(null);
        expect(ch.tryReceive()).toBe(null);
      },
    );
    await ok(...hs);
  });

  it('drop-oldest: a plain message that pushes out a message holding a buffer frees its frames', async () => {
    const k = testKernel({ frames: 1024 });
    let free = 0;
    const hs = pair(
      k,
      { bufferSize: 2, overflow: 'drop-oldest' },
      (p, ch) => {
        const va = p.memory.map(32 * PAGE);
        p.memory.write(va, new Uint8Array(32 * PAGE).fill(1));
        free = k.stats().freeFrames;
        expect(ch.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(va, 32 * PAGE), transfer: 'move' })).toBe(true);
        const carried = k.stats().freeFrames;
        expect(ch.trySend({ type: 2, data: EMPTY })).toBe(true);
        // The Move's 32 frames, its list and its descriptor go with the oldest message.
        expect(ch.sendBatch([{ type: 3, data: EMPTY }])).toBe(1);
        expect(ch.stats().drops).toBe(1);
        expect(k.stats().freeFrames).toBe(carried + 34);
        expect(k.stats().freeFrames).toBeGreaterThanOrEqual(free + 32);
      },
      async (_p, ch, sent) => {
        await sent;
        expect([ch.tryReceive()!.type, ch.tryReceive()!.type]).toEqual([2, 3]);
      },
    );
    await ok(...hs);
  });

  it('a ring released with buffers unread (its owner exits) frees them; the kernel is back to its baseline', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    const hs = pair(
      k,
      { bufferSize: 8 },
      (p, ch) => {
        for (const transfer of ['move', 'share', 'copy'] as const) {
          const va = p.memory.map(4 * PAGE);
          p.memory.write(va, new Uint8Array(4 * PAGE).fill(3));
          expect(ch.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(va + 1, 4 * PAGE - 2), transfer })).toBe(true);
        }
      },
      async (_p, ch, sent) => {
        await sent;
        expect(ch.stats().queued).toBe(3);
      },
    );
    await ok(...hs);
    expect(k.stats()).toEqual(base);
  });

  it('a consumer with no room for the buffer gets OutOfMemory and the message stays queued, then arrives whole; topics refuse buffers', async () => {
    const k = testKernel({ frames: 96 });
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let refused!: () => void;
    const refusedP = new Promise<void>((r) => (refused = r));
    const hs = pair(
      k,
      {},
      async (p, ch) => {
        const va = p.memory.map(PAGE);
        p.memory.write(va, Uint8Array.of(42));
        expect(ch.trySend({ type: 5, data: EMPTY, buffer: new SharedBuffer(va, PAGE), transfer: 'move' })).toBe(true);
        const t = p.topic(p.createTopic({}));
        expect(await code(() => t.publish({ type: 1, data: EMPTY, buffer: new SharedBuffer(va, PAGE) } as never))).toBe('InvalidArgument');
        // Every frame: the consumer, which never mapped memory, has no frame for its address map.
        const pages = mapEveryFrame(p);
        expect(k.stats().freeFrames).toBe(0);
        release();
        await refusedP;
        for (const a of pages.slice(0, 4)) p.memory.unmap(a, PAGE);
      },
      async (p, ch, sent) => {
        await released;
        const before = k.snapshot();
        expect(await code(() => ch.tryReceive())).toBe('OutOfMemory');
        expect(k.snapshot()).toEqual(before);
        expect(ch.stats().queued).toBe(1);
        refused();
        await sent;
        const m = ch.tryReceive()!;
        expect([m.type, m.buffer!.length, p.memory.read(m.buffer!.va, 1)[0]]).toEqual([5, PAGE, 42]);
      },
    );
    await ok(...hs);
  });
});
