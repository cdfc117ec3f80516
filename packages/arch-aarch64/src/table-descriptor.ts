import { IpcError } from '@veridian/core';

/**
 * Stage-1 table descriptors (Arm ARM D8.3 / D5.3, "Table descriptor format"; "Next-level
 * attributes in stage 1 VMSAv8-64 Table descriptors"): bits[1:0] = 0b11, the next table's
 * address in bits 47:12, and hierarchical controls that limit every lookup below:
 *
 * | bits | field | effect on every page below |
 * | --- | --- | --- |
 * | 59 | PXNTable | not executable at EL1 |
 * | 60 | UXNTable (XNTable) | not executable at EL0 |
 * | 62:61 | APTable | 0b00 no effect; 0b01 no EL0 access; 0b10 no write; 0b11 no write and no EL0 access |
 * | 63 | NSTable | Secure state only: ignored here (kept as written) |
 *
 * Bits 58:52 are ignored by the hardware (software may use them); bits 11:2 are ignored too,
 * except that bit 10 is the table AF with FEAT_HAFT (not modelled).
 */
export interface TableAttributes {
  /** PXNTable (bit 59). */
  pxnTable?: boolean;
  /** UXNTable / XNTable (bit 60). */
  uxnTable?: boolean;
  /** APTable (bits 62:61): 0–3. */
  apTable?: number;
  /** NSTable (bit 63). */
  nsTable?: boolean;
}

/** High-word masks of the table controls. */
export const TableHi = {
  PXN_TABLE: 1 << 27,
  UXN_TABLE: 1 << 28,
  /** APTable[0]: no EL0 access below. */
  AP_TABLE_NO_EL0: 1 << 29,
  /** APTable[1]: no write access below. */
  AP_TABLE_RO: 1 << 30,
  NS_TABLE: 1 << 31,
  /** Every control bit (59–63). */
  CONTROLS: 0xf8000000,
} as const;

/** High word of the controls in `attrs`. */
export function tableControlsHi(attrs: TableAttributes): number {
  const ap = attrs.apTable ?? 0;
  if (!Number.isInteger(ap) || ap < 0 || ap > 3) throw new IpcError('InvalidArgument', `APTable ${ap} is not in [0, 3]`);
  return ((attrs.pxnTable ? TableHi.PXN_TABLE : 0) | (attrs.uxnTable ? TableHi.UXN_TABLE : 0) | (ap << 29) | (attrs.nsTable ? TableHi.NS_TABLE : 0)) >>> 0;
}

/** The controls in a table descriptor's high word. */
export function tableControlsOf(hi: number): Required<TableAttributes> {
  return { pxnTable: (hi & TableHi.PXN_TABLE) !== 0, uxnTable: (hi & TableHi.UXN_TABLE) !== 0, apTable: (hi >>> 29) & 3, nsTable: (hi & TableHi.NS_TABLE) !== 0 };
}

/**
 * Encodes a table descriptor pointing at the table at `pa` (4 KiB aligned, below 2^48).
 *
 * @example
 * ```ts
 * // Linux's user tables: PMD_TYPE_TABLE | PMD_TABLE_PXN.
 * encodeTableDescriptor(0x4000, { pxnTable: true }); // 0x0800000000004003n
 * ```
 */
export function encodeTableDescriptor(pa: number, attrs: TableAttributes = {}): bigint {
  if (!Number.isSafeInteger(pa) || pa < 0 || pa % 4096 !== 0 || pa >= 2 ** 48) throw new IpcError('InvalidArgument', `table address 0x${pa.toString(16)} is not 4 KiB aligned below 2^48`);
  return (BigInt(tableControlsHi(attrs)) << 32n) | BigInt(pa) | 0b11n;
}

/** A decoded table descriptor. */
export interface DecodedTable extends Required<TableAttributes> {
  /** Next-level table address. */
  address: number;
}

/**
 * Decodes a table descriptor; throws `InvalidArgument` if `value` is not one (bits[1:0] ≠ 0b11).
 *
 * @example
 * ```ts
 * decodeTableDescriptor(0x6000000000004003n); // { address: 0x4000, apTable: 3, pxnTable: false, uxnTable: false, nsTable: false }
 * ```
 */
export function decodeTableDescriptor(value: bigint): DecodedTable {
  if ((value & 0b11n) !== 0b11n) throw new IpcError('InvalidArgument', `0x${value.toString(16)} is not a table descriptor (bits[1:0] != 0b11)`);
  const hi = Number((value >> 32n) & 0xffffffffn);
  return { address: Number(value & 0x0000_ffff_ffff_f000n), ...tableControlsOf(hi) };
}
