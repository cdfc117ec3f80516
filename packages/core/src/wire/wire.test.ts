import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IpcError } from '../contracts/errors.js';
import { ApplicationError, FrameworkError, FrameworkErrorReason } from './errors.js';
import { WIRE_MAX_DEPTH } from './limits.js';
import { WireReader } from './reader.js';
import { WireWriter } from './writer.js';

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const invalid = (fn: () => unknown, text?: string) => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IpcError);
    expect((e as IpcError).code).toBe('InvalidArgument');
    if (text) expect((e as Error).message).toContain(text);
    return;
  }
  throw new Error('expected InvalidArgument');
};

describe('WireWriter', () => {
  it('aligns every primitive naturally, little-endian, padding with zeros', () => {
    const w = new WireWriter(1);
    w.u8(0xaa);
    w.u16(0x1234);
    w.u8(0xbb);
    w.u32(0xdeadbeef);
    w.u8(0xcc);
    w.u64(0x0102030405060708n);
    expect(hex(w.finish())).toBe('aa003412bb000000efbeaddecc000000' + '0807060504030201');
  });

  it('rejects values a type cannot hold, writing nothing', () => {
    const w = new WireWriter();
    invalid(() => w.u8(256), 'u8');
    invalid(() => w.i8(-129));
    invalid(() => w.u16(1.5));
    invalid(() => w.i32(2 ** 31));
    invalid(() => w.u64(-1n));
    invalid(() => w.i64(2n ** 63n));
    invalid(() => w.u64(1 as unknown as bigint));
    invalid(() => w.bool(1 as unknown as boolean));
    invalid(() => w.f64('1' as unknown as number));
    invalid(() => w.string('héllo', 5), 'UTF-8 bytes');
    invalid(() => w.bytes(new Uint8Array(3), 2));
    invalid(() => w.vector([1, 2, 3], 2, 4, () => {}));
    invalid(() => w.array([1], 2, () => {}));
    invalid(() => w.cap(-1));
    expect(w.length).toBe(0);
  });

  it('puts capability handles in the capability list and their indexes in the payload', () => {
    const w = new WireWriter();
    w.cap(40);
    w.cap(7);
    expect(hex(w.finish())).toBe('0000000001000000');
    expect(w.caps).toEqual([40, 7]);
  });

  it('treats undefined and null as an absent optional', () => {
    const w = new WireWriter();
    w.u8(1);
    w.optional(undefined, 4, () => w.u32(1));
    w.optional(null, 4, () => w.u32(1));
    w.optional(5, 4, (v) => w.u32(v));
    // u8, pad, absent | pad, absent | pad, present, pad | u32
    expect(hex(w.finish())).toBe('01000000' + '00000000' + '00000000' + '01000000' + '05000000');
  });

  it('stops a cyclic object graph at the nesting limit', () => {
    type Node = { next: Node };
    const node = {} as Node;
    node.next = node;
    const w = new WireWriter();
    const encode = (n: Node): void => {
      w.enter(1);
      encode(n.next);
      w.leave();
    };
    invalid(() => encode(node), 'nests deeper');
  });

  it('grows past its initial capacity and resets to empty', () => {
    const w = new WireWriter(8);
    w.bytes(new Uint8Array(1000).fill(7));
    expect(w.length).toBe(1004);
    w.cap(3);
    w.reset();
    expect(w.length).toBe(0);
    expect(w.caps).toEqual([]);
    w.u8(1);
    expect(hex(w.finish())).toBe('01');
  });
});

describe('WireReader', () => {
  it('round-trips random primitives, strings and byte strings (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
        fc.double(),
        fc.string({ unit: 'binary', maxLength: 40 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
        (u, i, d, s, b, n) => {
          const w = new WireWriter();
          w.u8(1);
          w.u64(u);
          w.string(s);
          w.i32(n);
          w.i64(i);
          w.bytes(b);
          w.f64(d);
          const r = new WireReader(w.finish());
          expect(r.u8()).toBe(1);
          expect(r.u64()).toBe(u);
          expect(r.string()).toBe(new TextDecoder().decode(new TextEncoder().encode(s)));
          expect(r.i32()).toBe(n);
          expect(r.i64()).toBe(i);
          expect(r.bytes()).toEqual(b);
          expect(Object.is(r.f64(), d)).toBe(true);
          r.end();
        },
      ),
    );
  });

  it('rejects non-zero padding, truncation, oversized lengths and trailing bytes', () => {
    const padded = new WireReader(Uint8Array.of(1, 0, 1, 0, 5, 0, 0, 0));
    padded.u8();
    invalid(() => padded.u32(), 'non-zero padding');
    invalid(() => new WireReader(Uint8Array.of(1, 2)).u32(), 'needs 4 more bytes');
    invalid(() => new WireReader(Uint8Array.of(9, 0, 0, 0, 1)).bytes(), 'bytes left');
    invalid(() => new WireReader(Uint8Array.of(2, 0, 0, 0, 1, 2)).bytes(1), 'bound 1');
    const trailing = new WireReader(Uint8Array.of(1, 2));
    trailing.u8();
    invalid(() => trailing.end(), 'trailing');
    invalid(() => new WireReader(Uint8Array.of(1)).empty(), 'empty struct');
  });

  it('checks capability indexes count up and every capability is used', () => {
    const ok = new WireReader(Uint8Array.of(0, 0, 0, 0, 1, 0, 0, 0), [40, 7]);
    expect([ok.cap(), ok.cap()]).toEqual([40, 7]);
    ok.end();
    invalid(() => new WireReader(Uint8Array.of(1, 0, 0, 0), [40, 7]).cap(), 'expected 0');
    invalid(() => new WireReader(Uint8Array.of(0, 0, 0, 0), []).cap(), 'carries 0');
    const unused = new WireReader(new Uint8Array(0), [3]);
    invalid(() => unused.end(), 'unused capabilities');
  });

  it('limits nesting depth', () => {
    const r = new WireReader(new Uint8Array(0));
    invalid(() => {
      for (let i = 0; i <= WIRE_MAX_DEPTH; i++) r.enter(1);
    }, 'nesting deeper');
  });

  it('copies bytes out of the (reused) receive buffer', () => {
    const buffer = Uint8Array.of(2, 0, 0, 0, 9, 8);
    const out = new WireReader(buffer).bytes();
    buffer.fill(0);
    expect(Array.from(out)).toEqual([9, 8]);
  });
});

describe('stub errors', () => {
  it('an application error carries its value and names its origin', () => {
    const e = new ApplicationError(2, 'demo.fs/File.read');
    expect(e.value).toBe(2);
    expect(e.message).toBe('demo.fs/File.read returned error 2');
    expect(new ApplicationError(5n).message).toBe('application error 5n');
  });

  it('a framework error is an IpcError with the closest stable code', () => {
    const e = new FrameworkError(FrameworkErrorReason.UnknownMethod, 'demo.fs/File.read');
    expect(e).toBeInstanceOf(IpcError);
    expect(e.code).toBe('NotFound');
    expect(e.reason).toBe(1);
    expect(new FrameworkError(99, 'x').code).toBe('InvalidState');
  });
});

describe('a bytes field carried in the message buffer (WIRE_IN_BUFFER)', () => {
  it('reads as the carried bytes exactly once; a missing, mismatched or repeated buffer is InvalidArgument', async () => {
    const { WireReader } = await import('./reader.js');
    const { WIRE_IN_BUFFER } = await import('./limits.js');
    const payload = new Uint8Array(8);
    const view = new DataView(payload.buffer);
    view.setUint32(0, WIRE_IN_BUFFER, true);
    view.setUint32(4, 3, true);
    expect(Array.from(payload)).toEqual([0xff, 0xff, 0xff, 0xff, 3, 0, 0, 0]);
    const carried = Uint8Array.of(7, 8, 9);
    const r = new WireReader(payload, [], carried);
    expect(r.bytes()).toBe(carried);
    r.end();
    for (const inBuffer of [undefined, Uint8Array.of(1, 2)]) {
      expect(() => new WireReader(payload, [], inBuffer).bytes()).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    }
    const twice = new Uint8Array(16);
    twice.set(payload);
    twice.set(payload, 8);
    const r2 = new WireReader(twice, [], carried);
    r2.bytes();
    expect(() => r2.bytes()).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => new WireReader(payload, [], carried).bytes(2)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });
});
