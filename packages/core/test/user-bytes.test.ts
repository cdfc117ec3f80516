// The exported byte-array helpers: what they measure whatever own properties an array carries.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { byteCount, bytesView, copyInto, isBytes } from '../src/index.js';

/** `bytes` with an own `length` claiming `claims`, and own `set`/`subarray` that do nothing. */
function hostile(bytes: Uint8Array, claims: number): Uint8Array {
  Object.defineProperty(bytes, 'length', { get: () => claims });
  Object.defineProperty(bytes, 'set', { value: () => undefined });
  Object.defineProperty(bytes, 'subarray', { value: () => new Uint8Array(0) });
  return bytes;
}

describe('byteCount, bytesView, copyInto', () => {
  it('measure and copy the real bytes of any array with lying own properties', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.oneof(fc.integer(), fc.double()), fc.nat(8), fc.nat(8), (data, claims, a, b) => {
        const real = Uint8Array.from(data);
        const offset = new Uint8Array(real.length + 8);
        offset.set(real, 4);
        const arr = hostile(offset.subarray(4, 4 + real.length), claims);
        expect(byteCount(arr)).toBe(real.length);
        expect(isBytes(arr)).toBe(true);
        const from = Math.min(a, real.length);
        const to = Math.min(real.length, from + b);
        expect(Array.from(bytesView(arr, from, to))).toEqual(Array.from(real.subarray(from, to)));
        expect(Array.from(bytesView(arr))).toEqual(Array.from(real));
        const into = hostile(new Uint8Array(real.length + 2), -5);
        copyInto(into, real, 1);
        expect(Array.from(bytesView(into))).toEqual([0, ...real, 0]);
      }),
    );
  });

  it('answer -1 / false for what is not a Uint8Array', () => {
    const others: unknown[] = [null, undefined, 3, 'abc', [1, 2], { length: 4 }, Object.create(Uint8Array.prototype), new Proxy(new Uint8Array(2), {}), new Uint16Array(2), new DataView(new ArrayBuffer(2)), new ArrayBuffer(2)];
    for (const o of others) {
      expect(byteCount(o)).toBe(-1);
      expect(isBytes(o)).toBe(false);
    }
    expect(byteCount(Buffer.from([1, 2, 3]))).toBe(3);
    expect(isBytes(Buffer.from([1]))).toBe(true);
  });
});
