import { IpcError } from '../../contracts/errors.js';
import { PageMarker, PagePerm, type AddressSpace } from '../../contracts/mmu.js';
import { FRAME_SIZE } from '../../memory/physical-memory.js';
import { frameOps } from '../../mmu/frame-ops.js';
import type { KernelContext } from '../context.js';
import { P } from '../records/layout.js';

/*
 * Record frame words: 0 = number of records, then records of REC words from BASE. A record is
 * one mapping of a resizable region (or the part of one that `protect` or `unmap` left): its
 * first page and pages of address space, the region record and generation, the first region
 * page it shows, and its current permissions with the private bit.
 */
const COUNT = 0;
const BASE = 2;
const REC = 6;
const R_FIRST = 0;
const R_PAGES = 1;
const R_REGION = 2;
const R_GEN = 3;
const R_OFFSET = 4;
const R_FLAGS = 5;
const PRIVATE = 0x100;
/** Mappings of resizable regions one process holds at once (pieces left by `protect` / `unmap` count apart). */
export const MAX_REGION_MAPS = Math.floor((FRAME_SIZE / 4 - BASE) / REC);
/** Pages unmapped per `unmapFrames` call when a shrink reaches a mapping. */
const CHUNK = 4096;

/** What `#install` reports for a lazily installed page (as `PendingInstall` does). */
interface Install {
  perms: number;
  markers: number;
  frame: number;
  /** Always 0: a region's pages come from its own frames, not a page list. */
  lists: number;
}

/**
 * Where the mappings of resizable regions are (`createRegion({ resizable: true })`): one record
 * per mapping in a kernel-owned frame of the mapping process (`P.RMAP`), so that a resize of the
 * region reaches every address space that maps it.
 *
 * - **grow**: nothing is written in any address space. A page of a mapping that lies past the
 *   region's end has no entry; its first access faults, and the fault path (`install`) finds the
 *   record, sees that the region now has that page, and installs it with the record's current
 *   permissions (copy-on-write for a private mapping made writable) — so every mapping shows the
 *   new pages, shared, once touched.
 * - **shrink**: `shrink` unmaps the pages past the new end in every process that maps the region
 *   (their references go, so do private copies), so an access there faults again.
 * - `protect` keeps a record's permissions in step (pages not installed yet get them later),
 *   `unmap` and exit drop the records. Lock held.
 */
export class RegionMaps {
  readonly #k: KernelContext;
  readonly #one = new Int32Array(1);

  constructor(k: KernelContext) {
    this.#k = k;
  }

  #words(p: number): number {
    const f = this.#k.procs.get(p, P.RMAP);
    return f === 0 ? -1 : this.#k.mm.phys.frameOffset(f) >> 2;
  }

  /** Throws `OutOfMemory` unless `p` can take one more record (writes nothing). */
  checkAdd(p: number): void {
    const w = this.#words(p);
    if (w < 0 ? this.#k.mm.phys.freeFrames < 2 : this.#k.i32[w + COUNT]! >= MAX_REGION_MAPS) throw new IpcError('OutOfMemory', `a process maps at most ${MAX_REGION_MAPS} pieces of resizable regions`);
  }

  /** Records a mapping (checked with `checkAdd`): `pages` pages from `first` show region `r` (generation `gen`) from its page `offset`. */
  add(p: number, first: number, pages: number, r: number, gen: number, offset: number, perms: number, priv: boolean): void {
    const k = this.#k;
    if (k.procs.get(p, P.RMAP) === 0) k.procs.set(p, P.RMAP, k.mm.phys.allocFrame());
    const w = this.#words(p);
    const at = w + BASE + k.i32[w + COUNT]! * REC;
    k.i32.set([first, pages, r, gen, offset, perms | (priv ? PRIVATE : 0)], at);
    k.i32[w + COUNT]!++;
  }

  /** Word index of the record covering `page` of `p`, or −1. */
  #at(p: number, page: number): number {
    const i32 = this.#k.i32;
    const w = this.#words(p);
    if (w < 0) return -1;
    for (let i = 0, n = i32[w + COUNT]!; i < n; i++) {
      const at = w + BASE + i * REC;
      if (page >= i32[at + R_FIRST]! && page < i32[at + R_FIRST]! + i32[at + R_PAGES]!) return at;
    }
    return -1;
  }

  /** Records `[first, first + pages)` would gain from `#carve` (0–2). */
  #splits(p: number, first: number, pages: number): number {
    const i32 = this.#k.i32;
    let n = 0;
    for (const page of [first, first + pages]) {
      const at = this.#at(p, page);
      if (at >= 0 && i32[at + R_FIRST]! < page) n++;
    }
    return n;
  }

  /** Throws `OutOfMemory` (nothing changed) when `p` has no room for the records cutting `[first, first + pages)` out would take. */
  checkCarve(p: number, first: number, pages: number): void {
    const w = this.#words(p);
    if (w >= 0 && this.#k.i32[w + COUNT]! + this.#splits(p, first, pages) > MAX_REGION_MAPS) throw new IpcError('OutOfMemory', `a process maps at most ${MAX_REGION_MAPS} pieces of resizable regions`);
  }

  /** Splits the records straddling `first` and `first + pages`, so each record lies inside or outside the range (a split finding no room is not made). */
  #carve(p: number, first: number, pages: number): void {
    const i32 = this.#k.i32;
    const w = this.#words(p);
    for (const page of [first, first + pages]) {
      const at = this.#at(p, page);
      if (at < 0 || i32[at + R_FIRST]! >= page || i32[w + COUNT]! >= MAX_REGION_MAPS) continue;
      const head = page - i32[at + R_FIRST]!;
      const to = w + BASE + i32[w + COUNT]! * REC;
      i32.copyWithin(to, at, at + REC);
      i32[to + R_FIRST] = page;
      i32[to + R_PAGES] = i32[at + R_PAGES]! - head;
      i32[to + R_OFFSET] = i32[at + R_OFFSET]! + head;
      i32[at + R_PAGES] = head;
      i32[w + COUNT]!++;
    }
  }

  /** Calls `each(record word)` for every record inside `[first, first + pages)` (after `#carve`), last first. */
  #inside(p: number, first: number, pages: number, each: (at: number) => void): void {
    const i32 = this.#k.i32;
    const w = this.#words(p);
    if (w < 0) return;
    for (let i = i32[w + COUNT]! - 1; i >= 0; i--) {
      const at = w + BASE + i * REC;
      if (i32[at + R_FIRST]! >= first && i32[at + R_FIRST]! + i32[at + R_PAGES]! <= first + pages) each(at);
    }
  }

  /** `[first, first + pages)` of `p` is being unmapped: its records go (and the frame with the last). */
  forget(p: number, first: number, pages: number): void {
    const i32 = this.#k.i32;
    const w = this.#words(p);
    if (w < 0) return;
    this.#carve(p, first, pages);
    this.#drop(p, first, pages, w);
    if (i32[w + COUNT] === 0) this.destroy(p);
  }

  /** Drops `p`'s records inside the range. Apart from {@link RegionMaps.forget}, which every unmap calls: its closure's context would be made on each call, regions or not. */
  #drop(p: number, first: number, pages: number, w: number): void {
    const i32 = this.#k.i32;
    this.#inside(p, first, pages, (at) => {
      const last = w + BASE + (i32[w + COUNT]! - 1) * REC;
      i32.copyWithin(at, last, last + REC);
      i32[w + COUNT]!--;
    });
  }

  /** True when a page of `[first, first + pages)` is in a shared record whose mapping lacked the right to write and is not installed (what `protect` cannot see in the tables). */
  deniesWrite(p: number, first: number, pages: number, granted: (page: number) => boolean): boolean {
    const i32 = this.#k.i32;
    const w = this.#words(p);
    if (w < 0) return false;
    for (let i = 0, n = i32[w + COUNT]!; i < n; i++) {
      const at = w + BASE + i * REC;
      const s = Math.max(first, i32[at + R_FIRST]!);
      const e = Math.min(first + pages, i32[at + R_FIRST]! + i32[at + R_PAGES]!);
      if (s < e && (i32[at + R_FLAGS]! & PRIVATE) === 0 && !granted(s)) return true;
    }
    return false;
  }

  /** `protect` of `[first, first + pages)` (checked with `checkCarve`): its records take `perms`, for the pages installed later. */
  protect(p: number, first: number, pages: number, perms: number): void {
    if (this.#words(p) < 0) return;
    this.#carve(p, first, pages);
    const i32 = this.#k.i32;
    this.#inside(p, first, pages, (at) => void (i32[at + R_FLAGS] = (i32[at + R_FLAGS]! & PRIVATE) | perms));
  }

  /**
   * The fault path's half: the page at `va` of `p` that a record maps and the region has now
   * (its frame, the perms and markers it gets), installed — entry made, reference taken — when
   * `commit`; undefined when no record covers it or the region has no such page (a fault).
   */
  install(p: number, space: AddressSpace, va: number, commit: boolean): Install | undefined {
    const k = this.#k;
    const page = Math.floor(va / FRAME_SIZE);
    const at = this.#at(p, page);
    if (at < 0) return undefined;
    const i32 = k.i32;
    const frame = k.regions.frameAt(i32[at + R_REGION]!, i32[at + R_GEN]!, i32[at + R_OFFSET]! + page - i32[at + R_FIRST]!);
    if (frame < 0) return undefined;
    const flags = i32[at + R_FLAGS]!;
    const cow = (flags & PRIVATE) !== 0 && (flags & PagePerm.WRITE) !== 0;
    const perms = ((cow ? flags & ~PagePerm.WRITE : flags) & (PagePerm.READ | PagePerm.WRITE | PagePerm.EXECUTE)) | PagePerm.USER;
    const markers = cow ? PageMarker.COPY_ON_WRITE : 0;
    if (perms === PagePerm.USER) return undefined;
    if (commit) {
      this.#one[0] = frame;
      frameOps.mapFrames(space, page * FRAME_SIZE, this.#one, 0, 1, perms, markers);
      k.refs.retain(frame);
    }
    return { perms, markers, frame, lists: 0 };
  }

  /**
   * Region `r` (generation `gen`) shrinks from `had` pages to `keep`: every process's mappings
   * of it lose the pages past `keep` (references released; private copies freed too).
   */
  shrink(r: number, gen: number, keep: number, had: number): void {
    const k = this.#k;
    const i32 = k.i32;
    for (let p = 0; p < k.procs.count; p++) {
      const w = this.#words(p);
      if (w < 0 || !k.procs.live(p)) continue;
      for (let i = 0, n = i32[w + COUNT]!; i < n; i++) {
        const at = w + BASE + i * REC;
        if (i32[at + R_REGION] !== r || i32[at + R_GEN]! >>> 0 !== gen >>> 0) continue;
        const off = i32[at + R_OFFSET]!;
        const from = Math.max(keep, off);
        const to = Math.min(had, off + i32[at + R_PAGES]!);
        if (from < to) this.#unmap(p, i32[at + R_FIRST]! + from - off, to - from);
      }
    }
  }

  #unmap(p: number, first: number, pages: number): void {
    const k = this.#k;
    const space = k.spaces.of(p);
    for (let at = 0; at < pages; at += CHUNK) {
      const n = Math.min(CHUNK, pages - at);
      const { frames } = k.vm.scratch(n);
      frameOps.unmapFrames(space, (first + at) * FRAME_SIZE, n, frames);
      for (let i = 0; i < n; i++) if (frames[i]! >= 0) k.refs.release(frames[i]!);
    }
  }

  /** Frees `p`'s record frame (its last record went, or its exit). */
  destroy(p: number): void {
    const k = this.#k;
    const f = k.procs.get(p, P.RMAP);
    if (f === 0) return;
    k.procs.set(p, P.RMAP, 0);
    k.mm.phys.freeFrame(f);
  }
}
