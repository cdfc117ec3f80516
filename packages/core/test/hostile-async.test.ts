// Hostile use of async-channel buffers, policies and observability.
import { describe, expect, it } from 'vitest';
import { IpcError, ManualClock, Rights, SharedBuffer, type ChromeTrace, type Kernel, type Process } from '../src/index.js';
import { testKernel } from './support/kernel.js';
import { flowsOk } from './support/trace.ts';

const PAGE = 4096;
const EMPTY = new Uint8Array(0);
const msg = (type: number, n = 4) => ({ type, data: new Uint8Array(n).fill(type & 0xff) });

/** Sync: the IpcError code, 'ok', or `non-IpcError: …` (a crash of the library). */
function code(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    if (e instanceof IpcError) return e.code;
    return `non-IpcError: ${String(e)}`;
  }
}
async function acode(p: () => Promise<unknown>): Promise<string> {
  try {
    await p();
    return 'ok';
  } catch (e) {
    if (e instanceof IpcError) return e.code;
    return `non-IpcError: ${String(e)}`;
  }
}

async function run(k: Kernel, fn: (p: Process) => unknown): Promise<void> {
  const h = k.spawn({ name: 'solo' }, async (p) => {
    await fn(p);
  });
  const e = await h.exited;
  if (e.reason !== 'returned') throw e.error;
}

const fr = (k: Kernel) => {
  const s = k.snapshot();
  return [s.freeFrames, s.frames];
};

describe('hostile: one-slot channels', () => {
  for (const overflow of ['reject', 'drop-newest', 'block'] as const) {
    it(`bufferSize 1 (${overflow}) holds exactly one message`, async () => {
      const k = testKernel();
      await run(k, (p) => {
        const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 1, overflow }));
        expect(ch.trySend(msg(1))).toBe(true);
        expect(ch.trySend(msg(2))).toBe(false);
        expect(ch.sendBatch([msg(3), msg(4)])).toBe(0);
        expect(ch.stats().queued).toBe(1);
        expect(ch.tryReceive()!.type).toBe(1);
        expect(ch.tryReceive()).toBe(null);
        expect(ch.sendBatch([msg(5), msg(6)])).toBe(1);
        expect(ch.trySend(msg(7))).toBe(false);
        expect(ch.tryReceive()!.type).toBe(5);
        expect(ch.tryReceive()).toBe(null);
        // Many laps.
        for (let i = 0; i < 300; i++) {
          expect(ch.trySend(msg(i))).toBe(true);
          expect(ch.trySend(msg(i + 1000))).toBe(false);
          expect(ch.tryReceive()!.type).toBe(i);
        }
      });
    });
  }

  it('bufferSize 1 drop-oldest keeps only the newest; a batch larger than the ring keeps the last', async () => {
    const k = testKernel();
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 1, overflow: 'drop-oldest' }));
      expect(ch.trySend(msg(1))).toBe(true);
      expect(ch.trySend(msg(2))).toBe(true);
      expect(ch.sendBatch([msg(3), msg(4), msg(5)])).toBe(3);
      expect(ch.stats().queued).toBe(1);
      expect(ch.tryReceive()!.type).toBe(5);
      expect(ch.tryReceive()).toBe(null);
      expect(ch.stats().drops).toBe(4);
    });
  });

  it('bufferSize 1 drop-oldest with buffers: each pushed-out buffer is freed, the last arrives', async () => {
    const k = testKernel({ frames: 512 });
    const base = k.stats();
    const h = k.spawn({ name: 'p' }, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 1, overflow: 'drop-oldest' }));
      for (let i = 0; i < 5; i++) {
        const va = p.memory.map(2 * PAGE);
        p.memory.write(va, Uint8Array.of(i + 1));
        expect(ch.trySend({ type: i, data: EMPTY, buffer: new SharedBuffer(va, 2 * PAGE), transfer: (['move', 'share', 'copy'] as const)[i % 3] })).toBe(true);
        if (i % 3 === 1) p.memory.unmap(va, 2 * PAGE);
      }
      const m = ch.tryReceive()!;
      expect([m.type, p.memory.read(m.buffer!.va, 1)[0]]).toEqual([4, 5]);
      expect(ch.tryReceive()).toBe(null);
    });
    expect((await h.exited).reason).toBe('returned');
    expect(k.stats()).toEqual(base);
  });

  it('bufferSize 1 block: a blocked sendAsync completes once the one slot frees, exactly once', async () => {
    const k = testKernel();
    await run(k, async (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 1, overflow: 'block' }));
      await ch.sendAsync(msg(1));
      const pending = ch.sendAsync(msg(2));
      await p.yield();
      expect(ch.tryReceive()!.type).toBe(1);
      await pending;
      expect(ch.tryReceive()!.type).toBe(2);
      expect(ch.tryReceive()).toBe(null);
      expect(ch.stats().messages).toBe(2);
    });
  });
});

describe('hostile: buffers', () => {
  it('moving the same buffer twice: the second is AccessFault and changes nothing', async () => {
    const k = testKernel();
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 4 }));
      const va = p.memory.map(4 * PAGE);
      const b = new SharedBuffer(va, 4 * PAGE);
      expect(ch.trySend({ type: 1, data: EMPTY, buffer: b, transfer: 'move' })).toBe(true);
      const before = fr(k);
      expect(code(() => ch.trySend({ type: 2, data: EMPTY, buffer: b, transfer: 'move' }))).toBe('AccessFault');
      expect(code(() => ch.trySend({ type: 2, data: EMPTY, buffer: b, transfer: 'share' }))).toBe('AccessFault');
      expect(code(() => ch.sendBatch([msg(3), { type: 2, data: EMPTY, buffer: b, transfer: 'copy' }]))).toBe('AccessFault');
      expect(fr(k)).toEqual(before);
      expect(ch.tryReceive()!.type).toBe(1);
    });
  });

  it('sharing the same buffer twice then receiving both: both see the bytes; everything returns at exit', async () => {
    const k = testKernel();
    const base = k.stats();
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 4 }));
      const va = p.memory.map(2 * PAGE);
      p.memory.write(va, Uint8Array.of(77));
      const b = new SharedBuffer(va, 2 * PAGE);
      expect(ch.sendBatch([{ type: 1, data: EMPTY, buffer: b, transfer: 'share' }, { type: 2, data: EMPTY, buffer: b, transfer: 'share' }])).toBe(2);
      const m1 = ch.tryReceive()!;
      expect(p.memory.read(m1.buffer!.va, 1)[0]).toBe(77);
      const m2 = ch.tryReceive()!;
      expect(m2.type).toBe(2);
      expect(p.memory.read(m2.buffer!.va, 1)[0]).toBe(77);
      p.memory.write(m2.buffer!.va, Uint8Array.of(5));
      expect(p.memory.read(va, 1)[0]).toBe(77);
    });
    expect(k.stats()).toEqual(base);
  });

  it('a received (untouched, whole-page) buffer moved onward into a full ring: refused, still readable; then moved onward for real', async () => {
    const k = testKernel();
    const base = k.stats();
    await run(k, (p) => {
      const a = p.channel(p.createChannel({ type: 'async', bufferSize: 2 }));
      const full = p.channel(p.createChannel({ type: 'async', bufferSize: 1, overflow: 'reject' }));
      const dn = p.channel(p.createChannel({ type: 'async', bufferSize: 1, overflow: 'drop-newest' }));
      const c = p.channel(p.createChannel({ type: 'async', bufferSize: 2 }));
      expect(full.trySend(msg(0))).toBe(true);
      expect(dn.trySend(msg(0))).toBe(true);
      const va = p.memory.map(4 * PAGE);
      for (let i = 0; i < 4; i++) p.memory.write(va + i * PAGE, Uint8Array.of(10 + i));
      expect(a.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(va, 4 * PAGE), transfer: 'move' })).toBe(true);
      const got = a.tryReceive()!.buffer!;
      const before = fr(k);
      expect(full.trySend({ type: 2, data: EMPTY, buffer: got, transfer: 'move' })).toBe(false);
      expect(dn.trySend({ type: 2, data: EMPTY, buffer: got, transfer: 'move' })).toBe(false);
      expect(fr(k)).toEqual(before);
      expect(c.trySend({ type: 3, data: EMPTY, buffer: got, transfer: 'move' })).toBe(true);
      expect(code(() => p.memory.read(got.va, 1))).toBe('AccessFault');
      const again = c.tryReceive()!.buffer!;
      for (let i = 0; i < 4; i++) expect(p.memory.read(again.va + i * PAGE, 1)[0]).toBe(10 + i);
    });
    expect(k.stats()).toEqual(base);
  });

  it('a received untouched buffer moved onward then discarded by drop-oldest frees its frames', async () => {
    const k = testKernel();
    await run(k, (p) => {
      const a = p.channel(p.createChannel({ type: 'async', bufferSize: 2 }));
      const d = p.channel(p.createChannel({ type: 'async', bufferSize: 1, overflow: 'drop-oldest' }));
      const free0 = k.stats().freeFrames;
      const va = p.memory.map(8 * PAGE);
      p.memory.write(va, new Uint8Array(8 * PAGE).fill(1));
      expect(a.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(va, 8 * PAGE), transfer: 'move' })).toBe(true);
      const got = a.tryReceive()!.buffer!;
      expect(d.trySend({ type: 2, data: EMPTY, buffer: got, transfer: 'move' })).toBe(true);
      expect(d.trySend(msg(3))).toBe(true);
      expect(d.tryReceive()!.type).toBe(3);
      // The 8 data frames are free again (the sender unmapped nothing else that allocates frames).
      expect(k.stats().freeFrames).toBeGreaterThanOrEqual(free0 - 4);
    });
  });

  it('a received untouched buffer moved onward and left in a ring released at exit: back to baseline', async () => {
    const k = testKernel();
    const base = k.stats();
    await run(k, (p) => {
      const a = p.channel(p.createChannel({ type: 'async', bufferSize: 2 }));
      const c = p.channel(p.createChannel({ type: 'async', bufferSize: 2 }));
      const va = p.memory.map(4 * PAGE);
      expect(a.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(va, 4 * PAGE), transfer: 'move' })).toBe(true);
      const got = a.tryReceive()!.buffer!;
      expect(c.trySend({ type: 2, data: EMPTY, buffer: got, transfer: 'move' })).toBe(true);
    });
    expect(k.stats()).toEqual(base);
  });

  it('bad buffer values are InvalidArgument (never a TypeError) and change nothing', async () => {
    const k = testKernel();
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 4 }));
      const va = p.memory.map(PAGE);
      const before = fr(k);
      const fake = Object.freeze(Object.create(SharedBuffer.prototype, { va: { value: va }, length: { value: PAGE } })) as SharedBuffer;
      const fakeNaN = Object.freeze(Object.create(SharedBuffer.prototype, { va: { value: NaN }, length: { value: PAGE } })) as SharedBuffer;
      const fakeNeg = Object.freeze(Object.create(SharedBuffer.prototype, { va: { value: va }, length: { value: -5 } })) as SharedBuffer;
      const unfrozen = Object.create(SharedBuffer.prototype, { va: { value: va, writable: true }, length: { value: PAGE, writable: true } }) as SharedBuffer;
      const results = {
        fakeNaN: code(() => ch.trySend({ type: 1, data: EMPTY, buffer: fakeNaN })),
        fakeNeg: code(() => ch.trySend({ type: 1, data: EMPTY, buffer: fakeNeg })),
        unfrozen: code(() => ch.trySend({ type: 1, data: EMPTY, buffer: unfrozen })),
        nullBuf: code(() => ch.trySend({ type: 1, data: EMPTY, buffer: null } as never)),
        transferNoBuffer: code(() => ch.trySend({ type: 1, data: EMPTY, transfer: 'move' } as never)),
        typeNaN: code(() => ch.trySend({ type: NaN, data: EMPTY } as never)),
        typeHuge: code(() => ch.trySend({ type: 2 ** 40, data: EMPTY } as never)),
        dataArray: code(() => ch.trySend({ type: 1, data: [1, 2] } as never)),
        batchNotArray: code(() => ch.sendBatch('x' as never)),
        batchHoles: code(() => ch.sendBatch([undefined] as never)),
      };
      expect(results).toEqual({
        fakeNaN: 'InvalidArgument',
        fakeNeg: 'InvalidArgument',
        unfrozen: 'InvalidArgument',
        nullBuf: 'InvalidArgument',
        transferNoBuffer: 'InvalidArgument',
        typeNaN: 'InvalidArgument',
        typeHuge: 'InvalidArgument',
        dataArray: 'InvalidArgument',
        batchNotArray: 'InvalidArgument',
        batchHoles: 'InvalidArgument',
      });
      expect(fr(k)).toEqual(before);
      expect(ch.stats().messages).toBe(0);
      // A frozen fake with sane fields is accepted or refused, but never crashes.
      expect(code(() => ch.trySend({ type: 1, data: EMPTY, buffer: fake }))).not.toMatch(/non-IpcError/);
    });
  });

  it('forged frozen SharedBuffers (Object.create(SharedBuffer.prototype)) with non-integer fields are InvalidArgument, never sent, never a TypeError', async () => {
    const k = testKernel();
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 16 }));
      const va = p.memory.map(4 * PAGE);
      const forge = (v: unknown, l: unknown) => Object.freeze(Object.create(SharedBuffer.prototype, { va: { value: v }, length: { value: l } })) as SharedBuffer;
      const cases = { fracVa: forge(va + 0.5, PAGE), objVa: forge({ valueOf: () => va }, 16), bigintVa: forge(BigInt(va), 16), strVa: forge(String(va), 16), hugeLen: forge(va, 2 ** 60) };
      const got: Record<string, string> = {};
      for (const [n, b] of Object.entries(cases)) {
        got[n] = code(() => ch.trySend({ type: 1, data: EMPTY, buffer: b, transfer: 'copy' }));
        // Drain anything a broken kernel let through, so each case starts from an empty ring.
        while (ch.tryReceive()) void 0;
      }
      expect(got).toEqual({ fracVa: 'InvalidArgument', objVa: 'InvalidArgument', bigintVa: 'InvalidArgument', strVa: 'InvalidArgument', hugeLen: 'InvalidArgument' });
    });
  });

  it('a forged SharedBuffer of length 0.5 is refused (it used to be sent, and corrupted physical memory: a double free at exit that never settled)', async () => {
    const k = testKernel();
    let r!: (c: string) => void;
    const result = new Promise<string>((res) => (r = res));
    k.spawn({ name: 'p' }, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 4 }));
      const va = p.memory.map(PAGE);
      const forged = Object.freeze(Object.create(SharedBuffer.prototype, { va: { value: va }, length: { value: 0.5 } })) as SharedBuffer;
      r(code(() => ch.trySend({ type: 1, data: EMPTY, buffer: forged, transfer: 'copy' })));
    });
    expect(await result).toBe('InvalidArgument');
  });

  it('buffers straddling the end of a mapping, unmapped gaps, va 0: AccessFault, nothing changed', async () => {
    const k = testKernel();
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 4 }));
      const va = p.memory.map(2 * PAGE);
      const before = fr(k);
      for (const transfer of ['move', 'share', 'copy'] as const) {
        expect(code(() => ch.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(va + PAGE, 2 * PAGE), transfer }))).toBe('AccessFault');
        expect(code(() => ch.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(0, 1), transfer }))).toBe('AccessFault');
        expect(code(() => ch.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(Number.MAX_SAFE_INTEGER - 10, 5), transfer }))).not.toMatch(/non-IpcError|^ok$/);
      }
      expect(fr(k)).toEqual(before);
      expect(p.memory.pages(va, 2).every((s) => s.mapped && s.writable)).toBe(true);
    });
  });

  it('a buffer over the transfer limit is MessageTooLarge, nothing changed', async () => {
    const k = testKernel();
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 4 }));
      const va = p.memory.map(PAGE);
      const before = fr(k);
      expect(code(() => ch.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(va, 2 ** 52), transfer: 'copy' }))).toBe('MessageTooLarge');
      expect(fr(k)).toEqual(before);
    });
  });

  it('sending on a closed channel with a buffer: ChannelClosed, pages kept; buffered message drains then ChannelClosed', async () => {
    const k = testKernel();
    const base = k.stats();
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 4 }));
      const va = p.memory.map(2 * PAGE);
      p.memory.write(va, Uint8Array.of(9));
      expect(ch.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(va, PAGE), transfer: 'move' })).toBe(true);
      ch.close();
      const before = fr(k);
      expect(code(() => ch.trySend({ type: 2, data: EMPTY, buffer: new SharedBuffer(va + PAGE, PAGE), transfer: 'move' }))).toBe('ChannelClosed');
      expect(fr(k)).toEqual(before);
      expect(p.memory.pages(va + PAGE, 1)[0]!.mapped).toBe(true);
      const m = ch.tryReceive()!;
      expect(p.memory.read(m.buffer!.va, 1)[0]).toBe(9);
      expect(code(() => ch.tryReceive())).toBe('ChannelClosed');
    });
    expect(k.stats()).toEqual(base);
  });

  it('a sender whose SEND was revoked mid-way: next buffer send refused, pages kept, queued buffer still delivered', async () => {
    const k = testKernel();
    const base = k.stats();
    let handle = 0;
    let revoked = false;
    let stage = 0;
    const consumer = k.spawn({ name: 'consumer', priority: 10 }, async (p) => {
      const h = p.createChannel({ type: 'async', bufferSize: 4 });
      k.processCapability(p.pid, producer.pid);
      handle = p.grant(h, producer.pid, Rights.SEND);
      while (stage < 1) await p.yield();
      p.revoke(h);
      revoked = true;
      while (stage < 2) await p.yield();
      const ch = p.channel(h);
      const m = ch.tryReceive();
      expect(m?.type).toBe(1);
      expect(p.memory.read(m!.buffer!.va, 1)[0]).toBe(3);
    });
    const producer = k.spawn({ name: 'producer', priority: 10 }, async (p) => {
      while (handle === 0) await p.yield();
      const ch = p.channel(handle);
      const va = p.memory.map(2 * PAGE);
      p.memory.write(va, Uint8Array.of(3));
      expect(ch.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(va, PAGE), transfer: 'move' })).toBe(true);
      stage = 1;
      while (!revoked) await p.yield();
      const before = fr(k);
      const c = code(() => ch.trySend({ type: 2, data: EMPTY, buffer: new SharedBuffer(va + PAGE, PAGE), transfer: 'move' }));
      expect(['InvalidCapability', 'PermissionDenied', 'ChannelClosed']).toContain(c);
      expect(fr(k)).toEqual(before);
      expect(p.memory.pages(va + PAGE, 1)[0]!.mapped).toBe(true);
      stage = 2;
    });
    for (const h of [consumer, producer]) {
      const e = await h.exited;
      if (e.reason !== 'returned') throw e.error;
    }
    expect(k.stats()).toEqual(base);
  });

  it('topics refuse buffers with InvalidArgument for every transfer, and fake buffers too', async () => {
    const k = testKernel();
    await run(k, (p) => {
      const t = p.topic(p.createTopic({}));
      const sub = t.subscribe();
      const va = p.memory.map(PAGE);
      const before = fr(k);
      for (const transfer of ['move', 'share', 'copy', undefined] as const) {
        expect(code(() => t.publish({ type: 1, data: EMPTY, buffer: new SharedBuffer(va, PAGE), transfer } as never))).toBe('InvalidArgument');
      }
      expect(code(() => t.publish({ type: 1, data: EMPTY, buffer: { va, length: 1 } } as never))).toBe('InvalidArgument');
      expect(fr(k)).toEqual(before);
      expect(sub.tryReceive()).toBe(null);
      expect(p.memory.pages(va, 1)[0]!.writable).toBe(true);
    });
  });

  it('receiveBatch over messages with buffers: each gets its own buffer', async () => {
    const k = testKernel();
    const base = k.stats();
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 4 }));
      for (let i = 0; i < 3; i++) {
        const va = p.memory.map(PAGE);
        p.memory.write(va, Uint8Array.of(i + 40));
        expect(ch.trySend({ type: i, data: EMPTY, buffer: new SharedBuffer(va, PAGE), transfer: 'move' })).toBe(true);
      }
      const out = [0, 1, 2].map(() => ({ type: 0, sender: 0, flags: 0, length: 0, bytes: new Uint8Array(64), capCount: 0, caps: new Uint32Array(4), large: null, largeCaps: null, buffer: null }));
      expect(ch.receiveBatch(out as never)).toBe(3);
      expect(out.map((m) => p.memory.read((m.buffer as unknown as SharedBuffer).va, 1)[0])).toEqual([40, 41, 42]);
    });
    expect(k.stats()).toEqual(base);
  });
});

describe('hostile: receive buffers', () => {
  it('receiveBatch with a bogus out buffer is InvalidArgument and loses nothing (plain message)', async () => {
    const k = testKernel();
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 2 }));
      expect(ch.trySend(msg(1))).toBe(true);
      const c = code(() => ch.receiveBatch([{}] as never));
      const queued = ch.stats().queued;
      const first = (() => { try { return ch.tryReceive()?.type ?? null; } catch (e) { return String(e); } })();
      const sends = [code(() => ch.trySend(msg(2))), code(() => ch.trySend(msg(3)))];
      const later: unknown[] = [];
      for (let i = 0; i < 3; i++) later.push(ch.tryReceive()?.type ?? null);
      expect({ c, queued, first, sends, later }).toEqual({ c: 'InvalidArgument', queued: 1, first: 1, sends: ['ok', 'ok'], later: [2, 3, null] });
    });
  });

  it('receiveBatch with a bogus out buffer loses nothing (message with a buffer; frames not leaked)', async () => {
    const k = testKernel();
    const base = k.stats();
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 2 }));
      const va = p.memory.map(PAGE);
      p.memory.write(va, Uint8Array.of(8));
      expect(ch.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(va, PAGE), transfer: 'move' })).toBe(true);
      const c = code(() => ch.receiveBatch([{}] as never));
      let m: ReturnType<typeof ch.tryReceive> = null;
      let err = '';
      try { m = ch.tryReceive(); } catch (e) { err = String(e); }
      expect({ c, type: m?.type ?? null, err }).toEqual({ c: 'InvalidArgument', type: 1, err: '' });
      expect(p.memory.read(m!.buffer!.va, 1)[0]).toBe(8);
    });
    expect(k.stats()).toEqual(base);
  });
});

describe('hostile: policies', () => {
  it('bad policies are InvalidArgument and leave the previous policy in force', async () => {
    const k = testKernel();
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 8 }));
      p.setPolicy(ch.handle, { filter: { types: [1] } });
      const bad: unknown[] = [
        { rate: { messagesPerSecond: NaN } },
        { rate: { messagesPerSecond: 0 } },
        { rate: { messagesPerSecond: 2 ** 33 } },
        { rate: { messagesPerSecond: 1.5 } },
        { rate: { burstMessages: 3 } },
        { filter: { maxSize: -1 } },
        { filter: { types: [] } },
        { filter: { types: [1, 2, 3, 4, 5, 6, 7, 8, 9] } },
        { filter: { types: ['1'] } },
        { filter: { sources: [-1] } },
        { filter: { requiredRights: 1 } },
        { filter: { requiredCapability: 'x' } },
        { bogus: 1 },
        'policy',
        42,
        undefined,
      ];
      for (const b of bad) expect(code(() => p.setPolicy(ch.handle, b as never)), JSON.stringify(b)).toBe('InvalidArgument');
      expect(code(() => ch.trySend(msg(2)))).toBe('Filtered');
      expect(code(() => ch.trySend(msg(1)))).toBe('ok');
      expect(code(() => p.setPolicy(ch.handle, { filter: { requiredCapability: 9999 } }))).toBe('InvalidCapability');
      expect(code(() => ch.trySend(msg(2)))).toBe('Filtered');
      expect(code(() => p.setPolicy(0xdead, { filter: { types: [1] } }))).toBe('InvalidCapability');
    });
  });

  it('a refused buffer message on a full ring under a rate policy does not debit the bucket', async () => {
    const clock = new ManualClock(1e9);
    const k = testKernel({ clock });
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 1, overflow: 'reject' }));
      p.setPolicy(ch.handle, { rate: { messagesPerSecond: 2, burstMessages: 2 } });
      expect(ch.trySend(msg(1))).toBe(true);
      const va = p.memory.map(PAGE);
      const before = fr(k);
      // Full: not taken; no token spent.
      for (let i = 0; i < 5; i++) expect(ch.trySend({ type: 2, data: EMPTY, buffer: new SharedBuffer(va, PAGE), transfer: 'move' })).toBe(false);
      for (let i = 0; i < 5; i++) expect(ch.trySend(msg(3))).toBe(false);
      expect(fr(k)).toEqual(before);
      expect(ch.tryReceive()!.type).toBe(1);
      // One token left.
      expect(ch.trySend({ type: 4, data: EMPTY, buffer: new SharedBuffer(va, PAGE), transfer: 'move' })).toBe(true);
      expect(ch.tryReceive()!.type).toBe(4);
      expect(code(() => ch.trySend(msg(5)))).toBe('RateLimited');
    });
  });

  it('drop-newest under a rate policy: a dropped message spends no token', async () => {
    const clock = new ManualClock(1e9);
    const k = testKernel({ clock });
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 1, overflow: 'drop-newest' }));
      p.setPolicy(ch.handle, { rate: { messagesPerSecond: 2, burstMessages: 2 } });
      expect(ch.trySend(msg(1))).toBe(true);
      expect(ch.trySend(msg(2))).toBe(false);
      expect(ch.tryReceive()!.type).toBe(1);
      expect(ch.trySend(msg(3))).toBe(true);
    });
  });

  it('a failing buffer check (AccessFault) under a policy spends no token', async () => {
    const clock = new ManualClock(1e9);
    const k = testKernel({ clock });
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 4 }));
      p.setPolicy(ch.handle, { rate: { messagesPerSecond: 1, burstMessages: 1 } });
      expect(code(() => ch.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(0x7000_0000, 10), transfer: 'move' }))).toBe('AccessFault');
      expect(ch.trySend(msg(2))).toBe(true);
      expect(code(() => ch.trySend(msg(3)))).toBe('RateLimited');
    });
  });

  it('a sendBatch refused part-way by the policy returns the count; the refused message and the rest are not sent', async () => {
    const clock = new ManualClock(1e9);
    const k = testKernel({ clock });
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 16 }));
      p.setPolicy(ch.handle, { filter: { types: [1, 2] } });
      expect(ch.sendBatch([msg(1), msg(2), msg(3), msg(1)])).toBe(2);
      expect(ch.stats().queued).toBe(2);
      expect(code(() => ch.sendBatch([msg(3), msg(1)]))).toBe('Filtered');
      expect(ch.stats().queued).toBe(2);
    });
  });

  it('byte rate counts the buffer: a buffer bigger than burstBytes is always RateLimited and changes nothing', async () => {
    const clock = new ManualClock(1e9);
    const k = testKernel({ clock });
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 4 }));
      p.setPolicy(ch.handle, { rate: { bytesPerSecond: 1000, burstBytes: 1000 } });
      const va = p.memory.map(PAGE);
      const before = fr(k);
      expect(code(() => ch.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(va, PAGE), transfer: 'share' }))).toBe('RateLimited');
      clock.advance(100e9);
      expect(code(() => ch.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(va, PAGE), transfer: 'share' }))).toBe('RateLimited');
      expect(fr(k)).toEqual(before);
      expect(p.memory.pages(va, 1)[0]!.writable).toBe(true);
      expect(ch.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(va, 1000), transfer: 'copy' })).toBe(true);
    });
  });

  it('requiredCapability: a sender holding it passes, one lacking it is Filtered', async () => {
    const k = testKernel();
    let handle = 0;
    let step = 0;
    const owner = k.spawn({ name: 'owner', priority: 10 }, async (p) => {
      const h = p.createChannel({ type: 'async', bufferSize: 8 });
      const token = p.createChannel({ type: 'async' });
      p.setPolicy(h, { filter: { requiredCapability: token, requiredRights: Rights.SEND } });
      expect(code(() => p.channel(h).trySend(msg(1)))).toBe('ok');
      k.processCapability(p.pid, other.pid);
      handle = p.grant(h, other.pid, Rights.SEND);
      while (step < 1) await p.yield();
      p.grant(token, other.pid, Rights.SEND);
      step = 2;
      while (step < 3) await p.yield();
      expect(p.channel(h).stats().queued).toBe(2);
    });
    const other = k.spawn({ name: 'other', priority: 10 }, async (p) => {
      while (handle === 0) await p.yield();
      expect(code(() => p.channel(handle).trySend(msg(2)))).toBe('Filtered');
      step = 1;
      while (step < 2) await p.yield();
      expect(code(() => p.channel(handle).trySend(msg(3)))).toBe('ok');
      step = 3;
    });
    for (const h of [owner, other]) {
      const e = await h.exited;
      if (e.reason !== 'returned') throw e.error;
    }
  });
});

describe('hostile: observability', () => {
  it('trace with drops, OOM-free buffer sends, a blocked send and a batch: every flow one s and one f', async () => {
    const k = testKernel({ audit: { records: 512 } });
    k.trace.enable();
    await run(k, async (p) => {
      const d = p.channel(p.createChannel({ type: 'async', bufferSize: 2, overflow: 'drop-oldest' }));
      for (let i = 0; i < 6; i++) expect(d.trySend(msg(i))).toBe(true);
      expect(d.sendBatch([msg(10), msg(11), msg(12)])).toBe(3);
      const va = p.memory.map(PAGE);
      expect(d.trySend({ type: 20, data: EMPTY, buffer: new SharedBuffer(va, PAGE), transfer: 'copy' })).toBe(true);
      expect([d.tryReceive()!.type, d.tryReceive()!.type]).toEqual([12, 20]);
      const b = p.channel(p.createChannel({ type: 'async', bufferSize: 1, overflow: 'block' }));
      await b.sendAsync(msg(30));
      const pend = b.sendAsync(msg(31));
      await p.yield();
      expect(b.tryReceive()!.type).toBe(30);
      await pend;
      expect(b.tryReceive()!.type).toBe(31);
      const t = p.topic(p.createTopic({ bufferSize: 4 }));
      const s = t.subscribe();
      expect(t.publish(msg(40))).toBe(true);
      expect(s.tryReceive()!.type).toBe(40);
    });
    const n = flowsOk(JSON.parse(k.trace.export()) as ChromeTrace);
    expect(n).toBe(4);
    const ev = k.audit.events();
    const kinds = new Set(ev.map((e) => e.kind));
    for (const kind of ['async-send', 'async-receive', 'publish', 'topic-receive']) expect(kinds.has(kind as never)).toBe(true);
    // Each async-send ok event: 6 + 3 + 1 + 2 = 12; receives: 4.
    expect(ev.filter((e) => e.kind === 'async-send' && e.result === 'ok').length).toBe(12);
    expect(ev.filter((e) => e.kind === 'async-receive' && e.result === 'ok').length).toBe(4);
    const rx = ev.filter((e) => e.kind === 'async-receive' && e.type === 20);
    expect(rx[0]!.size).toBe(PAGE);
  });

  it('an OutOfMemory receive is one refused event; the later receive carries the flow once', async () => {
    const k = testKernel({ frames: 96, audit: { records: 256 } });
    k.trace.enable();
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let refused!: () => void;
    const refusedP = new Promise<void>((r) => (refused = r));
    let freed!: () => void;
    const freedP = new Promise<void>((r) => (freed = r));
    let handle = 0;
    const consumer = k.spawn({ name: 'consumer', priority: 20 }, async (p) => {
      const h = p.createChannel({ type: 'async', bufferSize: 4 });
      k.processCapability(p.pid, producer.pid);
      handle = p.grant(h, producer.pid, Rights.SEND);
      const ch = p.channel(h);
      await released;
      expect(code(() => ch.tryReceive())).toBe('OutOfMemory');
      expect(ch.stats().queued).toBe(1);
      refused();
      await freedP;
      expect(ch.tryReceive()!.type).toBe(5);
    });
    const producer = k.spawn({ name: 'producer', priority: 10 }, async (p) => {
      while (handle === 0) await p.yield();
      const ch = p.channel(handle);
      const va = p.memory.map(PAGE);
      expect(ch.trySend({ type: 5, data: EMPTY, buffer: new SharedBuffer(va, PAGE), transfer: 'move' })).toBe(true);
      const pages: number[] = [];
      for (;;) {
        try {
          pages.push(p.memory.map(PAGE));
        } catch {
          break;
        }
      }
      release();
      await refusedP;
      for (const a of pages.slice(0, 8)) p.memory.unmap(a, PAGE);
      freed();
    });
    for (const h of [consumer, producer]) {
      const e = await h.exited;
      if (e.reason !== 'returned') throw e.error;
    }
    expect(flowsOk(JSON.parse(k.trace.export()) as ChromeTrace)).toBe(1);
    const rx = k.audit.events().filter((e) => e.kind === 'async-receive');
    expect(rx.map((e) => e.result)).toEqual(['OutOfMemory', 'ok']);
  });

  it('debugfs channels lists the ring with its counters, and survives a ring with buffers and a policy', async () => {
    const k = testKernel({ audit: { records: 16 } });
    let text = '';
    await run(k, (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 1 }));
      p.setPolicy(ch.handle, { filter: { maxSize: 2 * PAGE } });
      const va = p.memory.map(PAGE);
      expect(ch.trySend({ type: 1, data: EMPTY, buffer: new SharedBuffer(va, PAGE), transfer: 'move' })).toBe(true);
      text = String(k.debugfs.read('/sys/kernel/debug/ipc/channels'));
    });
    expect(text.length).toBeGreaterThan(0);
    expect(text).toMatch(/4096/);
  });
});

describe('hostile: blocked sends, observed', () => {
  it('a blocked sendAsync that times out is audited once as a refused async-send (Timeout), and nothing is queued', async () => {
    const k = testKernel({ audit: { records: 64 } });
    await run(k, async (p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 1, overflow: 'block' }));
      expect(ch.trySend(msg(1))).toBe(true);
      expect(await acode(() => ch.sendAsync(msg(2), { timeout: 1e6 }))).toBe('Timeout');
      expect(ch.stats().queued).toBe(1);
      expect(await acode(() => ch.sendAsync(msg(2), { timeout: NaN }))).toBe('InvalidArgument');
    });
    const sends = k.audit.events().filter((e) => e.kind === 'async-send');
    expect(sends.map((e) => [e.type, e.result])).toEqual([[1, 'ok'], [2, 'Timeout']]);
  });
});

describe('hostile: worker CPU', () => {
  it('worker sender moves buffers through a one-slot block channel; consumer drops them unread via exit; baseline', async () => {
    const k = testKernel({ frames: 2048 });
    const base = k.stats();
    const ctl = new Int32Array(new SharedArrayBuffer(4));
    const w = k.spawnWorker(new URL('./support/async-move-worker.ts', import.meta.url), { name: 'async-mover', args: { ctl: ctl.buffer, pages: 4, count: 3 } });
    const c = k.spawn({ name: 'consumer' }, async (p) => {
      const h = p.createChannel({ type: 'async', bufferSize: 1, overflow: 'block' });
      p.setPolicy(h, { filter: { maxSize: 1 << 20 } });
      k.processCapability(p.pid, w.pid);
      Atomics.store(ctl, 0, p.grant(h, w.pid, Rights.SEND));
      Atomics.notify(ctl, 0);
      const ch = p.channel(h);
      for (let j = 0; j < 3; j++) {
        const m = await ch.receiveAsync();
        expect(m.type).toBe(j);
        expect(p.memory.read(m.buffer!.va + 4096, 1)[0]).toBe((j + 1) & 0xff);
      }
    });
    expect(await w.exited).toMatchObject({ reason: 'returned' });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    expect(k.stats()).toEqual(base);
  });
});
