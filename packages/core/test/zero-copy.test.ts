import { describe, expect, it } from 'vitest';
import { IPC_BUFFER_VA, ManualClock, PagePerm, SharedBuffer, type Kernel, type Process } from '../src/index.js';
import { testKernel } from './support/kernel.js';
import { mapEveryFrame } from './support/memory.js';
import { code, ok } from './support/outcome.js';

const PAGE = 4096;
const MiB = 1 << 20;
const EMPTY = new Uint8Array(0);

/** A server that receives one message on `name`, runs `check` on it, and replies. */
function receiver(k: Kernel, name: string, check: (p: Process, b: SharedBuffer) => void) {
  return k.spawn({ name: 'server', priority: 20 }, async (p) => {
    const m = await p.receive(p.createEndpoint({ name }));
    check(p, m.buffer!);
    p.reply(m.sender, { type: 0, data: EMPTY });
  });
}

describe('zero-copy buffers', () => {
  it("Move of 1 MiB: the receiver's frames are the sender's former frames, mapped lazily; the sender faults; every frame comes back", async () => {
    const k = testKernel({ frames: 2048 });
    const base = k.stats();
    let sent: Int32Array | undefined;
    const server = receiver(k, 'zc', (p, b) => {
      expect(b.length).toBe(MiB);
      expect(p.memory.pages(b.va, 256).every((s) => s.mapped && !s.present)).toBe(true);
      expect(Array.from(p.memory.frames(b.va, 256))).toEqual(Array.from(sent!));
      expect(Array.from(p.memory.read(b.va + PAGE * 7, 4))).toEqual([7, 7, 7, 7]);
      // Only the page touched became present.
      expect(p.memory.pages(b.va, 256).filter((s) => s.present).length).toBe(1);
      p.memory.unmap(b.va, b.length);
    });
    const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
      const va = p.memory.map(MiB);
      for (let i = 0; i < 256; i++) p.memory.write(va + i * PAGE, new Uint8Array(4).fill(i));
      sent = p.memory.frames(va, 256);
      await p.call(p.connect('zc'), { type: 1, data: EMPTY, buffer: new SharedBuffer(va, MiB), transfer: 'move' });
      expect(await code(() => p.memory.read(va, 1))).toBe('AccessFault');
      expect(p.memory.pages(va, 256).every((s) => !s.mapped)).toBe(true);
      // The moved range is no longer this process's memory: its addresses went back to the free ranges.
      expect(await code(() => p.memory.unmap(va, MiB))).toBe('InvalidArgument');
      expect(p.memory.map(MiB)).toBe(va);
    });
    await ok(server, client);
    expect(k.stats()).toEqual(base);
  });

  it('Share: both map the same frames read-only until a write, then exactly one page differs and the other side keeps the old contents', async () => {
    const k = testKernel({ frames: 1024 });
    const server = receiver(k, 'zs', (p, b) => {
      const before = p.memory.frames(b.va, 16);
      expect(p.memory.pages(b.va, 16).every((s) => s.copyOnWrite && !s.writable)).toBe(true);
      p.memory.write(b.va + PAGE * 3, Uint8Array.of(99));
      const after = p.memory.frames(b.va, 16);
      expect(Array.from(before).filter((f, i) => f !== after[i]).length).toBe(1);
      expect(p.memory.read(b.va + PAGE * 3, 1)[0]).toBe(99);
    });
    const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
      const va = p.memory.map(16 * PAGE);
      p.memory.write(va + PAGE * 3, Uint8Array.of(5));
      const mine = p.memory.frames(va, 16);
      await p.call(p.connect('zs'), { type: 1, data: EMPTY, buffer: p.memory.buffer(va, 16 * PAGE), transfer: 'share' });
      expect(Array.from(p.memory.frames(va, 16))).toEqual(Array.from(mine));
      expect(p.memory.read(va + PAGE * 3, 1)[0]).toBe(5);
      // The receiver let go of its mapping when it exited... or not yet: either way a write by
      // the sender is allowed, copying or taking the page back.
      p.memory.write(va, Uint8Array.of(1));
      expect(p.memory.read(va, 1)[0]).toBe(1);
    });
    await ok(server, client);
  });

  it('Copy: new frames with the same contents; the sender keeps its pages writable', async () => {
    const k = testKernel({ frames: 1024 });
    let sent: Int32Array | undefined;
    const server = receiver(k, 'zk', (p, b) => {
      const got = p.memory.frames(b.va, 8);
      expect(Array.from(got).some((f) => sent!.includes(f))).toBe(false);
      expect(p.memory.read(b.va, 8 * PAGE)).toEqual(new Uint8Array(8 * PAGE).fill(3));
    });
    const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
      const va = p.memory.map(8 * PAGE);
      p.memory.write(va, new Uint8Array(8 * PAGE).fill(3));
      sent = p.memory.frames(va, 8);
      await p.call(p.connect('zk'), { type: 1, data: EMPTY, buffer: p.memory.buffer(va, 8 * PAGE), transfer: 'copy' });
      expect(p.memory.pages(va, 8).every((s) => s.writable && s.present)).toBe(true);
      p.memory.write(va, Uint8Array.of(9));
    });
    await ok(server, client);
  });

  it('an unaligned buffer: whole pages move, the partial edge pages are copied with only the buffer bytes, and the sender keeps its edges', async () => {
    const k = testKernel({ frames: 1024 });
    const off = 100;
    const len = 3 * PAGE;
    let sent: Int32Array | undefined;
    const server = receiver(k, 'zu', (p, b) => {
      expect(b.va % PAGE).toBe(off);
      expect(b.length).toBe(len);
      expect(p.memory.read(b.va, len)).toEqual(Uint8Array.from({ length: len }, (_, i) => (i * 13) & 255));
      const got = p.memory.frames(b.va, 4);
      // Pages 1 and 2 are whole: the sender's frames. Pages 0 and 3 are fresh copies.
      expect([got[1], got[2]]).toEqual([sent![1], sent![2]]);
      expect(got[0]).not.toBe(sent![0]);
      expect(got[3]).not.toBe(sent![3]);
      // Nothing of the sender's outside the buffer is visible.
      expect(p.memory.read(b.va - off, off)).toEqual(new Uint8Array(off));
      expect(p.memory.read(b.va + len, PAGE - off)).toEqual(new Uint8Array(PAGE - off));
    });
    const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
      const va = p.memory.map(4 * PAGE);
      p.memory.write(va, new Uint8Array(4 * PAGE).fill(0xee));
      p.memory.write(va + off, Uint8Array.from({ length: len }, (_, i) => (i * 13) & 255));
      sent = p.memory.frames(va, 4);
      await p.call(p.connect('zu'), { type: 1, data: EMPTY, buffer: new SharedBuffer(va + off, len), transfer: 'move' });
      expect(p.memory.read(va, off)).toEqual(new Uint8Array(off).fill(0xee));
      expect(p.memory.read(va + 3 * PAGE + off, PAGE - off)).toEqual(new Uint8Array(PAGE - off).fill(0xee));
      expect(await code(() => p.memory.read(va + PAGE, 1))).toBe('AccessFault');
    });
    await ok(server, client);
  });

  it('bad buffers are refused before anything changes: outside mapped memory, the IPC buffer, read-only by Move, over the limits, plain objects, unknown modes', async () => {
    const k = testKernel({ frames: 1024, maxTransfer: 64 * PAGE });
    let stop!: () => void;
    const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
      p.createEndpoint({ name: 'zb' });
      p.createEndpoint({ name: 'zb-small', maxTransfer: 2 * PAGE });
      p.createEndpoint({ name: 'zb-never' });
      await new Promise<void>((r) => (stop = r));
    });
    const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
      const ch = p.connect('zb');
      const small = p.connect('zb-small');
      const va = p.memory.map(4 * PAGE);
      const ro = p.memory.map(PAGE, PagePerm.READ);
      const big = p.memory.map(65 * PAGE);
      const before = k.snapshot();
      const frames = p.memory.frames(va, 4);
      const send = (m: object) => p.send(ch, { type: 1, data: EMPTY, ...m } as never, { timeout: 0 });
      expect(await code(send({ buffer: new SharedBuffer(0x7f00_0000, 10) }))).toBe('AccessFault');
      expect(await code(send({ buffer: new SharedBuffer(big + 64 * PAGE, 2 * PAGE) }))).toBe('AccessFault');
      expect(await code(send({ buffer: new SharedBuffer(IPC_BUFFER_VA, 16) }))).toBe('AccessFault');
      expect(await code(send({ buffer: new SharedBuffer(ro, PAGE), transfer: 'move' }))).toBe('PermissionDenied');
      expect(await code(send({ buffer: new SharedBuffer(big, 65 * PAGE) }))).toBe('MessageTooLarge');
      expect(await code(p.send(small, { type: 1, data: EMPTY, buffer: new SharedBuffer(va, 3 * PAGE) }, { timeout: 0 }))).toBe('MessageTooLarge');
      expect(await code(send({ buffer: { va, length: PAGE } }))).toBe('InvalidArgument');
      // Forged on SharedBuffer's prototype and frozen, with fields its constructor would refuse.
      for (const [fva, flen] of [[va + 0.5, PAGE], [va, 0.5], [va, 2 ** 60], [String(va), PAGE]] as const) {
        const forged = Object.freeze(Object.create(SharedBuffer.prototype, { va: { value: fva, enumerable: true }, length: { value: flen, enumerable: true } }) as SharedBuffer);
        expect(await code(send({ buffer: forged }))).toBe('InvalidArgument');
      }
      expect(await code(send({ buffer: new SharedBuffer(va, PAGE), transfer: 'steal' }))).toBe('InvalidArgument');
      expect(await code(send({ transfer: 'move' }))).toBe('InvalidArgument');
      expect(() => new SharedBuffer(-1, 1)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
      expect(() => new SharedBuffer(0, 0)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
      expect(() => new SharedBuffer(0.5, 1)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
      expect(k.snapshot()).toEqual(before);
      expect(Array.from(p.memory.frames(va, 4))).toEqual(Array.from(frames));
      // A read-only range may be shared or copied.
      expect(await code(p.send(p.connect('zb-never'), { type: 1, data: EMPTY, buffer: new SharedBuffer(ro, PAGE), transfer: 'share' }, { timeout: 0 }))).toBe('Timeout');
      stop();
    });
    await ok(server, client);
  });

  it('memory running out half-way leaves both address spaces, every count and the free frames exactly as before', async () => {
    const k = testKernel({ frames: 160 });
    let stop!: () => void;
    const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
      p.createEndpoint({ name: 'zo' });
      await new Promise<void>((r) => (stop = r));
    });
    const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
      const va = p.memory.map(64 * PAGE);
      // Take nearly everything that is left.
      const hog = p.memory.map((k.stats().freeFrames - 3) * PAGE);
      const ch = p.connect('zo');
      const before = k.snapshot();
      expect(await code(p.send(ch, { type: 1, data: EMPTY, buffer: new SharedBuffer(va, 64 * PAGE), transfer: 'copy' }, { timeout: 0 }))).toBe('OutOfMemory');
      expect(await code(() => p.memory.map(8 * PAGE))).toBe('OutOfMemory');
      expect(k.snapshot()).toEqual(before);
      p.memory.unmap(hog, PAGE);
      stop();
    });
    await ok(server, client);
  });

  it('a queued Move that times out puts the pages back: same frames, readable and writable again, the kernel as before', async () => {
    const clock = new ManualClock();
    const k = testKernel({ frames: 1024, clock });
    let release!: () => void;
    const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
      p.createEndpoint({ name: 'zt' });
      await new Promise<void>((r) => (release = r));
    });
    const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
      const va = p.memory.map(8 * PAGE);
      p.memory.write(va, Uint8Array.of(42));
      const frames = p.memory.frames(va, 8);
      const ch = p.connect('zt');
      const before = k.snapshot();
      const pending = p.call(ch, { type: 1, data: EMPTY, buffer: new SharedBuffer(va, 8 * PAGE), transfer: 'move' }, { timeout: 1000 });
      // While it is queued the pages are parked: an access faults, an unmap is refused.
      expect(await code(() => p.memory.read(va, 1))).toBe('AccessFault');
      expect(await code(() => p.memory.unmap(va, PAGE))).toBe('InvalidState');
      clock.advance(1000);
      expect(await code(pending)).toBe('Timeout');
      expect(Array.from(p.memory.frames(va, 8))).toEqual(Array.from(frames));
      expect(p.memory.read(va, 1)[0]).toBe(42);
      p.memory.write(va, Uint8Array.of(43));
      const after = k.snapshot();
      expect(after.freeFrames).toBe(before.freeFrames);
      expect(after.frames).toEqual(before.frames);
      release();
    });
    await ok(server, client);
  });

  it('a buffer the receiver has no room for is refused at the receive and stays queued; once memory is back it arrives whole', async () => {
    const k = testKernel({ frames: 96 });
    let hogStop!: () => void;
    let sent!: () => void;
    const sentP = new Promise<void>((r) => (sent = r));
    let freed!: () => void;
    const freedP = new Promise<void>((r) => (freed = r));
    const hog = k.spawn({ name: 'hog', priority: 5 }, async (p) => {
      await sentP;
      const pages = mapEveryFrame(p);
      expect(k.stats().freeFrames).toBe(0);
      await new Promise<void>((r) => (hogStop = r));
      for (const va of pages.slice(0, 4)) p.memory.unmap(va, PAGE);
      freed();
    });
    const server = k.spawn({ name: 'server', priority: 10 }, async (p) => {
      const ep = p.createEndpoint({ name: 'zq' }); // it never mapped memory: delivery needs a frame for its address map
      await sentP;
      await new Promise((r) => setTimeout(r, 5));
      const before = k.snapshot();
      expect(await code(p.receive(ep, { timeout: 0 }))).toBe('OutOfMemory');
      expect(k.snapshot()).toEqual(before);
      hogStop();
      await freedP;
      const m = await p.receive(ep, { timeout: 0 });
      expect(p.memory.read(m.buffer!.va, 1)[0]).toBe(42);
    });
    const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
      const va = p.memory.map(PAGE);
      p.memory.write(va, Uint8Array.of(42));
      const s = p.send(p.connect('zq'), { type: 1, data: EMPTY, buffer: new SharedBuffer(va, PAGE), transfer: 'move' });
      sent();
      await s;
    });
    await ok(hog, server, client);
  });

  it('a receiver that exits without reading, and a sender killed while its Move is parked, give every frame back', async () => {
    const k = testKernel({ frames: 1024 });
    const base = k.stats();
    let stop!: () => void;
    const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
      p.createEndpoint({ name: 'zx' });
      await new Promise<void>((r) => (stop = r));
    });
    const victim = k.spawn({ name: 'victim', priority: 10 }, async (p) => {
      const va = p.memory.map(32 * PAGE);
      await p.call(p.connect('zx'), { type: 1, data: EMPTY, buffer: new SharedBuffer(va, 32 * PAGE) });
    });
    await new Promise((r) => setTimeout(r, 10));
    void victim.kill();
    expect((await victim.exited).reason).toBe('killed');
    stop();
    await server.exited;
    expect(k.stats()).toEqual(base);
  });
});
