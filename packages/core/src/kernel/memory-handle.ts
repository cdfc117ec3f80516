import { IpcError } from '../contracts/errors.js';
import { FrameInfo, PageMarker, PagePerm } from '../contracts/mmu.js';
import { SharedBuffer } from '../contracts/shared-buffer.js';
import { FRAME_SIZE } from '../memory/physical-memory.js';
import type { KernelContext } from './context.js';
import { byteCount, bytesView, copyInto } from '../contracts/user-bytes.js';

const MAX_BYTES = 2 ** 40;

/** The range of process memory each view from {@link ProcessMemory.views} covers, by view. */
const viewRanges = new WeakMap<Uint8Array, { readonly pid: number; readonly va: number }>();

/**
 * The process and address of a view that {@link ProcessMemory.views} returned (`undefined`
 * for any other array): how the wire runtime knows a `bytes` argument lives in process memory
 * and can travel by Move.
 */
export function memoryViewRange(view: Uint8Array): { readonly pid: number; readonly va: number } | undefined {
  return viewRanges.get(view);
}

/**
 * A shared region as its capability shows it: memory that lives apart from any process,
 * mapped into several address spaces through capabilities with MAP / READ / WRITE rights. A
 * frame is freed when the last mapping and the last capability naming the region are gone.
 *
 * @example
 * ```ts
 * const region = proc.memory.createRegion({ size: 1 << 20, node: 1 }); // frames from NUMA node 1
 * const va = proc.memory.mapRegion(region.handle);                    // READ|WRITE, lazily mapped
 * const ro = proc.derive(region.handle, Rights.MAP | Rights.READ | Rights.SHARE);
 * await proc.send(ch, { type: 1, data: new Uint8Array(0), caps: [ro] }); // the peer maps it read-only
 * ```
 */
export interface SharedRegion {
  /** This process's capability to the region. */
  readonly handle: number;
  /** Size in bytes (whole pages). */
  readonly size: number;
  /** The region's own permissions (PagePerm READ / WRITE): no mapping gets more. */
  readonly perms: number;
  /** NUMA node its frames came from (0 on a machine without NUMA). */
  readonly node: number;
  /** Created with `resizable: true`: {@link ProcessMemory.resizeRegion} changes its size in place, mappings and all. */
  readonly resizable: boolean;
}

/** Options of {@link ProcessMemory.mapRegion}. */
export interface MapRegionOptions {
  /** PagePerm READ, optionally with WRITE and EXECUTE (default: READ, and WRITE if the region and the capability allow it; EXECUTE needs the READ right and is never the default). */
  perms?: number;
  /** Byte offset into the region, a multiple of the page size (default 0). */
  offset?: number;
  /** Bytes of address space (default: the rest of the region). Pages past the region's end stay unmapped: an access there is an `AccessFault`. */
  length?: number;
  /**
   * Address to map at, page-aligned (POSIX `MAP_FIXED` without the replacing: every page of the
   * range must be free, else `AlreadyExists`; inside the window, else `InvalidArgument`).
   * Default: the first free range that fits.
   */
  at?: number;
  /**
   * A private mapping (POSIX `MAP_PRIVATE`): the region's pages are mapped copy-on-write, so
   * this process's writes go to its own copies and nobody else sees them; READ is the only
   * right needed. A private mapping made without WRITE cannot be `protect`ed writable.
   */
  private?: boolean;
}

/** Options of {@link ProcessMemory.createRegion}. */
export interface RegionOptions {
  /** Size in bytes, rounded up to whole pages. */
  size: number;
  /** The region's permissions, PagePerm.READ with or without WRITE (default both). */
  perms?: number;
  /** NUMA node to take the frames from (default: the lowest node with free frames). */
  node?: number;
  /**
   * A region {@link ProcessMemory.resizeRegion} can grow and shrink while it is mapped (default
   * false). Each mapping of it is recorded in the mapping process (at most
   * `MAX_REGION_MAPS` = 170 pieces per process — a `protect` or `unmap` of part of a mapping
   * makes two or three — else `OutOfMemory`).
   */
  resizable?: boolean;
}

/** One page of process memory as the page tables describe it (see {@link ProcessMemory.pages}). */
export interface PageState {
  /** Frame number, −1 when nothing is mapped. */
  readonly frame: number;
  /** The page has an entry (present or lazily mapped). */
  readonly mapped: boolean;
  /** Hardware would translate it now (false until a lazily mapped page's first access). */
  readonly present: boolean;
  /** Writable without a fault. */
  readonly writable: boolean;
  /** Executable (the arch MMU's execute permission: no NX / XN bit). */
  readonly executable: boolean;
  /** Read-only copy-on-write: a write copies the page first (or takes it back when no one else maps it). */
  readonly copyOnWrite: boolean;
}

function checkAddress(va: unknown, what = 'va'): number {
  if (typeof va !== 'number' || !Number.isSafeInteger(va) || va < 0) throw new IpcError('InvalidArgument', `${what} must be a non-negative safe integer address, got ${String(va)}`);
  return va;
}

function checkLength(length: unknown, what = 'length', min = 1): number {
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < min || length > MAX_BYTES) throw new IpcError('InvalidArgument', `${what} must be an integer in [${min}, 2^40], got ${String(length)}`);
  return length;
}

function checkHandleArg(handle: unknown): number {
  if (typeof handle !== 'number') throw new IpcError('InvalidArgument', `handle must be a capability handle (a number), got ${typeof handle}`);
  if (handle >>> 0 !== handle) throw new IpcError('InvalidCapability', `handle ${String(handle)} names no capability`);
  return handle;
}

/** A fixed mapping address as a page number (`undefined`: none). */
function checkAt(at: unknown): number | undefined {
  if (at === undefined) return undefined;
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0 || at % FRAME_SIZE !== 0) throw new IpcError('InvalidArgument', `at must be a page-aligned address, got ${typeof at === 'number' ? at : typeof at}`);
  return at / FRAME_SIZE;
}

function checkPerms(perms: unknown): number {
  if (typeof perms !== 'number' || !Number.isInteger(perms) || (perms & ~(PagePerm.READ | PagePerm.WRITE | PagePerm.EXECUTE)) !== 0 || perms < 0) {
    throw new IpcError('InvalidArgument', `perms must be PagePerm.READ, WRITE and/or EXECUTE, got ${String(perms)}`);
  }
  return perms;
}

/**
 * A process's memory (`proc.memory`): anonymous ranges mapped through the arch MMU into the
 * process's own address space, read and written through it (every access translated, a bad
 * one an `AccessFault` with the address and the kind), zero-copy views straight over the
 * frames, and {@link SharedBuffer}s that messages carry by Move, Share or Copy.
 *
 * What the MMU protects and what it does not: every access made through this API is checked
 * against the process's page tables, so a moved page faults for its old owner and a shared
 * page copies before a write. A `Uint8Array` returned by {@link ProcessMemory.views} is a
 * window onto machine memory itself: it does not see later changes to the mapping (a view kept
 * after a Move still reaches the frame). Take views, use them, drop them; and remember that
 * every worker thread holds the whole machine memory, so none of this protects against code
 * that reaches into it directly.
 *
 * @example
 * ```ts
 * const va = proc.memory.map(64 * 1024);                 // 16 zeroed pages, READ|WRITE
 * for (const v of proc.memory.views(va, 64 * 1024, { write: true })) v.fill(7);
 * await proc.send(ch, { type: 1, data: new Uint8Array(0), buffer: proc.memory.buffer(va, 64 * 1024), transfer: 'move' });
 * proc.memory.read(va, 1);                               // AccessFault: the pages moved
 * ```
 */
export class ProcessMemory {
  readonly #k: KernelContext;
  readonly #p: number;
  readonly #pid: number;

  /** @internal Use `proc.memory`. */
  constructor(k: KernelContext, p: number, pid: number) {
    this.#k = k;
    this.#p = p;
    this.#pid = pid;
  }

  /**
   * Maps `length` bytes (rounded up to whole pages) of fresh zeroed memory with `perms`
   * (default READ | WRITE, EXECUTE allowed with READ) at a free address of this process's
   * window — or at `options.at` (page-aligned; every page of the range free, else
   * `AlreadyExists`; inside the window, else `InvalidArgument`) — and returns the address.
   * `OutOfMemory` (nothing changed) when frames or addresses run out.
   */
  map(length: number, perms: number = PagePerm.READ | PagePerm.WRITE, options?: { at?: number }): number {
    const n = checkLength(length);
    const pr = checkPerms(perms);
    const at = checkAt(options?.at);
    return this.#locked(() => this.#k.vm.map(this.#p, n, pr, at));
  }

  /** Unmaps whole pages `[va, va + length)` of memory this process mapped or received; their frames go back when no one else maps them. */
  unmap(va: number, length: number): void {
    const a = checkAddress(va);
    const n = checkLength(length);
    // `#locked` inlined: no closure per unmap (each round of a Share ping-pong unmaps one buffer).
    const k = this.#k;
    k.lock();
    try {
      k.processes.checkCaller(this.#p, this.#pid);
      k.vm.unmap(this.#p, a, n);
    } finally {
      k.unlock();
    }
  }

  /**
   * Changes the permissions of whole pages (a shared page stays copy-on-write when WRITE is
   * asked). A read-only page of a region mapping becomes writable again only when the mapping
   * was made with the right to write — a shared one through a capability with WRITE (to a
   * writable region), a private one with WRITE asked (it stays copy-on-write) — else
   * `PermissionDenied`, nothing changed. (A process remembers up to 127 such mappings apart;
   * adjacent ones count once, and the pages of any beyond cannot be raised again.)
   */
  protect(va: number, length: number, perms: number): void {
    const a = checkAddress(va);
    const n = checkLength(length);
    const pr = checkPerms(perms);
    this.#locked(() => this.#k.vm.protect(this.#p, a, n, pr));
  }

  /** Copies `length` bytes from `va` out into a new array (each page translated for a read). */
  read(va: number, length: number): Uint8Array {
    const out = new Uint8Array(checkLength(length, 'length', 0));
    this.readInto(va, out);
    return out;
  }

  /** Copies `target.length` bytes from `va` into `target` (its real length: own properties that shadow `length` or `set` are not consulted). */
  readInto(va: number, target: Uint8Array): void {
    const a = checkAddress(va);
    // Measured and copied through the intrinsics: no code of the caller's runs under the lock.
    const length = byteCount(target);
    if (length < 0) throw new IpcError('InvalidArgument', 'target must be a Uint8Array');
    const bytes = this.#k.mm.phys.bytes;
    this.#locked(() => this.#k.vm.access(this.#p, a, length, false, (off, n, at) => copyInto(target, bytes.subarray(off, off + n), at)));
  }

  /** Copies `data` to `va` (each page translated for a write: lazy pages installed, copy-on-write broken). */
  write(va: number, data: Uint8Array): void {
    const a = checkAddress(va);
    if (byteCount(data) < 0) throw new IpcError('InvalidArgument', 'data must be a Uint8Array');
    // A plain view of its real bytes: the copy under the lock runs none of the caller's own properties.
    const src = bytesView(data);
    const bytes = this.#k.mm.phys.bytes;
    this.#locked(() => this.#k.vm.access(this.#p, a, src.length, true, (off, n, at) => bytes.set(src.subarray(at, at + n), off)));
  }

  /**
   * Zero-copy views of `[va, va + length)`: one `Uint8Array` per physically contiguous run,
   * straight over the frames. With `write: true` the pages are translated for a write first
   * (so copy-on-write is broken before you write). See the class notes on what a view does not see.
   */
  views(va: number, length: number, options?: { write?: boolean }): Uint8Array[] {
    const a = checkAddress(va);
    const n = checkLength(length);
    const write = options?.write === true;
    const bytes = this.#k.mm.phys.bytes;
    const out: Uint8Array[] = [];
    this.#locked(() =>
      this.#k.vm.access(this.#p, a, n, write, (off, len, at) => {
        const view = bytes.subarray(off, off + len);
        viewRanges.set(view, { pid: this.#pid, va: a + at });
        out.push(view);
      }),
    );
    return out;
  }

  /** A {@link SharedBuffer} over `[va, va + length)` (checked when a message carries it). */
  buffer(va: number, length: number): SharedBuffer {
    return new SharedBuffer(checkAddress(va), checkLength(length));
  }

  /**
   * Frame numbers of `pages` pages from the page holding `va` (−1 where nothing is mapped): what
   * a test reads to prove that a transfer copied nothing.
   */
  frames(va: number, pages = 1): Int32Array {
    return this.#pages(va, pages).frames;
  }

  /**
   * The state of `count` pages from the page holding `va`, as the page tables say: the frame,
   * the permissions, whether hardware would translate it now (`present` — a lazily mapped
   * page is not, until its first access) and whether a write copies it first.
   *
   * @example
   * ```ts
   * const m = await proc.receive(ep);
   * proc.memory.pages(m.buffer!.va, 2); // [{ frame: 41, present: false, … }, …] — nothing touched yet
   * ```
   */
  pages(va: number, count = 1): PageState[] {
    const { frames, info } = this.#pages(va, count);
    return Array.from(frames, (frame, i) => {
      const f = info[i]!;
      const markers = f >> FrameInfo.MARKER_SHIFT;
      return { frame, mapped: (f & FrameInfo.MAPPED) !== 0, present: (f & FrameInfo.PRESENT) !== 0, writable: (f & PagePerm.WRITE) !== 0, executable: (f & PagePerm.EXECUTE) !== 0, copyOnWrite: (markers & PageMarker.COPY_ON_WRITE) !== 0 };
    });
  }

  /**
   * Creates a shared region of `size` bytes (zeroed) and returns it with a capability holding
   * MAP | READ | WRITE | SHARE | GRANT. `OutOfMemory` (nothing changed) when its node has too
   * few free frames.
   */
  createRegion(options: RegionOptions): SharedRegion {
    if (typeof options !== 'object' || options === null) throw new IpcError('InvalidArgument', 'options must be an object { size, perms?, node? }');
    const size = checkLength(options.size, 'size');
    const perms = options.perms === undefined ? PagePerm.READ | PagePerm.WRITE : checkPerms(options.perms);
    if ((perms & PagePerm.READ) === 0 || (perms & PagePerm.EXECUTE) !== 0) throw new IpcError('InvalidArgument', 'a region\'s perms are READ, with or without WRITE (EXECUTE is a mapping\'s: it needs READ)');
    const node = options.node;
    if (node !== undefined && (typeof node !== 'number' || !Number.isInteger(node) || node < 0)) throw new IpcError('InvalidArgument', `node must be a NUMA node number, got ${String(node)}`);
    if (options.resizable !== undefined && typeof options.resizable !== 'boolean') throw new IpcError('InvalidArgument', 'resizable must be a boolean');
    const pages = Math.ceil(size / FRAME_SIZE);
    const handle = this.#locked(() => {
      this.#k.regions.checkCreate(this.#p, pages, node);
      return this.#k.regions.create(this.#p, pages, perms, node, options.resizable === true);
    });
    return this.region(handle);
  }

  /**
   * Gives a resizable region `size` bytes (rounded up to whole pages; 0 allowed) in place,
   * while it is mapped: every mapping, in every process, shows the same frames afterwards. A
   * mapping may be longer than the region — its pages past the region's end fault
   * (`AccessFault`). Growing adds zeroed frames (from any node), which each mapping installs on
   * its first access to them; shrinking unmaps the pages past the new end from every mapping
   * (they fault again; private copies of them go too) and frees their frames once nothing maps
   * them. Needs a capability with WRITE and GRANT. `InvalidArgument` (not resizable, size),
   * `PermissionDenied`, `OutOfMemory` — each with nothing changed.
   */
  resizeRegion(handle: number | SharedRegion, size: number): void {
    const h = checkHandleArg(typeof handle === 'object' && handle !== null ? handle.handle : handle);
    const n = checkLength(size, 'size', 0);
    this.#locked(() => this.#k.regions.resize(this.#p, h, Math.ceil(n / FRAME_SIZE)));
  }

  /** The region a capability names (`InvalidCapability` unless it names a live region). */
  region(handle: number): SharedRegion {
    const h = checkHandleArg(handle);
    const info = this.#locked(() => this.#k.regions.info(this.#p, h));
    return Object.freeze({ handle: h, ...info });
  }

  /**
   * Maps the region a capability names into this process with `perms` — default everything the
   * region and the capability allow (READ needs the READ right, WRITE the WRITE right; MAP is
   * always needed) — or with {@link MapRegionOptions}: a byte `offset` and `length` (pages past
   * the region's end stay unmapped and fault) and `private` copy-on-write mappings. Returns the
   * address; unmap it with {@link ProcessMemory.unmap}.
   */
  mapRegion(handle: number | SharedRegion, perms?: number | MapRegionOptions): number {
    const h = checkHandleArg(typeof handle === 'object' && handle !== null ? handle.handle : handle);
    const o: MapRegionOptions = typeof perms === 'object' && perms !== null ? perms : { perms: perms as number | undefined };
    const pr = o.perms === undefined ? undefined : checkPerms(o.perms);
    if (o.offset !== undefined && (typeof o.offset !== 'number' || !Number.isSafeInteger(o.offset) || o.offset < 0 || o.offset % FRAME_SIZE !== 0)) {
      throw new IpcError('InvalidArgument', `offset must be a non-negative multiple of the page size, got ${String(o.offset)}`);
    }
    const length = o.length === undefined ? undefined : checkLength(o.length);
    if (o.private !== undefined && typeof o.private !== 'boolean') throw new IpcError('InvalidArgument', 'private must be a boolean');
    const at = checkAt(o.at);
    const view = { offset: (o.offset ?? 0) / FRAME_SIZE, pages: length === undefined ? undefined : Math.ceil(length / FRAME_SIZE), private: o.private === true, at };
    return this.#locked(() => this.#k.regions.map(this.#p, h, pr, view));
  }

  #pages(va: number, count: number): { frames: Int32Array; info: Int32Array } {
    const a = checkAddress(va);
    const n = checkLength(count, 'pages');
    return this.#locked(() => this.#k.vm.pages(this.#p, a - (a % FRAME_SIZE), n));
  }

  #locked<T>(fn: () => T): T {
    const k = this.#k;
    k.lock();
    try {
      k.processes.checkCaller(this.#p, this.#pid);
      return fn();
    } finally {
      k.unlock();
    }
  }
}
