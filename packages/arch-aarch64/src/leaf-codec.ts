import { IpcError } from '@veridian/core';
import type { PagePerms } from '@veridian/core';
import { LO_AF, LO_NG, LO_VALID, isDirty, leafAddress, leafHi, leafLo, levelOfPageSize, markersOf, permsOf, type LeafState } from './page-table-entry.js';

/** Encoding and decoding of whole leaf descriptors (tools, golden vectors, tests). */

/** Options of {@link encodeLeafDescriptor}. */
export interface LeafOptions {
  /** Page size (default 4096). */
  pageSize?: number;
  /** `PageMarker` bits. */
  markers?: number;
  /** Global (nG = 0). */
  global?: boolean;
  /** Access flag already set. */
  accessed?: boolean;
  /** Already written. */
  dirty?: boolean;
  /** AttrIndx (0–7), the MAIR_EL1 slot; default 0. */
  attrIndx?: number;
  /** SH (0 non-, 2 outer, 3 inner shareable); default 3. */
  shareability?: number;
  /** DBM for a writable page (hardware dirty management); default true. */
  dbm?: boolean;
}

/**
 * Encodes a leaf descriptor exactly as `map` (and later hardware updates) would write it.
 *
 * @example
 * ```ts
 * // Linux's PAGE_KERNEL (PROT_NORMAL, nG clear) once written: 0x0068000000005703n.
 * encodeLeafDescriptor(0x5000, PagePerm.READ | PagePerm.WRITE, { global: true, accessed: true, dirty: true });
 * // A block without DBM, as Linux's PROT_SECT_NORMAL: 0x0060000000200701n.
 * encodeLeafDescriptor(0x20_0000, PagePerm.READ | PagePerm.WRITE, { pageSize: 2 << 20, global: true, accessed: true, dbm: false });
 * ```
 */
export function encodeLeafDescriptor(pa: number, perms: PagePerms, options: LeafOptions = {}): bigint {
  const level = levelOfPageSize(options.pageSize ?? 4096);
  if (level < 0) throw new IpcError('InvalidArgument', `unsupported page size ${options.pageSize ?? 4096}`);
  const attrIndx = options.attrIndx ?? 0;
  const sh = options.shareability ?? 3;
  checkAttributes(attrIndx, sh);
  const state: LeafState = { accessed: options.accessed ?? false, dirty: options.dirty ?? false, global: options.global ?? false, attrIndx, sh, dbm: options.dbm ?? true };
  const markers = options.markers ?? 0;
  return (BigInt(leafHi(pa, perms, markers, state)) << 32n) | BigInt(leafLo(pa, perms, markers, level, state));
}

/** A leaf descriptor decoded into the arch-neutral fields. */
export interface DecodedLeaf {
  /** Output address. */
  pa: number;
  /** `PagePerm` bits. */
  perms: PagePerms;
  /** `PageMarker` bits. */
  markers: number;
  /** Access flag. */
  accessed: boolean;
  /** Dirty state. */
  dirty: boolean;
  /** nG = 0. */
  global: boolean;
  /** Valid bit, and an encoding the architecture accepts at this level (a level-3 0b01 is reserved, so not present). */
  present: boolean;
}

/** The raw attribute fields of a page or block descriptor, by their Arm ARM names. */
export interface LeafAttributeFields {
  /** AttrIndx (bits 4:2): MAIR_EL1 slot. */
  attrIndx: number;
  /** NS (bit 5). */
  ns: boolean;
  /** AP[1] (bit 6): EL0 access. */
  apEl0: boolean;
  /** AP[2] (bit 7): read-only. */
  apReadOnly: boolean;
  /** SH (bits 9:8). */
  shareability: number;
  /** AF (bit 10). */
  accessFlag: boolean;
  /** nG (bit 11). */
  notGlobal: boolean;
  /** DBM (bit 51). */
  dbm: boolean;
  /** Contiguous (bit 52). */
  contiguous: boolean;
  /** PXN (bit 53). */
  pxn: boolean;
  /** UXN (bit 54). */
  uxn: boolean;
  /** Software bits 58:55 and 63, as a number (bit 55 = 1 … bit 58 = 8, bit 63 = 16). */
  software: number;
}

/**
 * Every attribute field of a page or block descriptor.
 *
 * @example
 * ```ts
 * decodeLeafAttributes(0x0068000000000713n); // Linux PROT_DEVICE_nGnRE: attrIndx 4, shareability 3, accessFlag, dbm, pxn, uxn
 * ```
 */
export function decodeLeafAttributes(value: bigint): LeafAttributeFields {
  const bit = (n: number): boolean => ((value >> BigInt(n)) & 1n) === 1n;
  return {
    attrIndx: Number((value >> 2n) & 7n),
    ns: bit(5),
    apEl0: bit(6),
    apReadOnly: bit(7),
    shareability: Number((value >> 8n) & 3n),
    accessFlag: bit(10),
    notGlobal: bit(11),
    dbm: bit(51),
    contiguous: bit(52),
    pxn: bit(53),
    uxn: bit(54),
    software: Number((value >> 55n) & 15n) | (bit(63) ? 16 : 0),
  };
}

/** Throws `InvalidArgument` unless AttrIndx is 0–7 and SH is 0, 2 or 3 (0b01 is reserved). */
export function checkAttributes(attrIndx: number, sh: number): void {
  if (!Number.isInteger(attrIndx) || attrIndx < 0 || attrIndx > 7) throw new IpcError('InvalidArgument', `AttrIndx ${attrIndx} is not in [0, 7]`);
  if (sh !== 0 && sh !== 2 && sh !== 3) throw new IpcError('InvalidArgument', `shareability ${sh} is not 0, 2 or 3 (0b01 is reserved)`);
}

/**
 * Decodes a leaf descriptor. The second argument is the page size (4096, 2 MiB, 1 GiB) or
 * `{ level }` (1–3). At level 3, bits[1:0] = 0b01 is a reserved encoding: the result says
 * `present: false`. At levels 1–2, 0b11 is a table descriptor, not a block: `InvalidArgument`
 * (decode it with `decodeTableDescriptor`). Level 0 holds no leaf with a 4 KiB granule.
 *
 * @example
 * ```ts
 * decodeLeafDescriptor(0x0068000000005bc3n, { level: 3 }).perms; // READ | WRITE | USER
 * decodeLeafDescriptor(0x0000000000005001n, { level: 3 }).present; // false: 0b01 is reserved at level 3
 * ```
 */
export function decodeLeafDescriptor(value: bigint, pageSizeOrLevel: number | { level: number } = 4096): DecodedLeaf {
  const level = typeof pageSizeOrLevel === 'number' ? levelOfPageSize(pageSizeOrLevel) : pageSizeOrLevel.level;
  if (typeof pageSizeOrLevel === 'number' && level < 0) throw new IpcError('InvalidArgument', `unsupported page size ${pageSizeOrLevel}`);
  if (!Number.isInteger(level) || level < 1 || level > 3) throw new IpcError('InvalidArgument', `no leaf descriptor at level ${level} (4 KiB granule: blocks at levels 1–2, pages at level 3)`);
  const lo = Number(value & 0xffff_ffffn);
  const hi = Number((value >> 32n) & 0xffff_ffffn);
  const type = lo & 0b11;
  if (level < 3 && type === 0b11) throw new IpcError('InvalidArgument', `0x${value.toString(16)} is a table descriptor at level ${level}, not a block`);
  return {
    pa: leafAddress(lo, hi, level),
    perms: permsOf(lo, hi),
    markers: markersOf(hi),
    accessed: (lo & LO_AF) !== 0,
    dirty: isDirty(lo, hi),
    global: !(lo & LO_NG),
    present: (lo & LO_VALID) !== 0 && !(level === 3 && type === 0b01),
  };
}
