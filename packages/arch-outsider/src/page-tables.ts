import { PhysicalMemory } from '@veridian/core';
import { ENTRIES, HUGE, isLeaf, isTable, LEVELS, PAGE, PFN_MASK, T, V } from './pte.js';
import { FOUR_G, idx, type Slot } from './address.js';

/** The tables of one Outsider-64 address space: walks, leaf visits and range edits (no locking; the space locks). */
export class PageTables {
  readonly root: number;
  readonly #phys: PhysicalMemory;
  readonly #u32: Uint32Array;

  constructor(phys: PhysicalMemory, root: number) {
    this.#phys = phys;
    this.#u32 = phys.u32;
    this.root = root;
  }


  /** i32 index of entry 0 of the table at physical address `pa`. */
  tab(pa: number): number {
    return this.#phys.physOffset(pa) >>> 2;
  }


  /** Walks to the entry recording `va` (leaf, LAZY, or the first empty/odd one). No side effects. */
  walk(va: number, out: Slot): void {
    let table = this.tab(this.root);
    for (let level = 0; level < LEVELS; level++) {
      const at = table + idx(va, level);
      const e = Atomics.load(this.#u32, at);
      out.at = at;
      out.e = e;
      out.level = level;
      if (level < LEVELS - 1 && isTable(e) && (e & ~(PFN_MASK | V | T)) === 0) {
        table = this.tab(e & PFN_MASK);
        continue;
      }
      return;
    }
  }


  /** Calls `f` for every leaf (present or LAZY) in address order. */
  leaves(f: (va: number, at: number, e: number, level: number) => void): void {
    const r = this.tab(this.root);
    for (let i0 = 0; i0 < ENTRIES; i0++) {
      const e0 = this.#u32[r + i0]!;
      if (!isTable(e0)) continue;
      const t1 = this.tab(e0 & PFN_MASK);
      for (let i1 = 0; i1 < ENTRIES; i1++) {
        const e1 = this.#u32[t1 + i1]!;
        const va1 = i0 * FOUR_G + i1 * HUGE;
        if (isTable(e1)) {
          const t2 = this.tab(e1 & PFN_MASK);
          for (let i2 = 0; i2 < ENTRIES; i2++) {
            const e2 = this.#u32[t2 + i2]!;
            if (isLeaf(e2)) f(va1 + i2 * PAGE, t2 + i2, e2, 2);
          }
        } else if (isLeaf(e1)) f(va1, t1 + i1, e1, 1);
      }
    }
  }


  /** Every table frame, root first. */
  tables(): number[] {
    const frames = [PhysicalMemory.frameOf(this.root)];
    const r = this.tab(this.root);
    for (let i0 = 0; i0 < ENTRIES; i0++) {
      const e0 = this.#u32[r + i0]!;
      if (!isTable(e0)) continue;
      frames.push((e0 & PFN_MASK) >>> 12);
      const t1 = this.tab(e0 & PFN_MASK);
      for (let i1 = 0; i1 < ENTRIES; i1++) {
        const e1 = this.#u32[t1 + i1]!;
        if (isTable(e1)) frames.push((e1 & PFN_MASK) >>> 12);
      }
    }
    return frames;
  }


  /**
   * Visits every leaf in `[va, end)` with `f(at, e, pageVa, level)`; `f` returns the new entry.
   * Empty tables left behind are unlinked and returned (to retire after the shootdown).
   */
  edit(va: number, end: number, f: (at: number, e: number, p: number, level: number) => number, reclaim: boolean): number[] {
    const u32 = this.#u32;
    const r = this.tab(this.root);
    const retired: number[] = [];
    let p = va;
    while (p < end) {
      const at0 = r + idx(p, 0);
      const e0 = u32[at0]!;
      const next0 = Math.min(end, (Math.floor(p / FOUR_G) + 1) * FOUR_G);
      if (!isTable(e0)) {
        p = next0;
        continue;
      }
      const t1 = this.tab(e0 & PFN_MASK);
      while (p < next0) {
        const at1 = t1 + idx(p, 1);
        const e1 = u32[at1]!;
        const next1 = Math.min(end, (Math.floor(p / HUGE) + 1) * HUGE);
        if (isLeaf(e1)) {
          Atomics.store(u32, at1, f(at1, e1, p, 1) >>> 0);
        } else if (isTable(e1)) {
          const t2 = this.tab(e1 & PFN_MASK);
          for (let q = p; q < next1; q += PAGE) {
            const at2 = t2 + idx(q, 2);
            const e2 = u32[at2]!;
            if (isLeaf(e2)) Atomics.store(u32, at2, f(at2, e2, q, 2) >>> 0);
          }
          if (reclaim && this.empty(t2)) {
            Atomics.store(u32, at1, 0);
            retired.push((e1 & PFN_MASK) >>> 12);
          }
        }
        p = next1;
      }
      if (reclaim && this.empty(t1)) {
        Atomics.store(u32, at0, 0);
        retired.push((e0 & PFN_MASK) >>> 12);
      }
    }
    return retired;
  }


  empty(table: number): boolean {
    for (let i = 0; i < ENTRIES; i++) if (this.#u32[table + i] !== 0) return false;
    return true;
  }
}
