import { FrameInfo, PagePerm } from '../../contracts/mmu.js';
import { FRAME_SIZE } from '../../memory/physical-memory.js';
import type { KernelContext } from '../context.js';
import { unlinkLists } from '../vm/list-sets.js';
import { B, COW, E_COW, E_LAZY, E_SHIFT, LAZY, Mode, State, descEntry, freeLists, pack, protectRuns } from './transfer-layout.js';

/** Undoes a staged buffer (the send failed, timed out or was cancelled): `p`'s pages as before. Lock held. */
export function cancelTransfer(k: KernelContext, p: number, d: number): void {
  const i32 = k.i32;
  const state = i32[d + B.STATE]!;
  if (i32[d + B.MODE] === Mode.NONE || state === State.NONE || state === State.ADOPTED) return;
  const pages = i32[d + B.PAGES]!;
  const from = i32[d + B.WHOLE_FROM]!;
  const to = i32[d + B.WHOLE_TO]!;
  const mode = i32[d + B.MODE]!;
  if ((state === State.STAGED || state === State.PARKED) && i32[d + B.HANDED] === 1) {
    // A pending range handed over whole: it becomes the sender's pending range again, as it was.
    restorePending(k, p, d);
    return;
  }
  if ((state === State.STAGED || state === State.PARKED) && i32[d + B.LINKED] === 1) {
    // A forwarded Share that linked the sender's lists changed nothing of the sender's: it lets go of them.
    if (unlinkLists(k, d)) for (let i = pages - 1; i >= 0; i--) k.refs.release(descEntry(k, d, i) >>> E_SHIFT);
    freeLists(k, d);
    return;
  }
  if (state === State.STAGED && mode === Mode.MOVE) {
    // Never parked: the sender's pages were never touched; only the edge copies go.
    for (let i = pages - 1; i >= 0; i--) if (i < from || i >= to) k.refs.release(descEntry(k, d, i) >>> E_SHIFT);
  } else if ((state === State.STAGED || state === State.PARKED) && mode !== Mode.COPY) {
    restoreSender(k, p, d, pages, from, to, mode);
    for (let i = pages - 1; i >= 0; i--) if (i < from || i >= to) k.refs.release(descEntry(k, d, i) >>> E_SHIFT);
  } else if (unlinkLists(k, d)) {
    // Carried (or a Copy): the descriptor holds one reference on every frame. Last taken, first
    // freed. (Lists another holder keeps are only forgotten: their references are the set's.)
    for (let i = pages - 1; i >= 0; i--) k.refs.release(descEntry(k, d, i) >>> E_SHIFT);
  }
  freeLists(k, d);
}

/**
 * A staged or parked Move or Share cancelled: the sender's whole pages get back their own perms
 * and markers. Apart from {@link cancelTransfer} because of its closure: the variables a
 * closure captures live in a context made when the function is entered, so in the caller
 * every delivery (which calls the cancel and returns at once) would allocate one.
 */
function restoreSender(k: KernelContext, p: number, d: number, pages: number, from: number, to: number, mode: number): void {
  const i32 = k.i32;
  for (let i = from; i < to; i++) {
    const f = descEntry(k, d, i) >>> E_SHIFT;
    if (mode !== Mode.MOVE) k.refs.release(f);
  }
  // Back to the sender's own perms and markers (a Share page another mapping still holds
  // stays COW); a page the sender unmapped meanwhile is left alone.
  const space = k.spaces.of(p);
  const { frames, info } = k.vm.scratch(pages);
  // Pending pages included (`vm.read`): their list entries are what a Share marked.
  k.vm.read(p, i32[d + B.FIRST]!, pages, frames, info);
  if (mode === Mode.MOVE) k.pending.setBusy(p, i32[d + B.FIRST]! + from, to - from, false);
  protectRuns(k, space, d, from, to, (e, i) => {
    const f = e >>> E_SHIFT;
    // A pending page (no entry): its list entry gets back the sender's own state.
    if (mode === Mode.SHARE && frames[i] === f && (info[i]! & FrameInfo.PRESENT) === 0 && k.pending.entryOf(p, i32[d + B.FIRST]! + i) >= 0) {
      k.pending.rewrite(p, i32[d + B.FIRST]! + i, e);
      return -1;
    }
    if (frames[i] !== f) return -1;
    const perms = (e >> 2) & FrameInfo.PERMS;
    const markers = (e & E_LAZY ? LAZY : 0) | (e & E_COW ? COW : 0);
    if (mode === Mode.SHARE && k.refs.count(f) > 1 && (perms & PagePerm.WRITE) !== 0) return pack(perms & ~PagePerm.WRITE, markers | COW);
    return pack(perms, markers);
  });
}

/**
 * Gives a handed-over list back to `p` as the pending range it was (a cancelled Move). The
 * message's descriptor frame is the range's own (see `Transfers.handedFrame`): the range takes
 * it back, lists and all, and the message's owner does not free it (ADOPTED). Nothing is
 * allocated, so a cancel cannot fail.
 */
function restorePending(k: KernelContext, p: number, d: number): void {
  const i32 = k.i32;
  const frame = ((d << 2) - k.mm.phys.framesOffset) / FRAME_SIZE;
  k.pending.add(p, i32[d + B.FIRST]!, i32[d + B.PAGES]!, frame, true);
  i32[d + B.STATE] = State.ADOPTED;
}
