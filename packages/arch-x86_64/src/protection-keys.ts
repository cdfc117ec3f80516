import { IpcError } from '@veridian/core';

/**
 * Protection keys for user-mode pages (Intel SDM vol. 3A §4.6.2). With CR4.PKE = 1 each
 * leaf carries a 4-bit key in bits 62:59; the per-CPU PKRU register holds two bits per key:
 * AD (bit 2k, access disable) and WD (bit 2k + 1, write disable).
 *
 * - AD = 1: no data access (read or write, user or supervisor) to user-mode addresses with key k.
 * - WD = 1: no user-mode write, and no supervisor-mode write when CR0.WP = 1, to user-mode
 *   addresses with key k.
 * - Instruction fetches and supervisor-mode addresses are never affected.
 */

/** Number of protection keys. */
export const PROTECTION_KEY_COUNT = 16;

/** PKRU bit masks of key `key`. */
export function pkruBits(key: number): { accessDisable: number; writeDisable: number } {
  return { accessDisable: (1 << (2 * key)) >>> 0, writeDisable: (1 << (2 * key + 1)) >>> 0 };
}

/**
 * Builds a PKRU value from per-key rights.
 *
 * @example
 * ```ts
 * // Key 1 read-only (WD1 = bit 3), key 2 no access (AD2 = bit 4): 0x00000018.
 * mmu.setPkru(0, makePkru({ 1: 'read-only', 2: 'none' }));
 * ```
 */
export function makePkru(keys: Partial<Record<number, 'none' | 'read-only' | 'read-write'>>): number {
  let pkru = 0;
  for (const [k, rights] of Object.entries(keys)) {
    const key = Number(k);
    checkProtectionKey(key);
    const { accessDisable, writeDisable } = pkruBits(key);
    if (rights === 'none') pkru |= accessDisable;
    else if (rights === 'read-only') pkru |= writeDisable;
  }
  return pkru >>> 0;
}

/**
 * The PKRU bits (of `AD | WD << 1`, already shifted down to bit 0) that forbid a data access
 * to a user-mode page: AD for a read; AD and WD for a write that WD applies to.
 */
export function pkruForbidMask(write: boolean, user: boolean, writeProtect: boolean): number {
  return write && (user || writeProtect) ? 3 : 1;
}

/** True when PKRU value `pkru` forbids the access (`forbid` from {@link pkruForbidMask}) to a user page with `key`. */
export function pkruDenies(pkru: number, key: number, forbid: number): boolean {
  return ((pkru >>> (2 * key)) & forbid) !== 0;
}

/** Throws `InvalidArgument` unless `key` is an integer in [0, 15]. */
export function checkProtectionKey(key: number): void {
  if (!Number.isInteger(key) || key < 0 || key >= PROTECTION_KEY_COUNT) throw new IpcError('InvalidArgument', `protection key ${key} is not an integer in [0, 15]`);
}
