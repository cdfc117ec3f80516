/**
 * At most how many page-table frames mapping `pages` consecutive pages can allocate in a tree
 * of `levels` levels with `entries` entries per table (the root exists already): at every level
 * below the root, the tables covering the range, plus one for a range that straddles a boundary.
 * What an MMU answers for `Mmu.tableFramesFor`.
 *
 * @example
 * ```ts
 * tableFramesBound(256, 4, 512); // 1 MiB of 4 KiB pages, x86_64: at most 6 table frames
 * ```
 */
export function tableFramesBound(pages: number, levels: number, entries: number): number {
  let frames = 0;
  let span = entries;
  for (let level = 1; level < levels; level++, span *= entries) frames += Math.ceil(pages / span) + 1;
  return frames;
}
