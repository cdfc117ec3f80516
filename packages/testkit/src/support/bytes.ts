/** Deterministic test bytes: `n` bytes derived from their index and `salt`. */
export function pattern(n: number, salt = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 29 + salt * 7 + 1) & 0xff;
  return out;
}

/** Lowercase hex (two digits a byte) to bytes. */
export function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-f]*$/i.test(hex)) throw new Error(`bad hex string: ${hex}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A 64-bit value as `0x` + 16 lowercase hex digits (the golden files' notation). */
export function hex64(v: bigint): string {
  return `0x${BigInt.asUintN(64, v).toString(16).padStart(16, '0')}`;
}

/** The echo servers' reply type for a request type: its bitwise complement (u32). */
export function echoType(type: number): number {
  return (type ^ 0xffffffff) >>> 0;
}

/** A copy of `bytes` in reverse order (the echo servers' reply payload). */
export function reversed(bytes: Uint8Array): Uint8Array {
  return bytes.slice().reverse();
}
