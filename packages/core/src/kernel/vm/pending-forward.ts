import { FrameInfo, PagePerm } from '../../contracts/mmu.js';
import type { KernelContext } from '../context.js';
import { B, E_COW, E_LAZY, E_SHIFT, PER_LIST } from '../ipc/transfer-layout.js';
import { linkLists, linksOf } from './list-sets.js';
import { R_DESC, R_FORM, R_MOVABLE, R_PAGES } from './pending-record.js';

/**
 * A Share of a whole received range nobody touched (`PendingRanges.untouched`), without a
 * page-table walk — such a range has no entry: its list is linked when its entries are already
 * in a Share receiver's form ({@link linkable}, {@link linkShare}: O(1)), else copied in one
 * pass ({@link forwardShare}). Lock held.
 */

/** What {@link forwardShare} found: every page may move on; some page was writable (its entry changed). */
export const Forward = { MOVABLE: 1, CHANGED: 2 } as const;

/**
 * A Share of untouched range `r` (see `PendingRanges.untouched`) into descriptor `d`
 * (an Int32 index; its list frames taken by the caller): in one pass, each entry is copied
 * into `d`'s list as it was (the state a cancel restores), its frame takes one more reference, and
 * the range's writable page becomes read-only copy-on-write — what staging a Share does,
 * without page-table walks (the range has no entry). Returns {@link Forward} bits: every page
 * may be moved on (writable, or copy-on-write); some entry changed (a writable page).
 */
export function forwardShare(k: KernelContext, r: number, d: number): number {
  const i32 = k.i32;
  const phys = k.mm.phys;
  const refs = k.refs;
  const pages = i32[r + R_PAGES]!;
  const src = phys.frameOffset(i32[r + R_DESC]!) >> 2;
  let movable: number = Forward.MOVABLE;
  let changed = 0;
  for (let l = 0, done = 0; done < pages; l++, done += PER_LIST) {
    const from = phys.frameOffset(i32[src + B.LIST0 + l]!) >> 2;
    const to = phys.frameOffset(i32[d + B.LIST0 + l]!) >> 2;
    const n = Math.min(PER_LIST, pages - done);
    i32.copyWithin(to, from, from + n);
    for (let j = 0; j < n; j++) {
      const e = i32[from + j]!;
      refs.retain(e >>> E_SHIFT);
      const perms = (e >> 2) & FrameInfo.PERMS;
      if ((perms & PagePerm.WRITE) !== 0) {
        i32[from + j] = (e & ~63) | ((perms & ~PagePerm.WRITE) << 2) | E_COW;
        changed = Forward.CHANGED;
      } else if ((e & E_COW) !== 0) {
        // Already read-only copy-on-write: the entry stays (its LAZY bit means nothing in a pending entry).
        if ((e & E_LAZY) !== 0) i32[from + j] = e & ~E_LAZY;
      } else movable = 0;
    }
  }
  // Every entry is read-only now (copy-on-write where it was writable): the next Share links.
  i32[r + R_FORM] = 1;
  return movable | changed;
}

/** True when a Share of untouched range `r` may link its lists (every entry in a Share receiver's form: see `R_FORM`; a shared set always is). */
export function linkable(k: KernelContext, r: number): boolean {
  return k.i32[r + R_FORM] === 1 || linksOf(k, k.mm.phys.frameOffset(k.i32[r + R_DESC]!) >> 2) > 0;
}

/** Descriptor `d` (no lists of its own) shares untouched range `r`'s lists; returns whether every page may be moved on. */
export function linkShare(k: KernelContext, r: number, d: number): boolean {
  linkLists(k, k.mm.phys.frameOffset(k.i32[r + R_DESC]!) >> 2, d);
  return k.i32[r + R_MOVABLE] === 1;
}

