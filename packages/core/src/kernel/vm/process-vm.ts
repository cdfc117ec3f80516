import { IpcError } from '../../contracts/errors.js';
import { AccessKind, FrameInfo, PageFault, PageMarker, PagePerm, type AddressSpace } from '../../contracts/mmu.js';
import { FRAME_SIZE } from '../../memory/physical-memory.js';
import { frameOps } from '../../mmu/frame-ops.js';
import type { KernelContext } from '../context.js';
import { H, P } from '../records/layout.js';
import { Grant } from './va-map.js';

/** Permission bits a process may ask for its memory (EXECUTE: the contract's execute permission, which every arch MMU has). */
const USER_PERMS = PagePerm.READ | PagePerm.WRITE | PagePerm.EXECUTE;
const COW = PageMarker.COPY_ON_WRITE;
const LAZY = PageMarker.LAZY;

/** First page of `[va, va + length)`. Two functions, not one returning a pair: no object per message on the large-message path. */
export function firstPage(va: number): number {
  return Math.floor(va / FRAME_SIZE);
}

/** How many pages `[va, va + length)` touches. */
export function pageCount(va: number, length: number): number {
  return Math.ceil((va + length) / FRAME_SIZE) - Math.floor(va / FRAME_SIZE);
}

/**
 * `space.translate` for a user access, once more if the one repair the MMU retries after
 * leaves an access flag fault behind: a LAZY entry made present (or a copy-on-write copy) on a
 * CPU that leaves the accessed flag to software faults again on the retry, and the kernel's
 * handler then sets the flag.
 */
function translateRepaired(space: AddressSpace, va: number, kind: AccessKind, cpu: number): number {
  try {
    return space.translate(va, kind, cpu, true);
  } catch (e) {
    if (!(e instanceof PageFault) || e.reason !== 'access-flag' || typeof space.setAccessed !== 'function') throw e;
    return space.translate(va, kind, cpu, true);
  }
}

/**
 * Process memory, kernel side (lock held): anonymous ranges in the process-memory window,
 * backed by reference-counted frames and mapped through the arch MMU; reads, writes and
 * zero-copy views translated page by page (the fault handler installs lazy pages and breaks
 * copy-on-write on the way). Checks run before the first change; a failure changes nothing.
 */
export class ProcessVm {
  readonly #k: KernelContext;
  /** The scratch arrays, in one object made once: {@link ProcessVm.scratch} hands it out on every message, allocating nothing. */
  readonly #scratch = { frames: new Int32Array(256), info: new Int32Array(256) };
  readonly #one = new Int32Array(1);
  #pas = new Float64Array(256);
  /** The process whose access is being translated (its pending pages may be installed by the fault path), or −1. */
  faulting = -1;

  constructor(k: KernelContext) {
    this.#k = k;
  }

  /** Scratch arrays of at least `pages` entries (grown, never shrunk). */
  scratch(pages: number): { readonly frames: Int32Array; readonly info: Int32Array } {
    const s = this.#scratch;
    if (s.frames.length < pages) {
      s.frames = new Int32Array(pages);
      s.info = new Int32Array(pages);
    }
    return s;
  }

  /** Maps `length` bytes of fresh zeroed memory with `perms` (READ / WRITE / EXECUTE) — at page `at` when given (all free) — and returns the address. */
  map(p: number, length: number, perms: number, at?: number): number {
    const k = this.#k;
    if ((perms & ~USER_PERMS) !== 0 || (perms & PagePerm.READ) === 0) throw new IpcError('InvalidArgument', `memory permissions must be READ, optionally with WRITE and EXECUTE, got ${perms}`);
    const pages = Math.ceil(length / FRAME_SIZE);
    if (!k.va.canEnsure(p)) throw new IpcError('OutOfMemory', 'no frame for the address map');
    if (at !== undefined) k.va.checkAt(p, at, pages);
    const first = at ?? k.va.find(p, pages);
    if (first < 0) throw new IpcError('OutOfMemory', `no free virtual range of ${pages} pages`);
    const need = pages + (k.procs.get(p, P.VM) === 0 ? 1 : 0);
    if (k.mm.phys.freeFrames < need) throw new IpcError('OutOfMemory', `need ${need} frames, ${k.mm.phys.freeFrames} free`);
    const { frames } = this.scratch(pages);
    const phys = k.mm.phys;
    let taken = 0;
    k.va.ensure(p);
    try {
      for (; taken < pages; taken++) frames[taken] = phys.allocFrame();
      frameOps.mapFrames(k.spaces.of(p), first * FRAME_SIZE, frames, 0, pages, perms | PagePerm.USER, 0);
    } catch (e) {
      for (let i = taken - 1; i >= 0; i--) phys.freeFrame(frames[i]!);
      throw e;
    }
    for (let i = 0; i < pages; i++) k.refs.own(frames[i]!);
    if (at !== undefined) k.va.takeAt(p, first, pages);
    else k.va.take(p, first, pages);
    return first * FRAME_SIZE;
  }

  /** Frames and `FrameInfo` of `pages` pages from `first`, pending pages included (see `pending.ts`). */
  read(p: number, first: number, pages: number, frames: Int32Array, info: Int32Array): void {
    frameOps.readFrames(this.#k.spaces.of(p), first * FRAME_SIZE, pages, frames, info);
    this.#k.pending.overlay(p, first, pages, frames, info);
  }

  /** Unmaps whole pages `[va, va + length)` (rounded up to pages) and gives their frames back. */
  unmap(p: number, va: number, length: number): void {
    const k = this.#k;
    const first = firstPage(va);
    const pages = this.#allocated(p, va, length, 'unmap');
    const whole = k.pending.untouched(p, first, pages);
    if (whole >= 0 && !k.transfers.parkedIn(p, first, pages)) {
      // Exactly a received buffer never touched: its list says every frame, and no page of it
      // has a page-table entry (a page stops being pending when it gets one), so no walk at all.
      k.rmaps.checkCarve(p, first, pages);
      k.pending.dropUntouched(p, whole);
      k.va.free(p, first, pages);
      return;
    }
    const { frames, info } = this.scratch(pages);
    const space = k.spaces.of(p);
    this.read(p, first, pages, frames, info);
    if (k.transfers.parkedIn(p, first, pages)) throw new IpcError('InvalidState', 'the range is being moved by a message in flight');
    k.rmaps.checkCarve(p, first, pages);
    k.pending.release(p, first, pages);
    frameOps.unmapFrames(space, first * FRAME_SIZE, pages, frames);
    for (let i = 0; i < pages; i++) if (frames[i]! >= 0) k.refs.release(frames[i]!);
    k.va.free(p, first, pages);
  }

  /**
   * Changes the permissions of whole pages. A page another mapping shares stays read-only
   * with the COW marker when WRITE is asked, so a write still copies it first (a page of a
   * private region mapping too). A read-only page of a region is made writable only when its
   * mapping was made with the right to write (`PermissionDenied` otherwise, nothing changed).
   */
  protect(p: number, va: number, length: number, perms: number): void {
    const k = this.#k;
    if ((perms & ~USER_PERMS) !== 0) throw new IpcError('InvalidArgument', `memory permissions must be READ, WRITE and/or EXECUTE, got ${perms}`);
    const first = firstPage(va);
    const pages = this.#allocated(p, va, length, 'protect');
    const { frames, info } = this.scratch(pages);
    const space = k.spaces.of(p);
    this.read(p, first, pages, frames, info);
    if (k.transfers.parkedIn(p, first, pages)) throw new IpcError('InvalidState', 'the range is being moved by a message in flight');
    for (let i = 0; i < pages; i++) {
      // A region page mapped read-only becomes writable again only when its mapping was made
      // with the right to write (`VaMap.grant`): the capability, not protect, says who may write.
      const cowPage = ((info[i]! >> FrameInfo.MARKER_SHIFT) & COW) !== 0;
      if (frames[i]! >= 0 && (perms & PagePerm.WRITE) !== 0 && (info[i]! & PagePerm.WRITE) === 0 && !cowPage && k.refs.isRegion(frames[i]!) && k.va.grantOf(p, first + i) === Grant.NONE) {
        throw new IpcError('PermissionDenied', 'a shared region mapped without the right to write cannot be made writable');
      }
    }
    // Pages of a resizable region not installed yet (past its end when mapped) take the perms when they are.
    if ((perms & PagePerm.WRITE) !== 0 && k.rmaps.deniesWrite(p, first, pages, (page) => k.va.grantOf(p, page) !== Grant.NONE)) {
      throw new IpcError('PermissionDenied', 'a shared region mapped without the right to write cannot be made writable');
    }
    k.rmaps.checkCarve(p, first, pages);
    // Shared page lists there get private copies (it may fail, OutOfMemory) before anything changes.
    k.pending.own(p, first, pages);
    k.rmaps.protect(p, first, pages, perms);
    // Pending pages get their entries first (LAZY), so protect sees every page in the tables.
    for (let i = 0; i < pages; i++) {
      if (frames[i]! < 0 || (info[i]! & FrameInfo.PRESENT) !== 0 || k.pending.entryOf(p, first + i) < 0) continue;
      this.#one[0] = frames[i]!;
      frameOps.mapFrames(space, (first + i) * FRAME_SIZE, this.#one, 0, 1, info[i]! & FrameInfo.PERMS, (info[i]! >> FrameInfo.MARKER_SHIFT) & (LAZY | COW));
      k.pending.consume(p, first + i, 1);
    }
    for (let i = 0; i < pages; i++) {
      if (frames[i]! < 0) continue;
      const lazy = (info[i]! >> FrameInfo.MARKER_SHIFT) & LAZY;
      // Shared (a copy-on-write page another mapping holds) — region pages are shared on purpose,
      // writes and all, except those of a private mapping: made writable, they are copy-on-write again.
      const region = k.refs.isRegion(frames[i]!);
      const cow = ((info[i]! >> FrameInfo.MARKER_SHIFT) & COW) !== 0;
      const write = (perms & PagePerm.WRITE) !== 0;
      const shared = write && (region && !cow ? k.va.grantOf(p, first + i) === Grant.PRIVATE : k.refs.count(frames[i]!) > 1 && (!region || cow));
      const want = write && shared ? perms & ~PagePerm.WRITE : perms;
      const markers = lazy | (write && shared ? COW : 0);
      space.protect((first + i) * FRAME_SIZE, FRAME_SIZE, want | PagePerm.USER, markers);
    }
  }

  /**
   * Translates `[va, va + length)` page by page for `write` (or read) as user code would,
   * calling `each(offset, bytes, at)` with the byte offset in machine memory of each
   * physically contiguous run, its length, and its offset in the range. Faults are repaired
   * (lazy pages installed, copy-on-write broken) or thrown as `AccessFault` before `each` is
   * called for any page, so a failing access copies nothing.
   */
  access(p: number, va: number, length: number, write: boolean, each: (offset: number, bytes: number, at: number) => void): void {
    const k = this.#k;
    if (length === 0) return;
    const space = k.spaces.of(p);
    const first = firstPage(va);
    const pages = pageCount(va, length);
    if (this.#pas.length < pages) this.#pas = new Float64Array(pages);
    const pas = this.#pas;
    const kind = write ? AccessKind.Write : AccessKind.Read;
    const at = (i: number) => (i === 0 ? va : (first + i) * FRAME_SIZE);
    // Pending pages of the range get their entries in runs first (one fault each would be far dearer).
    k.pending.installRange(p, space, first, pages, write);
    this.faulting = p;
    try {
      for (let i = 0; i < pages; i++) pas[i] = translateRepaired(space, at(i), kind, k.cpu);
    } finally {
      this.faulting = -1;
    }
    const phys = k.mm.phys;
    let run = 0;
    for (let i = 1; i <= pages; i++) {
      if (i < pages && pas[i] === pas[i - 1]! + (at(i) - at(i - 1))) continue;
      const start = at(run);
      const end = Math.min(va + length, (first + i) * FRAME_SIZE);
      each(phys.physOffset(pas[run]!), end - start, start - va);
      run = i;
    }
  }

  /** Frame numbers (−1 for a hole) and `FrameInfo` words of `pages` pages from `va`: what tests read to prove zero copy. */
  pages(p: number, va: number, pages: number): { frames: Int32Array; info: Int32Array } {
    const k = this.#k;
    const frames = new Int32Array(pages);
    const info = new Int32Array(pages);
    frameOps.readFrames(k.spaces.of(p), va, pages, frames, info);
    k.pending.overlay(p, va / FRAME_SIZE, pages, frames, info);
    return { frames, info };
  }

  /** Frees all of `p`'s process memory and its address map (its exit). Lock held. */
  teardown(p: number, space: AddressSpace): void {
    const k = this.#k;
    k.pending.teardown(p);
    k.va.forEachAllocated(p, (first, pages) => {
      const chunk = Math.min(pages, 4096);
      const { frames } = this.scratch(chunk);
      for (let at = 0; at < pages; at += chunk) {
        const n = Math.min(chunk, pages - at);
        frameOps.unmapFrames(space, (first + at) * FRAME_SIZE, n, frames);
        for (let i = 0; i < n; i++) if (frames[i]! >= 0) k.refs.release(frames[i]!);
      }
    });
    k.va.destroy(p);
    k.rmaps.destroy(p);
  }

  /** Checks that `[va, va + length)` is whole allocated pages of `p`'s window; returns how many (the first is {@link firstPage}). */
  #allocated(p: number, va: number, length: number, what: string): number {
    if (va % FRAME_SIZE !== 0) throw new IpcError('InvalidArgument', `${what}: address 0x${va.toString(16)} is not page-aligned`);
    const pages = pageCount(va, length);
    if (!this.#k.va.allocated(p, firstPage(va), pages)) throw new IpcError('InvalidArgument', `${what}: [0x${va.toString(16)}, +${length}) is not memory this process mapped`);
    return pages;
  }

  /** Bytes the machine lets one message carry (its `maxTransfer`). */
  get maxTransfer(): number {
    return this.#k.i32[H.MAX_TRANSFER]!;
  }
}
