import { IpcError } from '../../contracts/errors.js';

/** Words of a name field in a record (32 bytes of UTF-8). */
export const NAME_WORDS = 8;
/** Longest name in bytes of UTF-8. */
export const MAX_NAME_BYTES = NAME_WORDS * 4;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const scratch = new Uint8Array(MAX_NAME_BYTES);
const scratchWords = new Int32Array(scratch.buffer);

/**
 * Checks a process or endpoint name from user code (plain JS included): a string of 1–32 bytes
 * of UTF-8. Throws `InvalidArgument` otherwise; names are never truncated.
 */
export function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string') throw new IpcError('InvalidArgument', `${what} must be a string, got ${typeof name}`);
  const bytes = encoder.encode(name).length;
  if (bytes === 0 || bytes > MAX_NAME_BYTES) throw new IpcError('InvalidArgument', `${what} must be 1–${MAX_NAME_BYTES} bytes of UTF-8, got ${bytes}`);
  return name;
}

/** Encodes `name` (already checked) into the 8 words of `out`, zero-padded. */
export function encodeName(name: string, out: Int32Array): void {
  scratch.fill(0);
  encoder.encodeInto(name, scratch);
  out.set(scratchWords);
}

/** Writes `name` into the name field at word `at`. */
export function writeName(i32: Int32Array, at: number, name: string): void {
  scratch.fill(0);
  encoder.encodeInto(name, scratch);
  for (let i = 0; i < NAME_WORDS; i++) i32[at + i] = scratchWords[i]!;
}

/** Reads the name field at word `at` ('' when empty). */
export function readName(i32: Int32Array, at: number): string {
  for (let i = 0; i < NAME_WORDS; i++) scratchWords[i] = i32[at + i]!;
  const end = scratch.indexOf(0);
  return decoder.decode(end < 0 ? scratch : scratch.subarray(0, end));
}

/** True when the name field at word `at` holds exactly the encoded `words`. */
export function nameEquals(i32: Int32Array, at: number, words: Int32Array): boolean {
  for (let i = 0; i < NAME_WORDS; i++) if (i32[at + i] !== words[i]) return false;
  return true;
}

/** FNV-1a over the 8 words of an encoded name. */
export function hashName(words: Int32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < NAME_WORDS; i++) {
    h ^= words[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
