/**
 * Source of 64-bit capability tokens: the platform's cryptographic RNG, or (tests only) a
 * seeded generator so runs are reproducible. Tokens are drawn in batches so minting does not
 * call into the RNG every time.
 */
export class TokenSource {
  readonly seeded: boolean;
  readonly #entropy: { randomFill(out: Uint32Array): void } | undefined;
  #buf = new Uint32Array(256);
  #pos = 256;
  #s0 = 0;
  #s1 = 0;
  #s2 = 0;
  #s3 = 0;

  constructor(seed: number | undefined, entropy?: { randomFill(out: Uint32Array): void }) {
    this.seeded = seed !== undefined;
    this.#entropy = entropy;
    if (seed !== undefined) {
      // splitmix32 to spread the seed into xoshiro128** state.
      let x = seed >>> 0;
      const next = () => {
        x = (x + 0x9e3779b9) >>> 0;
        let z = x;
        z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
        z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
        return (z ^ (z >>> 16)) >>> 0;
      };
      this.#s0 = next();
      this.#s1 = next();
      this.#s2 = next();
      this.#s3 = next() | 1;
    }
  }

  #refill(): void {
    if (!this.seeded) {
      if (this.#entropy) this.#entropy.randomFill(this.#buf);
      else crypto.getRandomValues(this.#buf);
    } else {
      for (let i = 0; i < this.#buf.length; i++) {
        const result = Math.imul(rotl(Math.imul(this.#s1, 5) >>> 0, 7), 9) >>> 0;
        const t = (this.#s1 << 9) >>> 0;
        this.#s2 ^= this.#s0;
        this.#s3 ^= this.#s1;
        this.#s1 ^= this.#s2;
        this.#s0 ^= this.#s3;
        this.#s2 ^= t;
        this.#s3 = rotl(this.#s3 >>> 0, 11);
        this.#buf[i] = result;
      }
    }
    this.#pos = 0;
  }

  /** Next random 32-bit word. */
  next32(): number {
    if (this.#pos >= this.#buf.length) this.#refill();
    return this.#buf[this.#pos++]!;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
