import type { Process } from '@veridian/core';

/** Maps every free frame into `p`, a page at a time (its address map and page tables come out of the same pool); returns the pages' addresses. */
export function mapEveryFrame(p: Process): number[] {
  const pages: number[] = [];
  for (;;) {
    try {
      pages.push(p.memory.map(4096));
    } catch {
      return pages;
    }
  }
}
