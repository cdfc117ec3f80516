import { PageMarker, PagePerm } from '@veridian/core';
import type { PageMapping } from '@veridian/core';
import { LOWER_HALF_END, formatLinear, toLinear } from './address.js';

const LEVEL_NAMES: Readonly<Record<number, string>> = { [4096]: 'pte', [2 ** 21]: 'pmd', [2 ** 30]: 'pud' };
const UNITS = 'BKMGT';

/** A byte count the way Linux's page-table dump prints it: the largest unit that divides it (`4K`, `2M`, `1536K`). */
export function formatSize(bytes: number): string {
  let unit = 0;
  while (bytes % 1024 === 0 && bytes > 0 && unit < UNITS.length - 1) {
    bytes /= 1024;
    unit++;
  }
  return `${bytes}${UNITS[unit]}`;
}

function attributes(m: PageMapping): string {
  const rw = m.perms & PagePerm.WRITE ? 'RW' : m.perms & PagePerm.READ ? 'ro' : '--';
  const usr = m.perms & PagePerm.USER ? 'USR' : '   ';
  const glb = m.global ? 'GLB' : '   ';
  const nx = m.perms & PagePerm.EXECUTE ? 'x ' : 'NX';
  const marks = [m.markers & PageMarker.COPY_ON_WRITE ? 'COW' : '', m.markers & PageMarker.LAZY ? 'LAZY' : '', !m.present && !(m.markers & PageMarker.LAZY) ? 'np' : '']
    .filter((s) => s !== '')
    .join(',');
  return `${rw} ${usr} ${glb} ${nx} ${marks.padEnd(8)} ${LEVEL_NAMES[m.size]}`;
}

/**
 * Formats leaf mappings (in address order) like Linux's `/sys/kernel/debug/page_tables`:
 * one line per run of virtually contiguous pages of the same size and attributes, under a
 * `User Space` and a `Kernel Space` heading, e.g.
 *
 * ```text
 * 0x0000000000400000-0x0000000000600000          2M  RW USR     NX          pte
 * ```
 *
 * Columns: range, size, `RW`/`ro`/`--` (no access), `USR`, `GLB`, `NX`/`x`, markers
 * (`COW`, `LAZY`, `np` = not present), level (`pte` 4 KiB, `pmd` 2 MiB, `pud` 1 GiB).
 */
export function formatDump(mappings: readonly PageMapping[]): string {
  const lines: string[] = ['---[ User Space ]---'];
  let kernelHeader = false;
  let runStart = -1;
  let runEnd = -1;
  let runAttrs = '';
  const flush = (): void => {
    if (runStart < 0) return;
    lines.push(`${formatLinear(runStart)}-${formatLinear(runEnd)} ${formatSize(runEnd - runStart).padStart(10)}  ${runAttrs}`.trimEnd());
  };
  for (const m of mappings) {
    const start = toLinear(m.va);
    const attrs = attributes(m);
    if (start === runEnd && attrs === runAttrs && start !== LOWER_HALF_END) {
      runEnd += m.size;
      continue;
    }
    flush();
    if (start >= LOWER_HALF_END && !kernelHeader) {
      lines.push('---[ Kernel Space ]---');
      kernelHeader = true;
    }
    runStart = start;
    runEnd = start + m.size;
    runAttrs = attrs;
  }
  flush();
  if (!kernelHeader) lines.push('---[ Kernel Space ]---');
  return `${lines.join('\n')}\n`;
}
