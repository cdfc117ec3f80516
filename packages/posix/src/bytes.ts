/*
 * User byte arrays, measured and copied through the typed-array intrinsics. A caller's
 * `Uint8Array` may carry own properties that shadow the prototype's (a `length` getter that
 * claims more bytes than the array has, a `set` or `subarray` of its own), and an object may
 * inherit from `Uint8Array.prototype` without being one. Reading the internal slots through the
 * intrinsic getters sees the real bytes, so a call checks what it will really copy before its
 * first request, and a bad buffer is `EFAULT` with nothing consumed or sent.
 */

const TypedArray = Object.getPrototypeOf(Uint8Array.prototype) as object;
const getter = (key: PropertyKey) => Object.getOwnPropertyDescriptor(TypedArray, key)!.get!;
const tagOf = getter(Symbol.toStringTag) as (this: unknown) => string | undefined;
const lengthOf = getter('length') as (this: Uint8Array) => number;
const bufferOf = getter('buffer') as (this: Uint8Array) => ArrayBufferLike;
const offsetOf = getter('byteOffset') as (this: Uint8Array) => number;
const setInto = Uint8Array.prototype.set;

/** The real length of `b` when it is a `Uint8Array` (own properties ignored), else -1. @internal */
export function byteCount(b: unknown): number {
  // The tag getter answers undefined (never throws) for anything that is not a typed array.
  return tagOf.call(b) === 'Uint8Array' ? lengthOf.call(b as Uint8Array) : -1;
}

/** Bytes `[from, to)` of `b` (a checked `Uint8Array`) as a fresh view of its memory: no species lookup. @internal */
export function bytesView(b: Uint8Array, from: number, to: number): Uint8Array {
  return new Uint8Array(bufferOf.call(b), offsetOf.call(b) + from, to - from);
}

/** Copies `src` into `dst` (a checked `Uint8Array`) at `at`, whatever `dst`'s own `set` is. @internal */
export function copyInto(dst: Uint8Array, src: Uint8Array, at = 0): void {
  setInto.call(dst, src, at);
}
