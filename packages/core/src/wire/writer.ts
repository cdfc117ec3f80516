import { IpcError } from '../contracts/errors.js';
import type { CapHandle } from '../contracts/capability.js';
import type { SmallMessage } from '../contracts/message.js';
import { WIRE_IN_BUFFER, WIRE_MAX_DEPTH, WIRE_MAX_LENGTH } from './limits.js';
import { SharedBuffer } from '../contracts/shared-buffer.js';
import { memoryViewRange } from '../kernel/memory-handle.js';

const utf8 = new TextEncoder();

/**
 * Little-endian encoder of the VIDL wire format (see the codegen package's IDL.md).
 *
 * Every value starts at an offset that is a multiple of its type's alignment; the gap is
 * filled with zero bytes, because the decoder rejects non-zero padding (one canonical
 * encoding per value). Capabilities never enter the payload as numbers: {@link WireWriter.cap}
 * appends the handle to {@link WireWriter.caps} and writes its index there.
 *
 * Every method validates its input and throws `IpcError('InvalidArgument')` for a value
 * its type cannot hold, so a bad value is caught before anything is sent.
 */
export class WireWriter {
  #bytes: Uint8Array;
  #view: DataView;
  #length = 0;
  #depth = 0;
  /** Capability handles to send with the message, in encoding order. */
  readonly caps: CapHandle[] = [];
  /** The buffer a `bytes` field in process memory travels in (sent by Move), if any. */
  buffer: SharedBuffer | undefined;
  readonly #owner: number | undefined;

  /**
   * Creates a writer; the buffer grows as needed (64 bytes is one register message). `owner`:
   * the pid of the process the message goes out from, so a `bytes` value that is a view of
   * its own memory can travel by Move (see {@link WireWriter.bytes}).
   */
  constructor(initialCapacity = 64, owner?: number) {
    this.#owner = owner;
    this.#bytes = new Uint8Array(Math.max(8, initialCapacity));
    this.#view = new DataView(this.#bytes.buffer);
  }

  /** Number of bytes written so far (the current offset). */
  get length(): number {
    return this.#length;
  }

  /** The bytes written so far, as a view that stays valid until the next write. */
  finish(): Uint8Array {
    return this.#bytes.subarray(0, this.#length);
  }

  /**
   * The message of type `type` this writer encoded: its payload and capabilities, and the
   * buffer a `bytes` field in process memory travels in (by Move).
   */
  message(type: number): SmallMessage {
    const data = this.finish();
    return this.buffer === undefined ? { type, data, caps: this.caps } : { type, data, caps: this.caps, buffer: this.buffer, transfer: 'move' };
  }

  /** Forgets everything written, so one writer can encode many messages. */
  reset(): void {
    this.#bytes.fill(0, 0, this.#length);
    this.#length = 0;
    this.#depth = 0;
    this.caps.length = 0;
    this.buffer = undefined;
  }

  /** The error an encoder throws for a value its type cannot hold. */
  invalid(what: string, value: unknown): IpcError {
    return new IpcError('InvalidArgument', `cannot encode ${describe(value)} as ${what}`);
  }

  /** Pads with zero bytes up to a multiple of `alignment` (a power of two ≤ 8). */
  align(alignment: number): void {
    const pad = (alignment - (this.#length % alignment)) % alignment;
    if (pad > 0) this.#reserve(pad);
  }

  /** Starts a struct or union: checks the nesting depth and aligns. Pair with {@link WireWriter.leave}. */
  enter(alignment: number): void {
    if (++this.#depth > WIRE_MAX_DEPTH) throw new IpcError('InvalidArgument', `value nests deeper than ${WIRE_MAX_DEPTH} levels (cyclic object?)`);
    this.align(alignment);
  }

  /** Ends a struct or union started with {@link WireWriter.enter}. */
  leave(): void {
    this.#depth--;
  }

  /** Writes the one zero byte an empty struct encodes as (so every value takes at least one byte). */
  empty(): void {
    this.#reserve(1);
  }

  /** Writes a bool as one byte, 0 or 1. */
  bool(value: boolean): void {
    if (typeof value !== 'boolean') throw this.invalid('bool', value);
    const at = this.#reserve(1);
    this.#bytes[at] = value ? 1 : 0;
  }

  /** Writes a u8. */
  u8(value: number): void {
    checkInt(this, value, 0, 0xff, 'u8');
    const at = this.#reserve(1);
    this.#bytes[at] = value;
  }

  /** Writes an i8. */
  i8(value: number): void {
    checkInt(this, value, -0x80, 0x7f, 'i8');
    const at = this.#reserve(1);
    this.#view.setInt8(at, value);
  }

  /** Writes a u16 at 2-byte alignment. */
  u16(value: number): void {
    checkInt(this, value, 0, 0xffff, 'u16');
    const at = this.#aligned(2);
    this.#view.setUint16(at, value, true);
  }

  /** Writes an i16 at 2-byte alignment. */
  i16(value: number): void {
    checkInt(this, value, -0x8000, 0x7fff, 'i16');
    const at = this.#aligned(2);
    this.#view.setInt16(at, value, true);
  }

  /** Writes a u32 at 4-byte alignment. */
  u32(value: number): void {
    checkInt(this, value, 0, 0xffff_ffff, 'u32');
    const at = this.#aligned(4);
    this.#view.setUint32(at, value, true);
  }

  /** Writes an i32 at 4-byte alignment. */
  i32(value: number): void {
    checkInt(this, value, -0x8000_0000, 0x7fff_ffff, 'i32');
    const at = this.#aligned(4);
    this.#view.setInt32(at, value, true);
  }

  /** Writes a u64 (a bigint) at 8-byte alignment. */
  u64(value: bigint): void {
    if (typeof value !== 'bigint' || value < 0n || value > 0xffff_ffff_ffff_ffffn) throw this.invalid('u64', value);
    const at = this.#aligned(8);
    this.#view.setBigUint64(at, value, true);
  }

  /** Writes an i64 (a bigint) at 8-byte alignment. */
  i64(value: bigint): void {
    if (typeof value !== 'bigint' || value < -0x8000_0000_0000_0000n || value > 0x7fff_ffff_ffff_ffffn) throw this.invalid('i64', value);
    const at = this.#aligned(8);
    this.#view.setBigInt64(at, value, true);
  }

  /** Writes an f32 at 4-byte alignment (rounded to single precision). */
  f32(value: number): void {
    if (typeof value !== 'number') throw this.invalid('f32', value);
    const at = this.#aligned(4);
    this.#view.setFloat32(at, value, true);
  }

  /** Writes an f64 at 8-byte alignment. */
  f64(value: number): void {
    if (typeof value !== 'number') throw this.invalid('f64', value);
    const at = this.#aligned(8);
    this.#view.setFloat64(at, value, true);
  }

  /** Writes a string as a u32 byte length and its UTF-8 bytes; at most `max` bytes. */
  string(value: string, max: number = WIRE_MAX_LENGTH): void {
    if (typeof value !== 'string') throw this.invalid('string', value);
    const encoded = utf8.encode(value);
    if (encoded.length > max) throw new IpcError('InvalidArgument', `string of ${encoded.length} UTF-8 bytes exceeds its bound ${max}`);
    this.u32(encoded.length);
    const at = this.#reserve(encoded.length);
    this.#bytes.set(encoded, at);
  }

  /**
   * Writes bytes as a u32 length and the bytes; at most `max` of them. A view of the writing
   * process's own memory (from `proc.memory.views`) travels instead as the message's buffer,
   * by Move: the payload holds {@link WIRE_IN_BUFFER} and the length, and no byte is copied
   * (one such field per message; a second is written inline).
   */
  bytes(value: Uint8Array, max: number = WIRE_MAX_LENGTH): void {
    if (!(value instanceof Uint8Array)) throw this.invalid('bytes', value);
    if (value.length > max) throw new IpcError('InvalidArgument', `${value.length} bytes exceed the bound ${max}`);
    const range = this.#owner === undefined || this.buffer !== undefined || value.length === 0 ? undefined : memoryViewRange(value);
    if (range !== undefined && range.pid === this.#owner) {
      this.buffer = new SharedBuffer(range.va, value.length);
      this.u32(WIRE_IN_BUFFER);
      this.u32(value.length);
      return;
    }
    this.u32(value.length);
    const at = this.#reserve(value.length);
    this.#bytes.set(value, at);
  }

  /**
   * Writes a vector: aligns to `alignment` (the vector type's alignment), writes the u32
   * element count, then each element with `encodeElement`.
   */
  vector<T>(value: readonly T[], max: number, alignment: number, encodeElement: (element: T) => void): void {
    if (!Array.isArray(value)) throw this.invalid('vector', value);
    if (value.length > max) throw new IpcError('InvalidArgument', `vector of ${value.length} elements exceeds its bound ${max}`);
    this.align(alignment);
    this.u32(value.length);
    // Array.isArray widens the elements to any; they are the T[] the signature says.
    for (const element of value as readonly T[]) encodeElement(element);
  }

  /** Writes a fixed-size array: exactly `length` elements, no length prefix. */
  array<T>(value: readonly T[], length: number, encodeElement: (element: T) => void): void {
    if (!Array.isArray(value)) throw this.invalid('array', value);
    if (value.length !== length) throw new IpcError('InvalidArgument', `array needs exactly ${length} elements, got ${value.length}`);
    for (const element of value as readonly T[]) encodeElement(element);
  }

  /**
   * Writes an optional value: aligns to `alignment` (the inner type's), writes a presence
   * byte (0 absent, 1 present), then the value when present. `undefined` and `null` are absent.
   */
  optional<T>(value: T | undefined | null, alignment: number, encodeValue: (value: T) => void): void {
    this.align(alignment);
    const at = this.#reserve(1);
    if (value === undefined || value === null) return;
    this.#bytes[at] = 1;
    encodeValue(value);
  }

  /**
   * Writes a capability: the handle joins {@link WireWriter.caps} and the payload holds its
   * index there (a u32), never the handle number itself.
   */
  cap(handle: CapHandle): void {
    if (!Number.isInteger(handle) || handle < 0 || handle > 0xffff_ffff) throw this.invalid('capability handle', handle);
    this.u32(this.caps.length);
    this.caps.push(handle);
  }

  /** Pads to `alignment`, then reserves `alignment` bytes; returns their offset. */
  #aligned(alignment: number): number {
    this.align(alignment);
    return this.#reserve(alignment);
  }

  /**
   * Reserves `n` zero bytes at the end (growing the buffer) and returns their offset.
   * Callers take the offset first and touch the buffer after: growing replaces it.
   */
  #reserve(n: number): number {
    const at = this.#length;
    const needed = at + n;
    if (needed > this.#bytes.length) {
      const grown = new Uint8Array(Math.max(needed, this.#bytes.length * 2));
      grown.set(this.#bytes.subarray(0, at));
      this.#bytes = grown;
      this.#view = new DataView(grown.buffer);
    }
    this.#length = needed;
    return at;
  }
}

function checkInt(writer: WireWriter, value: number, min: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < min || value > max) throw writer.invalid(what, value);
  return value;
}

/** A short, safe description of a value for an error message. */
export function describe(value: unknown): string {
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (value === null || typeof value !== 'object') return String(value);
  return Array.isArray(value) ? `an array of ${value.length}` : 'an object';
}
