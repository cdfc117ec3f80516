import { IPC_ERROR_NUMBERS, IpcError, type IpcErrorCode } from '../contracts/errors.js';
import { MAX_SMALL_CAPS, MAX_SMALL_DATA, type MessageBuffer, type SmallMessage } from '../contracts/message.js';
import { Rights } from '../contracts/rights.js';
import { SharedBuffer, isSharedBuffer } from '../contracts/shared-buffer.js';
import { Mode } from './ipc/transfer.js';
import { byteCount, isBytes } from '../contracts/user-bytes.js';

/**
 * Argument checks of the public entries, for callers from TypeScript and from plain
 * JavaScript alike: a bad argument is `InvalidArgument` before anything changes, never a
 * `TypeError` half-way through.
 */

/** Longest timeout: what a host timer can hold (2^31 − 1 ms), in nanoseconds. */
export const MAX_TIMEOUT_NS = (2 ** 31 - 1) * 1e6;

/** How a value from user code reads in an error message (never `[object Object]`). */
export function show(x: unknown): string {
  if (x === null) return 'null';
  if (typeof x === 'object') return Array.isArray(x) ? 'an array' : 'an object';
  if (typeof x === 'function') return 'a function';
  if (typeof x === 'string') return JSON.stringify(x);
  return String(x as number | bigint | boolean | symbol | undefined);
}

/** A rejected promise for what a synchronous check threw (always an Error). */
export function rejected<T>(e: unknown): Promise<T> {
  return Promise.reject(e instanceof Error ? e : new Error(show(e)));
}

/** True for an integer in [0, 2^32). */
export function isU32(x: unknown): x is number {
  return typeof x === 'number' && x >>> 0 === x;
}

/** `caps` of a message must be a plain array or a `Uint32Array` (of handles, checked as read). */
export function checkCapsArray(caps: unknown, what: string): asserts caps is ArrayLike<unknown> {
  if (!Array.isArray(caps) && !(caps instanceof Uint32Array)) throw new IpcError('InvalidArgument', `${what}.caps must be an array of capability handles`);
}

/** Copies the first `n` handles of a capability array into `out`, each element read once and checked to be a u32. */
export function readHandles(caps: ArrayLike<unknown>, n: number, out: Uint32Array, what: string): void {
  for (let i = 0; i < n; i++) {
    const h = caps[i];
    if (!isU32(h)) throw new IpcError('InvalidArgument', `${what}.caps[${i}] must be a capability handle (u32)`);
    out[i] = h;
  }
}

/**
 * A message's buffer must be a SharedBuffer its constructor made (checked fields, frozen data
 * properties, so the kernel reads the same valid range every time: an object forged on its
 * prototype is refused), with a valid transfer mode. Returns the mode's number.
 */
export function checkBuffer(buffer: unknown, transfer: unknown, what: string): number {
  if (!isSharedBuffer(buffer) || Object.getPrototypeOf(buffer) !== SharedBuffer.prototype) {
    throw new IpcError('InvalidArgument', `${what}.buffer must be a SharedBuffer (new SharedBuffer(va, length))`);
  }
  return transferMode(transfer, what);
}

/** Checks a message from user code: an object with a u32 `type`, `data` a `Uint8Array`, `caps` an array of u32 handles. */
export function checkMessage(message: unknown, what = 'message'): SmallMessage {
  if (typeof message !== 'object' || message === null) throw new IpcError('InvalidArgument', `${what} must be an object { type, data, caps? }`);
  const m = message as Partial<SmallMessage>;
  if (!isU32(m.type)) throw new IpcError('InvalidArgument', `${what}.type must be a u32, got ${show(m.type)}`);
  if (!isBytes(m.data)) throw new IpcError('InvalidArgument', `${what}.data must be a Uint8Array`);
  const caps = m.caps;
  if (caps !== undefined) {
    checkCapsArray(caps, what);
    for (let i = 0; i < caps.length; i++) if (!isU32(caps[i])) throw new IpcError('InvalidArgument', `${what}.caps[${i}] must be a capability handle (u32)`);
  }
  const buffer = m.buffer;
  if (buffer !== undefined) checkBuffer(buffer, m.transfer, what);
  else if (m.transfer !== undefined) throw new IpcError('InvalidArgument', `${what}.transfer is given without a buffer`);
  return m as SmallMessage;
}

/** A small message's fields as {@link readMessage} read them: each once. */
export interface MessageFields {
  type: number;
  data: Uint8Array;
  /** `data.length` when it was read. */
  size: number;
  /** The capability handles (the first `capCount`). */
  readonly handles: Uint32Array;
  capCount: number;
  buffer: SharedBuffer | null;
  transfer: unknown;
}

/**
 * Reads a message from user code into `into`, each field exactly once, and checks the values
 * read (as {@link checkMessage} does, plus the inline limits: at most {@link MAX_SMALL_DATA}
 * bytes and {@link MAX_SMALL_CAPS} capabilities). For paths that copy the message into machine
 * memory later: a getter may answer differently on every read, so nothing is read twice.
 * Allocates nothing.
 */
export function readMessage(message: unknown, into: MessageFields, what = 'message'): void {
  readFields(message, into, what, false);
}

/**
 * {@link readMessage} for a message that may also be large (more than the inline limits, or a
 * buffer): true when it is small and read into `into`; false when it is large — then nothing
 * is stored and the caller takes its large path (which checks it with {@link checkMessage}).
 */
export function readSmallMessage(message: unknown, into: MessageFields, what = 'message'): boolean {
  return readFields(message, into, what, true);
}

function readFields(message: unknown, into: MessageFields, what: string, largeOk: boolean): boolean {
  if (typeof message !== 'object' || message === null) throw new IpcError('InvalidArgument', `${what} must be an object { type, data, caps? }`);
  const m = message as Partial<SmallMessage>;
  const type = m.type;
  if (!isU32(type)) throw new IpcError('InvalidArgument', `${what}.type must be a u32, got ${show(type)}`);
  const data = m.data;
  if (byteCount(data) < 0) throw new IpcError('InvalidArgument', `${what}.data must be a Uint8Array`);
  const caps = m.caps;
  let capCount = 0;
  if (caps !== undefined) {
    checkCapsArray(caps, what);
    const n = caps.length;
    if (n > MAX_SMALL_CAPS) {
      if (largeOk) return false;
      throw new IpcError('MessageTooLarge', `${what} carries ${n} capabilities inline; at most ${MAX_SMALL_CAPS}`);
    }
    readHandles(caps, n, into.handles, what);
    capCount = n;
  }
  const buffer = m.buffer;
  const transfer = m.transfer;
  if (buffer !== undefined) {
    if (largeOk) return false;
    checkBuffer(buffer, transfer, what);
  } else if (transfer !== undefined) throw new IpcError('InvalidArgument', `${what}.transfer is given without a buffer`);
  // The length last (the array's real one: an own `length` getter is never consulted).
  const size = byteCount(data);
  if (size > MAX_SMALL_DATA) {
    if (largeOk) return false;
    throw new IpcError('MessageTooLarge', `${what} carries ${size} bytes inline; at most ${MAX_SMALL_DATA} (a larger payload travels as ${what}.buffer, a SharedBuffer)`);
  }
  into.type = type;
  into.data = data as Uint8Array;
  into.size = size;
  into.capCount = capCount;
  into.buffer = buffer ?? null;
  into.transfer = transfer;
  return true;
}

/**
 * Checks a message buffer from user code that the kernel is to fill: an object whose `bytes`
 * is a `Uint8Array` of at least 64 bytes and `caps` a `Uint32Array` of at least 4 (what
 * `createMessageBuffer()` makes). Checked before anything is taken, so a bad one loses nothing.
 */
export function checkMessageBuffer(buf: unknown, what = 'buffer', index = -1): MessageBuffer {
  const b = buf as Partial<MessageBuffer> | null;
  if (typeof b !== 'object' || b === null || !(b.bytes instanceof Uint8Array) || b.bytes.length < MAX_SMALL_DATA || !(b.caps instanceof Uint32Array) || b.caps.length < MAX_SMALL_CAPS) {
    // The name of an array element is built only here: a batch checks every element per call.
    throw new IpcError('InvalidArgument', `${index >= 0 ? `${what}[${index}]` : what} must be a message buffer (createMessageBuffer())`);
  }
  return b as MessageBuffer;
}

/** The descriptor number of a {@link TransferMode} (`undefined` is Move); anything else is `InvalidArgument`. */
export function transferMode(mode: unknown, what = 'message'): number {
  if (mode === undefined || mode === 'move') return Mode.MOVE;
  if (mode === 'share') return Mode.SHARE;
  if (mode === 'copy') return Mode.COPY;
  throw new IpcError('InvalidArgument', `${what}.transfer must be 'move', 'share' or 'copy', got ${show(mode)}`);
}

/**
 * Reads `options.timeout` (nanoseconds): `undefined` (the endpoint's default, else forever), 0
 * (do not wait), a finite number up to {@link MAX_TIMEOUT_NS}, or `Infinity` (forever).
 */
export function checkTimeout(options: unknown): number | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) throw new IpcError('InvalidArgument', 'options must be an object');
  const t = (options as { timeout?: unknown }).timeout;
  if (t === undefined) return undefined;
  if (typeof t !== 'number' || Number.isNaN(t) || t < 0 || (t > MAX_TIMEOUT_NS && t !== Infinity)) {
    throw new IpcError('InvalidArgument', `timeout must be 0, a number of nanoseconds up to ${MAX_TIMEOUT_NS} (2^31 − 1 ms), or Infinity; got ${show(t)}`);
  }
  return t === Infinity ? Infinity : Math.ceil(t);
}

/**
 * Checks a capability handle argument: not a number is `InvalidArgument`; a number that cannot
 * be a handle (negative, fractional, NaN, over 32 bits) names no capability: `InvalidCapability`.
 */
export function checkHandle(handle: unknown, what = 'handle'): number {
  if (typeof handle !== 'number') throw new IpcError('InvalidArgument', `${what} must be a capability handle (a number), got ${typeof handle}`);
  if (!isU32(handle)) throw new IpcError('InvalidCapability', `${what} ${show(handle)} names no capability`);
  return handle;
}

/** Checks a rights mask: an integer with no bit outside {@link Rights.ALL}. */
export function checkRights(rights: unknown): number {
  if (typeof rights !== 'number' || !Number.isInteger(rights) || rights < 0 || (rights & ~Rights.ALL) !== 0 || rights > Rights.ALL) {
    throw new IpcError('InvalidArgument', `rights must be a mask of Rights bits (0–0x${Rights.ALL.toString(16)}), got ${show(rights)}`);
  }
  return rights;
}

/** Checks a process id argument: not a number is `InvalidArgument`; a number that names no process is the kernel's `ProcessNotFound`. */
export function checkPid(pid: unknown, what = 'pid'): number {
  if (typeof pid !== 'number') throw new IpcError('InvalidArgument', `${what} must be a process id (a number), got ${typeof pid}`);
  return pid;
}

/** Checks an error code for `replyError` and returns its register number. */
export function checkErrorCode(code: unknown): number {
  const n = typeof code === 'string' && Object.hasOwn(IPC_ERROR_NUMBERS, code) ? IPC_ERROR_NUMBERS[code as IpcErrorCode] : undefined;
  if (n === undefined) throw new IpcError('InvalidArgument', `unknown error code ${show(code)}`);
  return n;
}

/** Checks an integer option in `[min, max]`. */
export function checkInt(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) throw new IpcError('InvalidArgument', `${what} must be an integer in [${min}, ${max}], got ${show(value)}`);
  return value;
}

/** Checks an options argument: `undefined` or an object. */
export function checkOptions<T extends object>(options: unknown, what = 'options'): Partial<T> {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null) throw new IpcError('InvalidArgument', `${what} must be an object`);
  return options as Partial<T>;
}
