import { IpcError } from '../../contracts/errors.js';
import type { KernelContext } from '../context.js';
import { H, P } from '../records/layout.js';
import { PENDING_BASE } from './pending.js';

/** Lowest address of the process-memory window (256 MiB: the IPC buffer page and any low mappings stay below it). */
export const VM_BASE = 0x1000_0000;

/**
 * VM frame words: 0 = number of free extents, then (first page, pages) pairs sorted by page,
 * up to {@link GRANTS}; then the write records of region mappings (see {@link VaMap.grant}):
 * their count, then (first page, pages × 2 + private) pairs, unsorted; from
 * {@link PENDING_BASE} the pending ranges (`pending.ts`) keep the rest.
 */
const COUNT = 0;
const PAIRS = 2;
const GRANTS = 512;
/** Free extents one frame holds. */
const MAX_EXTENTS = (GRANTS - PAIRS) / 2;
/** Write records one frame holds. */
const MAX_GRANTS = (PENDING_BASE - GRANTS - 2) / 2;

/** What {@link VaMap.grantOf} says of a page: mapped from a region with the right to write (shared), privately with WRITE, or neither. */
export const Grant = { NONE: 0, SHARED: 1, PRIVATE: 2 } as const;

/**
 * The free virtual ranges of one process, inside the machine's process-memory window
 * (`H.VM_BASE_PAGE` … `H.VM_TOP_PAGE`): a sorted list of free extents in a kernel-owned
 * frame, taken the first time the process maps memory. First fit, coalesced on free, so a
 * buffer received and freed again reuses the same pages (and page tables). Lock held.
 */
export class VaMap {
  readonly #k: KernelContext;

  constructor(k: KernelContext) {
    this.#k = k;
  }

  /** True when `p` has its extent frame (or a free frame exists to make it): what `ensure` needs. */
  canEnsure(p: number): boolean {
    return this.#k.procs.get(p, P.VM) !== 0 || this.#k.mm.phys.freeFrames > 0;
  }

  /** Takes `p`'s extent frame if it has none yet (the whole window free). */
  ensure(p: number): void {
    const k = this.#k;
    if (k.procs.get(p, P.VM) !== 0) return;
    const f = k.mm.phys.allocFrame();
    const w = this.#words(f);
    k.i32[w + COUNT] = 1;
    k.i32[w + PAIRS] = k.i32[H.VM_BASE_PAGE]!;
    k.i32[w + PAIRS + 1] = k.i32[H.VM_TOP_PAGE]! - k.i32[H.VM_BASE_PAGE]!;
    k.procs.set(p, P.VM, f);
  }

  /** First page of a free run of `pages` pages (first fit), or −1; changes nothing. */
  find(p: number, pages: number): number {
    const f = this.#k.procs.get(p, P.VM);
    if (f === 0) return pages <= this.#k.i32[H.VM_TOP_PAGE]! - this.#k.i32[H.VM_BASE_PAGE]! ? this.#k.i32[H.VM_BASE_PAGE]! : -1;
    const i32 = this.#k.i32;
    const w = this.#words(f);
    for (let i = 0, n = i32[w + COUNT]!; i < n; i++) if (i32[w + PAIRS + i * 2 + 1]! >= pages) return i32[w + PAIRS + i * 2]!;
    return -1;
  }

  /** Takes `pages` pages from the free run starting at `page` (as `find` returned it). */
  take(p: number, page: number, pages: number): void {
    const i32 = this.#k.i32;
    const w = this.#words(this.#k.procs.get(p, P.VM));
    const n = i32[w + COUNT]!;
    for (let i = 0; i < n; i++) {
      const at = w + PAIRS + i * 2;
      if (i32[at] !== page) continue;
      if (i32[at + 1]! === pages) {
        i32.copyWithin(at, at + 2, w + PAIRS + n * 2);
        i32[w + COUNT] = n - 1;
      } else {
        i32[at] = page + pages;
        i32[at + 1] = i32[at + 1]! - pages;
      }
      return;
    }
    throw new IpcError('InvalidState', `no free range at page ${page}`);
  }

  /**
   * Checks that `[page, page + pages)` can be taken where it is (a fixed address): inside the
   * window (`InvalidArgument`), all free (`AlreadyExists`), and — when it splits a free extent
   * in two — with room for the extent (`OutOfMemory`). Writes nothing.
   */
  checkAt(p: number, page: number, pages: number): void {
    const i32 = this.#k.i32;
    if (page < i32[H.VM_BASE_PAGE]! || page + pages > i32[H.VM_TOP_PAGE]!) throw new IpcError('InvalidArgument', `[page ${page}, +${pages}) is outside the process-memory window`);
    const f = this.#k.procs.get(p, P.VM);
    if (f === 0) return;
    const w = this.#words(f);
    const n = i32[w + COUNT]!;
    for (let i = 0; i < n; i++) {
      const s = i32[w + PAIRS + i * 2]!;
      const e = s + i32[w + PAIRS + i * 2 + 1]!;
      if (s > page || e < page + pages) continue;
      if (s !== page && e !== page + pages && n === MAX_EXTENTS) throw new IpcError('OutOfMemory', 'no room to split the free range');
      return;
    }
    throw new IpcError('AlreadyExists', `part of [page ${page}, +${pages}) is mapped already`);
  }

  /** Takes `[page, page + pages)` where it is (checked with `checkAt`, after `ensure`). */
  takeAt(p: number, page: number, pages: number): void {
    const i32 = this.#k.i32;
    const w = this.#words(this.#k.procs.get(p, P.VM));
    const n = i32[w + COUNT]!;
    for (let i = 0; i < n; i++) {
      const at = w + PAIRS + i * 2;
      const s = i32[at]!;
      const e = s + i32[at + 1]!;
      if (s > page || e < page + pages) continue;
      if (s === page) return this.take(p, page, pages);
      i32[at + 1] = page - s;
      if (e === page + pages) return;
      // The rest after the range: a new extent right after this one.
      i32.copyWithin(at + 4, at + 2, w + PAIRS + n * 2);
      i32[at + 2] = page + pages;
      i32[at + 3] = e - page - pages;
      i32[w + COUNT] = n + 1;
      return;
    }
    throw new IpcError('InvalidState', `no free range holds page ${page}`);
  }

  /** True when `[page, page + pages)` lies in the window and overlaps no free extent (all of it allocated). */
  allocated(p: number, page: number, pages: number): boolean {
    const i32 = this.#k.i32;
    if (page < i32[H.VM_BASE_PAGE]! || page + pages > i32[H.VM_TOP_PAGE]!) return false;
    const f = this.#k.procs.get(p, P.VM);
    if (f === 0) return false;
    const w = this.#words(f);
    for (let i = 0, n = i32[w + COUNT]!; i < n; i++) {
      const s = i32[w + PAIRS + i * 2]!;
      if (s >= page + pages) break;
      if (s + i32[w + PAIRS + i * 2 + 1]! > page) return false;
    }
    return true;
  }

  /**
   * Gives `[page, page + pages)` back, merging with its neighbours. When the list is full and
   * the range touches no neighbour, the smallest extent is dropped (those pages are never
   * handed out again: address space is lost, no frame or record).
   */
  free(p: number, page: number, pages: number): void {
    const i32 = this.#k.i32;
    const w = this.#words(this.#k.procs.get(p, P.VM));
    this.#ungrant(w, page, pages);
    this.#k.rmaps.forget(p, page, pages);
    let n = i32[w + COUNT]!;
    let i = 0;
    while (i < n && i32[w + PAIRS + i * 2]! < page) i++;
    const prev = i > 0 ? w + PAIRS + (i - 1) * 2 : -1;
    const next = i < n ? w + PAIRS + i * 2 : -1;
    const joinPrev = prev >= 0 && i32[prev]! + i32[prev + 1]! === page;
    const joinNext = next >= 0 && i32[next]! === page + pages;
    if (joinPrev && joinNext) {
      i32[prev + 1] = i32[prev + 1]! + pages + i32[next + 1]!;
      i32.copyWithin(next, next + 2, w + PAIRS + n * 2);
      i32[w + COUNT] = n - 1;
    } else if (joinPrev) i32[prev + 1] = i32[prev + 1]! + pages;
    else if (joinNext) {
      i32[next] = page;
      i32[next + 1] = i32[next + 1]! + pages;
    } else {
      if (n === MAX_EXTENTS) {
        if (!this.#dropSmallest(w, pages)) return;
        n = i32[w + COUNT]!;
        i = 0;
        while (i < n && i32[w + PAIRS + i * 2]! < page) i++;
      }
      const at = w + PAIRS + i * 2;
      i32.copyWithin(at + 2, at, w + PAIRS + n * 2);
      i32[at] = page;
      i32[at + 1] = pages;
      i32[w + COUNT] = n + 1;
    }
  }

  /**
   * Records that `[page, page + pages)` (just taken) maps a region through a capability that
   * allowed writing — `priv`: a private mapping made with WRITE — so `protect` may make its
   * read-only pages writable again (a private one copy-on-write). Merges with an adjacent
   * record of the same kind; when the records are full nothing is recorded (those pages then
   * cannot be raised again: the safe side). Cleared when the pages are freed.
   */
  grant(p: number, page: number, pages: number, priv: boolean): void {
    const i32 = this.#k.i32;
    const w = this.#words(this.#k.procs.get(p, P.VM)) + GRANTS;
    const n = i32[w]!;
    const kind = priv ? 1 : 0;
    for (let i = 0; i < n; i++) {
      const at = w + 2 + i * 2;
      if ((i32[at + 1]! & 1) !== kind) continue;
      const f = i32[at]!;
      const len = i32[at + 1]! >>> 1;
      if (f + len === page) return void (i32[at + 1] = (len + pages) * 2 + kind);
      if (page + pages === f) return void ((i32[at] = page), (i32[at + 1] = (len + pages) * 2 + kind));
    }
    if (n === MAX_GRANTS) return;
    i32[w + 2 + n * 2] = page;
    i32[w + 3 + n * 2] = pages * 2 + kind;
    i32[w] = n + 1;
  }

  /** The {@link Grant} of `page` of `p`. */
  grantOf(p: number, page: number): number {
    const f = this.#k.procs.get(p, P.VM);
    if (f === 0) return Grant.NONE;
    const i32 = this.#k.i32;
    const w = this.#words(f) + GRANTS;
    for (let i = 0, n = i32[w]!; i < n; i++) {
      const s = i32[w + 2 + i * 2]!;
      const e = i32[w + 3 + i * 2]!;
      if (page >= s && page < s + (e >>> 1)) return e & 1 ? Grant.PRIVATE : Grant.SHARED;
    }
    return Grant.NONE;
  }

  /** Removes `[page, page + pages)` from the write records (split when needed; a part that finds no room is dropped). */
  #ungrant(vw: number, page: number, pages: number): void {
    const i32 = this.#k.i32;
    const w = vw + GRANTS;
    for (let i = 0; i < i32[w]!; ) {
      const at = w + 2 + i * 2;
      const s = i32[at]!;
      const kind = i32[at + 1]! & 1;
      const e = s + (i32[at + 1]! >>> 1);
      if (e <= page || s >= page + pages) {
        i++;
        continue;
      }
      const n = i32[w]!;
      // The part after the freed range goes to a new record (or is lost when there is no room).
      if (e > page + pages && s < page) {
        if (n < MAX_GRANTS) {
          i32[w + 2 + n * 2] = page + pages;
          i32[w + 3 + n * 2] = (e - page - pages) * 2 + kind;
          i32[w] = n + 1;
        }
        i32[at + 1] = (page - s) * 2 + kind;
        i++;
      } else if (s < page) {
        i32[at + 1] = (page - s) * 2 + kind;
        i++;
      } else if (e > page + pages) {
        i32[at] = page + pages;
        i32[at + 1] = (e - page - pages) * 2 + kind;
        i++;
      } else {
        const last = w + 2 + (n - 1) * 2;
        i32[at] = i32[last]!;
        i32[at + 1] = i32[last + 1]!;
        i32[w] = n - 1;
      }
    }
  }

  /** Drops the smallest extent if it is smaller than `pages` (else the new range is the one lost); true when room was made. */
  #dropSmallest(w: number, pages: number): boolean {
    const i32 = this.#k.i32;
    const n = i32[w + COUNT]!;
    let min = 0;
    for (let i = 1; i < n; i++) if (i32[w + PAIRS + i * 2 + 1]! < i32[w + PAIRS + min * 2 + 1]!) min = i;
    if (i32[w + PAIRS + min * 2 + 1]! >= pages) return false;
    const at = w + PAIRS + min * 2;
    i32.copyWithin(at, at + 2, w + PAIRS + n * 2);
    i32[w + COUNT] = n - 1;
    return true;
  }

  /** Calls `each(first, pages)` for every allocated run of `p`'s window, in order. */
  forEachAllocated(p: number, each: (page: number, pages: number) => void): void {
    const k = this.#k;
    const f = k.procs.get(p, P.VM);
    if (f === 0) return;
    const i32 = k.i32;
    const w = this.#words(f);
    let at = i32[H.VM_BASE_PAGE]!;
    const n = i32[w + COUNT]!;
    const runs: number[] = [];
    for (let i = 0; i <= n; i++) {
      const s = i < n ? i32[w + PAIRS + i * 2]! : i32[H.VM_TOP_PAGE]!;
      if (s > at) runs.push(at, s - at);
      if (i < n) at = s + i32[w + PAIRS + i * 2 + 1]!;
    }
    for (let r = 0; r < runs.length; r += 2) each(runs[r]!, runs[r + 1]!);
  }

  /** Frees `p`'s extent frame (its exit, after its memory is gone). */
  destroy(p: number): void {
    const k = this.#k;
    const f = k.procs.get(p, P.VM);
    if (f === 0) return;
    k.procs.set(p, P.VM, 0);
    k.mm.phys.freeFrame(f);
  }

  #words(frame: number): number {
    return this.#k.mm.phys.frameOffset(frame) >> 2;
  }
}
