/** The words and codes of a zero-copy buffer in a large-message descriptor (`transfer.ts`). */
import { FrameInfo, PageMarker, PagePerm, type AddressSpace } from '../../contracts/mmu.js';
import type { KernelContext } from '../context.js';
import { FRAME_SIZE, pageOffset, type PhysicalMemory } from '../../memory/physical-memory.js';

/** Transfer modes as stored in a descriptor (0 = the message carries no buffer). */
export const Mode = { NONE: 0, MOVE: 1, SHARE: 2, COPY: 3 } as const;

/**
 * Buffer words of a large-message descriptor (the frame `ipc/large.ts` owns), at its end: the
 * mode, where the buffer lies in the sender, and the list frames holding one entry per page —
 * `frame × 64 | perms << 2 | LAZY << 1 | COW`, the frame and the sender's own state of the
 * page (to restore it when the send is cancelled, and to derive the receiver's mapping).
 * FORM is 1 when those entries are already what the receiver of a Share gets (a forwarded
 * buffer whose pages were all copy-on-write or read-only), so delivery rewrites none. LINKED
 * is 1 when the lists are the sender's own, shared with its pending range (`vm/list-sets.ts`):
 * a forwarded Share that copied nothing.
 */
export const B = { LINKED: 898, FORM: 899, MODE: 900, STATE: 901, FIRST: 902, PAGES: 903, VA_LO: 904, VA_HI: 905, LENGTH: 906, WHOLE_FROM: 907, WHOLE_TO: 908, LISTS: 909, HANDED: 910, MOVABLE: 911, LIST0: 912 } as const;
/**
 * Descriptor states of the buffer: staged (a Move's pages still live in the sender), parked
 * (queued: a Move's pages parked), carried (the descriptor holds the frames), adopted (the
 * receiver's pending range owns the descriptor frame and its lists now).
 */
export const State = { NONE: 0, STAGED: 1, CARRIED: 2, PARKED: 3, ADOPTED: 4 } as const;
const MAX_LISTS = 1024 - B.LIST0;
export const PER_LIST = FRAME_SIZE / 4;
/** Most pages one buffer spans. */
export const MAX_BUFFER_PAGES = MAX_LISTS * PER_LIST;
export const E_COW = 1;
export const E_LAZY = 2;
export const E_SHIFT = 6;
export const COW = PageMarker.COPY_ON_WRITE;
export const LAZY = PageMarker.LAZY;
export const TWO32 = 2 ** 32;

/** Int32 index of the list entry of page `i` of descriptor `d` (an Int32 index in `i32`). */
export function entryWord(i32: Int32Array, phys: PhysicalMemory, d: number, i: number): number {
  return (phys.frameOffset(i32[d + B.LIST0 + (i >>> 10)]!) >> 2) + (i & (PER_LIST - 1));
}

/**
 * For the list frame holding entry `i` of descriptor `d`: the number that, plus an entry's
 * index, gives that entry's Int32 index — valid for every entry of the same list frame.
 */
export function listWords(i32: Int32Array, phys: PhysicalMemory, d: number, i: number): number {
  return entryWord(i32, phys, d, i) - i;
}

/** The receiver's perms and markers for a page with list entry `e`, packed (see {@link pack}); `whole`: not a copied edge. */
export function receiverPage(e: number, mode: number, whole: boolean): number {
  if (mode === Mode.COPY || !whole) return pack(PagePerm.READ | PagePerm.WRITE | PagePerm.USER, LAZY);
  const perms = (e >> 2) & FrameInfo.PERMS;
  if (mode === Mode.MOVE) return pack(perms, LAZY | (e & E_COW ? COW : 0));
  const writable = (perms & PagePerm.WRITE) !== 0 || (e & E_COW) !== 0;
  return pack(writable ? perms & ~PagePerm.WRITE : perms, LAZY | (writable ? COW : 0));
}

/** Perms and markers in one number (perms in the low byte). */
export function pack(perms: number, markers: number): number {
  return perms | (markers << 8);
}

/**
 * The whole pages of a buffer are indices `[wholeFrom(va), wholeTo(va, length, pages))` into
 * its pages (the others are partial edges). Two functions, not one returning a pair: no object
 * per message.
 */
export function wholeFrom(va: number): number {
  return pageOffset(va) === 0 ? 0 : 1;
}

/** End of the whole pages of a buffer (see {@link wholeFrom}). */
export function wholeTo(va: number, length: number, pages: number): number {
  const to = pageOffset(va + length) === 0 ? pages : pages - 1;
  return Math.max(to, wholeFrom(va));
}

/** Entry `i` of descriptor `d`'s page list. */
export function descEntry(k: KernelContext, d: number, i: number): number {
  return k.i32[entryWord(k.i32, k.mm.phys, d, i)]!;
}

/**
 * Applies `want(entry, page)` — packed perms and markers, or −1 to leave the page alone — to
 * pages `[from, to)` of the sender, one protect per run of equal results.
 */
export function protectRuns(k: KernelContext, space: AddressSpace, d: number, from: number, to: number, want: (e: number, i: number) => number): void {
  const first = k.i32[d + B.FIRST]!;
  let run = from;
  while (run < to) {
    const w = want(descEntry(k, d, run), run);
    let end = run + 1;
    while (end < to && want(descEntry(k, d, end), end) === w) end++;
    if (w >= 0) space.protect((first + run) * FRAME_SIZE, (end - run) * FRAME_SIZE, w & 0xff, w >> 8);
    run = end;
  }
}

/** Frees descriptor `d`'s list frames; it carries no buffer any more. */
export function freeLists(k: KernelContext, d: number): void {
  const i32 = k.i32;
  for (let l = i32[d + B.LISTS]! - 1; l >= 0; l--) k.mm.phys.freeFrame(i32[d + B.LIST0 + l]!);
  i32[d + B.LISTS] = 0;
  i32[d + B.MODE] = Mode.NONE;
  i32[d + B.STATE] = State.NONE;
}
