/**
 * Linked page lists: a Share of a received buffer nobody touched, whose entries are already
 * read-only copy-on-write, shares the range's page list with the message (and then with the
 * receiver's range) instead of copying it — O(1) in the pages. Every test checks what the
 * general path promises all the same: the very frames, copy-on-write on every side (a page of a
 * shared list counts as shared even while its frame holds one reference), an exact undo, every
 * frame back at the end, and OutOfMemory before anything changes when a private copy of the
 * list cannot be made.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, type Kernel, type MessageBuffer, type Process, type SharedBuffer } from '../src/index.js';
import { testKernel } from './support/kernel.js';
import { code, ok } from './support/outcome.js';

const PAGE = 4096;
const EMPTY = new Uint8Array(0);
const PAGES = 16;

/** A process that receives one message on endpoint `name`, and holds it until `finish()` (then replies and returns). */
interface Holder {
  p: Process;
  m: MessageBuffer;
  b: SharedBuffer;
  finish: () => void;
  kill: () => Promise<{ reason: string }>;
  exited: Promise<{ reason: string; error?: unknown }>;
}

function holder(k: Kernel, name: string, priority: number): Promise<Holder> {
  return new Promise((resolve) => {
    let finish!: () => void;
    const finished = new Promise<void>((r) => (finish = r));
    const h = k.spawn({ name, priority }, async (p) => {
      // An address map first, so what a delivery takes is only what the buffer needs.
      p.memory.unmap(p.memory.map(PAGE), PAGE);
      const m = await p.receive(p.createEndpoint({ name }));
      resolve({ p, m, b: m.buffer!, finish, kill: () => h.kill(), exited: h.exited });
      await finished;
      p.reply(m.sender, { type: 0, data: EMPTY });
    });
  });
}

/** A source that maps PAGES pages (page i holds i + 1) and sends them to `to` by Share; returns the frames it mapped. */
function source(k: Kernel, to: string): { frames: Promise<Int32Array>; exited: Promise<{ reason: string; error?: unknown }> } {
  let got!: (f: Int32Array) => void;
  const frames = new Promise<Int32Array>((r) => (got = r));
  const h = k.spawn({ name: 'source', priority: 5 }, async (p) => {
    const va = p.memory.map(PAGES * PAGE);
    for (let i = 0; i < PAGES; i++) p.memory.write(va + i * PAGE, Uint8Array.of(i + 1));
    got(p.memory.frames(va, PAGES));
    await p.call(p.connect(to), { type: 1, data: EMPTY, buffer: p.memory.buffer(va, PAGES * PAGE), transfer: 'share' });
    p.memory.unmap(va, PAGES * PAGE);
  });
  return { frames, exited: h.exited };
}

/** Source → relay by Share (the relay's range is in a Share receiver's form), then the test's `body`. */
async function world(body: (k: Kernel, relay: Holder, original: Int32Array) => Promise<void>, options: { frames?: number; clock?: ManualClock } = {}): Promise<void> {
  const k = testKernel({ frames: options.frames ?? 1024, ...(options.clock ? { clock: options.clock } : {}) });
  const base = k.stats();
  const relayP = holder(k, 'relay', 20);
  await k.whenNamed('relay');
  const src = source(k, 'relay');
  const relay = await relayP;
  const original = await src.frames;
  try {
    await body(k, relay, original);
  } finally {
    relay.finish();
  }
  await ok(relay, src);
  await k.shutdown();
  expect(k.stats().freeFrames).toBe(base.freeFrames);
}

/** Relay shares its received buffer on to a new holder `name`; resolves with that holder once it has it. */
async function shareOn(k: Kernel, relay: Holder, name: string, priority = 30): Promise<{ sink: Holder; call: Promise<MessageBuffer>; taken: number }> {
  const sinkP = holder(k, name, priority);
  await k.whenNamed(name);
  const ch = relay.p.connect(name);
  const free = k.stats().freeFrames;
  const call = relay.p.call(ch, { type: 2, data: EMPTY, buffer: relay.b, transfer: 'share' });
  const sink = await sinkP;
  return { sink, call, taken: free - k.stats().freeFrames };
}

const bytes = (p: Process, b: SharedBuffer) => Array.from({ length: PAGES }, (_, i) => p.memory.read(b.va + i * PAGE, 1)[0]);
const expected = Array.from({ length: PAGES }, (_, i) => i + 1);

describe('a received Share shared on untouched links its page list', () => {
  it('the sink gets the very frames for one descriptor frame (no list copied); a write on either side copies only its page', async () => {
    await world(async (k, relay, original) => {
      const { sink, call, taken } = await shareOn(k, relay, 'sink');
      // The message's descriptor became the sink's range descriptor: one frame, whatever the size.
      expect(taken).toBe(1);
      expect(Array.from(sink.p.memory.frames(sink.b.va, PAGES))).toEqual(Array.from(original));
      expect(sink.p.memory.pages(sink.b.va, PAGES).every((s) => s.mapped && !s.present && s.copyOnWrite && !s.writable)).toBe(true);
      // A write by the sink copies its page (the frame has one reference, but the list is shared).
      sink.p.memory.write(sink.b.va + 3 * PAGE, Uint8Array.of(99));
      const mine = sink.p.memory.frames(sink.b.va, PAGES);
      expect(Array.from(mine).filter((f, i) => f !== original[i])).toHaveLength(1);
      expect(Array.from(relay.p.memory.frames(relay.b.va, PAGES))).toEqual(Array.from(original));
      expect(bytes(relay.p, relay.b)).toEqual(expected);
      // And a write by the relay copies its own page too; the sink keeps the old bytes.
      relay.p.memory.write(relay.b.va + 5 * PAGE, Uint8Array.of(77));
      expect(relay.p.memory.frames(relay.b.va, PAGES)[5]).not.toBe(original[5]);
      expect(bytes(sink.p, sink.b)).toEqual(expected.map((v, i) => (i === 3 ? 99 : v)));
      sink.finish();
      await call;
      await ok(sink);
    });
  });

  for (const first of ['relay', 'sink'] as const) {
    it(`unmapped by the ${first} first: the other side still reads every page; every frame comes back`, async () => {
      await world(async (k, relay) => {
        const { sink, call } = await shareOn(k, relay, 'sink');
        const [a, b] = first === 'relay' ? [relay, sink] : [sink, relay];
        let free = k.stats().freeFrames;
        a.p.memory.unmap(a.b.va, a.b.length);
        // Only its descriptor: the list (and the frames) stay with the other holder.
        expect(k.stats().freeFrames - free).toBe(1);
        expect(bytes(b.p, b.b)).toEqual(expected);
        free = k.stats().freeFrames;
        b.p.memory.unmap(b.b.va, b.b.length);
        // The last holder installed the pages on its reads (a private copy of the list); its unmap gives back at least that list.
        expect(k.stats().freeFrames).toBeGreaterThan(free);
        sink.finish();
        await call;
        await ok(sink);
      });
    });
  }

  it('a partial unmap takes a private copy of the list: the rest stays readable on both sides', async () => {
    await world(async (k, relay) => {
      const { sink, call } = await shareOn(k, relay, 'sink');
      sink.p.memory.unmap(sink.b.va, 4 * PAGE);
      expect(await code(() => sink.p.memory.read(sink.b.va, 1))).toBe('AccessFault');
      for (let i = 4; i < PAGES; i++) expect(sink.p.memory.read(sink.b.va + i * PAGE, 1)[0]).toBe(i + 1);
      expect(bytes(relay.p, relay.b)).toEqual(expected);
      sink.p.memory.unmap(sink.b.va + 4 * PAGE, (PAGES - 4) * PAGE);
      sink.finish();
      await call;
      await ok(sink);
    });
  });

  it('protect of a linked range: a private copy first, and a write after it still copies (the other side shares the frame)', async () => {
    await world(async (k, relay, original) => {
      const { sink, call } = await shareOn(k, relay, 'sink');
      sink.p.memory.protect(sink.b.va, sink.b.length, 3 /* READ | WRITE */);
      sink.p.memory.write(sink.b.va, Uint8Array.of(42));
      expect(sink.p.memory.frames(sink.b.va, 1)[0]).not.toBe(original[0]);
      expect(relay.p.memory.read(relay.b.va, 1)[0]).toBe(1);
      sink.finish();
      await call;
      await ok(sink);
    });
  });

  it('moved on whole from the sink: the fourth process gets the very frames, and its write copies (the relay still links them)', async () => {
    await world(async (k, relay, original) => {
      const { sink, call } = await shareOn(k, relay, 'sink');
      const fourthP = holder(k, 'fourth', 28);
      await k.whenNamed('fourth');
      const moved = sink.p.call(sink.p.connect('fourth'), { type: 3, data: EMPTY, buffer: sink.b, transfer: 'move' });
      const fourth = await fourthP;
      expect(Array.from(fourth.p.memory.frames(fourth.b.va, PAGES))).toEqual(Array.from(original));
      expect(await code(() => sink.p.memory.read(sink.b.va, 1))).toBe('AccessFault');
      fourth.p.memory.write(fourth.b.va + 7 * PAGE, Uint8Array.of(1));
      expect(fourth.p.memory.frames(fourth.b.va + 7 * PAGE, 1)[0]).not.toBe(original[7]);
      expect(bytes(relay.p, relay.b)).toEqual(expected);
      fourth.finish();
      await moved;
      sink.finish();
      await call;
      await ok(sink, fourth);
    });
  });

  it('a linked Share that times out in the queue leaves the relay exactly as it was, and the next Share links again', async () => {
    const clock = new ManualClock();
    await world(
      async (k, relay) => {
        let release!: () => void;
        const idle = k.spawn({ name: 'idle', priority: 30 }, async (p) => {
          p.createEndpoint({ name: 'idle' });
          await new Promise<void>((r) => (release = r));
        });
        await k.whenNamed('idle');
        const before = k.snapshot();
        const was = relay.p.memory.pages(relay.b.va, PAGES);
        const c = relay.p.call(relay.p.connect('idle'), { type: 2, data: EMPTY, buffer: relay.b, transfer: 'share' }, { timeout: 1000 });
        clock.advance(1000);
        expect(await code(c)).toBe('Timeout');
        const after = k.snapshot();
        expect(after.freeFrames).toBe(before.freeFrames);
        expect(after.frames).toEqual(before.frames);
        expect(relay.p.memory.pages(relay.b.va, PAGES)).toEqual(was);
        release();
        await ok(idle);
        const { sink, call, taken } = await shareOn(k, relay, 'sink');
        expect(taken).toBe(1);
        sink.finish();
        await call;
        await ok(sink);
      },
      { clock },
    );
  });

  it('a sink that exits holding a linked range untouched, and one killed while holding one: the relay\'s range stays whole', async () => {
    await world(async (k, relay) => {
      const { sink, call } = await shareOn(k, relay, 'sink');
      // The sink leaves without touching anything: its range lets go of the list, the relay's stays whole.
      sink.finish();
      await call;
      await ok(sink);
      expect(bytes(relay.p, relay.b)).toEqual(expected);
      // A second sink that is killed while it holds a linked range: the relay's call fails, its range stays whole.
      const two = await shareOn(k, relay, 'sink2');
      expect((await two.sink.kill()).reason).toBe('killed');
      expect(await code(two.call)).toBeDefined();
      expect(bytes(relay.p, relay.b)).toEqual(expected);
    });
  });

  it('a relay killed while its linked Share waits in a queue: the queued message lets go of the list, every frame comes back', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    let release!: () => void;
    const idle = k.spawn({ name: 'idle', priority: 30 }, async (p) => {
      p.createEndpoint({ name: 'idle' });
      await new Promise<void>((r) => (release = r));
    });
    await k.whenNamed('idle');
    const relayP = holder(k, 'relay', 20);
    await k.whenNamed('relay');
    const src = source(k, 'relay');
    const relay = await relayP;
    const queued = relay.p.call(relay.p.connect('idle'), { type: 2, data: EMPTY, buffer: relay.b, transfer: 'share' });
    expect((await relay.kill()).reason).toBe('killed');
    await queued.catch(() => undefined);
    // The source's call to the dead relay fails (it crashes on it, its memory torn down at exit).
    expect(String((await src.exited).error)).toContain('ChannelClosed');
    release();
    await ok(idle);
    await k.shutdown();
    expect(k.stats().freeFrames).toBe(base.freeFrames);
  });

  it('on an async channel: a received Share shared on into a ring links its list; dropped unread (drop-oldest), it lets go of it and the sender keeps every page', async () => {
    const k = testKernel({ frames: 1024 });
    const h = k.spawn({ name: 'one' }, (p) => {
      const a = p.channel(p.createChannel({ type: 'async', bufferSize: 2 }));
      const d = p.channel(p.createChannel({ type: 'async', bufferSize: 1, overflow: 'drop-oldest' }));
      const va = p.memory.map(PAGES * PAGE);
      for (let i = 0; i < PAGES; i++) p.memory.write(va + i * PAGE, Uint8Array.of(i + 1));
      const original = p.memory.frames(va, PAGES);
      expect(a.trySend({ type: 1, data: EMPTY, buffer: p.memory.buffer(va, PAGES * PAGE), transfer: 'share' })).toBe(true);
      const got = a.tryReceive()!.buffer!;
      let free = k.stats().freeFrames;
      expect(d.trySend({ type: 2, data: EMPTY, buffer: got, transfer: 'share' })).toBe(true);
      expect(free - k.stats().freeFrames).toBe(1); // the descriptor only: the list is linked
      free = k.stats().freeFrames;
      expect(d.trySend({ type: 3, data: EMPTY })).toBe(true); // pushes the linked message out
      expect(k.stats().freeFrames - free).toBe(1);
      expect(d.tryReceive()!.type).toBe(3);
      expect(Array.from(p.memory.frames(got.va, PAGES))).toEqual(Array.from(original));
      expect(bytes(p, got)).toEqual(expected);
      p.memory.unmap(got.va, got.length);
      p.memory.unmap(va, PAGES * PAGE);
    });
    await ok(h);
  });

  it('out of frames for a private copy of the list: a read fails with OutOfMemory and changes nothing; with a frame free it reads', async () => {
    await world(
      async (k, relay) => {
        const { sink, call } = await shareOn(k, relay, 'sink');
        // Take every free frame into a filler mapping, page by page.
        const filler: number[] = [];
        while (k.stats().freeFrames > 0) filler.push(sink.p.memory.map(PAGE));
        const before = k.snapshot();
        expect(await code(() => sink.p.memory.read(sink.b.va, 1))).toBe('OutOfMemory');
        const after = k.snapshot();
        expect(after.freeFrames).toBe(before.freeFrames);
        expect(after.frames).toEqual(before.frames);
        for (const va of filler.splice(0, 8)) sink.p.memory.unmap(va, PAGE);
        expect(sink.p.memory.read(sink.b.va, 1)[0]).toBe(1);
        for (const va of filler) sink.p.memory.unmap(va, PAGE);
        sink.finish();
        await call;
        await ok(sink);
      },
      { frames: 256 },
    );
  });
});
