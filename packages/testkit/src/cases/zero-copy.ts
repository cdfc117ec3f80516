/**
 * Conformance cases of zero-copy buffers (`message.buffer` with `transfer` Move, Share or Copy):
 * the frame numbers prove what was copied and what was not, `proc.memory.pages` proves the
 * receiver's mapping is lazy, and unaligned buffers must not leak the bytes around them.
 */
import { FRAME_SIZE, IpcError, SharedBuffer, messagePayload, type MessageBuffer, type PageState, type TransferMode } from '@veridian/core';
import { expect } from 'vitest';
import { EMPTY, pattern, returned, within } from '../support/harness.js';
import { workerUrl } from '../support/worker-url.js';
import type { ZeroCopyMoverArgs } from '../workers/zero-copy-mover.js';
import type { CaseSubset } from './types.js';

/** The ids of this file (the rest of the `large` area is in `large.ts`). */
export type ZeroCopyCaseId = 'large.move-zero-copy' | 'large.share-cow' | 'large.lazy-mapping' | 'large.unaligned';

const PAGE = FRAME_SIZE;
const MiB = 1 << 20;

/** Page `i` of a buffer holds bytes `(i * 31 + j + salt) & 0xff`: every page distinct. */
function pagePattern(pages: number, salt: number): Uint8Array {
  const out = new Uint8Array(pages * PAGE);
  for (let i = 0; i < pages; i++) {
    const base = i * PAGE;
    for (let j = 0; j < PAGE; j++) out[base + j] = (i * 31 + j + salt) & 0xff;
  }
  return out;
}

/** The `IpcError` code `fn` throws, or `'ok'`. */
function faultOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof IpcError) return e.code;
    throw e;
  }
  return 'ok';
}

/** The buffer a received message carries (failing the case when it carries none). */
function bufferOf(m: MessageBuffer): SharedBuffer {
  expect(m.buffer, 'the message carries a buffer').toBeInstanceOf(SharedBuffer);
  return m.buffer!;
}

/** Indices of the pages whose frame differs between two frame lists. */
function differing(a: ArrayLike<number>, b: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (a[i] !== b[i]) out.push(i);
  return out;
}

/** Expects `got` to hold exactly `want` (a fast loop: vitest's deep equality is slow on megabytes). */
function expectBytes(got: Uint8Array, want: Uint8Array, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  let first = -1;
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== want[i]) {
      first = i;
      break;
    }
  }
  expect(first, `${what}: first differing byte`).toBe(-1);
}

const presentPages = (states: PageState[]) => states.flatMap((s, i) => (s.present ? [i] : []));

/** Expects every page of `states` mapped and not yet present (a lazy mapping nobody touched). */
function expectLazy(states: PageState[], what: string): void {
  expect(states.filter((s) => !s.mapped).length, `${what}: pages not mapped`).toBe(0);
  expect(presentPages(states), `${what}: pages already present`).toEqual([]);
}

export const zeroCopyCases: CaseSubset<ZeroCopyCaseId> = {
  'large.move-zero-copy': {
    checks:
      "after a 1 MiB Move the receiver's 256 pages are exactly the sender's former frames, in order, with the sender's bytes; every sender access faults (AccessFault) and its pages are unmapped; a Move back returns the very same frames; the same holds from a worker CPU to CPU 0 and back; kernel.stats() returns to baseline",
    timeout: 60_000,
    async run(ctx) {
      const pages = MiB / PAGE;
      const k = ctx.kernel({ frames: 2048 });
      const base = k.stats();
      const bytes = pagePattern(pages, 5);
      let sent: number[] = [];
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'zc.move' });
        const m = await p.receive(ep);
        const b = bufferOf(m);
        expect(b.length).toBe(MiB);
        expect(Array.from(p.memory.frames(b.va, pages)), "the receiver's frames").toEqual(sent);
        expectBytes(p.memory.read(b.va, MiB), bytes, 'the received bytes');
        // Then a call: move it back in the reply, and the sender gets the same frames again.
        const ask = await p.receive(ep);
        p.reply(ask.sender, { type: 0, data: EMPTY, buffer: b, transfer: 'move' });
        expect(faultOf(() => p.memory.read(b.va, 1)), 'the server after moving the buffer back').toBe('AccessFault');
      });
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const va = p.memory.map(MiB);
        p.memory.write(va, bytes);
        sent = Array.from(p.memory.frames(va, pages));
        expect(new Set(sent).size).toBe(pages);
        expect(sent.includes(-1)).toBe(false);
        const ch = p.connect('zc.move');
        await p.send(ch, { type: 1, data: EMPTY, buffer: new SharedBuffer(va, MiB), transfer: 'move' });
        // The sender's range is gone: every page faults, none is mapped, the addresses are free again.
        for (let i = 0; i < pages; i += 17) expect(faultOf(() => p.memory.read(va + i * PAGE, 1)), `sender page ${i}`).toBe('AccessFault');
        expect(faultOf(() => p.memory.write(va, Uint8Array.of(1)))).toBe('AccessFault');
        expect(p.memory.pages(va, pages).filter((s) => s.mapped).length, 'sender pages still mapped').toBe(0);
        expect(faultOf(() => p.memory.unmap(va, MiB)), 'unmap of the moved range').toBe('InvalidArgument');
        const r = await p.call(ch, { type: 2, data: EMPTY });
        const back = bufferOf(r);
        expect(Array.from(p.memory.frames(back.va, pages)), 'the frames moved back').toEqual(sent);
        expectBytes(p.memory.read(back.va, MiB), bytes, 'the bytes moved back');
        p.memory.unmap(back.va, MiB);
      });
      await returned(server, client);
      expect(k.stats(), 'after the one-CPU round trip').toEqual(base);

      // Cross-CPU: a worker maps and fills 1 MiB, moves it to a CPU-0 server with its frame
      // numbers in the data, gets it moved back and checks the frames came home.
      const xserver = k.spawn({ name: 'xserver', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'zc.xmove' });
        const m = await p.receive(ep);
        const b = bufferOf(m);
        const theirs = Array.from(new Int32Array(messagePayload(m).slice().buffer));
        expect(theirs.length).toBe(pages);
        expectLazy(p.memory.pages(b.va, pages), 'cross-CPU Move');
        expect(Array.from(p.memory.frames(b.va, pages)), "the worker's frames on CPU 0").toEqual(theirs);
        expectBytes(p.memory.read(b.va, MiB), pagePattern(pages, 9), 'the bytes from the worker CPU');
        p.reply(m.sender, { type: 0, data: EMPTY });
        // The worker checks its range faults, then calls again: the buffer goes back in that reply.
        const ask = await p.receive(ep);
        p.reply(ask.sender, { type: 0, data: EMPTY, buffer: b, transfer: 'move' });
      });
      await k.whenNamed('zc.xmove');
      const args: ZeroCopyMoverArgs = { name: 'zc.xmove', pages, salt: 9 };
      const worker = k.spawnWorker(workerUrl('zero-copy-mover'), { name: 'mover', args });
      await within(30_000, 'the worker-CPU Move round trip', returned(xserver, worker));
      expect(k.stats(), 'after the cross-CPU round trip').toEqual(base);
    },
  },
  'large.share-cow': {
    checks:
      'after a Share both sides map the same frames read-only copy-on-write; a write by the receiver changes exactly that one page of its mapping while the sender keeps its frame and old bytes; a write by the sender then changes exactly one page of its own while the receiver keeps the old bytes; kernel.stats() returns to baseline',
    async run(ctx) {
      const pages = 16;
      const k = ctx.kernel();
      const base = k.stats();
      const bytes = pagePattern(pages, 3);
      let sent: number[] = [];
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'zc.share' });
        const m = await p.receive(ep);
        const b = bufferOf(m);
        expect(Array.from(p.memory.frames(b.va, pages)), "the receiver's frames are the sender's").toEqual(sent);
        const states = p.memory.pages(b.va, pages);
        expect(states.every((s) => s.copyOnWrite && !s.writable), 'receiver pages read-only copy-on-write').toBe(true);
        expectBytes(p.memory.read(b.va, pages * PAGE), bytes, 'the shared bytes');
        // The receiver writes page 3: only that page gets a frame of its own.
        p.memory.write(b.va + 3 * PAGE + 10, Uint8Array.of(0xab, 0xcd));
        const mine = Array.from(p.memory.frames(b.va, pages));
        expect(differing(mine, sent), 'receiver pages that differ after its write').toEqual([3]);
        expect(p.memory.pages(b.va + 3 * PAGE, 1)[0]!.writable).toBe(true);
        p.reply(m.sender, { type: 0, data: EMPTY });
        // Second call: the sender has written page 5; this side still sees the old bytes.
        const m2 = await p.receive(ep);
        expect(Array.from(p.memory.frames(b.va, pages)), "the receiver's frames after the sender's write").toEqual(mine);
        expectBytes(p.memory.read(b.va + 5 * PAGE, PAGE), bytes.subarray(5 * PAGE, 6 * PAGE), 'receiver page 5 after the sender wrote its own');
        const three = bytes.slice(3 * PAGE, 4 * PAGE);
        three.set([0xab, 0xcd], 10);
        expectBytes(p.memory.read(b.va + 3 * PAGE, PAGE), three, 'receiver page 3 with its own write');
        p.memory.unmap(b.va, b.length);
        p.reply(m2.sender, { type: 0, data: EMPTY });
      });
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const va = p.memory.map(pages * PAGE);
        p.memory.write(va, bytes);
        sent = Array.from(p.memory.frames(va, pages));
        const ch = p.connect('zc.share');
        await p.call(ch, { type: 1, data: EMPTY, buffer: new SharedBuffer(va, pages * PAGE), transfer: 'share' });
        // The receiver's write did not reach the sender: same frames, old bytes.
        expect(Array.from(p.memory.frames(va, pages)), "the sender's frames after the receiver's write").toEqual(sent);
        expectBytes(p.memory.read(va, pages * PAGE), bytes, 'the sender after the receiver wrote');
        expect(p.memory.pages(va + 5 * PAGE, 1)[0]!.copyOnWrite, 'sender page 5 still shared copy-on-write').toBe(true);
        // The sender writes page 5, still shared: exactly that page is copied.
        p.memory.write(va + 5 * PAGE, Uint8Array.of(0x11));
        expect(differing(p.memory.frames(va, pages), sent), 'sender pages that differ after its write').toEqual([5]);
        expect(p.memory.read(va + 5 * PAGE, 1)[0]).toBe(0x11);
        await p.call(ch, { type: 2, data: EMPTY });
        p.memory.unmap(va, pages * PAGE);
      });
      await returned(server, client);
      expect(k.stats()).toEqual(base);
    },
  },
  'large.lazy-mapping': {
    checks:
      "in every mode (Move, Share, Copy) the receiver's pages are all mapped and none present when the message arrives; reading one byte makes exactly that page present, writing another exactly one more; a Copy's frames are new frames with the same bytes while the sender keeps its own",
    async run(ctx) {
      const pages = 64;
      const k = ctx.kernel();
      const base = k.stats();
      const modes: TransferMode[] = ['move', 'share', 'copy'];
      const bytes = pagePattern(pages, 7);
      let sent: number[] = [];
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'zc.lazy' });
        for (const mode of modes) {
          const m = await p.receive(ep);
          const b = bufferOf(m);
          expectLazy(p.memory.pages(b.va, pages), `${mode}, on arrival`);
          // pages() and frames() look at the tables without touching the pages.
          const frames = Array.from(p.memory.frames(b.va, pages));
          if (mode === 'copy') expect(frames.filter((f) => sent.includes(f)), "a Copy's frames the sender also maps").toEqual([]);
          else expect(frames, `${mode}: the sender's frames`).toEqual(sent);
          expectLazy(p.memory.pages(b.va, pages), `${mode}, after reading the tables`);
          expect(p.memory.read(b.va + 41 * PAGE + 100, 1)[0]).toBe(bytes[41 * PAGE + 100]);
          expect(presentPages(p.memory.pages(b.va, pages)), `${mode}: present after reading page 41`).toEqual([41]);
          p.memory.write(b.va + 2 * PAGE, Uint8Array.of(1));
          expect(presentPages(p.memory.pages(b.va, pages)), `${mode}: present after writing page 2`).toEqual([2, 41]);
          // The rest is still exact when it is touched.
          const all = p.memory.read(b.va, pages * PAGE);
          expectBytes(all.subarray(3 * PAGE), bytes.subarray(3 * PAGE), `${mode}: pages 3 on`);
          p.memory.unmap(b.va, b.length);
          p.reply(m.sender, { type: 0, data: EMPTY });
        }
      });
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const ch = p.connect('zc.lazy');
        for (const mode of modes) {
          const va = p.memory.map(pages * PAGE);
          p.memory.write(va, bytes);
          sent = Array.from(p.memory.frames(va, pages));
          await p.call(ch, { type: 1, data: EMPTY, buffer: new SharedBuffer(va, pages * PAGE), transfer: mode });
          if (mode === 'move') {
            expect(faultOf(() => p.memory.read(va, 1))).toBe('AccessFault');
            continue; // the moved range's addresses are free again: nothing left to unmap
          } else {
            // Share and Copy leave the sender its frames and bytes (the receiver's write to page 2 did not reach it).
            expect(Array.from(p.memory.frames(va, pages)), `${mode}: the sender's frames`).toEqual(sent);
            expectBytes(p.memory.read(va, pages * PAGE), bytes, `${mode}: the sender's bytes`);
            if (mode === 'copy') expect(p.memory.pages(va, pages).every((s) => s.writable && s.present && !s.copyOnWrite), 'a Copy leaves the sender its pages writable').toBe(true);
          }
          p.memory.unmap(va, pages * PAGE);
        }
      });
      await returned(server, client);
      expect(k.stats()).toEqual(base);
    },
  },
  'large.unaligned': {
    checks:
      "a Move of buffers at unaligned offsets and lengths (spanning one to four pages) arrives at the same page offset with exact contents; in the receiver's edge pages every byte outside the buffer is zero (nothing of the sender's leaks); the whole pages are the sender's frames and the edge pages new ones; the sender keeps its edge pages (same frames, every byte) while its whole pages fault",
    async run(ctx) {
      const k = ctx.kernel();
      const base = k.stats();
      // [offset in the first page, length]: both edges partial, one page only, aligned start, aligned end, exact page.
      const shapes: Array<readonly [number, number]> = [
        [100, 3 * PAGE],
        [1000, 50],
        [0, 2 * PAGE + 7],
        [PAGE - 96, 96 + 2 * PAGE],
        [1, PAGE - 2],
        [0, PAGE],
      ];
      let sent: number[] = [];
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'zc.unaligned' });
        for (const [off, len] of shapes) {
          const what = `[+${off}, ${len} bytes]`;
          const m = await p.receive(ep);
          const b = bufferOf(m);
          expect(b.va % PAGE, `${what}: page offset`).toBe(off);
          expect(b.length).toBe(len);
          expectBytes(p.memory.read(b.va, len), pattern(len, off), `${what}: contents`);
          const first = b.va - off;
          const span = Math.ceil((off + len) / PAGE);
          // Outside the buffer, in its first and last page: zeros only.
          if (off > 0) expectBytes(p.memory.read(first, off), new Uint8Array(off), `${what}: bytes before the buffer`);
          const tail = span * PAGE - off - len;
          if (tail > 0) expectBytes(p.memory.read(b.va + len, tail), new Uint8Array(tail), `${what}: bytes after the buffer`);
          const got = Array.from(p.memory.frames(first, span));
          for (let i = 0; i < span; i++) {
            const whole = i * PAGE >= off && (i + 1) * PAGE <= off + len;
            if (whole) expect(got[i], `${what}: whole page ${i} is the sender's frame`).toBe(sent[i]);
            else expect(sent.includes(got[i]!), `${what}: edge page ${i} is a new frame`).toBe(false);
          }
          p.memory.unmap(first, span * PAGE);
          p.reply(m.sender, { type: 0, data: EMPTY });
        }
      });
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const ch = p.connect('zc.unaligned');
        for (const [off, len] of shapes) {
          const what = `[+${off}, ${len} bytes]`;
          const span = Math.ceil((off + len) / PAGE);
          const va = p.memory.map(span * PAGE);
          // The sender's own bytes around the buffer: must never reach the receiver.
          const before = new Uint8Array(span * PAGE).fill(0xee);
          before.set(pattern(len, off), off);
          p.memory.write(va, before);
          sent = Array.from(p.memory.frames(va, span));
          await p.call(ch, { type: 1, data: EMPTY, buffer: new SharedBuffer(va + off, len), transfer: 'move' });
          const after = Array.from(p.memory.frames(va, span));
          for (let i = 0; i < span; i++) {
            const whole = i * PAGE >= off && (i + 1) * PAGE <= off + len;
            if (whole) {
              expect(faultOf(() => p.memory.read(va + i * PAGE, 1)), `${what}: sender whole page ${i}`).toBe('AccessFault');
            } else {
              expect(after[i], `${what}: sender keeps edge page ${i}`).toBe(sent[i]);
              expectBytes(p.memory.read(va + i * PAGE, PAGE), before.subarray(i * PAGE, (i + 1) * PAGE), `${what}: sender edge page ${i} bytes`);
              // The sender still owns its edge pages (the whole pages' addresses went back with them).
              p.memory.unmap(va + i * PAGE, PAGE);
            }
          }
        }
      });
      await returned(server, client);
      expect(k.stats()).toEqual(base);
    },
  },
};
