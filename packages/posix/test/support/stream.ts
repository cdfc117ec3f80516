/** The byte stream the pipeline tests send: position i carries BASE[i % PERIOD] (a prime period, so chunks never line up). */
export const PERIOD = 65521;
const CHUNK_MAX = 1 << 20;
export const BASE = (() => {
  const b = new Uint8Array(PERIOD + CHUNK_MAX);
  let x = 0x9e3779b9;
  for (let i = 0; i < PERIOD; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x & 0xff;
  }
  for (let i = PERIOD; i < b.length; i++) b[i] = b[i - PERIOD]!;
  return b;
})();

/** The `n` bytes of the stream from position `pos` (a view, n ≤ 1 MiB). */
export function slice(pos: number, n: number): Uint8Array {
  const o = pos % PERIOD;
  return BASE.subarray(o, o + n);
}

/** Throws unless `got` is the stream's bytes from `pos`. */
export function check(pos: number, got: Uint8Array): void {
  const want = slice(pos, got.length);
  if (Buffer.compare(Buffer.from(got.buffer, got.byteOffset, got.length), Buffer.from(want.buffer, want.byteOffset, want.length)) !== 0) {
    for (let i = 0; i < got.length; i++) if (got[i] !== want[i]) throw new Error(`byte ${pos + i} is ${got[i]}, expected ${want[i]}`);
  }
}
