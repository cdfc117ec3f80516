import { AccessKind, IpcError, ShootdownKind, checkCpu, formatMappings } from '@veridian/core';
import type { AddressSpace, FaultReason, MapOptions, PageMapping, PagePerms, VirtualAddress } from '@veridian/core';
import { encodeSatp, fromLinear, halfSpan, indexAt, levelSpan, toLinear } from './address.js';
import { Riscv64PageFault } from './fault.js';
import { FrameRange } from './frame-range.js';
import type { MmuContext } from './mmu-context.js';
import { PAGE, checkWhole, missingTables, clearLeaf, collectMappings, countTables, mappingOf, retireTables, storeEntry, visitLeaves } from './page-table.js';
import { NON_LEAF_RESERVED, PteBit, RESERVED_HI, RWX, entryAddress, entryToBigInt, isSoftwareLeaf, leafFlags, leafMarkers, ppnOf } from './page-table-entry.js';
import { TlbRight } from './tlb.js';

/** Page sizes by leaf level: 4 KiB (0), 2 MiB (1), 1 GiB (2). */
const LEVEL_OF_SIZE: ReadonlyMap<number, number> = new Map([
  [PAGE, 0],
  [2 ** 21, 1],
  [2 ** 30, 2],
]);
const LEVEL_NAMES: Readonly<Record<number, string>> = { [PAGE]: 'pte', [2 ** 21]: 'pmd', [2 ** 30]: 'pud' };
/** Highest physical address + 1 an entry can name: a 44-bit PPN (§4.4.1). */
const PA_LIMIT = 2 ** 56;

const invalidArgument = (why: string): never => {
  throw new IpcError('InvalidArgument', why);
};

/** Rights of a leaf's low word as the TLB caches them. */
function tlbRights(lo: number): number {
  return ((lo >>> 1) & 0xf) | (lo & PteBit.D ? TlbRight.D : 0);
}

/** What a walk that faulted found: the reason, the level, the leaf (scratch, read after the walk's bracket closes). */
interface WalkFault {
  reason: FaultReason;
  level: number;
  mapping: PageMapping | undefined;
}

/**
 * An Sv39/Sv48 address space: a root table in machine memory tagged by an ASID (what `satp`
 * would hold, see {@link Riscv64AddressSpace.satp}). Every mutating call checks everything
 * (and allocates every table it needs) before its first write, so it completes or throws with
 * the tables as they were; unmap and protect shoot the range down on every hart of every
 * attached MMU instance through core's shootdown ring. Tables an unmap empties are retired to
 * core's `TableReclaim` after the shootdown, never freed under a walk in progress.
 */
export class Riscv64AddressSpace implements AddressSpace {
  readonly #ctx: MmuContext;
  readonly root: number;
  readonly asid: number;
  #destroyed = false;
  /** Tables along the current walk, by level (scratch; no allocation per call). */
  readonly #path: Float64Array;
  /** Table frames an unmap unlinked, retired once its shootdown is posted (reused). */
  readonly #retired: number[] = [];
  readonly #range: FrameRange;
  readonly #walkFault: WalkFault = { reason: 'not-present', level: 0, mapping: undefined };

  /** @internal Use `Riscv64Mmu.createAddressSpace` / `attachAddressSpace`. */
  constructor(ctx: MmuContext, root: number, asid: number) {
    this.#ctx = ctx;
    this.root = root;
    this.asid = asid;
    this.#path = new Float64Array(ctx.mode.levels);
    this.#range = new FrameRange(ctx);
  }

  /** The `satp` value that selects this space: MODE (8 = Sv39, 9 = Sv48), ASID, root PPN. */
  get satp(): bigint {
    return encodeSatp(this.#ctx.mode, this.asid, this.root);
  }

  #live(): void {
    if (this.#destroyed) throw new IpcError('InvalidState', 'the address space was destroyed');
  }

  /** Linear start of `[va, va + length)`, checked to be canonical, in one half, and `align`-aligned. */
  #span(va: VirtualAddress, length: number, align: number): number {
    const mode = this.#ctx.mode;
    const lin = toLinear(va, mode);
    if (lin < 0) throw new Riscv64PageFault(va, AccessKind.Read, false, 'invalid-address', mode.levels - 1);
    if (!Number.isSafeInteger(length) || length <= 0 || length % align !== 0) invalidArgument(`length ${length} is not a positive multiple of ${align}`);
    if (lin % align !== 0) invalidArgument(`address 0x${BigInt(va).toString(16)} is not ${align}-aligned`);
    const half = halfSpan(mode);
    if (lin < half ? lin + length > half : lin + length > 2 * half) invalidArgument('the range crosses the end of its half of the address space');
    return lin;
  }

  map(va: VirtualAddress, pa: number, length: number, perms: PagePerms, options: MapOptions = {}): void {
    this.#live();
    const ctx = this.#ctx;
    const pageSize = options.pageSize ?? PAGE;
    const leafLevel = LEVEL_OF_SIZE.get(pageSize);
    if (leafLevel === undefined) invalidArgument(`page size ${pageSize} is not one of 4 KiB, 2 MiB, 1 GiB`);
    const lin = this.#span(va, length, pageSize);
    if (!Number.isSafeInteger(pa) || pa < 0 || pa % pageSize !== 0 || pa + length > PA_LIMIT) invalidArgument(`physical address ${pa} is not ${pageSize}-aligned below 2^56`);
    if (!Number.isInteger(perms) || perms < 0 || perms > 15) invalidArgument(`perms ${perms} are not PagePerm bits`);
    const markers = options.markers ?? 0;
    if (!Number.isInteger(markers) || markers < 0 || markers > 3) invalidArgument(`markers ${markers} are not PageMarker bits`);
    const flags = leafFlags(perms, markers, options.global ?? false);
    const top = ctx.mode.levels - 1;
    const u = ctx.u32;
    ctx.state.lock();
    try {
      // Check every page and count the tables to create, before any write.
      const frames = ctx.phys.allocFrames(missingTables(ctx, this.root, lin, length, pageSize, leafLevel!));
      let next = 0;
      for (let off = 0; off < length; off += pageSize) {
        const v = lin + off;
        let table = this.root;
        for (let level = top; level > leafLevel!; level--) {
          const w = ctx.entryIndex(table, indexAt(v, level));
          if (u[w] === 0 && u[w + 1] === 0) storeEntry(ctx, w, frames[next++]! * PAGE, PteBit.V);
          table = entryAddress(u[w]!, u[w + 1]!);
        }
        storeEntry(ctx, ctx.entryIndex(table, indexAt(v, leafLevel!)), pa + off, flags);
      }
    } finally {
      ctx.state.unlock();
    }
  }

  mapFrames(va: VirtualAddress, frames: ArrayLike<number>, from: number, count: number, perms: PagePerms, markers?: number): void {
    this.#live();
    const range = this.#range;
    const lin = range.range(va, count);
    const flags = range.checkMap(frames, from, count, perms, markers);
    const state = this.#ctx.state;
    state.lock();
    try {
      range.map(this.root, lin, frames, from, count, flags);
    } finally {
      state.unlock();
    }
  }

  unmapFrames(va: VirtualAddress, count: number, out: Int32Array, at = 0): number {
    this.#live();
    const range = this.#range;
    const lin = range.range(va, count);
    range.checkOut(out, at, count, 'out');
    const state = this.#ctx.state;
    state.lock();
    try {
      return range.unmap(this.root, this.asid, lin, count, out, at);
    } finally {
      state.unlock();
    }
  }

  readFrames(va: VirtualAddress, count: number, frames: Int32Array, info: Int32Array, at = 0): number {
    const range = this.#range;
    const lin = range.range(va, count);
    range.checkOut(frames, at, count, 'frames');
    range.checkOut(info, at, count, 'info');
    if (this.#destroyed) {
      frames.fill(-1, at, at + count);
      info.fill(0, at, at + count);
      return 0;
    }
    // Under the lock: a consistent snapshot of the range, and no table retired mid-read.
    const state = this.#ctx.state;
    state.lock();
    try {
      return range.read(this.root, lin, count, frames, info, at);
    } finally {
      state.unlock();
    }
  }

  #shootdown(lin: number, length: number): void {
    const ctx = this.#ctx;
    ctx.state.post(ShootdownKind.Range, this.asid, lin / PAGE, length / PAGE);
    ctx.tlb.stats.shootdowns++;
  }

  unmap(va: VirtualAddress, length: number): void {
    this.#live();
    const ctx = this.#ctx;
    const lin = this.#span(va, length, PAGE);
    const retired = this.#retired;
    ctx.state.lock();
    try {
      checkWhole(ctx, this.root, this.#path, lin, length);
      let cleared = false;
      retired.length = 0;
      visitLeaves(ctx, this.root, this.#path, lin, length, (w, level, start) => {
        clearLeaf(ctx, this.#path, w, level, start, retired);
        cleared = true;
      });
      if (cleared) {
        this.#shootdown(lin, length);
        // After the shootdown: a walker may still be reading a table it reached before the unlink.
        for (const frame of retired) ctx.state.reclaim.retire(frame);
      }
    } finally {
      retired.length = 0;
      ctx.state.unlock();
    }
  }

  protect(va: VirtualAddress, length: number, perms: PagePerms, markers?: number): void {
    this.#live();
    const ctx = this.#ctx;
    const lin = this.#span(va, length, PAGE);
    if (!Number.isInteger(perms) || perms < 0 || perms > 15) invalidArgument(`perms ${perms} are not PagePerm bits`);
    if (markers !== undefined && (!Number.isInteger(markers) || markers < 0 || markers > 3)) invalidArgument(`markers ${markers} are not PageMarker bits`);
    const u = ctx.u32;
    ctx.state.lock();
    try {
      checkWhole(ctx, this.root, this.#path, lin, length);
      let changed = false;
      visitLeaves(ctx, this.root, this.#path, lin, length, (w) => {
        // A compare-and-swap loop: a walk on another hart may set A or D in between (lock-free
        // walks do not take the lock), and that update must not be lost.
        for (let lo = u[w]!; ; ) {
          const global = (lo & PteBit.G) !== 0 && ((lo & PteBit.V) !== 0 || ((lo & PteBit.RSW1) !== 0 && (lo & RWX) !== 0));
          const f = leafFlags(perms, markers ?? leafMarkers(lo), global);
          // Keep A and D of a page that stays valid; the PPN is untouched.
          const keep = f & PteBit.V ? lo & (PteBit.A | PteBit.D) : 0;
          const seen = Atomics.compareExchange(ctx.i32, w, lo | 0, ((lo & ~0x3ff) | f | keep) | 0) >>> 0;
          if (seen === lo >>> 0) break;
          lo = seen;
        }
        changed = true;
      });
      if (changed) this.#shootdown(lin, length);
    } finally {
      ctx.state.unlock();
    }
  }

  translate(va: VirtualAddress, access: AccessKind, cpu = 0, user = false): number {
    return this.#translate(va, access, cpu, user, true);
  }

  #allowed(r: number, access: AccessKind, user: boolean): boolean {
    const ctx = this.#ctx;
    if (access === AccessKind.Execute) {
      if ((r & TlbRight.X) === 0) return false;
      // A supervisor never executes from a U page (§4.3.1, SUM does not apply to fetches).
      return user ? (r & TlbRight.U) !== 0 : (r & TlbRight.U) === 0;
    }
    if (access === AccessKind.Write) {
      if ((r & TlbRight.W) === 0) return false;
    } else if ((r & TlbRight.R) === 0 && !(ctx.mxr && (r & TlbRight.X) !== 0)) return false;
    return user ? (r & TlbRight.U) !== 0 : (r & TlbRight.U) === 0 || ctx.sum;
  }

  #translate(va: VirtualAddress, access: AccessKind, cpu: number, user: boolean, retry: boolean): number {
    const ctx = this.#ctx;
    const mode = ctx.mode;
    const tlb = ctx.tlb;
    checkCpu(cpu, tlb.cpus);
    const lin = toLinear(va, mode);
    if (lin < 0) return this.#fault(va, access, user, 'invalid-address', mode.levels - 1, undefined, cpu, retry);
    ctx.reader.sync(cpu);
    const vpn = Math.floor(lin / PAGE);
    const r = tlb.lookup(cpu, this.asid, vpn, ctx.paOut);
    if (r >= 0 && this.#allowed(r, access, user) && (access !== AccessKind.Write || (r & TlbRight.D) !== 0)) {
      tlb.count(true);
      return ctx.paOut[0]! + (lin % PAGE);
    }
    tlb.count(false);
    // The walk reads tables no lock protects: announce it so none is freed under it. The
    // fault handlers run outside the bracket (they may map and unmap).
    const reclaim = ctx.state.reclaim;
    reclaim.enter(cpu);
    let pa: number;
    try {
      pa = this.#walk(lin, vpn, access, cpu, user);
    } finally {
      reclaim.exit(cpu);
    }
    if (pa >= 0) return pa;
    const f = this.#walkFault;
    const mapping = f.mapping;
    f.mapping = undefined;
    return this.#fault(va, access, user, f.reason, f.level, mapping, cpu, retry);
  }

  /** The walk of a TLB miss: fills the TLB and returns the physical address, or -1 with the fault in `#walkFault`. */
  #walk(lin: number, vpn: number, access: AccessKind, cpu: number, user: boolean): number {
    const ctx = this.#ctx;
    const u = ctx.u32;
    const offset = lin % PAGE;
    let table = this.root;
    walk: for (let level = ctx.mode.levels - 1; level >= 0; level--) {
      const w = ctx.entryIndex(table, indexAt(lin, level));
      const lo = u[w]!;
      const hi = u[w + 1]!;
      if ((lo & PteBit.V) === 0) {
        if (isSoftwareLeaf(lo, hi)) return this.#faulted(lo & PteBit.RSW1 ? 'lazy' : 'permission', level, mappingOf(ctx.mode, lin, level, lo, hi));
        return this.#faulted('not-present', level, undefined);
      }
      if ((hi & RESERVED_HI) !== 0 || ((lo & PteBit.W) !== 0 && (lo & PteBit.R) === 0)) return this.#faulted('reserved-bit', level, undefined);
      if ((lo & RWX) === 0) {
        // A pointer to the next table; at level 0 there is none (§4.3.2 step 4). Its D, A and U
        // bits are reserved for future standard use (§4.3.1): set, they are a page fault (step 3).
        if ((lo & NON_LEAF_RESERVED) !== 0) return this.#faulted('reserved-bit', level, undefined);
        const next = entryAddress(lo, hi);
        if (level === 0 || !ctx.phys.isInstalled(next)) return this.#faulted('reserved-bit', level, undefined);
        table = next;
        continue;
      }
      // A leaf. A megapage's PPN must be aligned to its size (§4.3.2 step 6).
      if (level > 0 && ppnOf(lo, hi) % (levelSpan(level) / 4096) !== 0) return this.#faulted('reserved-bit', level, undefined);
      if (!this.#allowed(tlbRights(lo), access, user)) return this.#faulted('permission', level, mappingOf(ctx.mode, lin, level, lo, hi));
      // Hardware A/D update (Svadu behaviour): set A, and D on a store, atomically with the PTE
      // load (§4.3.2 step 7: no store to the PTE in between may be lost) — a compare-and-swap
      // against the word this walk read; when another hart changed the entry, walk again.
      const need = PteBit.A | (access === AccessKind.Write ? PteBit.D : 0);
      let now = lo;
      if ((lo & need) !== need) {
        now = (lo | need) >>> 0;
        if (Atomics.compareExchange(ctx.i32, w, lo | 0, now | 0) !== (lo | 0)) {
          table = this.root;
          level = ctx.mode.levels;
          continue walk;
        }
      }
      const piece = entryAddress(lo, hi) + (lin % levelSpan(level)) - offset;
      ctx.tlb.fill(cpu, this.asid, vpn, piece, tlbRights(now), (lo & PteBit.G) !== 0, level);
      return piece + offset;
    }
    return this.#faulted('not-present', 0, undefined);
  }

  #faulted(reason: FaultReason, level: number, mapping: PageMapping | undefined): number {
    const f = this.#walkFault;
    f.reason = reason;
    f.level = level;
    f.mapping = mapping;
    return -1;
  }

  #fault(va: VirtualAddress, access: AccessKind, user: boolean, reason: FaultReason, level: number, mapping: PageMapping | undefined, cpu: number, retry: boolean): number {
    const fault = new Riscv64PageFault(va, access, user, reason, level, mapping);
    if (retry && reason !== 'invalid-address' && this.#ctx.handlers.repair(fault, this)) return this.#translate(va, access, cpu, user, false);
    throw fault;
  }

  lookup(va: VirtualAddress): PageMapping | undefined {
    const ctx = this.#ctx;
    const lin = toLinear(va, ctx.mode);
    if (lin < 0 || this.#destroyed) return undefined;
    const u = ctx.u32;
    let table = this.root;
    for (let level = ctx.mode.levels - 1; level >= 0; level--) {
      const w = ctx.entryIndex(table, indexAt(lin, level));
      const lo = u[w]!;
      const hi = u[w + 1]!;
      if ((lo & PteBit.V) === 0) return isSoftwareLeaf(lo, hi) ? mappingOf(ctx.mode, lin, level, lo, hi) : undefined;
      if ((lo & RWX) !== 0) return mappingOf(ctx.mode, lin, level, lo, hi);
      if (level === 0) return undefined;
      table = entryAddress(lo, hi);
    }
    return undefined;
  }

  mappings(): PageMapping[] {
    const out: PageMapping[] = [];
    if (!this.#destroyed) collectMappings(this.#ctx, this.root, this.#ctx.mode.levels - 1, 0, out);
    return out;
  }

  walk(va: VirtualAddress): bigint[] {
    const ctx = this.#ctx;
    const lin = toLinear(va, ctx.mode);
    const out: bigint[] = [];
    if (lin < 0 || this.#destroyed) return out;
    const u = ctx.u32;
    let table = this.root;
    for (let level = ctx.mode.levels - 1; level >= 0; level--) {
      const w = ctx.entryIndex(table, indexAt(lin, level));
      const lo = u[w]!;
      const hi = u[w + 1]!;
      out.push(entryToBigInt(lo, hi));
      if ((lo & PteBit.V) === 0 || (lo & RWX) !== 0) break;
      table = entryAddress(lo, hi);
    }
    return out;
  }

  tableFrameCount(): number {
    return this.#destroyed ? 0 : countTables(this.#ctx, this.root, this.#ctx.mode.levels - 1);
  }

  dump(): string {
    const mode = this.#ctx.mode;
    return formatMappings(this.mappings(), { levelName: (s) => LEVEL_NAMES[s] ?? String(s), kernelStart: BigInt(fromLinear(2 ** (mode.vaBits - 1), mode)) });
  }

  destroy(): void {
    if (this.#destroyed) return;
    const ctx = this.#ctx;
    ctx.state.lock();
    try {
      ctx.state.post(ShootdownKind.Asid, this.asid, 0, 0);
      ctx.tlb.stats.shootdowns++;
      ctx.state.freeAsid(this.asid);
      this.#destroyed = true;
      // Retired last: a hart of another thread may still be walking this space.
      retireTables(ctx, this.root, ctx.mode.levels - 1);
    } finally {
      ctx.state.unlock();
    }
  }
}
