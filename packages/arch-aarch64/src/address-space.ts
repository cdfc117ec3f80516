import { IpcError } from '@veridian/core';
import type { AccessKind, AddressSpace, FaultReason, PageMapping, PagePerms, VirtualAddress } from '@veridian/core';
import { Aarch64PageFault, Dfsc } from './fault.js';
import { checkDeviceExec, resolveAttributes, type Aarch64MapOptions } from './map-options.js';
import { checkLevel, descriptorWord, setAccessFlags, writeTableControls } from './table-access.js';
import type { TableAttributes } from './table-descriptor.js';
import {
  LO_NG,
  LO_VALID,
  leafAddress,
  leafHi,
  leafLo,
  leafState,
  levelOfPageSize,
  levelSize,
  markersOf,
} from './page-table-entry.js';
import { formatDump } from './dump.js';
import { checkNoSplit, leavesOf, lookupLeaf, mappingOf, occupiedAt, stableRead, walkPath } from './table-read.js';
import type { MmuContext } from './mmu-context.js';
import { Shootdown } from './shared-state.js';
import { clearRange, collectTree, countTables, installRange, retireTables, visitLeaves } from './page-table.js';
import { VA_LIMIT, vaToNumber } from './address.js';
import { mapFrameRange, readFrameRange, unmapFrameRange } from './frame-range.js';
import { F_ACCESS_FLAG, F_INVALID, F_LAZY, F_PERMISSION, readAnnounced, walkAndFill } from './walker.js';

export type { Aarch64MapOptions } from './map-options.js';

const PAGE = 4096;
const PERM_MASK = 0xf;
const MARKER_MASK = 0x3;
function reasonOf(code: number): FaultReason {
  return code === F_PERMISSION ? 'permission' : code === F_LAZY ? 'lazy' : code === F_INVALID ? 'invalid-address' : code === F_ACCESS_FLAG ? 'access-flag' : 'not-present';
}

function isAccess(access: number): boolean {
  return access === 1 || access === 2 || access === 4;
}

/**
 * One AArch64 address space: a TTBR0_EL1 translation-table tree (VMSAv8-64 stage 1, 4 KiB
 * granule, 48-bit VA, levels 0–3) in machine memory, tagged by a 16-bit ASID.
 *
 * Table updates take the shared mutation lock and bracket themselves with a seqlock, so
 * lock-free walkers (translate) on any thread retry instead of using a half-written entry.
 * Hardware updates (AF, dirty) are compare-and-swaps on the descriptor's low word.
 */
export class Aarch64AddressSpace implements AddressSpace {
  /** ASID tagging this space's non-global TLB entries. */
  readonly asid: number;
  /** Physical address of the level-0 table (the TTBR0_EL1 base address). */
  readonly root: number;
  readonly #ctx: MmuContext;
  #destroyed = false;

  /** @internal Wraps an existing root table; use `Mmu.createAddressSpace` / `attachAddressSpace`. */
  constructor(ctx: MmuContext, root: number, asid: number) {
    this.#ctx = ctx;
    this.root = root;
    this.asid = asid;
  }

  #live(): void {
    if (this.#destroyed || !this.#ctx.state.asidInUse(this.asid)) throw new IpcError('InvalidState', `address space (asid ${this.asid}) was destroyed`);
  }

  #range(va: VirtualAddress, length: number, align: number): number {
    const v = vaToNumber(va);
    if (v < 0) throw new IpcError('InvalidArgument', `0x${va.toString(16)} is outside the TTBR0 range [0, 2^48)`);
    if (!Number.isSafeInteger(length) || length < 0) throw new IpcError('InvalidArgument', `bad length ${length}`);
    if (v % align !== 0 || length % align !== 0) throw new IpcError('InvalidArgument', `range 0x${v.toString(16)}+0x${length.toString(16)} is not ${align}-byte aligned`);
    if (v + length > VA_LIMIT) throw new IpcError('InvalidArgument', 'range runs past the TTBR0 range');
    return v;
  }

  /**
   * Maps `[va, va + length)` to `[pa, pa + length)` with leaves of `options.pageSize` (4 KiB
   * pages at level 3, 2 MiB blocks at level 2, 1 GiB blocks at level 1). Entries start with
   * AF = 0 and, when writable, writable-clean (DBM = 1, AP[2] = 1). All or nothing:
   * `AlreadyExists` on overlap, `OutOfMemory` when a table frame is missing, tables and
   * frames as before either way.
   */
  map(va: VirtualAddress, pa: number, length: number, perms: PagePerms, options: Aarch64MapOptions = {}): void {
    this.#live();
    const pageSize = options.pageSize ?? PAGE;
    const level = levelOfPageSize(pageSize);
    if (level < 0) throw new IpcError('InvalidArgument', `unsupported page size ${pageSize}`);
    const start = this.#range(va, length, pageSize);
    if (!Number.isSafeInteger(pa) || pa < 0 || pa % pageSize !== 0 || pa + length > VA_LIMIT) {
      throw new IpcError('InvalidArgument', `physical address 0x${pa.toString(16)} is misaligned or beyond 48 bits`);
    }
    if (!Number.isInteger(perms) || (perms & ~PERM_MASK) !== 0) throw new IpcError('InvalidArgument', `bad permissions 0x${perms.toString(16)}`);
    const markers = options.markers ?? 0;
    if (!Number.isInteger(markers) || (markers & ~MARKER_MASK) !== 0) throw new IpcError('InvalidArgument', `bad markers 0x${markers.toString(16)}`);
    const attrs = resolveAttributes(options, perms, this.#ctx.mair);
    if (length === 0) return;
    const state = this.#ctx.state;
    state.lock();
    try {
      for (let off = 0; off < length; off += pageSize) {
        if (occupiedAt(this.#ctx.phys, this.root, start + off, level)) {
          throw new IpcError('AlreadyExists', `0x${(start + off).toString(16)} overlaps an existing mapping`);
        }
      }
      this.#writing(() => {
      installRange(this.#ctx.phys, state.reclaim, this.root, start, pa, length, pageSize, level, perms, markers, options.global ?? false, attrs);
      });
    } finally {
      state.unlock();
    }
    // No shootdown: the entries were invalid, and TLBs never cache invalid entries.
  }

  /**
   * Removes every leaf (including LAZY entries) in the range, shoots the range down on every
   * CPU, then retires tables left empty (the root stays; freed once no walk can be inside
   * them). Holes are ignored; splitting a block is `InvalidArgument` with nothing changed.
   */
  unmap(va: VirtualAddress, length: number): void {
    this.#live();
    const start = this.#range(va, length, PAGE);
    if (length === 0) return;
    const end = start + length;
    const ctx = this.#ctx;
    const state = ctx.state;
    state.lock();
    try {
      checkNoSplit(this.#ctx.phys, this.root, start, end);
      let valid = 0;
      this.#writing(() => {
      clearRange(ctx.phys, this.root, 0, 0, start, end, (_va, _level, _w, lo) => {
        if (lo & LO_VALID) valid++;
      }, ctx.unlinked);
      });
      if (valid > 0) ctx.shootdown(Shootdown.Range, this.asid, start / PAGE, end / PAGE, valid);
      // Only now, with the shootdown posted, may the emptied tables go (after the grace period).
      retireTables(ctx.phys, state.reclaim, ctx.unlinked);
    } finally {
      ctx.unlinked.length = 0;
      state.unlock();
    }
  }

  /**
   * Re-encodes every leaf in the range with `perms` (and `markers` when given), keeping the
   * output address, AF, dirty state and nG; then shoots the range down. Clearing LAZY makes
   * an entry valid; setting it makes a valid entry invalid. Holes are ignored; splitting a
   * block is `InvalidArgument` with nothing changed.
   */
  protect(va: VirtualAddress, length: number, perms: PagePerms, markers?: number): void {
    this.#live();
    const start = this.#range(va, length, PAGE);
    if (!Number.isInteger(perms) || (perms & ~PERM_MASK) !== 0) throw new IpcError('InvalidArgument', `bad permissions 0x${perms.toString(16)}`);
    if (markers !== undefined && (!Number.isInteger(markers) || (markers & ~MARKER_MASK) !== 0)) {
      throw new IpcError('InvalidArgument', `bad markers 0x${markers.toString(16)}`);
    }
    if (length === 0) return;
    const end = start + length;
    const ctx = this.#ctx;
    const u32 = ctx.u32;
    const state = ctx.state;
    state.lock();
    try {
      checkNoSplit(this.#ctx.phys, this.root, start, end);
      visitLeaves(ctx.phys, this.root, 0, 0, start, end, (_va, _level, _w, lo) => checkDeviceExec(ctx.mair, (lo >>> 2) & 7, perms));
      let changed = 0;
      this.#writing(() => {
      visitLeaves(ctx.phys, this.root, 0, 0, start, end, (_va, level, w, lo, hi) => {
        const pa = leafAddress(lo, hi, level);
        const mk = markers ?? markersOf(hi);
        // A walker on another thread may set AF or dirty concurrently: compare-and-swap
        // the low word so that update is carried over, never lost. The old high word is
        // only ever written under the lock, so it is still `hi`.
        for (let cur = lo; ; ) {
          const st = leafState(cur, hi);
          Atomics.store(u32, w + 1, leafHi(pa, perms, mk, st));
          const seen = Atomics.compareExchange(u32, w, cur, leafLo(pa, perms, mk, level, st));
          if (seen === cur) break;
          cur = seen;
        }
        if (lo & LO_VALID) changed++;
      });
      });
      if (changed > 0) ctx.shootdown(Shootdown.Range, this.asid, start / PAGE, end / PAGE, changed);
    } finally {
      state.unlock();
    }
  }

  /**
   * Maps `count` 4 KiB pages from `va` onto `frames[from..from + count)` (frame numbers of
   * this machine's memory, any order) with `perms`, `markers` and `map`'s default attributes,
   * in one pass over the tables (see the `AddressSpace` contract). All or nothing:
   * `InvalidArgument` for any bad argument, `AlreadyExists` (a LAZY entry counts),
   * `OutOfMemory`; no shootdown.
   */
  mapFrames(va: VirtualAddress, frames: ArrayLike<number>, from: number, count: number, perms: PagePerms, markers = 0): void {
    this.#live();
    mapFrameRange(this.#ctx, this.root, va, frames, from, count, perms, markers);
  }

  /**
   * Unmaps `count` 4 KiB pages from `va`, writing each page's frame to `out[at + i]` (−1 for
   * a hole); one range shootdown when any page was present; emptied tables are retired after
   * it. Splitting a block is `InvalidArgument` with nothing changed. Returns the pages mapped.
   */
  unmapFrames(va: VirtualAddress, count: number, out: Int32Array, at = 0): number {
    this.#live();
    return unmapFrameRange(this.#ctx, this.root, this.asid, va, count, out, at);
  }

  /** Each page's frame (−1 for a hole) and `FrameInfo` word, changing nothing; returns the pages mapped. */
  readFrames(va: VirtualAddress, count: number, frames: Int32Array, info: Int32Array, at = 0): number {
    this.#live();
    return readFrameRange(this.#ctx, this.root, va, count, frames, info, at);
  }

  /**
   * Translates an access by `cpu` at EL0 (`user`) or EL1. A TLB hit for a number `va`
   * costs one atomic load (the shootdown epoch) and one probe, and allocates nothing. A
   * miss walks the tables, sets AF (and, for a write to a writable-clean page, clears
   * AP[2]: the dirty state) and refills the TLB. Faults run the MMU's handlers and retry
   * once if one repaired the mapping, else throw {@link Aarch64PageFault}.
   */
  translate(va: VirtualAddress, access: AccessKind, cpu = 0, user = false): number {
    const ctx = this.#ctx;
    ctx.sync();
    if (typeof va === 'number' && va >= 0 && va < VA_LIMIT && Math.floor(va) === va && isAccess(access)) {
      const pa = ctx.tlb.lookup(cpu, this.asid, va, user ? access << 3 : access);
      if (pa >= 0) {
        ctx.stats.hits++;
        return pa;
      }
    }
    return this.#translateSlow(va, access, cpu, user);
  }

  #translateSlow(va: VirtualAddress, access: AccessKind, cpu: number, user: boolean): number {
    this.#live();
    if (!isAccess(access)) throw new IpcError('InvalidArgument', `bad access kind ${access}`);
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.#ctx.cpuCount) throw new IpcError('InvalidArgument', `no cpu ${cpu}`);
    const v = vaToNumber(va);
    let r = v < 0 ? F_INVALID : walkAndFill(this.#ctx, this.root, this.asid, v, access, cpu, user);
    if (r >= 0) return r;
    const fault = this.#fault(va, v, access, user, r, cpu);
    if (!this.#ctx.runHandlers(fault, this)) throw fault;
    r = v < 0 ? F_INVALID : walkAndFill(this.#ctx, this.root, this.asid, v, access, cpu, user);
    if (r >= 0) return r;
    throw this.#fault(va, v, access, user, r, cpu);
  }

  #fault(va: VirtualAddress, v: number, access: AccessKind, user: boolean, code: number, cpu: number): Aarch64PageFault {
    if (code === F_INVALID) return new Aarch64PageFault(va, access, user, 'invalid-address', Dfsc.translation(0));
    let mapping: PageMapping | undefined;
    if (code === F_PERMISSION || code === F_LAZY || code === F_ACCESS_FLAG) {
      // Still part of the walk (tables read for the fault record), not of the handlers: announced.
      mapping = readAnnounced(this.#ctx, cpu, () => lookupLeaf(this.#ctx.phys, this.root, v));
    }
    return new Aarch64PageFault(va, access, user, reasonOf(code), this.#ctx.faultStatus, mapping);
  }

  /** Runs `write` as a table mutation: readers of the seqlock retry across it. Lock held. */
  #writing<T>(write: () => T): T {
    const state = this.#ctx.state;
    state.beginWrite();
    try {
      return write();
    } finally {
      state.endWrite();
    }
  }

  /** Runs `read` until no table mutation overlapped it (the table seqlock). */
  #stable<T>(read: () => T): T {
    return stableRead(this.#ctx.u32, this.#ctx.genIndex, read);
  }

  /** The leaf mapping covering `va` (no TLB, no side effects); `undefined` if none or outside TTBR0. */
  lookup(va: VirtualAddress): PageMapping | undefined {
    const v = vaToNumber(va);
    if (v < 0) return undefined;
    return this.#stable(() => lookupLeaf(this.#ctx.phys, this.root, v));
  }

  /** Every leaf mapping (LAZY entries included, with `present: false`), in address order. */
  mappings(): PageMapping[] {
    return this.#stable(() => leavesOf(this.#ctx.phys, this.root)).map(mappingOf);
  }

  /** Raw descriptors read along the walk for `va`, level 0 first, ending at the leaf or the first invalid entry; `[]` outside TTBR0. */
  walk(va: VirtualAddress): bigint[] {
    const v = vaToNumber(va);
    if (v < 0) return [];
    return this.#stable(() => walkPath(this.#ctx.phys, this.root, v));
  }

  /** Table frames of this space, root included. */
  tableFrameCount(): number {
    return this.#stable(() => countTables(this.#ctx.phys, this.root, 0));
  }

  /** Linux-ptdump-style listing: merged ranges with size, level and attribute columns. */
  dump(): string {
    const root = `0x${this.root.toString(16).padStart(16, '0')}`;
    return formatDump(`aarch64 TTBR0_EL1 asid=${this.asid} root=${root}`, this.#stable(() => leavesOf(this.#ctx.phys, this.root)), this.#ctx.mair);
  }

  /**
   * The raw descriptor at `level` (0–3) on the path to `va`, or `undefined` when a table
   * above it is missing or a block ends the path higher up (or `va` is outside TTBR0).
   *
   * @example
   * ```ts
   * space.readDescriptor(0x40_0000, 0); // 0x0800000000004003n for a level-0 table with PXNTable
   * ```
   */
  readDescriptor(va: VirtualAddress, level: number): bigint | undefined {
    checkLevel(level, 0);
    const v = vaToNumber(va);
    if (v < 0) return undefined;
    return this.#stable(() => {
      const w = descriptorWord(this.#ctx.phys, this.root, v, level);
      return w < 0 ? undefined : (BigInt(this.#ctx.u32[w + 1]!) << 32n) | BigInt(this.#ctx.u32[w]!);
    });
  }

  /**
   * Replaces the hierarchical controls (APTable, UXNTable, PXNTable, NSTable) of the table
   * descriptor at `level` (0–2) above `va`, then invalidates every CPU's TLB for the range it
   * covers (a change to APTable needs more than one `tlbi vae1`, as the Arm ARM notes).
   * `InvalidArgument` when there is no table descriptor there.
   *
   * @example
   * ```ts
   * space.setTableAttributes(0x40_0000, 1, { apTable: 0b10 }); // no writes anywhere in that 1 GiB
   * ```
   */
  setTableAttributes(va: VirtualAddress, level: number, attrs: TableAttributes): void {
    this.#live();
    const v = vaToNumber(va);
    if (v < 0) throw new IpcError('InvalidArgument', `0x${va.toString(16)} is outside the TTBR0 range [0, 2^48)`);
    const ctx = this.#ctx;
    const state = ctx.state;
    state.lock();
    try {
      this.#writing(() => {
      writeTableControls(ctx.phys, this.root, v, level, attrs);
      });
      const span = levelSize(level);
      const first = v - (v % span);
      ctx.shootdown(Shootdown.Range, this.asid, first / PAGE, (first + span) / PAGE, 1);
    } finally {
      state.unlock();
    }
  }

  /**
   * Sets AF on every valid leaf in `[va, va + length)`: what a kernel does to resolve an
   * access flag fault when the MMU runs with `hardwareAccessFlag: false` (TCR_EL1.HA = 0).
   * No shootdown is needed: a TLB never holds an entry whose AF is 0.
   *
   * @example
   * ```ts
   * mmu.onFault((f, s) => f.reason === 'access-flag' && (s as Aarch64AddressSpace).setAccessFlag(f.mapping!.va, f.mapping!.size) > 0);
   * ```
   */
  setAccessFlag(va: VirtualAddress, length: number): number {
    return this.setAccessed(va, length);
  }

  /** The contract's name for {@link Aarch64AddressSpace.setAccessFlag} (the kernel's fault handler calls it on an access flag fault). */
  setAccessed(va: VirtualAddress, length: number): number {
    this.#live();
    const start = this.#range(va, length, PAGE);
    const state = this.#ctx.state;
    state.lock();
    try {
      return this.#writing(() => setAccessFlags(this.#ctx.phys, this.root, start, start + length));
    } finally {
      state.unlock();
    }
  }

  /**
   * Flushes the ASID from every TLB (everything, if the space had global entries, which
   * `tlbi aside1` would not remove), then retires every table frame (never the mapped
   * frames) and returns the ASID for reuse. Later calls on this space throw `InvalidState`.
   */
  destroy(): void {
    this.#live();
    const ctx = this.#ctx;
    const state = ctx.state;
    state.lock();
    try {
      let global = false;
      const tables = ctx.unlinked;
      collectTree(ctx.phys, this.root, 0, 0, (_va, _level, _w, lo) => {
        if (lo & LO_VALID && !(lo & LO_NG)) global = true;
      }, tables);
      ctx.shootdown(global ? Shootdown.All : Shootdown.Asid, this.asid, 0, 0, 0);
      // The ASID flush is posted: the tables (zeroed, root included) may go after the grace period.
      this.#writing(() => retireTables(ctx.phys, state.reclaim, tables));
      state.freeAsid(this.asid);
      this.#destroyed = true;
    } finally {
      ctx.unlinked.length = 0;
      state.unlock();
    }
  }
}
