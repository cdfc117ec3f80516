import { IpcError } from '@veridian/core';

/**
 * Every field of an x86_64 paging-structure entry (Intel SDM vol. 3A §4.5, Tables 4-14 to
 * 4-20), by name. `encodeEntry` and `decodeEntry` convert between these and the 64-bit
 * value, for tools, golden vectors and kernels porting code that builds entries by hand.
 */
export interface EntryFields {
  /** P (bit 0). */
  present?: boolean;
  /** R/W (bit 1). */
  writable?: boolean;
  /** U/S (bit 2). */
  user?: boolean;
  /** PWT (bit 3). */
  writeThrough?: boolean;
  /** PCD (bit 4). */
  cacheDisable?: boolean;
  /** A (bit 5). */
  accessed?: boolean;
  /** D (bit 6; ignored in a table entry, set there by Linux's `_PAGE_TABLE`). */
  dirty?: boolean;
  /** PS (bit 7) of a PDPTE / PDE: a 1 GiB / 2 MiB leaf. */
  pageSize?: boolean;
  /** PAT: bit 7 of a PTE, bit 12 of a 2 MiB / 1 GiB leaf. */
  pat?: boolean;
  /** G (bit 8, leaves). */
  global?: boolean;
  /** Bits 11:9 (ignored by hardware; the kernel's markers). */
  software?: number;
  /** Physical address (frame of a leaf, next table of a table entry). */
  address?: number;
  /** Protection key, bits 62:59 (leaves). */
  protectionKey?: number;
  /** XD (bit 63). */
  executeDisable?: boolean;
}

const B = (on: boolean | undefined, bit: number): bigint => (on ? 1n << BigInt(bit) : 0n);

/** Is the entry at `level` (0 = PTE … 3 = PML4E) with value `value` a leaf? */
function leafAt(value: bigint, level: number): boolean {
  return level === 0 || (level < 3 && (value & 0x80n) !== 0n);
}

/**
 * Encodes an entry at `level` (0 = PTE, 1 = PDE, 2 = PDPTE, 3 = PML4E). `pat` goes to bit 7 at
 * level 0 and bit 12 of a huge leaf; `pageSize` is only meaningful at levels 1–2.
 *
 * @example
 * ```ts
 * // Linux's PAGE_SHARED (P | RW | US | A | NX) for the frame at 0x5000:
 * encodeEntry({ present: true, writable: true, user: true, accessed: true, executeDisable: true, address: 0x5000 }, 0); // 0x8000000000005027n
 * ```
 */
export function encodeEntry(fields: EntryFields, level: number): bigint {
  if (!Number.isInteger(level) || level < 0 || level > 3) throw new IpcError('InvalidArgument', `level ${level} is not in [0, 3]`);
  const address = BigInt(fields.address ?? 0);
  const huge = level > 0 && fields.pageSize === true;
  if (fields.pat && level > 0 && !huge) throw new IpcError('InvalidArgument', 'PAT exists only in leaves');
  let v =
    B(fields.present, 0) |
    B(fields.writable, 1) |
    B(fields.user, 2) |
    B(fields.writeThrough, 3) |
    B(fields.cacheDisable, 4) |
    B(fields.accessed, 5) |
    B(fields.dirty, 6) |
    B(huge, 7) |
    B(fields.pat && level === 0, 7) |
    B(fields.pat && huge, 12) |
    B(fields.global, 8) |
    (BigInt((fields.software ?? 0) & 7) << 9n) |
    (BigInt((fields.protectionKey ?? 0) & 15) << 59n) |
    B(fields.executeDisable, 63);
  v |= address & 0x000ffffffffff000n;
  return v;
}

/**
 * Decodes an entry at `level` into its fields (the inverse of {@link encodeEntry}; the
 * address of a huge leaf excludes its PAT bit).
 *
 * @example
 * ```ts
 * decodeEntry(0x80000000002001e3n, 1); // { present, writable, accessed, dirty, pageSize, global, executeDisable, address: 0x200000, … }
 * ```
 */
export function decodeEntry(value: bigint, level: number): Required<EntryFields> {
  const bit = (n: number): boolean => ((value >> BigInt(n)) & 1n) === 1n;
  const leaf = leafAt(value, level);
  const huge = leaf && level > 0;
  const addressMask = huge ? (level === 1 ? 0x000fffffffe00000n : 0x000fffffc0000000n) : 0x000ffffffffff000n;
  return {
    present: bit(0),
    writable: bit(1),
    user: bit(2),
    writeThrough: bit(3),
    cacheDisable: bit(4),
    accessed: bit(5),
    dirty: bit(6),
    pageSize: level > 0 && level < 3 && bit(7),
    pat: level === 0 ? bit(7) : huge && bit(12),
    global: bit(8),
    software: Number((value >> 9n) & 7n),
    address: Number(value & addressMask),
    protectionKey: Number((value >> 59n) & 15n),
    executeDisable: bit(63),
  };
}
