import { FrameInfo, PageMarker, PagePerm } from '../../contracts/mmu.js';
import { FRAME_SIZE } from '../../memory/physical-memory.js';
import { frameOps } from '../../mmu/frame-ops.js';
import type { KernelContext } from '../context.js';
import { P } from '../records/layout.js';
// The list entries are the descriptor's (`ipc/transfer-layout.ts`): `frame × 64 | perms << 2 | LAZY << 1 | COW`.
import { B, E_COW, E_SHIFT, PER_LIST, entryWord, listWords } from '../ipc/transfer-layout.js';
import { IpcError } from '../../contracts/errors.js';
import { linksOf, privateFrames, privatizeLists, unlinkLists } from './list-sets.js';


/** What {@link PendingRanges} `#each` does to each pending entry. */
const Each = { OVERLAY: 0, CONSUME: 1, RELEASE: 2, SHARE: 3, REWRITE: 4, INSTALL_READ: 5, INSTALL_WRITE: 6 } as const;
const NO_WORDS = new Int32Array(0);


import { COUNT, PENDING_BASE, REC, MAX_PENDING, R_BUSY, R_DESC, R_FIRST, R_FORM, R_LEFT, R_MOVABLE, R_PAGES } from './pending-record.js';

export { PENDING_BASE, MAX_PENDING } from './pending-record.js';


/**
 * Pending ranges: received buffer pages that are mapped in the kernel's sense but have no page
 * table entry yet — the receiver's range records the descriptor's frame list, and the fault
 * path installs a page on its first access. So delivering a buffer writes no entry at all, and
 * a buffer moved on untouched hands its list over whole. Every operation on process memory
 * sees a pending page as a mapped, not-present page (`overlay`). Lock held.
 */
export class PendingRanges {
  readonly #k: KernelContext;
  readonly #one = new Int32Array(1);

  constructor(k: KernelContext) {
    this.#k = k;
  }

  #vm(p: number): number {
    const f = this.#k.procs.get(p, P.VM);
    return f === 0 ? -1 : this.#k.mm.phys.frameOffset(f) >> 2;
  }

  /** Int32 index of the list entry of page `i` of a range with descriptor frame `desc`. */
  #entryWord(desc: number, i: number): number {
    const k = this.#k;
    return entryWord(k.i32, k.mm.phys, k.mm.phys.frameOffset(desc) >> 2, i);
  }

  /**
   * Records `[first, first + pages)` of `p` as pending on descriptor frame `desc`; false when
   * `p` has no room (the caller maps eagerly instead). `form`: the entries are in a Share
   * receiver's form (see `R_FORM`).
   */
  add(p: number, first: number, pages: number, desc: number, movable: boolean, form = false): boolean {
    const w = this.#vm(p);
    if (w < 0) return false;
    const i32 = this.#k.i32;
    const n = i32[w + COUNT]!;
    if (n >= MAX_PENDING) return false;
    const r = w + PENDING_BASE + n * REC;
    i32[r + R_FIRST] = first;
    i32[r + R_PAGES] = pages;
    i32[r + R_DESC] = desc;
    i32[r + R_LEFT] = pages;
    i32[r + R_MOVABLE] = movable ? 1 : 0;
    i32[r + R_BUSY] = 0;
    i32[r + R_FORM] = form ? 1 : 0;
    i32[w + COUNT] = n + 1;
    return true;
  }

  /** True when `p` can record one more pending range (a process without an address map yet can). */
  hasRoom(p: number): boolean {
    const w = this.#vm(p);
    return w < 0 || this.#k.i32[w + COUNT]! < MAX_PENDING;
  }

  /** Int32 index of the pending entry of `page` in `p` (non-zero entry), or −1. */
  entryOf(p: number, page: number): number {
    const w = this.#vm(p);
    if (w < 0) return -1;
    const i32 = this.#k.i32;
    for (let n = i32[w + COUNT]!, r = w + PENDING_BASE; n > 0; n--, r += REC) {
      const at = page - i32[r + R_FIRST]!;
      if (at < 0 || at >= i32[r + R_PAGES]!) continue;
      const e = this.#entryWord(i32[r + R_DESC]!, at);
      return i32[e] !== 0 ? e : -1;
    }
    return -1;
  }

  /** Writes frame and `FrameInfo` of each pending page of `[first, first + pages)` into `frames` / `info` (the other pages untouched). */
  overlay(p: number, first: number, pages: number, frames: Int32Array, info: Int32Array): void {
    this.#each(p, first, pages, Each.OVERLAY, frames, info);
  }

  /** The pages of `[first, first + pages)` stop being pending without losing their reference (installed, or carried by a Move). */
  consume(p: number, first: number, pages: number): void {
    this.#each(p, first, pages, Each.CONSUME);
  }

  /** The pending pages of `[first, first + pages)` are unmapped: each drops its frame reference. */
  release(p: number, first: number, pages: number): void {
    this.#each(p, first, pages, Each.RELEASE);
  }

  /** The pending pages of `[first, first + pages)` are shared: a writable one becomes read-only copy-on-write (one pass). */
  markShared(p: number, first: number, pages: number): void {
    this.#each(p, first, pages, Each.SHARE);
  }

  /** Replaces the pending entry of `page` (a Share marking it copy-on-write, or undoing that). */
  rewrite(p: number, page: number, entry: number): void {
    this.#each(p, page, 1, Each.REWRITE, NO_WORDS, NO_WORDS, entry);
  }

  /**
   * Installs the pending page at `va` in `space` (present, with its perms and COW marker) and
   * stops it pending (with `commit` false: only reports it). Undefined when nothing is pending
   * there or its frame is in transit.
   */
  install(p: number, space: Parameters<typeof frameOps.mapFrames>[0], va: number, commit = true): { perms: number; markers: number; frame: number; lists: number } | undefined {
    const k = this.#k;
    const page = Math.floor(va / FRAME_SIZE);
    const w = this.entryOf(p, page);
    if (w < 0) return undefined;
    const e = k.i32[w]!;
    const frame = e >>> E_SHIFT;
    if (k.transfers.parkedIn(p, page, 1)) return undefined;
    const perms = (e >> 2) & FrameInfo.PERMS;
    const markers = e & E_COW ? PageMarker.COPY_ON_WRITE : 0;
    const lists = this.ownFrames(p, page, 1);
    if (!commit) return { perms, markers, frame, lists };
    this.own(p, page, 1);
    this.#one[0] = frame;
    frameOps.mapFrames(space, page * FRAME_SIZE, this.#one, 0, 1, perms, markers);
    this.consume(p, page, 1);
    return { perms, markers, frame, lists };
  }

  /**
   * Installs, in runs, every pending page of `[first, first + pages)` that an access (`write`
   * or read) would be allowed — what the fault path would do page by page on this access,
   * done in one `mapFrames` per run instead of one fault each. Pages the access would refuse,
   * pages a parked Move holds and copy-on-write pages a write would copy stay pending (the
   * access then faults on them, and the fault path deals with them one by one).
   */
  installRange(p: number, space: Parameters<typeof frameOps.mapFrames>[0], first: number, pages: number, write: boolean): void {
    const k = this.#k;
    const { frames, info } = k.vm.scratch(pages);
    const any = this.#each(p, first, pages, write ? Each.INSTALL_WRITE : Each.INSTALL_READ, frames, info) !== 0;
    if (!any || k.transfers.parkedIn(p, first, pages)) return;
    this.own(p, first, pages);
    for (let i = 0; i < pages; ) {
      if (frames[i]! < 0 || k.pending.entryOf(p, first + i) < 0) {
        i++;
        continue;
      }
      const want = info[i]!;
      let end = i + 1;
      while (end < pages && frames[end]! >= 0 && info[end] === want && k.pending.entryOf(p, first + end) >= 0) end++;
      frameOps.mapFrames(space, (first + i) * FRAME_SIZE, frames, i, end - i, want & 0xff, want >> 8);
      this.consume(p, first + i, end - i);
      i = end;
    }
  }

  /** Frames {@link PendingRanges.own} takes for `[first, first + pages)` of `p` (0 when no list there is shared). */
  ownFrames(p: number, first: number, pages: number): number {
    const w = this.#vm(p);
    if (w < 0) return 0;
    const k = this.#k;
    const i32 = k.i32;
    let need = 0;
    for (let n = i32[w + COUNT]!, r = w + PENDING_BASE; n > 0; n--, r += REC) {
      if (i32[r + R_FIRST]! < first + pages && i32[r + R_FIRST]! + i32[r + R_PAGES]! > first) need += privateFrames(k, k.mm.phys.frameOffset(i32[r + R_DESC]!) >> 2);
    }
    return need;
  }

  /**
   * Every range of `p` overlapping `[first, first + pages)` holds its lists alone afterwards
   * (`vm/list-sets.ts`): what must run before an entry there changes. `OutOfMemory`, nothing
   * changed, when the private copies' frames are not free.
   */
  own(p: number, first: number, pages: number): void {
    const need = this.ownFrames(p, first, pages);
    if (need === 0) return;
    const k = this.#k;
    if (k.mm.phys.freeFrames < need) throw new IpcError('OutOfMemory', `private copies of shared page lists need ${need} frames, ${k.mm.phys.freeFrames} free`);
    const w = this.#vm(p);
    const i32 = k.i32;
    for (let n = i32[w + COUNT]!, r = w + PENDING_BASE; n > 0; n--, r += REC) {
      if (i32[r + R_FIRST]! < first + pages && i32[r + R_FIRST]! + i32[r + R_PAGES]! > first) privatizeLists(k, k.mm.phys.frameOffset(i32[r + R_DESC]!) >> 2, i32[r + R_PAGES]!);
    }
  }

  /**
   * The record exactly covering `[first, first + pages)` with every page still pending, not
   * parked, every page movable: the fast path of a Move of an untouched buffer. −1 otherwise.
   */
  whole(p: number, first: number, pages: number): number {
    const w = this.#vm(p);
    if (w < 0) return -1;
    const i32 = this.#k.i32;
    for (let n = i32[w + COUNT]!, r = w + PENDING_BASE; n > 0; n--, r += REC) {
      if (i32[r + R_FIRST] === first && i32[r + R_PAGES] === pages && i32[r + R_LEFT] === pages && i32[r + R_MOVABLE] === 1 && i32[r + R_BUSY] === 0) return r;
    }
    return -1;
  }

  /**
   * The record exactly covering `[first, first + pages)` with every page still pending and not
   * parked — a received buffer untouched since — or −1. Such a range has no page-table entry.
   */
  untouched(p: number, first: number, pages: number): number {
    const w = this.#vm(p);
    if (w < 0) return -1;
    const i32 = this.#k.i32;
    for (let n = i32[w + COUNT]!, r = w + PENDING_BASE; n > 0; n--, r += REC) {
      if (i32[r + R_FIRST] === first && i32[r + R_PAGES] === pages && i32[r + R_LEFT] === pages && i32[r + R_BUSY] === 0) return r;
    }
    return -1;
  }

  /** Unmaps untouched range `r` of `p` whole: every frame drops its reference; record, descriptor and lists are freed. */
  dropUntouched(p: number, r: number): void {
    const k = this.#k;
    const i32 = k.i32;
    const phys = k.mm.phys;
    const refs = k.refs;
    const pages = i32[r + R_PAGES]!;
    const d = phys.frameOffset(i32[r + R_DESC]!) >> 2;
    if (!unlinkLists(k, d)) {
      // Another holder keeps the lists (and their references): only the record and descriptor go.
      this.#remove(p, r, true);
      return;
    }
    for (let l = 0, done = 0; done < pages; l++, done += PER_LIST) {
      const list = phys.frameOffset(i32[d + B.LIST0 + l]!) >> 2;
      for (let j = 0, n = Math.min(PER_LIST, pages - done); j < n; j++) {
        const e = i32[list + j]!;
        if (e !== 0) refs.release(e >>> E_SHIFT);
      }
    }
    this.#remove(p, r, true);
  }

  /** The descriptor frame of record `r` (it holds the range's lists). */
  descOf(r: number): number {
    return this.#k.i32[r + R_DESC]!;
  }

  /** Removes record `r` (from {@link PendingRanges.whole}) and returns its descriptor frame, lists and all, to the caller. */
  adopt(p: number, r: number): number {
    const desc = this.#k.i32[r + R_DESC]!;
    this.#remove(p, r);
    return desc;
  }

  /** Marks the pending pages of `p` overlapping `[first, first + pages)` as parked by a Move (or not). */
  setBusy(p: number, first: number, pages: number, busy: boolean): void {
    const w = this.#vm(p);
    if (w < 0) return;
    const i32 = this.#k.i32;
    for (let n = i32[w + COUNT]!, r = w + PENDING_BASE; n > 0; n--, r += REC) {
      if (i32[r + R_FIRST]! < first + pages && i32[r + R_FIRST]! + i32[r + R_PAGES]! > first) i32[r + R_BUSY] = busy ? 1 : 0;
    }
  }

  /** Drops every pending page of `p` (its exit): references released, records and descriptors freed. */
  teardown(p: number): void {
    const w = this.#vm(p);
    if (w < 0) return;
    const i32 = this.#k.i32;
    while (i32[w + COUNT]! > 0) {
      const r = w + PENDING_BASE + (i32[w + COUNT]! - 1) * REC;
      // A range sharing its lists lets go of them (no private copy at exit).
      if (linksOf(this.#k, this.#k.mm.phys.frameOffset(i32[r + R_DESC]!) >> 2) > 0) this.dropUntouched(p, r);
      else this.release(p, i32[r + R_FIRST]!, i32[r + R_PAGES]!);
    }
  }

  /**
   * Applies operation `op` to each pending entry overlapping `[first, first + pages)`, storing
   * the entry it yields (0: no longer pending); frees a record left empty. One switch instead
   * of a callback, so the per-page step stays inlined. `a`/`b`: the frames and info out-arrays
   * (indexed from `first`) of OVERLAY and INSTALL_*; `entry`: the value REWRITE stores. Returns
   * for INSTALL_* whether a page can be installed (1) or not (0).
   */
  #each(p: number, first: number, pages: number, op: number, a: Int32Array = NO_WORDS, b: Int32Array = NO_WORDS, entry = 0): number {
    const w = this.#vm(p);
    if (w < 0) return 0;
    // An entry of a shared list is never written: the range takes a private copy first.
    if (op === Each.CONSUME || op === Each.RELEASE || op === Each.SHARE || op === Each.REWRITE) this.own(p, first, pages);
    const k = this.#k;
    const i32 = k.i32;
    const phys = k.mm.phys;
    let any = 0;
    for (let n = 0; n < i32[w + COUNT]!; ) {
      const r = w + PENDING_BASE + n * REC;
      const rf = i32[r + R_FIRST]!;
      const lo = Math.max(first, rf);
      const hi = Math.min(first + pages, rf + i32[r + R_PAGES]!);
      let left = i32[r + R_LEFT]!;
      const d = phys.frameOffset(i32[r + R_DESC]!) >> 2;
      // One list frame at a time: its word index is found once, not once per page.
      for (let pg = lo; pg < hi; ) {
        const list = listWords(i32, phys, d, pg - rf) - rf;
        // To the end of this list frame (entries rf + l·PER_LIST …), or of the range.
        for (const end = Math.min(hi, pg - ((pg - rf) % PER_LIST) + PER_LIST); pg < end; pg++) {
          const ew = list + pg;
          const e = i32[ew]!;
          if (e === 0) continue;
          const i = pg - first;
          const perms = (e >> 2) & FrameInfo.PERMS;
          let v = e;
          switch (op) {
            case Each.OVERLAY:
              a[i] = e >>> E_SHIFT;
              b[i] = perms | ((PageMarker.LAZY | (e & E_COW ? PageMarker.COPY_ON_WRITE : 0)) << FrameInfo.MARKER_SHIFT) | FrameInfo.MAPPED;
              break;
            case Each.CONSUME:
              v = 0;
              break;
            case Each.RELEASE:
              k.refs.release(e >>> E_SHIFT);
              v = 0;
              break;
            case Each.SHARE:
              if ((perms & PagePerm.WRITE) !== 0 || (e & E_COW) !== 0) v = (e >>> E_SHIFT) * 64 + ((perms & ~PagePerm.WRITE) << 2) + E_COW;
              break;
            case Each.REWRITE:
              v = entry;
              i32[r + R_FORM] = 0;
              break;
            default: {
              // INSTALL_*: a write to a COW page is left to the fault path (it checks for the copy's frame first).
              const ok = op === Each.INSTALL_WRITE ? (perms & PagePerm.WRITE) !== 0 && (e & E_COW) === 0 : (perms & PagePerm.READ) !== 0;
              a[i] = ok ? e >>> E_SHIFT : -1;
              b[i] = perms | ((e & E_COW ? PageMarker.COPY_ON_WRITE : 0) << 8);
              if (ok) any = 1;
            }
          }
          i32[ew] = v;
          if (v === 0) left--;
        }
      }
      i32[r + R_LEFT] = left;
      if (left === 0) this.#remove(p, r, true);
      else n++;
    }
    return any;
  }

  /** Deletes record `r` (the last one moves into its place); `free`: its descriptor and list frames too. */
  #remove(p: number, r: number, free = false): void {
    const k = this.#k;
    const i32 = k.i32;
    const w = this.#vm(p);
    const desc = i32[r + R_DESC]!;
    const n = i32[w + COUNT]! - 1;
    const last = w + PENDING_BASE + n * REC;
    // Word stores: REC words are fewer than a `copyWithin` and a `fill` call cost.
    for (let i = 0; i < REC; i++) {
      if (r !== last) i32[r + i] = i32[last + i]!;
      i32[last + i] = 0;
    }
    i32[w + COUNT] = n;
    if (!free) return;
    const d = k.mm.phys.frameOffset(desc) >> 2;
    for (let l = i32[d + B.LISTS]! - 1; l >= 0; l--) k.mm.phys.freeFrame(i32[d + B.LIST0 + l]!);
    k.mm.phys.freeFrame(desc);
  }
}

