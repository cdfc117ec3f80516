import { ObjectKind } from '../../contracts/capability.js';
import { IpcError } from '../../contracts/errors.js';
import { PageMarker, PagePerm } from '../../contracts/mmu.js';
import { Rights } from '../../contracts/rights.js';
import { FRAME_SIZE } from '../../memory/physical-memory.js';
import { frameOps } from '../../mmu/frame-ops.js';
import type { KernelContext } from '../context.js';
import { H, MAX_GEN, RG, RegionFlag, S } from '../records/layout.js';

/** Rights of the handle a region's creator gets. */
export const REGION_RIGHTS = Rights.MAP | Rights.READ | Rights.WRITE | Rights.SHARE | Rights.GRANT;
const PER_LIST = FRAME_SIZE / 4;
/** Most pages one region has (list frames one header frame names). */
export const MAX_REGION_PAGES = (PER_LIST - 1) * PER_LIST;

/** Which part of a region a mapping shows, and how (see `ProcessMemory.mapRegion`). */
export interface RegionView {
  /** First page of the region (default 0). */
  offset?: number;
  /** Pages of address space (default: the rest of the region); pages past its end stay unmapped. */
  pages?: number;
  /** A private (copy-on-write) mapping: writes go to this process's own copies. */
  private?: boolean;
  /** First page of address space to map at (all of the range free), instead of the first free range. */
  at?: number;
}

/** What {@link Regions.info} reports. */
export interface RegionInfo {
  readonly size: number;
  readonly perms: number;
  readonly node: number;
  readonly resizable: boolean;
}

/**
 * Shared regions (`SharedRegion`): memory that lives apart from any process, named by
 * capabilities and mapped into several address spaces. Each frame carries a reference count
 * (`vm/frame-refs.ts`): one for the region object, one per mapping, so a frame is freed when
 * the last mapping and the region are gone. The region object itself goes when the last
 * capability naming it goes (every capability space counts: create, derive, grant, transfer
 * in a message, close, exit). Lock held throughout.
 */
export class Regions {
  readonly #k: KernelContext;

  constructor(k: KernelContext) {
    this.#k = k;
    k.caps.onRegionCaps = (r, delta) => this.#caps(r, delta);
  }

  #word(r: number, f: number): number {
    return this.#k.i32[H.REGION_BASE]! + r * RG.SIZE + f;
  }
  #get(r: number, f: number): number {
    return this.#k.i32[this.#word(r, f)]!;
  }
  #set(r: number, f: number, v: number): void {
    this.#k.i32[this.#word(r, f)] = v;
  }

  /** Checks a region of `pages` pages on `node` for `p` (writes nothing). */
  checkCreate(p: number, pages: number, node: number | undefined): void {
    const k = this.#k;
    if (pages > MAX_REGION_PAGES) throw new IpcError('InvalidArgument', `a region has at most ${MAX_REGION_PAGES} pages`);
    if (k.i32[H.GFREE_HEAD] === 0) throw new IpcError('OutOfMemory', 'no free region record');
    if (k.caps.freeSlots(p) === 0) throw new IpcError('OutOfMemory', 'capability space full');
    const phys = k.mm.phys;
    const lists = Math.ceil(pages / PER_LIST);
    if (node !== undefined) {
      if (node >= phys.nodeCount) throw new IpcError('InvalidArgument', `no NUMA node ${node} (the machine has ${phys.nodeCount})`);
      if (phys.freeFramesOn(node) < pages) throw new IpcError('OutOfMemory', `need ${pages} frames on node ${node}, ${phys.freeFramesOn(node)} free`);
      if (phys.freeFrames < pages + 1 + lists) throw new IpcError('OutOfMemory', 'no frames for the region lists');
    } else if (phys.freeFrames < pages + 1 + lists) throw new IpcError('OutOfMemory', `need ${pages + 1 + lists} frames, ${phys.freeFrames} free`);
  }

  /** Creates the region (checked; `resizable`: its mappings are recorded so {@link Regions.resize} reaches them); returns `p`'s handle to it. */
  create(p: number, pages: number, perms: number, node: number | undefined, resizable = false): number {
    const k = this.#k;
    const phys = k.mm.phys;
    const r = k.i32[H.GFREE_HEAD]! - 1;
    const next = this.#get(r, RG.FREE_NEXT);
    k.i32[H.GFREE_HEAD] = next;
    if (next === 0) k.i32[H.GFREE_TAIL] = 0;
    const head = phys.allocFrame();
    const hw = phys.frameOffset(head) >> 2;
    const lists = Math.ceil(pages / PER_LIST);
    k.i32[hw] = lists;
    for (let l = 0; l < lists; l++) k.i32[hw + 1 + l] = phys.allocFrame();
    for (let i = 0; i < pages; i++) {
      const f = phys.allocFrame(node);
      k.refs.own(f, true);
      k.i32[this.#listWord(head, i)] = f;
    }
    this.#set(r, RG.LIVE, 1);
    this.#set(r, RG.PAGES, pages);
    this.#set(r, RG.PERMS, perms);
    this.#set(r, RG.NODE, node ?? phys.nodeOf(k.i32[this.#listWord(head, 0)]!));
    this.#set(r, RG.CAPS, 0);
    this.#set(r, RG.HEAD, head);
    this.#set(r, RG.FLAGS, resizable ? RegionFlag.RESIZABLE : 0);
    return k.caps.insert(p, ObjectKind.Region, r, this.#get(r, RG.GEN) >>> 0, REGION_RIGHTS);
  }

  /** The live region `handle` names in `p`, with `rights`; `InvalidCapability` / `PermissionDenied` otherwise. */
  resolve(p: number, handle: number, rights: number): number {
    const k = this.#k;
    const s = k.caps.resolve(p, handle, ObjectKind.Region, rights);
    const r = k.slots.get(s, S.OBJ);
    this.checkLive(r, k.slots.gen(s));
    return r;
  }

  /** Throws unless region `r` is live in generation `gen`. */
  checkLive(r: number, gen: number): void {
    if (r < 0 || r >= this.#k.i32[H.NREGION]! || this.#get(r, RG.LIVE) !== 1 || this.#get(r, RG.GEN) >>> 0 !== gen >>> 0) throw new IpcError('InvalidCapability', 'the region is gone');
  }

  /** Size, permissions and node of the region `handle` names. */
  info(p: number, handle: number): RegionInfo {
    const r = this.resolve(p, handle, Rights.NONE);
    return { size: this.#get(r, RG.PAGES) * FRAME_SIZE, perms: this.#get(r, RG.PERMS), node: this.#get(r, RG.NODE), resizable: (this.#get(r, RG.FLAGS) & RegionFlag.RESIZABLE) !== 0 };
  }

  /** Frame of page `i` of region `r` if it is live in generation `gen` and has that page, else −1. */
  frameAt(r: number, gen: number, i: number): number {
    if (r < 0 || r >= this.#k.i32[H.NREGION]! || this.#get(r, RG.LIVE) !== 1 || this.#get(r, RG.GEN) >>> 0 !== gen >>> 0 || i < 0 || i >= this.#get(r, RG.PAGES)) return -1;
    return this.#k.i32[this.#listWord(this.#get(r, RG.HEAD), i)]!;
  }

  /**
   * Gives the resizable region `handle` names `pages` pages, in place (WRITE and GRANT needed:
   * the creator's rights, which a capability handed out for mapping need not carry). Growing
   * adds zeroed frames; every mapping's pages that now lie inside the region are installed on
   * their first access. Shrinking unmaps the pages past the new end from every mapping (an
   * access there faults) and drops the region's own reference on their frames. Everything is
   * checked first: `InvalidArgument` (not resizable, too many pages), `OutOfMemory` (frames),
   * nothing changed.
   */
  resize(p: number, handle: number, pages: number): void {
    const k = this.#k;
    const phys = k.mm.phys;
    const s = k.caps.resolve(p, handle, ObjectKind.Region, Rights.WRITE | Rights.GRANT);
    const r = k.slots.get(s, S.OBJ);
    const gen = k.slots.gen(s);
    this.checkLive(r, gen);
    if ((this.#get(r, RG.FLAGS) & RegionFlag.RESIZABLE) === 0) throw new IpcError('InvalidArgument', 'the region was not created resizable');
    if (!Number.isSafeInteger(pages) || pages < 0 || pages > MAX_REGION_PAGES) throw new IpcError('InvalidArgument', `a region has 0 to ${MAX_REGION_PAGES} pages`);
    const had = this.#get(r, RG.PAGES);
    const head = this.#get(r, RG.HEAD);
    const hw = phys.frameOffset(head) >> 2;
    const lists = Math.ceil(pages / PER_LIST);
    const hadLists = k.i32[hw]!;
    if (pages > had) {
      const need = pages - had + Math.max(0, lists - hadLists);
      if (phys.freeFrames < need) throw new IpcError('OutOfMemory', `need ${need} frames, ${phys.freeFrames} free`);
      for (let l = hadLists; l < lists; l++) k.i32[hw + 1 + l] = phys.allocFrame();
      k.i32[hw] = Math.max(lists, hadLists);
      for (let i = had; i < pages; i++) {
        const f = phys.allocFrame();
        k.refs.own(f, true);
        k.i32[this.#listWord(head, i)] = f;
      }
    } else if (pages < had) {
      k.rmaps.shrink(r, gen, pages, had);
      for (let i = had - 1; i >= pages; i--) k.refs.release(k.i32[this.#listWord(head, i)]!);
      for (let l = hadLists - 1; l >= lists; l--) phys.freeFrame(k.i32[hw + 1 + l]!);
      k.i32[hw] = lists;
    }
    this.#set(r, RG.PAGES, pages);
  }

  /**
   * Maps the region `handle` names into `p` with `perms` (default: what the region and the
   * capability allow): MAP is needed, and READ / WRITE for each permission asked. Returns the
   * address. The entries are lazy; every frame gains a reference. A mapping made with the
   * right to write remembers it (`VaMap.grant`), so `protect` may make its pages writable again.
   */
  map(p: number, handle: number, perms: number | undefined, view: RegionView = {}): number {
    const k = this.#k;
    const s = k.caps.resolve(p, handle, ObjectKind.Region, Rights.MAP);
    const r = k.slots.get(s, S.OBJ);
    this.checkLive(r, k.slots.gen(s));
    const rights = k.slots.get(s, S.RIGHTS);
    const priv = view.private === true;
    // A private mapping writes to its own copies: the region's WRITE (and the right to it) do not matter.
    // EXECUTE goes with READ (as POSIX's PROT_EXEC needs a descriptor open for reading).
    const allowed = priv ? (rights & Rights.READ ? PagePerm.READ | PagePerm.WRITE | PagePerm.EXECUTE : 0) : (this.#get(r, RG.PERMS) | PagePerm.EXECUTE) & ((rights & Rights.READ ? PagePerm.READ | PagePerm.EXECUTE : 0) | (rights & Rights.WRITE ? PagePerm.WRITE : 0));
    // Executable only when asked.
    const want = perms ?? allowed & ~PagePerm.EXECUTE;
    if ((want & PagePerm.READ) === 0) throw new IpcError('PermissionDenied', 'mapping a region needs READ (the capability or the region lacks it)');
    if ((want & ~allowed) !== 0) throw new IpcError('PermissionDenied', `the region or the capability does not allow ${want & PagePerm.WRITE ? 'WRITE' : 'these permissions'}`);
    const size = this.#get(r, RG.PAGES);
    const offset = view.offset ?? 0;
    if (offset > size) throw new IpcError('InvalidArgument', `offset page ${offset} is past the region's ${size} pages`);
    // The range may run past the region's end: those pages stay unmapped, so an access there faults.
    const pages = view.pages ?? size - offset;
    const mapped = Math.min(pages, size - offset);
    if (pages < 1) throw new IpcError('InvalidArgument', 'a mapping of no pages');
    if (!k.va.canEnsure(p)) throw new IpcError('OutOfMemory', 'no frame for the address map');
    if (view.at !== undefined) k.va.checkAt(p, view.at, pages);
    const first = view.at ?? k.va.find(p, pages);
    if (first < 0) throw new IpcError('OutOfMemory', `no free virtual range of ${pages} pages`);
    const resizable = (this.#get(r, RG.FLAGS) & RegionFlag.RESIZABLE) !== 0;
    if (resizable) k.rmaps.checkAdd(p);
    k.va.ensure(p);
    if (mapped > 0) {
      const { frames } = k.vm.scratch(mapped);
      const head = this.#get(r, RG.HEAD);
      for (let i = 0; i < mapped; i++) frames[i] = k.i32[this.#listWord(head, offset + i)]!;
      // Private and writable: read-only copy-on-write, so the first write copies that page for this process alone.
      const cow = priv && (want & PagePerm.WRITE) !== 0;
      frameOps.mapFrames(k.spaces.of(p), first * FRAME_SIZE, frames, 0, mapped, (cow ? want & ~PagePerm.WRITE : want) | PagePerm.USER, cow ? PageMarker.COPY_ON_WRITE : 0);
      for (let i = 0; i < mapped; i++) k.refs.retain(frames[i]!);
    }
    if (view.at !== undefined) k.va.takeAt(p, first, pages);
    else k.va.take(p, first, pages);
    if (resizable) k.rmaps.add(p, first, pages, r, k.slots.gen(s), offset, want, priv);
    // What protect may raise these pages to later: a shared mapping whose capability and region allow writing, a private one made with WRITE.
    if ((priv ? want : allowed) & PagePerm.WRITE) k.va.grant(p, first, pages, priv);
    return first * FRAME_SIZE;
  }

  /** A capability naming `r` was added (+1) or removed (−1); the last one frees the region. */
  #caps(r: number, delta: number): void {
    const left = this.#get(r, RG.CAPS) + delta;
    this.#set(r, RG.CAPS, left);
    if (left <= 0 && this.#get(r, RG.LIVE) === 1 && delta < 0) this.#free(r);
  }

  /** Drops the region's own reference on each frame (mapped frames live on), frees its lists and the record. */
  #free(r: number): void {
    const k = this.#k;
    const phys = k.mm.phys;
    const head = this.#get(r, RG.HEAD);
    const pages = this.#get(r, RG.PAGES);
    for (let i = pages - 1; i >= 0; i--) k.refs.release(k.i32[this.#listWord(head, i)]!);
    const hw = phys.frameOffset(head) >> 2;
    for (let l = k.i32[hw]! - 1; l >= 0; l--) phys.freeFrame(k.i32[hw + 1 + l]!);
    phys.freeFrame(head);
    const gen = (this.#get(r, RG.GEN) >>> 0) + 1;
    this.#set(r, RG.GEN, gen > MAX_GEN ? 1 : gen);
    for (const f of [RG.LIVE, RG.PAGES, RG.PERMS, RG.NODE, RG.CAPS, RG.HEAD, RG.FLAGS]) this.#set(r, f, 0);
    // To the back of the free list.
    this.#set(r, RG.FREE_NEXT, 0);
    const tail = k.i32[H.GFREE_TAIL]!;
    if (tail === 0) k.i32[H.GFREE_HEAD] = r + 1;
    else this.#set(tail - 1, RG.FREE_NEXT, r + 1);
    k.i32[H.GFREE_TAIL] = r + 1;
  }

  /** Regions that exist now. */
  liveCount(): number {
    let n = 0;
    for (let r = 0; r < this.#k.i32[H.NREGION]!; r++) if (this.#get(r, RG.LIVE) === 1) n++;
    return n;
  }

  #listWord(head: number, i: number): number {
    const k = this.#k;
    const list = k.i32[(k.mm.phys.frameOffset(head) >> 2) + 1 + (i >>> 10)]!;
    return (k.mm.phys.frameOffset(list) >> 2) + (i & (PER_LIST - 1));
  }
}
