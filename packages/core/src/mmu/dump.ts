import { PageMarker, PagePerm, type PageMapping } from '../contracts/mmu.js';

const UNITS = 'BKMGT';

/**
 * A byte count the way Linux's page-table dump prints it: the largest unit that divides it.
 *
 * @example
 * ```ts
 * formatSize(4096); // '4K'
 * formatSize(1536 * 1024); // '1536K'
 * ```
 */
export function formatSize(bytes: number): string {
  let unit = 0;
  while (bytes % 1024 === 0 && bytes > 0 && unit < UNITS.length - 1) {
    bytes /= 1024;
    unit++;
  }
  return `${bytes}${UNITS[unit]}`;
}

/** A 64-bit address as `0x` + 16 hex digits (modulo 2^64, so the end of the last page prints as `0x0000000000000000`, as Linux does). */
export function formatAddress(va: number | bigint): string {
  return `0x${BigInt.asUintN(64, BigInt(va)).toString(16).padStart(16, '0')}`;
}

/** Options of {@link formatMappings}. */
export interface DumpOptions {
  /** Name of the table level a page of `size` bytes is a leaf of (e.g. `pte`); default `formatSize(size)`. */
  levelName?: (size: number) => string;
  /** First address of the kernel half, if the arch has one: a `Kernel Space` heading starts there. */
  kernelStart?: bigint;
}

function attributes(m: PageMapping, level: string): string {
  const rw = m.perms & PagePerm.WRITE ? 'RW' : m.perms & PagePerm.READ ? 'ro' : '--';
  const usr = m.perms & PagePerm.USER ? 'USR' : '   ';
  const glb = m.global ? 'GLB' : '   ';
  const nx = m.perms & PagePerm.EXECUTE ? 'x ' : 'NX';
  const marks = [m.markers & PageMarker.COPY_ON_WRITE ? 'COW' : '', m.markers & PageMarker.LAZY ? 'LAZY' : '', !m.present && !(m.markers & PageMarker.LAZY) ? 'np' : '']
    .filter((s) => s !== '')
    .join(',');
  return `${rw} ${usr} ${glb} ${nx} ${marks.padEnd(8)} ${level}`;
}

/**
 * Formats leaf mappings (in address order) like Linux's `/sys/kernel/debug/page_tables`:
 * one line per run of virtually contiguous pages of the same size and attributes, under a
 * `User Space` and a `Kernel Space` heading. Columns: range, size, `RW`/`ro`/`--`, `USR`,
 * `GLB`, `NX`/`x`, markers (`COW`, `LAZY`, `np` = not present), level name.
 *
 * @example
 * ```ts
 * formatMappings(space.mappings(), { levelName: (s) => (s === 4096 ? 'pte' : 'pmd') });
 * // ---[ User Space ]---
 * // 0x0000000000400000-0x0000000000402000          8K  RW USR     NX          pte
 * // ---[ Kernel Space ]---
 * ```
 */
export function formatMappings(mappings: readonly PageMapping[], options: DumpOptions = {}): string {
  const levelName = options.levelName ?? formatSize;
  const kernelStart = options.kernelStart;
  const lines: string[] = ['---[ User Space ]---'];
  let kernelHeader = false;
  let runStart = -1n;
  let runEnd = -1n;
  let runAttrs = '';
  const flush = (): void => {
    if (runStart < 0n) return;
    lines.push(`${formatAddress(runStart)}-${formatAddress(runEnd)} ${formatSize(Number(runEnd - runStart)).padStart(10)}  ${runAttrs}`.trimEnd());
  };
  for (const m of mappings) {
    const start = BigInt(m.va);
    const attrs = attributes(m, levelName(m.size));
    if (start === runEnd && attrs === runAttrs && start !== kernelStart) {
      runEnd += BigInt(m.size);
      continue;
    }
    flush();
    if (kernelStart !== undefined && start >= kernelStart && !kernelHeader) {
      lines.push('---[ Kernel Space ]---');
      kernelHeader = true;
    }
    runStart = start;
    runEnd = start + BigInt(m.size);
    runAttrs = attrs;
  }
  flush();
  if (!kernelHeader) lines.push('---[ Kernel Space ]---');
  return `${lines.join('\n')}\n`;
}
