/**
 * Received buffers passed on untouched — the proxy's pattern, and the path the fast forms take:
 * a Share of a whole received range copies its page list in one pass (no page-table walk), and
 * an unmap of one drops its list the same way. Each test checks what the general path promises:
 * the very same frames, copy-on-write on both sides, an exact undo, every frame given back.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock, PagePerm, type Kernel, type MessageBuffer, type PageState, type Process, type SharedBuffer, type SmallMessage } from '../src/index.js';
import { testKernel } from './support/kernel.js';
import { code, ok } from './support/outcome.js';

const PAGE = 4096;
const EMPTY = new Uint8Array(0);
const PAGES = 16;

/** The states of `pages` pages from `b`'s first page, without the frame numbers. */
function states(p: Process, b: SharedBuffer, pages = PAGES): Omit<PageState, 'frame'>[] {
  return p.memory.pages(b.va, pages).map(({ frame: _, ...s }) => s);
}

/** A client that maps PAGES pages (page i holding i + 1), sends them to `to` by Move, and returns when the call does. */
function mover(k: Kernel, to: string, frames: (f: Int32Array) => void) {
  return k.spawn({ name: 'mover', priority: 5 }, async (p) => {
    const va = p.memory.map(PAGES * PAGE);
    for (let i = 0; i < PAGES; i++) p.memory.write(va + i * PAGE, Uint8Array.of(i + 1));
    frames(p.memory.frames(va, PAGES));
    await p.call(p.connect(to), { type: 1, data: EMPTY, buffer: p.memory.buffer(va, PAGES * PAGE), transfer: 'move' });
  });
}

/**
 * A passive server `echo` answering each call with the buffer it received, by `mode`; a Share
 * unmaps the buffer it answered last (both sides keep a mapping). Exits on type 0xdead.
 */
function echo(k: Kernel, mode: 'move' | 'share') {
  return k.spawn({ name: 'echo', priority: 20 }, async (p) => {
    const reply: SmallMessage = { type: 0, data: EMPTY, transfer: mode };
    let held: SharedBuffer | null = null;
    await p.serve(p.createEndpoint({ name: 'echo' }), (m: MessageBuffer) => {
      if (m.type === 0xdead) throw new Error('stop');
      if (mode === 'share' && held !== null) p.memory.unmap(held.va, held.length);
      held = m.buffer;
      reply.buffer = m.buffer!;
      return reply;
    });
  }).exited.catch(() => undefined);
}

/** PAGES fresh pages of `p`, page i holding i + 1: the buffer and its frames. */
function numbered(p: Process): { buffer: SharedBuffer; original: Int32Array } {
  const va = p.memory.map(PAGES * PAGE);
  for (let i = 0; i < PAGES; i++) p.memory.write(va + i * PAGE, Uint8Array.of(i + 1));
  return { buffer: p.memory.buffer(va, PAGES * PAGE), original: p.memory.frames(va, PAGES) };
}

describe('a received buffer passed on untouched', () => {
  it('shared on: the third process gets the very frames, both sides are copy-on-write, a write on either side copies that page only', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    let original!: Int32Array;
    let written!: () => void;
    const writtenP = new Promise<void>((r) => (written = r));
    let done!: () => void;
    const doneP = new Promise<void>((r) => (done = r));
    const sink = k.spawn({ name: 'sink', priority: 30 }, async (p) => {
      const m = await p.receive(p.createEndpoint({ name: 'sink' }));
      const b = m.buffer!;
      expect(Array.from(p.memory.frames(b.va, PAGES))).toEqual(Array.from(original));
      expect(states(p, b).every((s) => s.mapped && !s.present && s.copyOnWrite && !s.writable)).toBe(true);
      p.memory.write(b.va + 3 * PAGE, Uint8Array.of(99));
      const mine = p.memory.frames(b.va, PAGES);
      expect(Array.from(mine).filter((f, i) => f !== original[i])).toHaveLength(1);
      expect(mine[3]).not.toBe(original[3]);
      p.reply(m.sender, { type: 0, data: EMPTY });
      written();
      await doneP;
      expect(p.memory.read(b.va + 5 * PAGE, 1)[0]).toBe(6); // the relay's later write is not seen here
      p.memory.unmap(b.va, b.length);
    });
    const relay = k.spawn({ name: 'relay', priority: 20 }, async (p) => {
      const m = await p.receive(p.createEndpoint({ name: 'relay' }));
      const b = m.buffer!;
      // Received by Move: writable, nothing installed yet.
      expect(states(p, b).every((s) => s.mapped && !s.present && s.writable && !s.copyOnWrite)).toBe(true);
      await p.call(p.connect('sink'), { type: 2, data: EMPTY, buffer: b, transfer: 'share' });
      await writtenP;
      // Still mapped here, still the same frames, now read-only copy-on-write.
      expect(Array.from(p.memory.frames(b.va, PAGES))).toEqual(Array.from(original));
      expect(states(p, b).every((s) => s.mapped && !s.present && s.copyOnWrite && !s.writable)).toBe(true);
      expect(p.memory.read(b.va + 3 * PAGE, 1)[0]).toBe(4); // the sink's write copied its page
      p.memory.write(b.va + 5 * PAGE, Uint8Array.of(77)); // the sink still maps it: this copies too
      const mine = p.memory.frames(b.va, PAGES);
      expect(Array.from(mine).filter((f, i) => f !== original[i])).toHaveLength(1);
      expect(mine[5]).not.toBe(original[5]);
      done();
      p.reply(m.sender, { type: 0, data: EMPTY });
      p.memory.unmap(b.va, b.length);
    });
    await k.whenNamed('sink');
    await k.whenNamed('relay');
    const client = mover(k, 'relay', (f) => (original = f));
    await ok(sink, relay, client);
    expect(k.stats()).toEqual(base);
  });

  it('a Share ping-pong of one buffer, untouched in between: the frames never change, the page list is linked (never copied), and each unmap gives back exactly its descriptor', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    const server = echo(k, 'share');
    const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
      const ch = p.connect('echo');
      const { buffer: first, original } = numbered(p);
      let b = first;
      for (let round = 0; round < 20; round++) {
        const r = await p.call(ch, { type: 1, data: EMPTY, buffer: b, transfer: 'share' });
        const back = r.buffer!;
        expect(Array.from(p.memory.frames(back.va, PAGES))).toEqual(Array.from(original));
        expect(states(p, back).every((s) => s.mapped && !s.present && s.copyOnWrite && !s.writable)).toBe(true);
        const free = k.stats().freeFrames;
        p.memory.unmap(b.va, b.length);
        // Later rounds unmap a received buffer whose page list the server's copy links (shared,
        // not copied): only its descriptor comes back, the list stays with the server's range.
        // (The first round unmaps the client's own mapping, which may free a page table.)
        if (round > 0) expect(k.stats().freeFrames - free).toBe(1);
        b = back;
      }
      for (let i = 0; i < PAGES; i++) expect(p.memory.read(b.va + i * PAGE, 1)[0]).toBe(i + 1);
      p.memory.unmap(b.va, b.length);
    });
    await ok(client);
    await k.shutdown();
    await server;
    expect(k.stats().freeFrames).toBe(base.freeFrames);
  });

  for (const touched of [false, true]) {
  it(`a Share of a received buffer${touched ? ' (one page touched: the general path)' : ''} that times out in the queue leaves the relay as it was: frames, allocator, page states, a write without a copy`, async () => {
    const clock = new ManualClock();
    const k = testKernel({ frames: 1024, clock });
    let original!: Int32Array;
    let release!: () => void;
    const idle = k.spawn({ name: 'idle', priority: 30 }, async (p) => {
      p.createEndpoint({ name: 'idle' });
      await new Promise<void>((r) => (release = r));
    });
    const relay = k.spawn({ name: 'relay', priority: 20 }, async (p) => {
      const m = await p.receive(p.createEndpoint({ name: 'relay' }));
      // Whatever happens below, the idle server and the client are let go.
      try {
        await forwardAndCancel(p, m);
      } finally {
        p.reply(m.sender, { type: 0, data: EMPTY });
        release();
      }
    });
    const forwardAndCancel = async (p: Process, m: MessageBuffer) => {
      const b = m.buffer!;
      const ch = p.connect('idle');
      if (touched) expect(p.memory.read(b.va + 9 * PAGE, 1)[0]).toBe(10);
      const before = k.snapshot();
      const was = states(p, b);
      const call = p.call(ch, { type: 2, data: EMPTY, buffer: b, transfer: 'share' }, { timeout: 1000 });
      // Queued: the relay's pages are copy-on-write meanwhile, and the bytes still read.
      expect(states(p, b).every((s) => s.copyOnWrite && !s.writable)).toBe(true);
      clock.advance(1000);
      expect(await code(call)).toBe('Timeout');
      // Every frame reference and the allocator as before (the records hold the timeout's own counters), and the pages as they were: writable, not copy-on-write.
      const after = k.snapshot();
      expect(after.freeFrames).toBe(before.freeFrames);
      expect(after.frames).toEqual(before.frames);
      expect(states(p, b)).toEqual(was);
      p.memory.write(b.va + 2 * PAGE, Uint8Array.of(50));
      expect(Array.from(p.memory.frames(b.va, PAGES))).toEqual(Array.from(original));
      expect(p.memory.read(b.va + 2 * PAGE, 1)[0]).toBe(50);
    };
    await k.whenNamed('idle');
    await k.whenNamed('relay');
    const client = mover(k, 'relay', (f) => (original = f));
    await ok(idle, relay, client);
  });
  }

  it('a Move ping-pong of one buffer, untouched in between: the frames never change, and no transfer takes or frees a frame', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    const server = echo(k, 'move');
    const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
      const ch = p.connect('echo');
      const { buffer: first, original } = numbered(p);
      let b = first;
      let free = -1;
      for (let round = 0; round < 20; round++) {
        const r = await p.call(ch, { type: 1, data: EMPTY, buffer: b, transfer: 'move' });
        b = r.buffer!;
        expect(Array.from(p.memory.frames(b.va, PAGES))).toEqual(Array.from(original));
        expect(states(p, b).every((s) => s.mapped && !s.present && s.writable && !s.copyOnWrite)).toBe(true);
        // From the second round on, a received buffer travels: its descriptor frame goes with it (no frame taken, none freed).
        if (round === 1) free = k.stats().freeFrames;
        if (round > 1) expect(k.stats().freeFrames).toBe(free);
      }
      for (let i = 0; i < PAGES; i++) expect(p.memory.read(b.va + i * PAGE, 1)[0]).toBe(i + 1);
      p.memory.unmap(b.va, b.length);
    });
    await ok(client);
    await k.shutdown();
    await server;
    expect(k.stats().freeFrames).toBe(base.freeFrames);
  });

  it('a Move of a received buffer that times out in the queue gives the relay its untouched range back: frames, allocator, page states; then it moves on for real', async () => {
    const clock = new ManualClock();
    const k = testKernel({ frames: 1024, clock });
    const base = k.stats();
    let original!: Int32Array;
    let release!: () => void;
    const idle = k.spawn({ name: 'idle', priority: 30 }, async (p) => {
      p.createEndpoint({ name: 'idle' });
      await new Promise<void>((r) => (release = r));
    });
    const sink = k.spawn({ name: 'sink', priority: 25 }, async (p) => {
      const m = await p.receive(p.createEndpoint({ name: 'sink' }));
      expect(Array.from(p.memory.frames(m.buffer!.va, PAGES))).toEqual(Array.from(original));
      for (let i = 0; i < PAGES; i++) expect(p.memory.read(m.buffer!.va + i * PAGE, 1)[0]).toBe(i + 1);
      p.memory.unmap(m.buffer!.va, m.buffer!.length);
      p.reply(m.sender, { type: 0, data: EMPTY });
    });
    const relay = k.spawn({ name: 'relay', priority: 20 }, async (p) => {
      const m = await p.receive(p.createEndpoint({ name: 'relay' }));
      try {
        const b = m.buffer!;
        const before = k.snapshot();
        const was = states(p, b);
        const call = p.call(p.connect('idle'), { type: 2, data: EMPTY, buffer: b, transfer: 'move' }, { timeout: 1000 });
        clock.advance(1000);
        expect(await code(call)).toBe('Timeout');
        const after = k.snapshot();
        expect(after.freeFrames).toBe(before.freeFrames);
        expect(after.frames).toEqual(before.frames);
        expect(states(p, b)).toEqual(was);
        expect(Array.from(p.memory.frames(b.va, PAGES))).toEqual(Array.from(original));
        // Untouched still: it moves on whole, and the sink gets the very frames.
        await p.call(p.connect('sink'), { type: 3, data: EMPTY, buffer: b, transfer: 'move' });
        expect(await code(() => p.memory.read(b.va, 1))).toBe('AccessFault');
      } finally {
        p.reply(m.sender, { type: 0, data: EMPTY });
        release();
      }
    });
    await k.whenNamed('idle');
    await k.whenNamed('sink');
    await k.whenNamed('relay');
    const client = mover(k, 'relay', (f) => (original = f));
    await ok(idle, sink, relay, client);
    expect(k.stats()).toEqual(base);
  });

  it('unmapped untouched: every frame, the list and the descriptor go back; part of one leaves the rest readable', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    const relay = k.spawn({ name: 'relay', priority: 20 }, async (p) => {
      const ep = p.createEndpoint({ name: 'relay' });
      let m = await p.receive(ep);
      let free = k.stats().freeFrames;
      p.memory.unmap(m.buffer!.va, m.buffer!.length);
      expect(k.stats().freeFrames - free).toBe(PAGES + 2); // the pages, one list frame, the descriptor
      expect(p.memory.pages(m.buffer!.va, PAGES).every((s) => !s.mapped)).toBe(true);
      p.reply(m.sender, { type: 0, data: EMPTY });
      m = await p.receive(ep);
      const b = m.buffer!;
      free = k.stats().freeFrames;
      p.memory.unmap(b.va, 4 * PAGE);
      expect(k.stats().freeFrames - free).toBe(4);
      for (let i = 4; i < PAGES; i++) expect(p.memory.read(b.va + i * PAGE, 1)[0]).toBe(i + 1);
      expect(await code(() => p.memory.read(b.va, 1))).toBe('AccessFault');
      p.memory.unmap(b.va + 4 * PAGE, (PAGES - 4) * PAGE);
      p.reply(m.sender, { type: 0, data: EMPTY });
    });
    await k.whenNamed('relay');
    await ok(mover(k, 'relay', () => undefined));
    await ok(mover(k, 'relay', () => undefined), relay);
    expect(k.stats()).toEqual(base);
  });

  it('read-only pages shared on stay read-only without copy-on-write, and cannot be moved on', async () => {
    const k = testKernel({ frames: 1024 });
    const sink = k.spawn({ name: 'sink', priority: 30 }, async (p) => {
      const m = await p.receive(p.createEndpoint({ name: 'sink' }));
      const b = m.buffer!;
      expect(states(p, b, 4).every((s) => s.mapped && !s.writable && !s.copyOnWrite)).toBe(true);
      expect(await code(() => p.memory.write(b.va, Uint8Array.of(1)))).toBe('AccessFault');
      const idle = p.connect('relay-back');
      expect(await code(p.send(idle, { type: 3, data: EMPTY, buffer: b, transfer: 'move' }, { timeout: 0 }))).toBe('PermissionDenied');
      p.reply(m.sender, { type: 0, data: EMPTY });
    });
    const relay = k.spawn({ name: 'relay', priority: 20 }, async (p) => {
      p.createEndpoint({ name: 'relay-back' });
      const m = await p.receive(p.createEndpoint({ name: 'relay' }));
      await p.call(p.connect('sink'), { type: 2, data: EMPTY, buffer: m.buffer!, transfer: 'share' });
      p.reply(m.sender, { type: 0, data: EMPTY });
    });
    await k.whenNamed('sink');
    await k.whenNamed('relay');
    const client = k.spawn({ name: 'client', priority: 5 }, async (p) => {
      const va = p.memory.map(4 * PAGE);
      p.memory.protect(va, 4 * PAGE, PagePerm.READ);
      await p.call(p.connect('relay'), { type: 1, data: EMPTY, buffer: p.memory.buffer(va, 4 * PAGE), transfer: 'share' });
    });
    await ok(sink, relay, client);
  });
});
