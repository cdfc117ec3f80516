// Per-CPU translation lookaside buffers in flat typed arrays (CPU c owns slots
// [c * entries, (c + 1) * entries)). Direct-mapped by virtual page number per page size, so
// a hit is one probe for 4 KiB pages and at most three overall; no object per entry.

const SIZE_SHIFT = 8;
const SIZE_MASK = 3 << SIZE_SHIFT;
const GLOBAL = 1 << 10;
const RIGHTS_MASK = 0x3f;
const EMPTY = -1;

// Pages of 4 KiB per entry, and the divisor giving the key, for size codes 0, 1, 2.
const PAGES = [1, 512, 512 * 512] as const;
const BYTES = [0x1000, 0x20_0000, 0x4000_0000] as const;
// Different salts keep a 2 MiB or 1 GiB entry from always evicting the 4 KiB entry at the
// same index.
const SALT = [0, 0x2d, 0x17] as const;

/** Size code of a leaf at translation level `level` (3 → 0, 2 → 1, 1 → 2). */
export function sizeCodeOfLevel(level: number): number {
  return 3 - level;
}

/** The TLBs of every CPU of one MMU instance. Entries are tagged by ASID unless global. */
export class Tlb {
  /** Entries per CPU (a power of two). */
  readonly entries: number;
  /** CPUs. */
  readonly cpus: number;
  readonly #mask: number;
  readonly #key: Float64Array;
  readonly #pa: Float64Array;
  readonly #asid: Int32Array;
  readonly #flags: Int32Array;

  constructor(cpus: number, entries: number) {
    this.cpus = cpus;
    this.entries = entries;
    this.#mask = entries - 1;
    const n = cpus * entries;
    this.#key = new Float64Array(n).fill(EMPTY);
    this.#pa = new Float64Array(n);
    this.#asid = new Int32Array(n);
    this.#flags = new Int32Array(n);
  }

  /**
   * Physical address for `va` if `cpu`'s TLB holds an entry for `asid` (or a global one)
   * granting every right in `need`; otherwise -1. Allocates nothing.
   */
  lookup(cpu: number, asid: number, va: number, need: number): number {
    const base = cpu * this.entries;
    const key = this.#key;
    const flags = this.#flags;
    for (let size = 0; size < 3; size++) {
      const bytes = BYTES[size]!;
      const k = Math.floor(va / bytes);
      const s = base + ((k ^ SALT[size]!) & this.#mask);
      if (key[s] !== k) continue;
      const f = flags[s]!;
      if ((f & SIZE_MASK) >> SIZE_SHIFT !== size) continue;
      if (this.#asid[s] !== asid && !(f & GLOBAL)) continue;
      if ((f & need) !== need) return -1;
      return this.#pa[s]! + (va - k * bytes);
    }
    return -1;
  }

  /** Caches a translation: the leaf at `level` covering `va` maps to `pageBase` with `rights`. */
  insert(cpu: number, asid: number, va: number, level: number, pageBase: number, rights: number, global: boolean): void {
    const size = sizeCodeOfLevel(level);
    const k = Math.floor(va / BYTES[size]!);
    const s = cpu * this.entries + ((k ^ SALT[size]!) & this.#mask);
    this.#key[s] = k;
    this.#pa[s] = pageBase;
    this.#asid[s] = asid;
    this.#flags[s] = (rights & RIGHTS_MASK) | (size << SIZE_SHIFT) | (global ? GLOBAL : 0);
  }

  /**
   * `tlbi vae1` over a range, on every CPU: drops entries of `asid` (and global entries)
   * overlapping 4 KiB pages `[startVpn, endVpn)`.
   */
  invalidateRange(asid: number, startVpn: number, endVpn: number): void {
    const key = this.#key;
    const flags = this.#flags;
    for (let s = 0; s < key.length; s++) {
      const k = key[s]!;
      if (k === EMPTY) continue;
      const f = flags[s]!;
      if (this.#asid[s] !== asid && !(f & GLOBAL)) continue;
      const pages = PAGES[(f & SIZE_MASK) >> SIZE_SHIFT]!;
      const first = k * pages;
      if (first < endVpn && first + pages > startVpn) key[s] = EMPTY;
    }
  }

  /** `tlbi aside1` on every CPU: drops every non-global entry of `asid`. */
  flushAsid(asid: number): void {
    const key = this.#key;
    for (let s = 0; s < key.length; s++) {
      if (this.#asid[s] === asid && !(this.#flags[s]! & GLOBAL)) key[s] = EMPTY;
    }
  }

  /** `tlbi vmalle1`: empties `cpu`'s TLB, or every CPU's when `cpu` is omitted. */
  flush(cpu?: number): void {
    if (cpu === undefined) this.#key.fill(EMPTY);
    else this.#key.fill(EMPTY, cpu * this.entries, (cpu + 1) * this.entries);
  }

  /** Valid entries in `cpu`'s TLB (for tests and stats). */
  occupancy(cpu: number): number {
    let n = 0;
    for (let s = cpu * this.entries; s < (cpu + 1) * this.entries; s++) if (this.#key[s] !== EMPTY) n++;
    return n;
  }
}
