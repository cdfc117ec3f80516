/*
 * A caller's byte arrays (a message's `data`, a memory copy's source or target, a POSIX
 * buffer), measured and copied through the typed-array intrinsics. A `Uint8Array` may carry own
 * properties that shadow the prototype's (a `length` getter, a `set` or `subarray` of its own):
 * those are user code, which may lie (a `length` of -1 packed as a 127-byte info word) and must
 * not run under the kernel lock or while a ring slot is claimed. The intrinsic getters read the
 * array's internal slots, so every path sees its real bytes and runs no code of the caller's. A
 * measurement costs ~10 ns more than `instanceof` plus `.length` (V8 does not inline a getter
 * called through `.call`); a message is measured two or three times.
 */

const TypedArray = Object.getPrototypeOf(Uint8Array.prototype) as object;
// The intrinsics, taken once and always called with an explicit receiver (`.call`).
// eslint-disable-next-line @typescript-eslint/unbound-method -- called through .call with the array as `this`
const getter = (key: PropertyKey) => Object.getOwnPropertyDescriptor(TypedArray, key)!.get!;
const tagOf = getter(Symbol.toStringTag) as (this: unknown) => string | undefined;
const lengthOf = getter('length') as (this: Uint8Array) => number;
const bufferOf = getter('buffer') as (this: Uint8Array) => ArrayBufferLike;
const offsetOf = getter('byteOffset') as (this: Uint8Array) => number;
// eslint-disable-next-line @typescript-eslint/unbound-method -- called through .call with the target as `this`
const setInto = Uint8Array.prototype.set;

/**
 * The real length of `b` when it is a `Uint8Array` (or a subclass such as `Buffer`), read from
 * its internal slot: an own `length` property is never consulted. -1 for anything else — a
 * `Proxy` of an array, an object that only inherits from `Uint8Array.prototype`, another
 * typed array. How the kernel measures a message's `data`; libraries on the SDK (the POSIX
 * layer) measure caller buffers the same way.
 *
 * @example
 * ```ts
 * const data = new Uint8Array(4);
 * Object.defineProperty(data, 'length', { get: () => 1000 });
 * byteCount(data); // 4
 * byteCount(Object.create(Uint8Array.prototype)); // -1
 * ```
 */
export function byteCount(b: unknown): number {
  // The tag getter answers undefined (it never throws) for anything that is not a typed array.
  return tagOf.call(b) === 'Uint8Array' ? lengthOf.call(b as Uint8Array) : -1;
}

/**
 * True when `b` is a real `Uint8Array` (or a subclass): not a `Proxy`, not an object that only
 * inherits from `Uint8Array.prototype`. Cheaper than {@link byteCount} where the length is not
 * needed.
 *
 * @example
 * ```ts
 * isBytes(new Uint8Array(2)); // true
 * isBytes(new Proxy(new Uint8Array(2), {})); // false
 * ```
 */
export function isBytes(b: unknown): b is Uint8Array {
  return ArrayBuffer.isView(b) && b instanceof Uint8Array;
}

/**
 * Bytes `[from, to)` of `b` (a `Uint8Array` whose {@link byteCount} covers them) as a fresh,
 * plain view of the same memory, made from its internal slots: no own `subarray`, no species
 * constructor.
 *
 * @example
 * ```ts
 * const b = Uint8Array.of(1, 2, 3, 4);
 * bytesView(b, 1, 3); // Uint8Array [2, 3], sharing b's memory
 * ```
 */
export function bytesView(b: Uint8Array, from = 0, to = lengthOf.call(b)): Uint8Array {
  return new Uint8Array(bufferOf.call(b), offsetOf.call(b) + from, to - from);
}

/**
 * Copies `src` into `dst` at `at` with the intrinsic `set`, whatever own `set` `dst` carries.
 *
 * @example
 * ```ts
 * const dst = new Uint8Array(4);
 * copyInto(dst, Uint8Array.of(7, 8), 1); // dst is [0, 7, 8, 0]
 * ```
 */
export function copyInto(dst: Uint8Array, src: Uint8Array, at = 0): void {
  setInto.call(dst, src, at);
}
