import { IpcError } from './errors.js';

/**
 * How a message carries a {@link SharedBuffer}:
 *
 * | mode | the receiver gets | the sender keeps | bytes copied |
 * | --- | --- | --- | --- |
 * | `'move'` | the sender's frames (its entries are removed and the addresses released; a later access by the sender faults) | nothing of the whole pages | none (the partial pages at an unaligned edge are copied) |
 * | `'share'` | the same frames, read-only with copy-on-write | the frames, now read-only with copy-on-write | none until a write, then that one page |
 * | `'copy'` | new frames with the same contents | everything | every byte |
 *
 * A Move that has to wait in a queue parks the sender's pages (an access faults, an unmap is
 * refused) and puts them back exactly as they were if the send times out or fails.
 *
 * In every mode the receiver's pages are mapped lazily: an entry becomes present on the first
 * access. Only the buffer's bytes travel: a partial page at either end of an unaligned buffer
 * reaches the receiver as a fresh page holding only those bytes (zero elsewhere), so neither
 * side sees the other's data outside the buffer, and the sender keeps those pages whole.
 */
export type TransferMode = 'move' | 'share' | 'copy';

/** The {@link TransferMode} values, in their wire order. */
export const TRANSFER_MODES: readonly TransferMode[] = Object.freeze(['move', 'share', 'copy']);

/** The brand check of the class (its private field): set by the class's static block. */
let made: (x: object) => boolean;

/**
 * True when `x` is a SharedBuffer made by its constructor — so its `va` and `length` were
 * checked and are frozen data properties. An object merely built on `SharedBuffer.prototype`
 * (`Object.create`, a forged frozen copy) is not one.
 */
export function isSharedBuffer(x: unknown): x is SharedBuffer {
  return typeof x === 'object' && x !== null && made(x);
}

/**
 * A range of a process's memory — any address and length, not only whole pages — that a
 * message carries (field `buffer` of the message, with `transfer` choosing the
 * {@link TransferMode}). It names memory; it holds none: the kernel checks the range in the
 * sender's address space when the message is sent, and a received message's `buffer` names
 * the range in the receiver's space.
 *
 * @example
 * ```ts
 * const va = proc.memory.map(1 << 20);                 // 1 MiB of zeroed memory
 * proc.memory.write(va, payload);
 * await proc.call(ch, { type: 1, data: new Uint8Array(0), buffer: new SharedBuffer(va, 1 << 20), transfer: 'move' });
 * // server side:
 * const m = await proc.receive(ep);
 * const bytes = proc.memory.read(m.buffer!.va, m.buffer!.length);
 * ```
 */
export class SharedBuffer {
  /** First byte's virtual address in the owning process. */
  readonly va: number;
  /** Length in bytes (at least 1). */
  readonly length: number;
  /** Only the constructor gives an object this field, and no proxy or copy has it: what the kernel accepts as a message's buffer (a brand check, cheaper than a WeakSet). */
  readonly #checked = true;

  static {
    made = (x) => #checked in x;
  }

  constructor(va: number, length: number) {
    if (!Number.isSafeInteger(va) || va < 0) throw new IpcError('InvalidArgument', `buffer address must be a non-negative safe integer, got ${String(va)}`);
    if (!Number.isSafeInteger(length) || length < 1) throw new IpcError('InvalidArgument', `buffer length must be a positive safe integer, got ${String(length)}`);
    this.va = va;
    this.length = length;
    Object.freeze(this);
  }

  /** The same memory from `offset` for `length` bytes (within this buffer). */
  slice(offset: number, length = this.length - offset): SharedBuffer {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(length) || length < 1 || offset + length > this.length) {
      throw new IpcError('InvalidArgument', `slice [${String(offset)}, +${String(length)}) is outside a ${this.length}-byte buffer`);
    }
    return new SharedBuffer(this.va + offset, length);
  }
}
