/**
 * The demo's key-value protocol: the message type is the operation, the payload is
 * `keyLength (1 byte) | key | value`. Up to 64 bytes it travels in registers; a larger value
 * travels as a large message.
 */
/** Operations; HOLD is taken and deliberately left unanswered (to show a kill with a call pending). */
export const Op = { PUT: 1, GET: 2, DEL: 3, HOLD: 4, STOP: 0xffffffff } as const;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Encodes a key and an optional value (text or bytes) into a payload. */
export function encodeEntry(key: string, value: string | Uint8Array = ''): Uint8Array {
  const k = encoder.encode(key);
  const v = typeof value === 'string' ? encoder.encode(value) : value;
  if (k.length > 16) throw new RangeError('keys are at most 16 bytes');
  const out = new Uint8Array(1 + k.length + v.length);
  out[0] = k.length;
  out.set(k, 1);
  out.set(v, 1 + k.length);
  return out;
}

/** Decodes a payload into key and value. */
export function decodeEntry(bytes: Uint8Array): { key: string; value: string } {
  const n = bytes[0] ?? 0;
  return { key: decoder.decode(bytes.subarray(1, 1 + n)), value: decoder.decode(bytes.subarray(1 + n)) };
}

/** Text of a payload. */
export function text(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
