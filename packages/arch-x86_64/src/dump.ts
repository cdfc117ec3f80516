import { formatMappings, formatSize } from '@veridian/core';
import type { PageMapping } from '@veridian/core';

const LEVEL_NAMES: Readonly<Record<number, string>> = { [4096]: 'pte', [2 ** 21]: 'pmd', [2 ** 30]: 'pud' };

/** A byte count the way Linux's page-table dump prints it (core's `formatSize`): `4K`, `2M`, `1536K`. */
export { formatSize };

/**
 * Formats leaf mappings (in address order) like Linux's `/sys/kernel/debug/page_tables` —
 * core's `formatMappings` with the x86 level names (`pte` 4 KiB, `pmd` 2 MiB, `pud` 1 GiB) and
 * the kernel half starting at `0xffff800000000000`, e.g.
 *
 * ```text
 * 0x0000000000400000-0x0000000000600000          2M  RW USR     NX          pte
 * ```
 */
export function formatDump(mappings: readonly PageMapping[]): string {
  return formatMappings(mappings, { levelName: (size) => LEVEL_NAMES[size] ?? formatSize(size), kernelStart: 0xffff_8000_0000_0000n });
}
