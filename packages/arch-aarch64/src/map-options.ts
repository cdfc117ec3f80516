import { IpcError, PagePerm } from '@veridian/core';
import type { MapOptions, PagePerms } from '@veridian/core';
import { checkAttributes } from './leaf-codec.js';
import { attrIndexOf, isDeviceAttribute, mairAttribute, type MemoryType } from './memory-attributes.js';
import { tableControlsHi, type TableAttributes } from './table-descriptor.js';

/**
 * AArch64 options of `Aarch64AddressSpace.map`, on top of the arch-neutral `MapOptions`.
 *
 * @example
 * ```ts
 * // A device register page, as Linux's PROT_DEVICE_nGnRE (never executable):
 * space.map(0x900_0000, 0x900_0000, 4096, PagePerm.READ | PagePerm.WRITE, { memoryType: 'device-nGnRE', global: true });
 * // A plain read-write kernel page without hardware dirty management (DBM = 0, AP[2] = 0):
 * space.map(0x40_0000, 0x5000, 4096, PagePerm.READ | PagePerm.WRITE, { dbm: false });
 * // A user page under tables that forbid EL1 execution below them (Linux's PMD_TABLE_PXN):
 * space.map(0x50_0000, 0x6000, 4096, PagePerm.READ | PagePerm.USER, { tableAttributes: { pxnTable: true } });
 * ```
 */
export interface Aarch64MapOptions extends MapOptions {
  /** Memory type by name, resolved to the MAIR_EL1 slot that holds it (exclusive with `attrIndx`). */
  memoryType?: MemoryType;
  /** AttrIndx (0–7) directly; default 0 (Normal write-back under the default MAIR). */
  attrIndx?: number;
  /** SH: 0 non-shareable, 2 outer, 3 inner shareable (default; Linux's PTE_SHARED). */
  shareability?: number;
  /** DBM on writable pages (hardware dirty-state management: writable-clean until the first write); default true. */
  dbm?: boolean;
  /** Hierarchical controls of the table descriptors this call creates (existing tables keep theirs; see `setTableAttributes`). */
  tableAttributes?: TableAttributes;
}

/** The resolved attributes of a map call. */
export interface ResolvedAttributes {
  attrIndx: number;
  sh: number;
  dbm: boolean;
  /** High word of the controls of new table descriptors. */
  tableHi: number;
}

/** Validates and resolves `options` against `mair`; throws `InvalidArgument` (nothing changed) on bad values or an executable device mapping. */
export function resolveAttributes(options: Aarch64MapOptions, perms: PagePerms, mair: bigint): ResolvedAttributes {
  if (options.memoryType !== undefined && options.attrIndx !== undefined) throw new IpcError('InvalidArgument', 'give memoryType or attrIndx, not both');
  const attrIndx = options.memoryType !== undefined ? attrIndexOf(mair, options.memoryType) : (options.attrIndx ?? 0);
  const sh = options.shareability ?? 3;
  checkAttributes(attrIndx, sh);
  if (options.dbm !== undefined && typeof options.dbm !== 'boolean') throw new IpcError('InvalidArgument', 'dbm must be a boolean');
  checkDeviceExec(mair, attrIndx, perms);
  return { attrIndx, sh, dbm: options.dbm ?? true, tableHi: tableControlsHi(options.tableAttributes ?? {}) };
}

/** Device memory is never executable (as Linux maps it, PXN = UXN = 1): EXECUTE on it is `InvalidArgument`. */
export function checkDeviceExec(mair: bigint, attrIndx: number, perms: PagePerms): void {
  if (perms & PagePerm.EXECUTE && isDeviceAttribute(mairAttribute(mair, attrIndx))) {
    throw new IpcError('InvalidArgument', `AttrIndx ${attrIndx} is Device memory, which is never mapped executable`);
  }
}
