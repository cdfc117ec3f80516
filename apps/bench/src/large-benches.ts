/**
 * Zero-copy large messages: one buffer carried through IPC by Move, Share or Copy, beside a
 * plain `Uint8Array.set` copy of the same size (the `memcpy-*` peers) measured in the same run.
 *
 * One CPU, a passive server (`serve`) that answers each call by carrying the buffer it received
 * straight back with the same mode, so the client has a buffer again for the next call. A round
 * trip is two transfers; every figure is per transfer (round trip / 2). Neither side touches the
 * pages (the receiver's mapping is lazy by design), except in `large-move-1mib-touch`, where each
 * receiver (the server before it answers, the client when the buffer is back) reads one byte of
 * every page: the cost of the faults that install the lazy pages, shown honestly.
 */
import { createKernel, FRAME_SIZE, SharedBuffer, type Arch, type MessageBuffer, type SmallMessage, type TransferMode } from '@veridian/core';
import { measureAsync, measureSync, round, type Measurement, type SamplerOptions } from './sampler.js';

/** The sizes measured, by id suffix. */
export const LARGE_SIZES = [
  { id: '4kib', label: '4 KiB', bytes: 4 << 10 },
  { id: '64kib', label: '64 KiB', bytes: 64 << 10 },
  { id: '1mib', label: '1 MiB', bytes: 1 << 20 },
  { id: '16mib', label: '16 MiB', bytes: 16 << 20 },
] as const;

/** The transfer modes measured, in table order. */
export const LARGE_MODES: readonly TransferMode[] = ['move', 'share', 'copy'];

const EMPTY = new Uint8Array(0);

/** `memcpy-<size>`: `dst.set(src)` of `bytes` bytes between two preallocated arrays. */
export function memcpy(bytes: number, opts: SamplerOptions): Measurement {
  const src = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 97) src[i] = i & 0xff;
  const dst = new Uint8Array(bytes);
  const m = measureSync((n) => {
    for (let i = 0; i < n; i++) {
      src[0] = i;
      dst.set(src);
    }
  }, opts);
  if (dst[97] !== 97) throw new Error('memcpy copied nothing');
  return m;
}

/**
 * A round-trip measurement as per-transfer figures: every time halved (samples, percentiles,
 * histogram), twice the operations.
 */
function perTransfer(m: Measurement): Measurement & { transfers_per_op: number } {
  const p50 = round(m.p50_ns / 2);
  return {
    ...m,
    median_ns: p50,
    p50_ns: p50,
    p99_ns: round(m.p99_ns / 2),
    ops: m.ops * 2,
    ops_per_s: Math.round(1e9 / Math.max(p50, 0.01)),
    histogram: m.histogram.map((b) => ({ from_ns: round(b.from_ns / 2), to_ns: round(b.to_ns / 2), count: b.count })),
    transfers_per_op: 2,
  };
}

/**
 * `large-<mode>-<size>` (and, with `touch`, `large-move-1mib-touch`): one transfer of a
 * `bytes`-byte buffer through IPC on one CPU. Share and Copy leave the sender its mapping, so
 * each side unmaps the mapping it no longer uses once it has the buffer back (the Copy's frames
 * go back to the pool there): that unmap is part of the measured transfer. A Move leaves
 * nothing to unmap. After the run the client checks the bytes, and for Move and Share that its
 * frames are still the ones it started with (nothing was copied).
 */
export async function largeTransfer(arch: Arch, opts: SamplerOptions, mode: TransferMode, bytes: number, touch = false): Promise<Measurement> {
  const pages = Math.ceil(bytes / FRAME_SIZE);
  // Copy holds three copies at once (the client's, the server's, the reply's); list frames and tables on top.
  const kernel = createKernel({ arch, frames: 3 * pages + 1024, maxTransfer: bytes, endpoints: 8, capSlots: 32 });
  try {
    kernel.spawn({ name: 'zc-server' }, async (p) => {
      const ep = p.createEndpoint({ name: 'zc' });
      const reply: SmallMessage = { type: 0, data: EMPTY, transfer: mode };
      const one = new Uint8Array(1);
      let held: SharedBuffer | null = null;
      await p.serve(ep, (m: MessageBuffer) => {
        const b = m.buffer;
        if (b === null) throw new Error('a request without a buffer');
        // The buffer answered last time stays mapped here after a Share or Copy: let it go.
        if (held !== null && mode !== 'move') p.memory.unmap(held.va, held.length);
        if (touch) for (let off = 0; off < b.length; off += FRAME_SIZE) p.memory.readInto(b.va + off, one);
        held = b;
        reply.type = m.type;
        reply.buffer = b;
        return reply;
      });
    });
    await kernel.whenNamed('zc');
    let result!: Measurement;
    const client = kernel.spawn({ name: 'zc-client' }, async (p) => {
      const ch = p.connect('zc');
      const va = p.memory.map(bytes);
      const start = new Uint8Array(pages);
      for (let i = 0; i < pages; i++) start[i] = (i * 7 + 1) & 0xff;
      for (let i = 0; i < pages; i++) p.memory.write(va + i * FRAME_SIZE, start.subarray(i, i + 1));
      const frames = Array.from(p.memory.frames(va, pages));
      const msg: SmallMessage = { type: 1, data: EMPTY, buffer: new SharedBuffer(va, bytes), transfer: mode };
      const one = new Uint8Array(1);
      const rt = await measureAsync(async (n) => {
        for (let i = 0; i < n; i++) {
          msg.type = i & 0xffff;
          const r = await p.call(ch, msg);
          const back = r.buffer;
          if (back === null || back.length !== bytes || r.type !== (i & 0xffff)) throw new Error('corrupt reply');
          if (touch) for (let off = 0; off < bytes; off += FRAME_SIZE) p.memory.readInto(back.va + off, one);
          if (mode !== 'move') p.memory.unmap(msg.buffer!.va, bytes);
          msg.buffer = back;
        }
      }, opts);
      // Checked once, after the timing: the bytes, and for Move and Share the very same frames.
      const b = msg.buffer!;
      if (mode !== 'copy') {
        const now = p.memory.frames(b.va, pages);
        for (let i = 0; i < pages; i++) if (now[i] !== frames[i]) throw new Error(`${mode}: page ${i} is in frame ${now[i]}, it started in ${frames[i]}`);
      }
      const got = new Uint8Array(1);
      for (let i = 0; i < pages; i++) {
        p.memory.readInto(b.va + i * FRAME_SIZE, got);
        if (got[0] !== start[i]) throw new Error(`${mode}: page ${i} came back holding ${got[0]}, want ${start[i]}`);
      }
      result = perTransfer(rt);
    });
    const exit = await client.exited;
    if (exit.reason !== 'returned') throw exit.error instanceof Error ? exit.error : new Error(`bench client ${exit.reason}: ${String(exit.error)}`);
    return result;
  } finally {
    await kernel.shutdown();
  }
}
