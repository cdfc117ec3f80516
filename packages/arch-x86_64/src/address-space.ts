import { AccessKind, IpcError, ShootdownKind } from '@veridian/core';
import type { AddressSpace, FaultHandlerList, FaultReason, MapOptions, PageMapping, PagePerms, VirtualAddress } from '@veridian/core';
import { LOWER_HALF_END, rangeInOneHalf, toLinear } from './address.js';
import { formatDump } from './dump.js';
import { readEntry, setEntryKeys, setTableFlags, tableFlagWords, writeEntry } from './entry-access.js';
import { X86PageFault } from './fault.js';
import { checkMarkers, checkPerms } from './frame-range.js';
import type { FrameRanges } from './frame-range.js';
import { LEVEL_SPAN, entryToBigInt, leafCacheBits, leafHi, leafLo, protectionKeyBits } from './page-table-entry.js';
import { invalidArgument } from './page-table.js';
import { checkProtectionKey, pkruForbidMask } from './protection-keys.js';
import type { PageTables } from './page-table.js';
import type { SharedState } from './shared-state.js';
import { TlbRight } from './tlb.js';
import { FAULT_INVALID, FAULT_LAZY, FAULT_NOT_PRESENT, FAULT_PERMISSION, FAULT_RESERVED, Walker } from './walker.js';
import type { Tlb } from './tlb.js';
import type { MmuContext } from './mmu-context.js';

/**
 * x86_64 options of {@link X86AddressSpace.map}, on top of the arch-neutral `MapOptions`.
 *
 * @example
 * ```ts
 * // A user data page with protection key 3, write-combining (PAT index 1 under Linux's PAT), under
 * // paging-structure entries created as Linux's _PAGE_TABLE (P|RW|US|A|D).
 * space.map(0x40_0000, 0x5000, 4096, PagePerm.READ | PagePerm.WRITE | PagePerm.USER, { protectionKey: 3, patIndex: 1, tableFlags: 0x67n });
 * ```
 */
export interface X86MapOptions extends MapOptions {
  /** Protection key of the leaves (bits 62:59), 0–15; default 0. */
  protectionKey?: number;
  /** Memory type as a PAT index 0–7 (PAT·4 + PCD·2 + PWT); default 0 (write-back under the reset PAT). */
  patIndex?: number;
  /**
   * Flags of the paging-structure entries this call creates (bits allowed by `TABLE_FLAG_MASK`,
   * P required); default `P | R/W | U/S` (0x7). Existing tables keep theirs (see `setTableFlags`).
   */
  tableFlags?: bigint;
}

const REASONS: Readonly<Record<number, FaultReason>> = {
  [FAULT_NOT_PRESENT]: 'not-present',
  [FAULT_PERMISSION]: 'permission',
  [FAULT_LAZY]: 'lazy',
  [FAULT_INVALID]: 'invalid-address',
  [FAULT_RESERVED]: 'reserved-bit',
};

const TOP = 3;
const VPN_HI_DIV = 2 ** 44;

/**
 * One x86_64 address space: a PML4 in machine memory tagged by a PCID. Mutations take the
 * machine-wide MMU lock and post TLB shootdowns; translations are lock-free.
 */
export class X86AddressSpace implements AddressSpace {
  readonly asid: number;
  readonly root: number;
  readonly #tables: PageTables;
  readonly #shared: SharedState;
  readonly #tlb: Tlb;
  readonly #handlers: FaultHandlerList;
  readonly #ctx: MmuContext;
  readonly #physLimit: number;
  readonly #wp: boolean;
  readonly #walker: Walker;
  readonly #ranges: FrameRanges;
  #destroyed = false;

  /** @internal Use `X86Mmu.createAddressSpace` / `attachAddressSpace`. */
  constructor(ctx: MmuContext, root: number, asid: number) {
    this.root = root;
    this.asid = asid;
    this.#tables = ctx.tables;
    this.#shared = ctx.shared;
    this.#tlb = ctx.tlb;
    this.#handlers = ctx.handlers;
    this.#ctx = ctx;
    this.#physLimit = 2 ** ctx.maxPhysAddr;
    this.#wp = ctx.writeProtect;
    this.#ranges = ctx.ranges;
    this.#walker = new Walker(ctx.tables, ctx.tlb, root, asid, ctx.maxPhysAddr, ctx.writeProtect);
  }

  /**
   * Maps a range (see `AddressSpace.map`), with the x86-only attributes of {@link X86MapOptions}.
   * The physical range must lie below 2^MAXPHYADDR.
   */
  map(va: VirtualAddress, pa: number, length: number, perms: PagePerms, options: X86MapOptions = {}): void {
    this.#live();
    const pageSize = options.pageSize ?? 4096;
    const leafLevel = LEVEL_SPAN.indexOf(pageSize);
    if (leafLevel < 0 || leafLevel > 2) invalidArgument(`page size ${pageSize} is not one of 4096, 2 MiB, 1 GiB`);
    const start = this.#range(va, length, pageSize);
    if (!Number.isSafeInteger(pa) || pa < 0 || pa % pageSize !== 0 || pa + length > this.#physLimit) {
      invalidArgument(`physical address ${pa} is not a ${pageSize}-aligned address below 2^${this.#ctx.maxPhysAddr} for ${length} bytes`);
    }
    checkPerms(perms);
    const markers = options.markers ?? 0;
    checkMarkers(markers);
    const key = options.protectionKey ?? 0;
    checkProtectionKey(key);
    const pat = options.patIndex ?? 0;
    if (!Number.isInteger(pat) || pat < 0 || pat > 7) invalidArgument(`PAT index ${pat} is not an integer in [0, 7]`);
    const [tLo, tHi] = tableFlagWords(options.tableFlags);
    const lo = (leafLo(0, perms, markers, options.global === true, leafLevel) | leafCacheBits(pat, leafLevel)) >>> 0;
    const hi = (leafHi(0, perms) | protectionKeyBits(key)) >>> 0;
    const end = start + length;
    const tables = this.#tables;
    this.#shared.lock();
    try {
      if (tables.anyLeaf(this.root, TOP, 0, start, end)) throw new IpcError('AlreadyExists', 'the range overlaps an existing mapping');
      const created: number[] = [];
      try {
        tables.ensureTables(this.root, TOP, 0, start, end, leafLevel, created, tLo, tHi);
      } catch (e) {
        tables.undoCreated(created);
        throw e;
      }
      tables.writeLeaves(this.root, TOP, 0, start, end, leafLevel, start, pa, lo, hi);
      // A new mapping needs no shootdown: TLBs never cache the absence of a translation.
    } finally {
      this.#shared.unlock();
    }
  }

  unmap(va: VirtualAddress, length: number): void {
    this.#live();
    const start = this.#range(va, length, 4096);
    this.#shared.lock();
    try {
      if (this.#tables.splitsHugePage(this.root, TOP, 0, start, start + length)) invalidArgument('the range would split a huge page');
      const tables = this.#tables;
      if (tables.clearRange(this.root, TOP, 0, start, start + length) > 0 || tables.unlinked.length > 0) this.#shootdown(start, length);
      // After the shootdown: the tables left empty wait out the walks that may still read them.
      tables.retireUnlinked();
    } finally {
      this.#shared.unlock();
    }
  }

  protect(va: VirtualAddress, length: number, perms: PagePerms, markers?: number): void {
    this.#live();
    const start = this.#range(va, length, 4096);
    checkPerms(perms);
    if (markers !== undefined) checkMarkers(markers);
    const lo = leafLo(0, perms, markers ?? 0, false, 0);
    const hi = leafHi(0, perms);
    this.#shared.lock();
    try {
      if (this.#tables.splitsHugePage(this.root, TOP, 0, start, start + length)) invalidArgument('the range would split a huge page');
      if (this.#tables.protectRange(this.root, TOP, 0, start, start + length, lo, hi, markers === undefined) > 0) this.#shootdown(start, length);
    } finally {
      this.#shared.unlock();
    }
  }

  /**
   * Maps `count` 4 KiB pages from `va` onto `frames[from …]` in one pass over the tables
   * (see `AddressSpace.mapFrames`): leaves as `map` writes them (PAT 0, key 0, not global).
   * All or nothing: `AlreadyExists`, `OutOfMemory` and `InvalidArgument` change nothing.
   */
  mapFrames(va: VirtualAddress, frames: ArrayLike<number>, from: number, count: number, perms: PagePerms, markers = 0): void {
    this.#live();
    this.#ranges.map(this.root, va, frames, from, count, perms, markers);
  }

  /**
   * Unmaps `count` 4 KiB pages from `va`, writing each page's frame to `out[at + i]` (−1 for
   * a hole), with one shootdown for the range; empty tables go to the grace period (see
   * `AddressSpace.unmapFrames`). Returns the pages that were mapped.
   */
  unmapFrames(va: VirtualAddress, count: number, out: Int32Array, at = 0): number {
    this.#live();
    return this.#ranges.unmap(this.root, this.asid, va, count, out, at);
  }

  /** Reads the frame and `FrameInfo` word of `count` pages from `va`, changing nothing (see `AddressSpace.readFrames`). */
  readFrames(va: VirtualAddress, count: number, frames: Int32Array, info: Int32Array, at = 0): number {
    this.#live();
    return this.#ranges.read(this.root, va, count, frames, info, at);
  }

  translate(va: VirtualAddress, access: AccessKind, cpu = 0, user = false): number {
    const pa = this.#attempt(va, access, cpu, user);
    return pa >= 0 ? pa : this.#fault(va, access, cpu, user, pa);
  }

  /** One translation through the TLB: the physical address, or a negative fault code. Allocates nothing. */
  #attempt(va: VirtualAddress, access: AccessKind, cpu: number, user: boolean): number {
    if (this.#destroyed) throw new IpcError('InvalidState', 'address space destroyed');
    const tlb = this.#tlb;
    if (cpu >>> 0 !== cpu || cpu >= tlb.cpus) throw new IpcError('InvalidArgument', `no cpu ${cpu}`);
    let need: number;
    let pk = 1;
    if (access === AccessKind.Read) need = 0;
    else if (access === AccessKind.Write) {
      // CR0.WP = 0 lets supervisor writes ignore R/W.
      need = user || this.#wp ? TlbRight.WRITE | TlbRight.DIRTY : TlbRight.DIRTY;
      pk = pkruForbidMask(true, user, this.#wp);
    } else if (access === AccessKind.Execute) {
      need = TlbRight.EXECUTE;
      pk = 0;
    } else throw new IpcError('InvalidArgument', `unknown access kind ${String(access)}`);
    if (user) need |= TlbRight.USER;
    const linear = typeof va === 'number' ? (va >= 0 && va < LOWER_HALF_END && Math.floor(va) === va ? va : -1) : toLinear(va);
    if (linear < 0) return FAULT_INVALID;
    tlb.sync(cpu);
    const vpnLo = (linear / 4096) >>> 0;
    const vpnHi = (linear / VPN_HI_DIV) & 0xf;
    const page = tlb.lookup(cpu, this.asid, vpnLo, vpnHi, need, pk);
    if (page >= 0) return page + (linear & 0xfff);
    return this.#walker.walk(linear, access, cpu, user, vpnLo, vpnHi);
  }

  /** Slow path of a failed translation: confirm under the lock, run the handlers, retry once, else throw. */
  #fault(va: VirtualAddress, access: AccessKind, cpu: number, user: boolean, code: number): number {
    if (code !== FAULT_INVALID) {
      // A writer on another thread may have been mid-update: look again while it cannot be.
      const linear = toLinear(va);
      this.#shared.lock();
      try {
        code = this.#walker.walk(linear, access, cpu, user, (linear / 4096) >>> 0, (linear / VPN_HI_DIV) & 0xf);
      } finally {
        this.#shared.unlock();
      }
      if (code >= 0) return code;
    }
    const fault = this.#pageFault(va, access, user, code);
    if (this.#handlers.repair(fault, this)) {
      const pa = this.#attempt(va, access, cpu, user);
      if (pa >= 0) return pa;
      throw this.#pageFault(va, access, user, pa);
    }
    throw fault;
  }

  #pageFault(va: VirtualAddress, access: AccessKind, user: boolean, code: number): X86PageFault {
    if (code === FAULT_INVALID) return new X86PageFault(va, access, user, 'invalid-address', 0);
    const mapping = code === FAULT_PERMISSION || code === FAULT_LAZY || code === FAULT_RESERVED ? this.lookup(va) : undefined;
    return new X86PageFault(va, access, user, REASONS[code]!, this.#walker.errorCode, mapping, this.#walker.level);
  }

  lookup(va: VirtualAddress): PageMapping | undefined {
    this.#live();
    const linear = toLinear(va);
    if (linear < 0) return undefined;
    const leaf = this.#tables.findLeaf(this.root, linear);
    return leaf && this.#tables.mappingAt(leaf.word, leaf.level, leaf.start);
  }

  mappings(): PageMapping[] {
    this.#live();
    const out: PageMapping[] = [];
    this.#tables.collect(this.root, TOP, 0, out);
    return out;
  }

  walk(va: VirtualAddress): bigint[] {
    this.#live();
    const linear = toLinear(va);
    if (linear < 0) throw new X86PageFault(va, AccessKind.Read, false, 'invalid-address', 0);
    const entries: Array<[number, number]> = [];
    this.#tables.walkEntries(this.root, linear, entries);
    return entries.map(([lo, hi]) => entryToBigInt(lo, hi));
  }

  tableFrameCount(): number {
    this.#live();
    return this.#tables.countTables(this.root, TOP);
  }

  dump(): string {
    return formatDump(this.mappings());
  }

  /**
   * The raw entry at `level` (3 = PML4E, 2 = PDPTE, 1 = PDE, 0 = PTE) on the path to `va`,
   * or `undefined` when a table above it is missing or a huge page ends the path higher up.
   *
   * @example
   * ```ts
   * space.readEntry(0x40_0000, 3); // 0x…067n for a PML4E created with tableFlags 0x67n
   * ```
   */
  readEntry(va: VirtualAddress, level: number): bigint | undefined {
    this.#live();
    return readEntry(this.#tables, this.root, this.#linear(va), level);
  }

  /**
   * Replaces the flags of the paging-structure entry at `level` (3, 2 or 1) above `va` with
   * `flags` (bits of `TABLE_FLAG_MASK`; the table address is kept), then invalidates every
   * CPU's TLB for the range it covers. Clearing R/W, U/S or P, or setting XD, restricts every
   * page below, as on hardware. Throws `InvalidArgument` if there is no table entry there.
   *
   * @example
   * ```ts
   * space.setTableFlags(0x40_0000, 3, 0x63n); // PML4E becomes _KERNPG_TABLE: user access below it faults
   * ```
   */
  setTableFlags(va: VirtualAddress, level: number, flags: bigint): void {
    this.#live();
    const linear = this.#linear(va);
    this.#mutate(() => setTableFlags(this.#tables, this.root, linear, level, flags), linear, level);
  }

  /**
   * Writes a raw 64-bit value into the entry at `level` on the path to `va`, as kernel code
   * writing the entry directly would (e.g. to set bits the arch-neutral API cannot), then
   * invalidates every CPU's TLB for the range it covers. Writes that would change the table
   * structure are refused with `InvalidArgument`: a table entry must keep its address and stay
   * a table entry, a huge leaf must keep PS, and a new non-leaf entry cannot be made.
   *
   * @example
   * ```ts
   * space.writeEntry(0x60_0000, 1, space.readEntry(0x60_0000, 1)! | (1n << 13n)); // reserved bit 13 of a 2 MiB PDE
   * ```
   */
  writeEntry(va: VirtualAddress, level: number, value: bigint): void {
    this.#live();
    const linear = this.#linear(va);
    this.#mutate(() => writeEntry(this.#tables, this.root, linear, level, value), linear, level);
  }

  /**
   * Sets the protection key (bits 62:59) of every leaf in `[va, va + length)`, like
   * `pkey_mprotect`, then shoots the range down. Splitting a huge page is `InvalidArgument`.
   *
   * @example
   * ```ts
   * space.setProtectionKey(0x40_0000, 4096, 5);
   * ```
   */
  setProtectionKey(va: VirtualAddress, length: number, key: number): void {
    this.#live();
    const start = this.#range(va, length, 4096);
    checkProtectionKey(key);
    this.#shared.lock();
    try {
      if (this.#tables.splitsHugePage(this.root, TOP, 0, start, start + length)) invalidArgument('the range would split a huge page');
      if (setEntryKeys(this.#tables, this.root, start, start + length, key) > 0) this.#shootdown(start, length);
    } finally {
      this.#shared.unlock();
    }
  }

  #linear(va: VirtualAddress): number {
    const linear = toLinear(va);
    if (linear < 0) invalidArgument(`${String(va)} is not a canonical address`);
    return linear;
  }

  /** Runs a table-entry change under the lock, then shoots down the span the entry at `level` covers. */
  #mutate(change: () => void, linear: number, level: number): void {
    const span = LEVEL_SPAN[level] ?? 4096;
    this.#shared.lock();
    try {
      change();
      this.#shootdown(linear - (linear % span), span);
    } finally {
      this.#shared.unlock();
    }
  }

  destroy(): void {
    this.#live();
    this.#shared.lock();
    try {
      // Flush before the PCID can be handed out again, so its next owner sees no old entry;
      // the tables go to the grace period after the flush, as every unlinked table does.
      this.#shared.post(ShootdownKind.Asid, this.asid, 0, 0);
      this.#tlb.stats.shootdowns++;
      this.#tables.retireTables(this.root, TOP);
      this.#shared.freeAsid(this.asid);
    } finally {
      this.#shared.unlock();
    }
    this.#destroyed = true;
  }

  /** Tells every CPU to drop its entries for `[start, start + length)` (caller holds the lock). */
  #shootdown(start: number, length: number): void {
    const vpn = start / 4096;
    const pages = length / 4096;
    if (pages < 2 ** 31) this.#shared.post(ShootdownKind.Range, this.asid, vpn, pages);
    else this.#shared.post(ShootdownKind.Asid, this.asid, 0, 0);
    this.#tlb.stats.shootdowns++;
  }

  /** Validates a range and returns its linear start. */
  #range(va: VirtualAddress, length: number, align: number): number {
    const start = toLinear(va);
    if (start < 0) invalidArgument(`${String(va)} is not a canonical address`);
    if (!Number.isSafeInteger(length) || length <= 0 || length % align !== 0) invalidArgument(`length ${length} is not a positive multiple of ${align}`);
    if (start % align !== 0) invalidArgument(`address ${String(va)} is not ${align}-aligned`);
    if (!rangeInOneHalf(start, length)) invalidArgument('the range leaves the canonical half it starts in');
    return start;
  }

  #live(): void {
    if (this.#destroyed) throw new IpcError('InvalidState', 'address space destroyed');
  }
}
