import { IpcError } from '../../contracts/errors.js';
import type { KernelContext } from '../context.js';
import { B, E_SHIFT, PER_LIST } from '../ipc/transfer-layout.js';

/**
 * Page lists shared between descriptors, so that passing on a received buffer by Share costs
 * the same for 1 page and 100 000.
 *
 * A Share of a received buffer nobody touched, whose entries are already read-only
 * copy-on-write (a buffer received by Share, or shared on once), changes no entry: the new
 * descriptor takes the range's list frames as they are ({@link linkLists}) instead of copying
 * them. One set of lists then has several holders — the sender's pending range, the message,
 * the receiver's pending range — and holds one reference per frame for all of them, plus a
 * count of the extra holders in the FrameRefs word of its first list frame.
 *
 * Entries of a shared set are never written. A holder that must change its own (install a
 * page, unmap part of the range, Move or Share part of it, take a page from the queue of a
 * cancelled send) first takes a private copy ({@link privatizeLists}: new list frames, each
 * frame one more reference); its caller checks the frames for that before its first write
 * ({@link privateFrames}). A holder that lets go ({@link unlinkLists}) just forgets the lists
 * while others keep them; the last one releases the entries and frees the frames as a lone
 * holder always did. Lock held.
 */

/** Holders of descriptor `d`'s lists besides one (0: `d` holds them alone, or has none). */
export function linksOf(k: KernelContext, d: number): number {
  const i32 = k.i32;
  return i32[d + B.LISTS] === 0 ? 0 : k.refs.links(i32[d + B.LIST0]!);
}

/** Descriptor `to` (no lists of its own) shares `from`'s lists. */
export function linkLists(k: KernelContext, from: number, to: number): void {
  const i32 = k.i32;
  const n = i32[from + B.LISTS]!;
  for (let l = 0; l < n; l++) i32[to + B.LIST0 + l] = i32[from + B.LIST0 + l]!;
  i32[to + B.LISTS] = n;
  k.refs.setLinks(i32[from + B.LIST0]!, k.refs.links(i32[from + B.LIST0]!) + 1);
}

/**
 * `d` lets go of its lists. True when it held them alone: the caller releases the entries'
 * references and frees the list frames, as before. False when another holder keeps them:
 * `d` has no lists any more and nothing else is to be done.
 */
export function unlinkLists(k: KernelContext, d: number): boolean {
  const n = linksOf(k, d);
  if (n === 0) return true;
  k.refs.setLinks(k.i32[d + B.LIST0]!, n - 1);
  k.i32[d + B.LISTS] = 0;
  return false;
}

/** Frames {@link privatizeLists} takes for `d` (0 when it holds its lists alone). */
export function privateFrames(k: KernelContext, d: number): number {
  return linksOf(k, d) === 0 ? 0 : k.i32[d + B.LISTS]!;
}

/**
 * Gives `d` a private copy of the first `pages` entries of its shared lists: fresh list frames,
 * each entry's frame one more reference, the shared set one holder fewer. Nothing to do when
 * `d` holds its lists alone. `OutOfMemory` (nothing changed) when the frames are not free; the
 * callers check {@link privateFrames} first, so this does not fail half-way through their work.
 */
export function privatizeLists(k: KernelContext, d: number, pages: number): void {
  const links = linksOf(k, d);
  if (links === 0) return;
  const i32 = k.i32;
  const phys = k.mm.phys;
  const n = i32[d + B.LISTS]!;
  if (phys.freeFrames < n) throw new IpcError('OutOfMemory', `a private copy of a shared page list needs ${n} frames, ${phys.freeFrames} free`);
  const old0 = i32[d + B.LIST0]!;
  for (let l = 0, done = 0; l < n; l++, done += PER_LIST) {
    const fresh = phys.allocFrame(undefined, false);
    k.refs.setLinks(fresh, 0);
    const from = phys.frameOffset(i32[d + B.LIST0 + l]!) >> 2;
    const to = phys.frameOffset(fresh) >> 2;
    for (let j = 0, m = Math.min(PER_LIST, pages - done); j < m; j++) {
      const e = i32[from + j]!;
      i32[to + j] = e;
      if (e !== 0) k.refs.retain(e >>> E_SHIFT);
    }
    i32[d + B.LIST0 + l] = fresh;
  }
  k.refs.setLinks(old0, links - 1);
}
