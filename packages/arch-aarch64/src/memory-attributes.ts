import { IpcError } from '@veridian/core';

/**
 * Memory attributes of stage-1 descriptors: AttrIndx (bits 4:2) selects one of eight 8-bit
 * attribute fields of MAIR_EL1; SH (bits 9:8) is the shareability (Arm ARM D8.6 / D5.5,
 * "Memory region attributes"; MAIR_EL1 in D19 / D17).
 *
 * The default MAIR value is Linux's (`arch/arm64/include/asm/memory.h` MT_* indices and
 * `sysreg.h` MAIR_ATTR_* values, programmed by `__cpu_setup` in `arch/arm64/mm/proc.S`):
 *
 * | AttrIndx | Linux | MAIR attribute |
 * | --- | --- | --- |
 * | 0 | MT_NORMAL | 0xff: Normal, Inner/Outer Write-Back Read/Write-Allocate |
 * | 1 | MT_NORMAL_TAGGED | 0xf0: Normal, tagged (MTE) |
 * | 2 | MT_NORMAL_NC | 0x44: Normal, Inner/Outer Non-cacheable |
 * | 3 | MT_DEVICE_nGnRnE | 0x00: Device-nGnRnE |
 * | 4 | MT_DEVICE_nGnRE | 0x04: Device-nGnRE |
 */

/** Linux's AttrIndx values (MT_* in `arch/arm64/include/asm/memory.h`). */
export const AttrIndex = {
  NORMAL: 0,
  NORMAL_TAGGED: 1,
  NORMAL_NC: 2,
  DEVICE_nGnRnE: 3,
  DEVICE_nGnRE: 4,
} as const;

/** MAIR attribute encodings (Linux `MAIR_ATTR_*`, Arm ARM MAIR_EL1.Attr<n>). */
export const MairAttr = {
  DEVICE_nGnRnE: 0x00,
  DEVICE_nGnRE: 0x04,
  DEVICE_GRE: 0x0c,
  NORMAL_NC: 0x44,
  NORMAL_WT: 0xbb,
  NORMAL_TAGGED: 0xf0,
  NORMAL: 0xff,
} as const;

/** MAIR_EL1 as Linux programs it: 0x000000040044f0ff. */
export const DEFAULT_MAIR = 0x0000_0004_0044_f0ffn;

/** Shareability field values (SH[1:0]); 0b01 is reserved. */
export const Shareability = {
  NON_SHAREABLE: 0b00,
  OUTER_SHAREABLE: 0b10,
  INNER_SHAREABLE: 0b11,
} as const;

/** Memory types a mapping can ask for by name; each resolves to the AttrIndx whose MAIR field has that attribute. */
export type MemoryType = 'normal' | 'normal-nc' | 'normal-tagged' | 'device-nGnRnE' | 'device-nGnRE';

const TYPE_ATTR: Readonly<Record<MemoryType, number>> = {
  normal: MairAttr.NORMAL,
  'normal-nc': MairAttr.NORMAL_NC,
  'normal-tagged': MairAttr.NORMAL_TAGGED,
  'device-nGnRnE': MairAttr.DEVICE_nGnRnE,
  'device-nGnRE': MairAttr.DEVICE_nGnRE,
};

/** Throws `InvalidArgument` unless `mair` is a 64-bit unsigned bigint. */
export function checkMair(mair: bigint): void {
  if (typeof mair !== 'bigint' || mair < 0n || mair >= 1n << 64n) throw new IpcError('InvalidArgument', `MAIR_EL1 value ${String(mair)} is not a u64 bigint`);
}

/** MAIR attribute field `index` (0–7) of `mair`. */
export function mairAttribute(mair: bigint, index: number): number {
  return Number((mair >> BigInt(8 * index)) & 0xffn);
}

/** True for a Device memory attribute (Attr<7:4> = 0b0000). */
export function isDeviceAttribute(attr: number): boolean {
  return (attr & 0xf0) === 0;
}

/**
 * The AttrIndx of `mair` holding the attribute of memory type `type` (the lowest such index).
 *
 * @example
 * ```ts
 * attrIndexOf(DEFAULT_MAIR, 'device-nGnRE'); // 4
 * ```
 */
export function attrIndexOf(mair: bigint, type: MemoryType): number {
  const want = TYPE_ATTR[type];
  if (want === undefined) throw new IpcError('InvalidArgument', `unknown memory type ${String(type)}`);
  for (let i = 0; i < 8; i++) if (mairAttribute(mair, i) === want) return i;
  throw new IpcError('InvalidArgument', `MAIR_EL1 0x${mair.toString(16)} has no slot with attribute 0x${want.toString(16)} (${type})`);
}

/** Linux ptdump's name of a MAIR attribute (`MEM/NORMAL`, `DEVICE/nGnRE`, …). */
export function memoryTypeName(attr: number): string {
  switch (attr) {
    case MairAttr.NORMAL:
      return 'MEM/NORMAL';
    case MairAttr.NORMAL_TAGGED:
      return 'MEM/NORMAL-TAGGED';
    case MairAttr.NORMAL_NC:
      return 'MEM/NORMAL-NC';
    case MairAttr.NORMAL_WT:
      return 'MEM/NORMAL-WT';
    case MairAttr.DEVICE_nGnRnE:
      return 'DEVICE/nGnRnE';
    case MairAttr.DEVICE_nGnRE:
      return 'DEVICE/nGnRE';
    case MairAttr.DEVICE_GRE:
      return 'DEVICE/GRE';
    default:
      return `MAIR/0x${attr.toString(16).padStart(2, '0')}`;
  }
}
