/*
 * A caller's byte arrays (a message's `data`, a memory copy's source or target), measured and
 * copied through the typed-array intrinsics. A `Uint8Array` may carry own properties that
 * shadow the prototype's (a `length` getter, a `set` or `subarray` of its own): those are user
 * code, which may lie (a `length` of -1 packed as a 127-byte info word) and must not run under
 * the kernel lock or while a ring slot is claimed. The intrinsic getters read the array's
 * internal slots, so every path sees its real bytes and runs no code of the caller's. A
 * measurement costs ~10 ns more than `instanceof` plus `.length` (V8 does not inline a getter
 * called through `.call`); a message is measured two or three times.
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
  // The tag getter answers undefined (it never throws) for anything that is not a typed array.
  return tagOf.call(b) === 'Uint8Array' ? lengthOf.call(b as Uint8Array) : -1;
}

/**
 * True when `b` is a real `Uint8Array` (or a subclass such as `Buffer`): not a `Proxy`, not an
 * object that only inherits from `Uint8Array.prototype`. Cheaper than {@link byteCount} where
 * the length is not needed. @internal
 */
export function isBytes(b: unknown): b is Uint8Array {
  return ArrayBuffer.isView(b) && b instanceof Uint8Array;
}

/** A fresh view of all of `b`'s bytes (a checked `Uint8Array`): a plain array with no own properties. @internal */
export function plainView(b: Uint8Array): Uint8Array {
  return new Uint8Array(bufferOf.call(b), offsetOf.call(b), lengthOf.call(b));
}

/** Copies `src` into `dst` (a checked `Uint8Array`) at `at`, whatever `dst`'s own `set` is. @internal */
export function copyInto(dst: Uint8Array, src: Uint8Array, at: number): void {
  setInto.call(dst, src, at);
}
