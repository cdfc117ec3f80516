import { DEFAULT_MAIR, mairAttribute, memoryTypeName } from './memory-attributes.js';
import {
  HI_CONTIGUOUS,
  HI_DBM,
  HI_PXN,
  HI_SW_COW,
  HI_SW_LAZY,
  HI_SW_PROT_NONE,
  HI_UXN,
  LO_AF,
  LO_AP_EL0,
  LO_AP_RO,
  LO_NG,
  LO_SH_INNER,
  LO_VALID,
  isDirty,
  levelSize,
} from './page-table-entry.js';

/** A raw leaf as read from the tables. */
export interface RawLeaf {
  va: number;
  level: number;
  lo: number;
  hi: number;
}

// Linux names the four arm64 levels after its own page-table types.
const LEVEL_NAMES = ['PGD', 'PUD', 'PMD', 'PTE'] as const;

/** Attribute columns of one leaf, in the spirit of Linux's arm64 ptdump (`RW NX SHD AF NG … UXN`). */
export function leafAttributes(level: number, lo: number, hi: number, mair: bigint = DEFAULT_MAIR): string {
  return [
    lo & LO_VALID ? ' ' : 'F',
    lo & LO_AP_EL0 ? 'USR' : '   ',
    lo & LO_AP_RO ? 'ro' : 'RW',
    hi & HI_PXN ? 'NX' : 'x ',
    (lo & LO_SH_INNER) === LO_SH_INNER ? 'SHD' : '   ',
    lo & LO_AF ? 'AF' : '  ',
    lo & LO_NG ? 'NG' : '  ',
    hi & HI_CONTIGUOUS ? 'CON' : '   ',
    level < 3 ? 'BLK' : '   ',
    hi & HI_UXN ? 'UXN' : '   ',
    hi & HI_DBM ? 'DBM' : '   ',
    isDirty(lo, hi) ? 'DIRTY' : '     ',
    hi & HI_SW_COW ? 'COW' : '   ',
    hi & HI_SW_LAZY ? 'LAZY' : '    ',
    hi & HI_SW_PROT_NONE ? 'NONE' : '    ',
    memoryTypeName(mairAttribute(mair, (lo >>> 2) & 7)),
  ].join(' ');
}

/** Size in the largest binary unit that divides it exactly, e.g. `4K`, `12K`, `2M`, `1G`. */
export function formatSize(bytes: number): string {
  const units = ['', 'K', 'M', 'G', 'T'];
  let u = 0;
  while (u < units.length - 1 && bytes >= 1024 && bytes % 1024 === 0) {
    bytes /= 1024;
    u++;
  }
  return `${bytes}${units[u]}`;
}

function hex64(n: number): string {
  return `0x${n.toString(16).padStart(16, '0')}`;
}

/**
 * Formats leaves (in address order) as merged ranges: consecutive leaves at the same level
 * with identical attributes become one line with the range, its size, the level and the
 * attributes.
 */
export function formatDump(header: string, leaves: readonly RawLeaf[], mair: bigint = DEFAULT_MAIR): string {
  const lines = [`---[ ${header} ]---`];
  let start = -1;
  let end = -1;
  let level = -1;
  let attrs = '';
  const flush = (): void => {
    if (start < 0) return;
    lines.push(`${hex64(start)}-${hex64(end)} ${formatSize(end - start).padStart(9)} ${LEVEL_NAMES[level]}  ${attrs}`.trimEnd());
  };
  for (const leaf of leaves) {
    const a = leafAttributes(leaf.level, leaf.lo, leaf.hi, mair);
    const size = levelSize(leaf.level);
    if (leaf.va === end && leaf.level === level && a === attrs) {
      end += size;
      continue;
    }
    flush();
    start = leaf.va;
    end = leaf.va + size;
    level = leaf.level;
    attrs = a;
  }
  flush();
  return `${lines.join('\n')}\n`;
}
