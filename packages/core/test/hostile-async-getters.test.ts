// Hostile messages whose fields change while the kernel reads them: a `data` getter that answers
// a small array first and a large one afterwards, and later messages of a batch whose getters
// resize or detach an earlier message's buffer after it was checked. The slot write copies into
// machine memory, so what it copies must be exactly what was checked: never more bytes than the
// limit (that would overwrite the next slots and kernel records), never stale bytes of an earlier
// message. Each case checks the neighbouring messages and another ring's message stay intact.
import { describe, expect, it } from 'vitest';
import { IpcError, createMessageBuffer, messageCaps, messagePayload, type MessageBuffer, type Process } from '@veridian/core';
import { testKernel } from './support/kernel.ts';

const filled = (n: number, v: number) => new Uint8Array(n).fill(v);
/** A resizable ArrayBuffer (ES2024; the project's lib stops at ES2023, Node 20 has them). */
interface Resizable extends ArrayBuffer {
  resize(byteLength: number): void;
}
const resizable = (n: number, max: number): Resizable => new (ArrayBuffer as unknown as new (n: number, o: { maxByteLength: number }) => Resizable)(n, { maxByteLength: max });
const got = (m: MessageBuffer) => ({ type: m.type, bytes: Array.from(m.bytes.subarray(0, m.length)) });

async function inProcess(body: (p: Process) => void): Promise<void> {
  const k = testKernel();
  const exit = await k.spawn({ name: 't' }, body).exited;
  if (exit.reason !== 'returned') throw exit.error;
  expect(k.stats().rings).toBe(0);
  await k.shutdown();
}

/** A second channel holding one message, to check nothing wrote past the first ring's slots. */
function bystander(p: Process): () => void {
  const other = p.channel(p.createChannel({ type: 'async', bufferSize: 4 }));
  other.trySend({ type: 77, data: filled(64, 0x77) });
  return () => expect(got(other.tryReceive()!)).toEqual({ type: 77, bytes: Array.from(filled(64, 0x77)) });
}

describe('hostile: message fields that change while read', () => {
  it('a data getter answering 8 bytes, then 1 KiB: read once, the 8 bytes arrive, the neighbours are intact', () =>
    inProcess((p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 4 }));
      const check = bystander(p);
      let reads = 0;
      const evil = {
        type: 1,
        get data() {
          return ++reads === 1 ? filled(8, 1) : filled(1024, 0xee);
        },
      };
      expect(ch.trySend(evil)).toBe(true);
      expect(ch.trySend({ type: 2, data: filled(8, 2) })).toBe(true);
      expect(reads).toBe(1);
      const out = Array.from({ length: 4 }, () => createMessageBuffer());
      expect(ch.receiveBatch(out)).toBe(2);
      expect([got(out[0]!), got(out[1]!)]).toEqual([
        { type: 1, bytes: Array.from(filled(8, 1)) },
        { type: 2, bytes: Array.from(filled(8, 2)) },
      ]);
      check();
    }));

  it('a later message of a batch grows an earlier one’s resizable buffer past the limit: the earlier one arrives with the length checked', () =>
    inProcess((p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 8 }));
      const check = bystander(p);
      const rab = resizable(8, 4096);
      const first = new Uint8Array(rab).fill(3);
      const later = {
        type: 5,
        get data() {
          rab.resize(4096);
          new Uint8Array(rab).fill(0xdd);
          return filled(8, 5);
        },
      };
      expect(ch.sendBatch([{ type: 4, data: first }, later, { type: 6, data: filled(8, 6) }])).toBe(3);
      expect(first.length).toBe(4096);
      const out = Array.from({ length: 8 }, () => createMessageBuffer());
      expect(ch.receiveBatch(out)).toBe(3);
      // Its first 8 bytes as they are now (the getter refilled them), no more.
      expect(out.slice(0, 3).map(got)).toEqual([
        { type: 4, bytes: Array.from(filled(8, 0xdd)) },
        { type: 5, bytes: Array.from(filled(8, 5)) },
        { type: 6, bytes: Array.from(filled(8, 6)) },
      ]);
      check();
    }));

  it('a later message of a batch detaches an earlier one’s buffer: it arrives as zeros, not as the slot’s previous message', () =>
    inProcess((p) => {
      const ch = p.channel(p.createChannel({ type: 'async', bufferSize: 1 }));
      const out = Array.from({ length: 2 }, () => createMessageBuffer());
      // The one slot last held 0xaa bytes.
      expect(ch.trySend({ type: 9, data: filled(16, 0xaa) })).toBe(true);
      expect(ch.receiveBatch(out)).toBe(1);
      const victim = filled(16, 4);
      const { port1, port2 } = new MessageChannel();
      const later = {
        type: 5,
        get data() {
          port1.postMessage(victim.buffer, [victim.buffer]);
          return filled(8, 5);
        },
      };
      // The ring has room for one: the first is sent, the second refused by the full ring.
      expect(ch.sendBatch([{ type: 4, data: victim }, later])).toBe(1);
      expect(victim.length).toBe(0);
      expect(ch.receiveBatch(out)).toBe(1);
      expect(got(out[0]!)).toEqual({ type: 4, bytes: Array.from(new Uint8Array(16)) });
      port1.close();
      port2.close();
    }));

  it('a topic publish with a data getter that changes reads it once', () =>
    inProcess((p) => {
      const t = p.topic(p.createTopic({ bufferSize: 4 }));
      const sub = t.subscribe();
      let reads = 0;
      expect(
        t.publish({
          type: 3,
          get data() {
            return ++reads === 1 ? filled(4, 3) : filled(512, 0xee);
          },
        }),
      ).toBe(true);
      expect(reads).toBe(1);
      expect(got(sub.tryReceive()!)).toEqual({ type: 3, bytes: [3, 3, 3, 3] });
      sub.unsubscribe();
    }));

  it('a passive server’s response whose caps getter changes: read once, so no capability is minted from stale state', async () => {
    const k = testKernel();
    k.spawn({ name: 'server' }, (p) => {
      const spare = p.createEndpoint();
      return p.serve(p.createEndpoint({ name: 'evil' }), () => {
        let capReads = 0;
        return {
          type: 8,
          data: filled(8, 8),
          get caps() {
            // None while the response is checked and read; four handles to any later read.
            return ++capReads <= 3 ? undefined : [spare, spare, spare, spare];
          },
        };
      });
    });
    await k.whenNamed('evil');
    const c = k.spawn({ name: 'client' }, (p) => {
      const ch = p.connect('evil');
      // Capability transfers first, so the kernel's capability scratch holds snapshots.
      const mine = p.createEndpoint();
      for (let i = 0; i < 3; i++) {
        const r = p.callSync(ch, { type: i, data: filled(4, i), caps: [mine] });
        expect(got(r)).toEqual({ type: 8, bytes: Array.from(filled(8, 8)) });
        expect(r.capCount).toBe(0);
        expect(Array.from(r.caps)).toEqual([0, 0, 0, 0]);
      }
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    await k.shutdown();
  });

  it('a call whose capability array resizes the data buffer while it is read: a consistent call or an IpcError, never a crash', async () => {
    const k = testKernel();
    k.spawn({ name: 'server' }, (p) => p.serve(p.createEndpoint({ name: 's' }), (m) => ({ type: m.type, data: m.bytes.slice(0, m.length) })));
    await k.whenNamed('s');
    const c = k.spawn({ name: 'client' }, (p) => {
      const ch = p.connect('s');
      // The resize lands on the n-th read of the array's length: one of them falls between the
      // kernel reading the data's length and copying it.
      for (let nth = 1; nth <= 8; nth++) {
        const rab = resizable(8, 4096);
        const data = new Uint8Array(rab).fill(1);
        let reads = 0;
        const caps = new Proxy([] as number[], {
          get(target, key, recv) {
            if (key === 'length' && ++reads === nth) rab.resize(4096);
            return Reflect.get(target, key, recv) as unknown;
          },
        });
        let outcome = 'ok';
        try {
          const r = p.callSync(ch, { type: nth, data, caps });
          expect(r.type).toBe(nth);
        } catch (e) {
          outcome = e instanceof IpcError ? e.code : `non-IpcError: ${String(e)}`;
        }
        expect(['ok', 'InvalidArgument', 'MessageTooLarge']).toContain(outcome);
        // The endpoint still answers.
        expect(p.callSync(ch, { type: 100 + nth, data: filled(4, 2) }).type).toBe(100 + nth);
      }
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    await k.shutdown();
  });

  it('a large call whose capability array changes its length while read: every capability the server gets is one the caller passed, never a stale snapshot', async () => {
    const k = testKernel();
    k.spawn({ name: 'server' }, (p) =>
      p.serve(p.createEndpoint({ name: 'big' }), (m) => {
        // Reply with the resource ids of the capabilities received (one u32 each).
        const caps = messageCaps(m);
        const out = new Uint32Array(caps.length);
        for (let i = 0; i < caps.length; i++) out[i] = p.inspect(caps[i]!).resource >>> 0;
        return { type: caps.length, data: new Uint8Array(out.buffer) };
      }),
    );
    await k.whenNamed('big');
    const c = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('big');
      const a = p.createEndpoint();
      const b = p.createEndpoint();
      const idOf = (h: number) => p.inspect(h).resource >>> 0;
      const payload = filled(200, 1);
      for (let nth = 1; nth <= 10; nth++) {
        // An honest large call carrying `a` first: its snapshot is what a stale read would find.
        expect((await p.call(ch, { type: 0, data: payload, caps: [a] })).type).toBe(1);
        let reads = 0;
        const caps = new Proxy([b, b, b, b], {
          get(target, key, recv) {
            if (key === 'length') return ++reads < nth ? 1 : 4;
            return Reflect.get(target, key, recv) as unknown;
          },
        });
        let r: MessageBuffer | undefined;
        try {
          r = await p.call(ch, { type: 1, data: payload, caps });
        } catch (e) {
          if (!(e instanceof IpcError)) throw e;
          continue;
        }
        const got = Array.from(new Uint32Array(messagePayload(r).slice().buffer));
        expect(got.length).toBe(r.type);
        expect(got.every((id) => id === idOf(b))).toBe(true);
      }
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    await k.shutdown();
  });

  it('a large call whose payload shrinks after it was staged gets zeros for the rest, never an earlier message’s bytes', async () => {
    const k = testKernel();
    k.spawn({ name: 'server' }, (p) => p.serve(p.createEndpoint({ name: 'big' }), (m) => ({ type: messagePayload(m).every((x) => x === 0 || x === 7) ? 1 : 2, data: new Uint8Array(0) })));
    await k.whenNamed('big');
    const c = k.spawn({ name: 'client' }, (p) => {
      const ch = p.connect('big');
      for (let nth = 1; nth <= 10; nth++) {
        // Frames full of 0x5a, freed and taken again by the next message.
        expect(p.callSync(ch, { type: 0, data: filled(3 * 4096, 0x5a) }).type).toBe(2);
        const rab = resizable(3 * 4096, 3 * 4096);
        const data = new Uint8Array(rab).fill(7);
        let reads = 0;
        const caps = new Proxy([] as number[], {
          get(target, key, recv) {
            if (key === 'length' && ++reads === nth) rab.resize(16);
            return Reflect.get(target, key, recv) as unknown;
          },
        });
        try {
          expect(p.callSync(ch, { type: 1, data, caps }).type).toBe(1);
        } catch (e) {
          if (!(e instanceof IpcError)) throw e;
        }
      }
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    await k.shutdown();
  });

  it('a passive response whose buffer getter grows its data: delivered whole as read, the server still answers', async () => {
    const k = testKernel();
    k.spawn({ name: 'server' }, (p) =>
      p.serve(p.createEndpoint({ name: 'grow' }), (m) => {
        if (m.type === 0) return { type: 0, data: filled(4, 4) };
        const rab = resizable(8, 4096);
        const data = new Uint8Array(rab).fill(9);
        return {
          type: 1,
          data,
          get buffer() {
            rab.resize(4096);
            data.fill(9);
            return undefined;
          },
        };
      }),
    );
    await k.whenNamed('grow');
    const c = k.spawn({ name: 'client' }, async (p) => {
      const ch = p.connect('grow');
      for (let i = 0; i < 3; i++) {
        const r = await p.call(ch, { type: 1, data: filled(4, 1) });
        const bytes = messagePayload(r);
        expect(r.type).toBe(1);
        expect(bytes.length === 8 || bytes.length === 4096).toBe(true);
        expect(bytes.every((x) => x === 9)).toBe(true);
        expect((await p.call(ch, { type: 0, data: filled(4, 0) })).type).toBe(0);
      }
    });
    expect(await c.exited).toMatchObject({ reason: 'returned' });
    await k.shutdown();
  });
});
