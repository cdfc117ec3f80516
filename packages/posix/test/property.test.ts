/**
 * Model-based properties (fast-check): random operation sequences against a small reference
 * model — a byte FIFO for pipes, a stable priority queue for message queues.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { O_CREAT, O_NONBLOCK, O_RDWR, type PosixError } from '@veridian/posix';
import { ARCHS, world } from './support/setup.ts';

describe.each(ARCHS)('properties on %s', (_name, arch) => {
  it('a non-blocking pipe behaves as a bounded byte FIFO (writes ≤ PIPE_BUF all-or-EAGAIN, larger ones partial)', async () => {
    await using w = await world(arch);
    const op = fc.oneof(fc.record({ write: fc.integer({ min: 1, max: 20_000 }) }), fc.record({ read: fc.integer({ min: 1, max: 30_000 }) }));
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 40 }), async (ops) =>
        w.run(async (px) => {
          const [r, wr] = await px.pipe2(O_NONBLOCK);
          const model: number[] = [];
          let seq = 0;
          const cap = 65536;
          for (const o of ops) {
            if ('write' in o) {
              const data = Uint8Array.from({ length: o.write }, () => seq++ & 0xff);
              const free = cap - model.length;
              const expectN = o.write <= 4096 ? (free >= o.write ? o.write : -1) : free > 0 ? Math.min(free, o.write) : -1;
              const n = await px.write(wr, data).catch((e: PosixError) => (e.code === 'EAGAIN' ? -1 : Promise.reject(e)));
              expect(n).toBe(expectN);
              if (n > 0) model.push(...data.subarray(0, n));
              seq -= o.write - Math.max(n, 0);
            } else {
              const buf = new Uint8Array(o.read);
              const n = await px.read(r, buf).catch((e: PosixError) => (e.code === 'EAGAIN' ? -1 : Promise.reject(e)));
              expect(n).toBe(model.length === 0 ? -1 : Math.min(o.read, model.length));
              if (n > 0) expect(Array.from(buf.subarray(0, n))).toEqual(model.splice(0, n));
            }
          }
          await px.close(r);
          await px.close(wr);
        }),
      ),
      { numRuns: 25, seed: 7 },
    );
    expect(w.host.stats().descriptions).toBe(0);
  });

  it('a message queue delivers by priority, FIFO within one, and refuses sends when full', async () => {
    await using w = await world(arch);
    const op = fc.oneof(fc.record({ send: fc.integer({ min: 0, max: 5 }) }), fc.constant({ receive: true as const }));
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60 }), async (ops) =>
        w.run(async (px) => {
          const q = await px.mq_open('/prop', O_CREAT | O_RDWR | O_NONBLOCK, 0o600, { mq_maxmsg: 5, mq_msgsize: 4 });
          const model: Array<{ prio: number; id: number }> = [];
          let id = 0;
          const buf = new Uint8Array(4);
          const prio = { value: -1 };
          for (const o of ops) {
            if ('send' in o) {
              const r = await px.mq_send(q, Uint8Array.of(id & 0xff), 1, o.send).then(() => 'ok', (e: PosixError) => e.code);
              expect(r).toBe(model.length < 5 ? 'ok' : 'EAGAIN');
              if (r === 'ok') {
                let i = model.findIndex((m) => m.prio < o.send);
                if (i < 0) i = model.length;
                model.splice(i, 0, { prio: o.send, id: id & 0xff });
              }
              id++;
            } else {
              const r = await px.mq_receive(q, buf, 4, prio).then(() => [buf[0], prio.value], (e: PosixError) => e.code);
              const head = model.shift();
              expect(r).toEqual(head ? [head.id, head.prio] : 'EAGAIN');
            }
          }
          await px.mq_close(q);
          await px.mq_unlink('/prop');
        }),
      ),
      { numRuns: 25, seed: 11 },
    );
    expect(w.host.stats()).toMatchObject({ descriptions: 0, queues: 0 });
  });
});
