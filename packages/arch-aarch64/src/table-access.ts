import { IpcError } from '@veridian/core';
import type { PhysicalMemory } from '@veridian/core';
import { LO_AF, LO_VALID, tableAddress } from './page-table-entry.js';
import { TableHi, tableControlsHi, type TableAttributes } from './table-descriptor.js';
import { entryWord, isTable, visitLeaves } from './page-table.js';
import { tableIndex } from './address.js';

/** Single-descriptor access for `Aarch64AddressSpace`: raw reads, table controls, the Access flag. Writers hold the lock and the seqlock. */

/** Word of the descriptor at `level` on the path to `v`, or -1 when the path ends above it. */
export function descriptorWord(phys: PhysicalMemory, root: number, v: number, level: number): number {
  const u32 = phys.u32;
  let table = root;
  for (let l = 0; ; l++) {
    const w = entryWord(phys, table, tableIndex(v, l));
    if (l === level) return w;
    if (!isTable(u32[w]!, l)) return -1;
    table = tableAddress(u32[w]!, u32[w + 1]!);
  }
}

/** Throws `InvalidArgument` unless `level` is an integer in `[min, 3]`. */
export function checkLevel(level: number, min: number, max = 3): void {
  if (!Number.isInteger(level) || level < min || level > max) throw new IpcError('InvalidArgument', `level ${level} is not an integer in [${min}, ${max}]`);
}

/** Replaces the controls (bits 63:59) of the table descriptor at `level` (0–2) above `v`. */
export function writeTableControls(phys: PhysicalMemory, root: number, v: number, level: number, attrs: TableAttributes): void {
  checkLevel(level, 0, 2);
  const hiBits = tableControlsHi(attrs);
  const w = descriptorWord(phys, root, v, level);
  if (w < 0 || !isTable(phys.u32[w]!, level)) throw new IpcError('InvalidArgument', `no table descriptor at level ${level} for 0x${v.toString(16)}`);
  Atomics.store(phys.u32, w + 1, ((phys.u32[w + 1]! & ~TableHi.CONTROLS) | hiBits) >>> 0);
}

/** Sets AF on every valid leaf in `[start, end)` (what a kernel does on an access flag fault); returns how many changed. */
export function setAccessFlags(phys: PhysicalMemory, root: number, start: number, end: number): number {
  const u32 = phys.u32;
  let n = 0;
  visitLeaves(phys, root, 0, 0, start, end, (_va, _level, w) => {
    for (let cur = u32[w]!; cur & LO_VALID && !(cur & LO_AF); ) {
      const seen = Atomics.compareExchange(u32, w, cur, (cur | LO_AF) >>> 0);
      if (seen === cur) {
        n++;
        break;
      }
      cur = seen;
    }
  });
  return n;
}
