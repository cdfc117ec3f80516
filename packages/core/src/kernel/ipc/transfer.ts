import { IpcError } from '../../contracts/errors.js';
import { FrameInfo, PagePerm } from '../../contracts/mmu.js';
import { SharedBuffer } from '../../contracts/shared-buffer.js';
import { FRAME_SIZE, pageOffset } from '../../memory/physical-memory.js';
import { frameOps } from '../../mmu/frame-ops.js';
import { tableFramesBound } from '../../mmu/table-bound.js';
import type { KernelContext } from '../context.js';
import { firstPage, pageCount } from '../vm/process-vm.js';
import { P } from '../records/layout.js';

import { B, COW, E_COW, E_LAZY, E_SHIFT, LAZY, MAX_BUFFER_PAGES, Mode, PER_LIST, State, TWO32, freeLists, listWords, pack, protectRuns, receiverPage, wholeFrom, wholeTo } from './transfer-layout.js';
import { cancelTransfer } from './transfer-cancel.js';
import { Forward, forwardShare, linkShare, linkable } from '../vm/pending-forward.js';
import { linksOf, unlinkLists } from '../vm/list-sets.js';

export { B, MAX_BUFFER_PAGES, Mode } from './transfer-layout.js';

/** A Share sender's page (list entry `e`): writable pages become read-only COW. Module-level, so no closure is made per message. */
function sharedSenderPage(e: number): number {
  const perms = (e >> 2) & FrameInfo.PERMS;
  const writable = (perms & PagePerm.WRITE) !== 0 || (e & E_COW) !== 0;
  return pack(writable ? perms & ~PagePerm.WRITE : perms, (e & E_LAZY ? LAZY : 0) | (writable ? COW : 0));
}

/** A parked Move sender's page (list entry `e`): LAZY, so its later access faults while the frame is in transit. */
function parkedSenderPage(e: number): number {
  return pack((e >> 2) & FrameInfo.PERMS, LAZY | (e & E_COW ? COW : 0));
}

/**
 * Page-table frames mapping `pages` consecutive pages may allocate: the MMU's own bound, or
 * the worst case for the arch's address width (tables of 256 entries) when it gives none.
 */
function tableFrames(k: KernelContext, pages: number): number {
  if (typeof k.mmu.tableFramesFor === 'function') return k.mmu.tableFramesFor(pages);
  return tableFramesBound(pages, Math.ceil((k.arch.addressSpace.vaBits - 12) / 8), 256);
}

/**
 * Zero-copy buffers of large messages (`message.buffer`), kernel side, lock held.
 *
 * - **check** (writes nothing): the range is memory the sender mapped, readable, every page
 *   live (not parked by another Move); a Move needs every whole page writable; the frames it
 *   needs (list frames, edge copies, a Copy's pages) are free.
 * - **stage** (at the send): Move parks the whole pages — their entries become LAZY and their
 *   frames are marked in transit, so a later access by the sender faults while the page stays
 *   recorded; Share marks writable pages read-only copy-on-write and takes a reference on each
 *   frame; Copy copies into fresh frames. Partial pages at an unaligned edge are always
 *   copied. All of it is undone exactly by {@link Transfers.cancel}.
 * - **carry** (at delivery, sender alive): a Move's parked entries are removed from the sender
 *   in one range operation; the frames now belong to the descriptor.
 * - **deliver** (the receiver takes the message): a free range of the receiver's window gets
 *   the frames as LAZY entries — present on first access — and the descriptor lets go.
 */
export class Transfers {
  readonly #buffers: (SharedBuffer | undefined)[] = [];
  readonly #k: KernelContext;
  /** Set by `check` for `stage`: the sender's pending range handed over whole (or −1), and whether every page could move on. */
  #handed = -1;
  /** Set by `check` for `stage`: the sender's untouched pending range a Share forwards (or −1), and whether its lists are linked rather than copied. */
  #forward = -1;
  #link = false;
  #movable = true;

  constructor(k: KernelContext) {
    this.#k = k;
  }

  /**
   * Checks a buffer of `p` for `mode` within `limit` bytes; returns the frames staging needs.
   * Leaves the pages' frames and info in the VM scratch for {@link Transfers.stage}.
   */
  check(p: number, va: number, length: number, mode: number, limit: number): number {
    const k = this.#k;
    if (length > limit) throw new IpcError('MessageTooLarge', `a ${length}-byte buffer exceeds the ${limit}-byte transfer limit`);
    const first = firstPage(va);
    const pages = pageCount(va, length);
    if (pages > MAX_BUFFER_PAGES) throw new IpcError('MessageTooLarge', `a buffer of ${pages} pages exceeds ${MAX_BUFFER_PAGES}`);
    if (!k.va.allocated(p, first, pages)) throw new IpcError('AccessFault', `buffer [0x${va.toString(16)}, +${length}) is not memory this process mapped`);
    this.#handed = this.#forward = -1;
    if (pageOffset(va) === 0 && pageOffset(length) === 0) {
      // A Move of an untouched received buffer, whole: its list is handed over as it is.
      if (mode === Mode.MOVE && (this.#handed = k.pending.whole(p, first, pages)) >= 0) return 0;
      // A Share of one: its list is copied in one pass. Its pages are readable (no page of a
      // received buffer loses READ before it is installed) and never region frames (those
      // travel by capability, so no pending list holds one).
      if (mode === Mode.SHARE && (this.#forward = k.pending.untouched(p, first, pages)) >= 0) {
        // Entries already in the receiver's form: the lists are linked, not copied (`vm/list-sets.ts`).
        this.#link = linkable(k, this.#forward);
        return this.#link ? 0 : Math.ceil(pages / PER_LIST);
      }
    }
    const { frames, info } = k.vm.scratch(pages);
    k.vm.read(p, first, pages, frames, info);
    const from = wholeFrom(va);
    const to = wholeTo(va, length, pages);
    this.#movable = true;
    for (let i = 0; i < pages; i++) {
      const f = info[i]!;
      if ((f & FrameInfo.MAPPED) === 0 || (f & PagePerm.READ) === 0 || (f & PagePerm.USER) === 0) throw new IpcError('AccessFault', `page 0x${((first + i) * FRAME_SIZE).toString(16)} of the buffer is not readable memory`);
      if (mode !== Mode.COPY && i >= from && i < to && k.refs.isRegion(frames[i]!)) throw new IpcError('PermissionDenied', 'shared-region memory travels by its capability (or by Copy), not by Move or Share');
      if (mode === Mode.MOVE && i >= from && i < to && (f & PagePerm.WRITE) === 0 && ((f >> FrameInfo.MARKER_SHIFT) & COW) === 0) {
        throw new IpcError('PermissionDenied', `page 0x${((first + i) * FRAME_SIZE).toString(16)} is read-only: a Move needs writable memory`);
      }
      if ((f & PagePerm.WRITE) === 0 && ((f >> FrameInfo.MARKER_SHIFT) & COW) === 0) this.#movable = false;
    }
    const edges = pages - (to - from);
    // A Move or Share changes pending entries: ranges sharing their lists take private copies first.
    const own = mode === Mode.COPY ? 0 : k.pending.ownFrames(p, first, pages);
    return Math.ceil(pages / PER_LIST) + (mode === Mode.COPY ? pages : edges) + own;
  }

  /**
   * The descriptor frame of the sender's pending range that the Move checked just before hands
   * over whole, or 0: staging takes it as the message's descriptor (see {@link Transfers.stage}).
   */
  handedFrame(): number {
    return this.#handed >= 0 ? this.#k.pending.descOf(this.#handed) : 0;
  }

  /**
   * Stages the buffer checked just before into descriptor `d` (Int32 index); a handed-over
   * Move's `d` must be the frame {@link Transfers.handedFrame} named. Cannot fail.
   */
  stage(p: number, d: number, va: number, length: number, mode: number): void {
    const k = this.#k;
    const i32 = k.i32;
    const phys = k.mm.phys;
    const first = firstPage(va);
    const pages = pageCount(va, length);
    // A kernel bug, caught before any write: the lists of a handed range live in its own frame.
    if (this.#handed >= 0 && phys.frameOffset(k.pending.descOf(this.#handed)) >> 2 !== d) throw new IpcError('InvalidState', 'a handed-over Move must be staged into its range\'s descriptor frame');
    // Where the buffer lies, the same in every form (a handed-over range is whole pages: 0 … pages).
    const from = wholeFrom(va);
    const to = wholeTo(va, length, pages);
    i32[d + B.MODE] = mode;
    i32[d + B.FIRST] = first;
    i32[d + B.PAGES] = pages;
    i32[d + B.VA_LO] = va >>> 0; // the low word (exact below 2^53; no fmod)
    i32[d + B.VA_HI] = Math.floor(va / TWO32);
    i32[d + B.LENGTH] = length;
    i32[d + B.WHOLE_FROM] = from;
    i32[d + B.WHOLE_TO] = to;
    if (this.#handed >= 0) {
      // The pending range's descriptor frame is this one ({@link Transfers.handedFrame}): its
      // lists (entries already in their own-state form) stay where they are.
      k.pending.adopt(p, this.#handed);
      this.#handed = -1;
      i32[d + B.FORM] = 0;
      i32[d + B.HANDED] = 1;
      i32[d + B.MOVABLE] = 1;
      i32[d + B.STATE] = State.STAGED;
      return;
    }
    i32[d + B.HANDED] = 0;
    if (this.#forward >= 0 && this.#link) {
      // An untouched received buffer whose entries are already read-only copy-on-write: this
      // descriptor shares its lists; no entry, reference or page table changes.
      i32[d + B.MOVABLE] = linkShare(k, this.#forward, d) ? 1 : 0;
      i32[d + B.LINKED] = 1;
      i32[d + B.FORM] = 1;
      this.#forward = -1;
      this.#link = false;
      i32[d + B.STATE] = State.STAGED;
      return;
    }
    if (this.#forward < 0 && mode !== Mode.COPY) k.pending.own(p, first, pages); // checked: `check` counted the frames
    const lists = Math.ceil(pages / PER_LIST);
    for (let l = 0; l < lists; l++) {
      const f = phys.allocFrame(undefined, false); // every entry read is written below
      k.refs.setLinks(f, 0);
      i32[d + B.LIST0 + l] = f;
    }
    i32[d + B.LISTS] = lists;
    i32[d + B.MOVABLE] = mode === Mode.SHARE ? (this.#movable ? 1 : 0) : 1;
    if (this.#forward >= 0) {
      // An untouched received buffer shared on: its entries, references and COW marks in one pass (no page table holds them).
      const f = forwardShare(k, this.#forward, d);
      i32[d + B.MOVABLE] = f & Forward.MOVABLE ? 1 : 0;
      i32[d + B.FORM] = f & Forward.CHANGED ? 0 : 1;
      this.#forward = -1;
      i32[d + B.STATE] = State.STAGED;
      return;
    }
    const { frames, info } = k.vm.scratch(pages);
    const end = va + length;
    let list = 0;
    for (let i = 0; i < pages; i++) {
      // Word of entry i is `list + i`: one lookup per list frame, not per page.
      if ((i & (PER_LIST - 1)) === 0) list = listWords(i32, phys, d, i);
      const f = info[i]!;
      const own = ((f & FrameInfo.PERMS) << 2) | ((f >> FrameInfo.MARKER_SHIFT) & LAZY ? E_LAZY : 0) | ((f >> FrameInfo.MARKER_SHIFT) & COW ? E_COW : 0);
      if (mode === Mode.COPY || i < from || i >= to) {
        // A fresh frame with only the buffer's bytes of this page.
        const fresh = phys.allocFrame();
        const ps = (first + i) * FRAME_SIZE;
        const lo = Math.max(va, ps) - ps;
        const hi = Math.min(end, ps + FRAME_SIZE) - ps;
        phys.bytes.copyWithin(phys.frameOffset(fresh) + lo, phys.frameOffset(frames[i]!) + lo, phys.frameOffset(frames[i]!) + hi);
        k.refs.own(fresh);
        i32[list + i] = fresh * 64 + ((PagePerm.READ | PagePerm.WRITE | PagePerm.USER) << 2);
        continue;
      }
      i32[list + i] = frames[i]! * 64 + own;
      if (mode === Mode.SHARE) k.refs.retain(frames[i]!);
    }
    // Share: writable pages become read-only COW. A Move's pages stay live until the send is
    // delivered in this same kernel entry or parked (`park`) when it is queued.
    if (mode === Mode.SHARE) {
      protectRuns(k, k.spaces.of(p), d, from, to, sharedSenderPage);
      // Pending pages have no entry to protect: their list entries become read-only COW instead.
      k.pending.markShared(p, first + from, to - from);
    }
    i32[d + B.STATE] = State.STAGED;
  }

  /**
   * The send of descriptor `d` was queued (same kernel entry as the stage): a Move's whole
   * pages are parked — LAZY entries, frames in transit — so the sender's later access faults
   * while the pages stay recorded for {@link Transfers.carry} or a cancel. Lock held.
   */
  park(p: number, d: number): void {
    const k = this.#k;
    const i32 = k.i32;
    if (i32[d + B.STATE] !== State.STAGED || i32[d + B.MODE] !== Mode.MOVE) return;
    const from = i32[d + B.WHOLE_FROM]!;
    const to = i32[d + B.WHOLE_TO]!;
    if (i32[d + B.HANDED] === 0) {
      protectRuns(k, k.spaces.of(p), d, from, to, parkedSenderPage);
      k.pending.setBusy(p, i32[d + B.FIRST]! + from, to - from, true);
    }
    i32[d + B.STATE] = State.PARKED;
  }

  /**
   * Delivery from a live sender: a Move's whole pages leave the sender's space in one range
   * operation and their addresses go back to its free ranges (the edges it keeps). Lock held.
   */
  carry(src: number, d: number): void {
    const k = this.#k;
    const i32 = k.i32;
    const state = i32[d + B.STATE]!;
    if (state !== State.STAGED && state !== State.PARKED) return;
    if (i32[d + B.MODE] === Mode.MOVE) {
      const from = i32[d + B.WHOLE_FROM]!;
      const to = i32[d + B.WHOLE_TO]!;
      if (to > from) {
        const first = i32[d + B.FIRST]! + from;
        if (i32[d + B.HANDED] === 0) {
          const { frames } = k.vm.scratch(to - from);
          frameOps.unmapFrames(k.spaces.of(src), first * FRAME_SIZE, to - from, frames);
          k.pending.consume(src, first, to - from);
        }
        k.va.free(src, first, to - from);
      }
    }
    i32[d + B.STATE] = State.CARRIED;
  }

  /**
   * Checks that `dst` can take the buffer of descriptor `d` (writes nothing): a free range of
   * its window, the frame of its address map if it has none, and room for a pending range —
   * or, when it already holds as many as it can, frames for mapping the pages at once.
   * `OutOfMemory` otherwise: the message stays where it is (queued, or the send refused).
   */
  checkReceiver(d: number, dst: number): void {
    const k = this.#k;
    const i32 = k.i32;
    if (i32[d + B.MODE] === Mode.NONE) return;
    const pages = i32[d + B.PAGES]!;
    const vmFrame = k.procs.get(dst, P.VM) === 0 ? 1 : 0;
    if (vmFrame > k.mm.phys.freeFrames) throw new IpcError('OutOfMemory', "no frame for the receiver's address map");
    if (k.va.find(dst, pages) < 0) throw new IpcError('OutOfMemory', `no free virtual range of ${pages} pages in the receiver`);
    if (!k.pending.hasRoom(dst) && k.mm.phys.freeFrames < vmFrame + tableFrames(k, pages)) throw new IpcError('OutOfMemory', 'no frames for the page tables the receiver needs');
  }

  /**
   * Maps the carried buffer of descriptor `d` into `dst`'s memory (LAZY entries) and frees
   * the list frames; returns the buffer in `dst`'s space. `OutOfMemory` (nothing changed,
   * the message still held) when `dst` has no room. Lock held.
   */
  deliver(dst: number, d: number, descFrame = 0): SharedBuffer | null {
    const k = this.#k;
    const i32 = k.i32;
    if (i32[d + B.MODE] === Mode.NONE) return null;
    if (i32[d + B.STATE] !== State.CARRIED) throw new IpcError('InvalidState', 'the buffer was not carried');
    const pages = i32[d + B.PAGES]!;
    if (!k.va.canEnsure(dst)) throw new IpcError('OutOfMemory', 'no frame for the address map');
    const first = k.va.find(dst, pages);
    if (first < 0) throw new IpcError('OutOfMemory', `no free virtual range of ${pages} pages in the receiver`);
    k.va.ensure(dst);
    const mode = i32[d + B.MODE]!;
    const from = i32[d + B.WHOLE_FROM]!;
    const to = i32[d + B.WHOLE_TO]!;
    const va = i32[d + B.VA_HI]! * TWO32 + (i32[d + B.VA_LO]! >>> 0);
    if (descFrame !== 0 && k.pending.add(dst, first, pages, descFrame, i32[d + B.MOVABLE] === 1, mode === Mode.SHARE)) {
      // No entry is written: the range records the list, the fault path installs a page when touched.
      if (mode === Mode.SHARE && i32[d + B.FORM] !== 1) {
        // The entries take the receiver's own state (`receiverPage` of a Share, inlined): read-only, COW where the sender could write.
        for (let i = from, list = 0; i < to; i++) {
          if (i === from || (i & (PER_LIST - 1)) === 0) list = listWords(i32, k.mm.phys, d, i);
          const e = i32[list + i]!;
          const perms = (e >> 2) & FrameInfo.PERMS;
          i32[list + i] = (perms & PagePerm.WRITE) !== 0 || (e & E_COW) !== 0 ? (e & ~63) | ((perms & ~PagePerm.WRITE) << 2) | E_COW : (e & ~63) | (perms << 2);
        }
      }
      k.va.take(dst, first, pages);
      i32[d + B.STATE] = State.ADOPTED;
      return this.#buffer(dst, first * FRAME_SIZE + pageOffset(va), i32[d + B.LENGTH]!);
    }
    const space = k.spaces.of(dst);
    const { frames, info } = k.vm.scratch(pages);
    // One pass over the list: each page's frame and the receiver's perms and markers for it.
    const phys = k.mm.phys;
    for (let l = 0, n = i32[d + B.LISTS]!; l < n; l++) {
      const w = phys.frameOffset(i32[d + B.LIST0 + l]!) >> 2;
      for (let i = l * PER_LIST, end = Math.min(pages, i + PER_LIST); i < end; i++) {
        const e = i32[w + (i & (PER_LIST - 1))]!;
        frames[i] = e >>> E_SHIFT;
        info[i] = receiverPage(e, mode, i >= from && i < to);
      }
    }
    let run = 0;
    try {
      while (run < pages) {
        const want = info[run]!;
        let end = run + 1;
        while (end < pages && info[end] === want) end++;
        frameOps.mapFrames(space, (first + run) * FRAME_SIZE, frames, run, end - run, want & 0xff, want >> 8);
        run = end;
      }
    } catch (e) {
      if (run > 0) frameOps.unmapFrames(space, first * FRAME_SIZE, run, frames);
      throw e;
    }
    k.va.take(dst, first, pages);
    // Lists another holder keeps hold the references: each mapping takes its own.
    if (linksOf(k, d) > 0) {
      for (let i = 0; i < pages; i++) k.refs.retain(frames[i]!);
      unlinkLists(k, d);
    }
    freeLists(k, d);
    return this.#buffer(dst, first * FRAME_SIZE + pageOffset(va), i32[d + B.LENGTH]!);
  }

  /** Undoes a staged buffer (the send failed, timed out or was cancelled): `p`'s pages as before. Lock held. */
  cancel(p: number, d: number): void {
    cancelTransfer(this.#k, p, d);
  }

  /** Initialises the buffer words of a descriptor frame taken without zeroing (no buffer). */
  clear(d: number): void {
    const i32 = this.#k.i32;
    // Word stores: a `fill` call costs more than the dozen words it clears.
    for (let w = d + B.LINKED, end = d + B.LIST0; w < end; w++) i32[w] = 0;
  }

  /**
   * True when a Move of `p` that waits in a queue parks some page of `[first, first + pages)`:
   * those pages of `p` fault and refuse unmap (other mappings of the same frames do not).
   */
  parkedIn(p: number, first: number, pages: number): boolean {
    const k = this.#k;
    const f = k.procs.get(p, P.LARGE_OUT);
    if (f === 0) return false;
    const d = k.mm.phys.frameOffset(f) >> 2;
    const i32 = k.i32;
    if (i32[d + B.STATE] !== State.PARKED || i32[d + B.MODE] !== Mode.MOVE) return false;
    const lo = i32[d + B.FIRST]! + i32[d + B.WHOLE_FROM]!;
    const hi = i32[d + B.FIRST]! + i32[d + B.WHOLE_TO]!;
    return first < hi && first + pages > lo;
  }

  /** True when the receiver's pending range owns descriptor `d`'s frame (its owner must not free it). */
  adopted(d: number): boolean {
    return this.#k.i32[d + B.STATE] === State.ADOPTED;
  }

  /**
   * The buffer `(va, length)` of process `dst`: one of the two delivered last when it names the
   * same range (a SharedBuffer is a frozen value), so a ping-pong of one buffer allocates nothing.
   */
  #buffer(dst: number, va: number, length: number): SharedBuffer {
    // Two per process: a ping-pong of Shares alternates between two ranges.
    const at = dst * 2;
    const a = this.#buffers[at];
    if (a !== undefined && a.va === va && a.length === length) return a;
    const b = this.#buffers[at + 1];
    if (b !== undefined && b.va === va && b.length === length) return b;
    const n = new SharedBuffer(va, length);
    this.#buffers[at + 1] = a;
    this.#buffers[at] = n;
    return n;
  }
}
