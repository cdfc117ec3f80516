import { IpcError } from '../contracts/errors.js';
import type { CapHandle } from '../contracts/capability.js';
import type { MessageBuffer } from '../contracts/message.js';
import { WIRE_IN_BUFFER, WIRE_MAX_DEPTH, WIRE_MAX_LENGTH } from './limits.js';
import { FRAME_SIZE } from '../memory/physical-memory.js';
import { messageCaps, messagePayload } from '../contracts/message.js';
import { describe } from './writer.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** What {@link WireReader.fromMessage} needs of the receiving process to take a carried buffer. */
export interface BufferOwner {
  readonly memory: { read(va: number, length: number): Uint8Array; unmap(va: number, length: number): void };
}

/** Copies the buffer `message` carried out of `proc`'s memory and unmaps its pages (`undefined` when it carried none). */
export function takeBuffer(message: MessageBuffer, proc: BufferOwner): Uint8Array | undefined {
  const b = message.buffer;
  if (!b) return undefined;
  const bytes = proc.memory.read(b.va, b.length);
  const start = b.va - (b.va % FRAME_SIZE);
  proc.memory.unmap(start, Math.ceil((b.va + b.length) / FRAME_SIZE) * FRAME_SIZE - start);
  return bytes;
}

/**
 * Bounds-checked little-endian decoder of the VIDL wire format, the mirror of
 * {@link WireWriter}.
 *
 * A payload comes from another process, so nothing in it is trusted: every read checks the
 * remaining bytes, padding must be zero, lengths must respect their bound and the bytes
 * left, enum, bits and union values must be known, and capability indexes must name the
 * message's capabilities in order. Any violation throws `IpcError('InvalidArgument')`.
 */
export class WireReader {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  readonly #caps: ArrayLike<CapHandle>;
  #offset = 0;
  #depth = 0;
  #capsTaken = 0;
  #inBuffer: Uint8Array | undefined;

  /**
   * Reads `bytes`; `caps` are the message's capability handles (now in the receiver's space);
   * `inBuffer` the bytes of the message's buffer, for the one `bytes` field that travelled in it.
   */
  constructor(bytes: Uint8Array, caps: ArrayLike<CapHandle> = [], inBuffer?: Uint8Array) {
    this.#inBuffer = inBuffer;
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.#caps = caps;
  }

  /**
   * A reader over a received message's payload and capabilities. With `proc` (the receiver),
   * a buffer the message carried is copied out of its memory and unmapped at once, for the
   * `bytes` field that travelled in it.
   */
  static fromMessage(message: MessageBuffer, proc?: BufferOwner): WireReader {
    return new WireReader(messagePayload(message), messageCaps(message), proc === undefined ? undefined : takeBuffer(message, proc));
  }

  /** Current offset in bytes. */
  get offset(): number {
    return this.#offset;
  }

  /** Bytes not yet read. */
  get remaining(): number {
    return this.#bytes.length - this.#offset;
  }

  /** The error a decoder throws for malformed input. */
  invalid(what: string, value?: unknown): IpcError {
    return new IpcError('InvalidArgument', value === undefined ? `malformed payload: ${what}` : `malformed payload: ${describe(value)} is not a valid ${what}`);
  }

  /** Skips padding up to a multiple of `alignment`, rejecting any non-zero padding byte. */
  align(alignment: number): void {
    const pad = (alignment - (this.#offset % alignment)) % alignment;
    if (pad === 0) return;
    const at = this.#take(pad);
    for (let i = at; i < at + pad; i++) {
      if (this.#bytes[i] !== 0) throw this.invalid(`non-zero padding byte at offset ${i}`);
    }
  }

  /** Starts a struct or union: checks the nesting depth and aligns. Pair with {@link WireReader.leave}. */
  enter(alignment: number): void {
    if (++this.#depth > WIRE_MAX_DEPTH) throw this.invalid(`nesting deeper than ${WIRE_MAX_DEPTH} levels`);
    this.align(alignment);
  }

  /** Ends a struct or union started with {@link WireReader.enter}. */
  leave(): void {
    this.#depth--;
  }

  /** Reads the one zero byte an empty struct encodes as. */
  empty(): void {
    const b = this.#bytes[this.#take(1)];
    if (b !== 0) throw this.invalid('empty struct', b);
  }

  /** Reads a bool (a byte that must be 0 or 1). */
  bool(): boolean {
    const b = this.#bytes[this.#take(1)]!;
    if (b > 1) throw this.invalid('bool', b);
    return b === 1;
  }

  /** Reads a u8. */
  u8(): number {
    return this.#bytes[this.#take(1)]!;
  }

  /** Reads an i8. */
  i8(): number {
    return this.#view.getInt8(this.#take(1));
  }

  /** Reads a u16 at 2-byte alignment. */
  u16(): number {
    this.align(2);
    return this.#view.getUint16(this.#take(2), true);
  }

  /** Reads an i16 at 2-byte alignment. */
  i16(): number {
    this.align(2);
    return this.#view.getInt16(this.#take(2), true);
  }

  /** Reads a u32 at 4-byte alignment. */
  u32(): number {
    this.align(4);
    return this.#view.getUint32(this.#take(4), true);
  }

  /** Reads an i32 at 4-byte alignment. */
  i32(): number {
    this.align(4);
    return this.#view.getInt32(this.#take(4), true);
  }

  /** Reads a u64 (as a bigint) at 8-byte alignment. */
  u64(): bigint {
    this.align(8);
    return this.#view.getBigUint64(this.#take(8), true);
  }

  /** Reads an i64 (as a bigint) at 8-byte alignment. */
  i64(): bigint {
    this.align(8);
    return this.#view.getBigInt64(this.#take(8), true);
  }

  /** Reads an f32 at 4-byte alignment. */
  f32(): number {
    this.align(4);
    return this.#view.getFloat32(this.#take(4), true);
  }

  /** Reads an f64 at 8-byte alignment. */
  f64(): number {
    this.align(8);
    return this.#view.getFloat64(this.#take(8), true);
  }

  /** Reads a string of at most `max` UTF-8 bytes; invalid UTF-8 is rejected. */
  string(max: number = WIRE_MAX_LENGTH): string {
    const length = this.#length(max, 'string');
    const at = this.#take(length);
    try {
      return utf8.decode(this.#bytes.subarray(at, at + length));
    } catch {
      throw this.invalid('string: invalid UTF-8');
    }
  }

  /**
   * Reads at most `max` bytes (a copy: the receive buffer is reused). A field that travelled
   * in the message's buffer ({@link WIRE_IN_BUFFER}) is the buffer's bytes, once.
   */
  bytes(max: number = WIRE_MAX_LENGTH): Uint8Array {
    this.align(4);
    if (this.remaining >= 8 && this.#view.getUint32(this.#offset, true) === WIRE_IN_BUFFER) {
      this.#take(4);
      const n = this.u32();
      if (n > max) throw this.invalid(`bytes length (bound ${max})`, n);
      const carried = this.#inBuffer;
      if (carried === undefined || carried.length !== n) throw this.invalid(`bytes in the message's buffer (${carried === undefined ? 'none carried' : `${carried.length} bytes carried`})`, n);
      this.#inBuffer = undefined;
      return carried;
    }
    const length = this.#length(max, 'bytes');
    const at = this.#take(length);
    return this.#bytes.slice(at, at + length);
  }

  /** Reads a vector of at most `max` elements aligned to `alignment`, each with `decodeElement`. */
  vector<T>(max: number, alignment: number, decodeElement: () => T): T[] {
    this.align(alignment);
    // Every element takes at least one byte, so a count above the bytes left is a lie.
    const count = this.#length(max, 'vector');
    const out: T[] = [];
    for (let i = 0; i < count; i++) out.push(decodeElement());
    return out;
  }

  /** Reads a fixed-size array of `length` elements. */
  array<T>(length: number, decodeElement: () => T): T[] {
    const out: T[] = [];
    for (let i = 0; i < length; i++) out.push(decodeElement());
    return out;
  }

  /** Reads an optional value: aligns, reads the presence byte (0 or 1), then the value. */
  optional<T>(alignment: number, decodeValue: () => T): T | undefined {
    this.align(alignment);
    const present = this.#bytes[this.#take(1)]!;
    if (present === 0) return undefined;
    if (present !== 1) throw this.invalid('presence byte', present);
    return decodeValue();
  }

  /**
   * Reads a capability index and returns the handle it names. Indexes must count up from 0
   * in encoding order, so each capability is used exactly once.
   */
  cap(): CapHandle {
    const index = this.u32();
    if (index !== this.#capsTaken) throw this.invalid(`capability index (expected ${this.#capsTaken})`, index);
    if (index >= this.#caps.length) throw this.invalid(`capability index: the message carries ${this.#caps.length} capabilities`, index);
    this.#capsTaken++;
    return this.#caps[index]!;
  }

  /** Checks that the whole payload and every capability were consumed. */
  end(): void {
    if (this.#offset !== this.#bytes.length) throw this.invalid(`${this.#bytes.length - this.#offset} trailing bytes`);
    if (this.#capsTaken !== this.#caps.length) throw this.invalid(`${this.#caps.length - this.#capsTaken} unused capabilities`);
  }

  #length(max: number, what: string): number {
    const length = this.u32();
    if (length > max) throw this.invalid(`${what} length (bound ${max})`, length);
    if (length > this.remaining) throw this.invalid(`${what} length (${this.remaining} bytes left)`, length);
    return length;
  }

  #take(n: number): number {
    const at = this.#offset;
    if (at + n > this.#bytes.length) throw this.invalid(`needs ${n} more bytes at offset ${at}, ${this.#bytes.length - at} left`);
    this.#offset = at + n;
    return at;
  }
}
