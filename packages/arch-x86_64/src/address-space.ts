import { AccessKind, IpcError, PageFault, PageMarker } from '@veridian/core';
import type { AddressSpace, FaultReason, MapOptions, PageFaultHandler, PageMapping, PagePerms, VirtualAddress } from '@veridian/core';
import { LOWER_HALF_END, indexAt, rangeInOneHalf, toLinear } from './address.js';
import { formatDump } from './dump.js';
import { LEVEL_SPAN, PHYS_LIMIT, PteHi, PteLo, entryAddress, entryToBigInt, leafHi, leafLo } from './page-table-entry.js';
import { invalidArgument } from './page-table.js';
import type { PageTables } from './page-table.js';
import { ShootdownKind } from './shared-state.js';
import type { SharedState } from './shared-state.js';
import { TlbRight } from './tlb.js';
import type { Tlb } from './tlb.js';

/** What an address space shares with its MMU instance. */
export interface MmuContext {
  readonly tables: PageTables;
  readonly shared: SharedState;
  readonly tlb: Tlb;
  /** Live list of fault handlers (the MMU adds and removes). */
  readonly handlers: PageFaultHandler[];
}

// Negative walk results (a translation is never negative).
const FAULT_NOT_PRESENT = -1;
const FAULT_PERMISSION = -2;
const FAULT_LAZY = -3;
const FAULT_INVALID = -4;
const REASONS: Readonly<Record<number, FaultReason>> = {
  [FAULT_NOT_PRESENT]: 'not-present',
  [FAULT_PERMISSION]: 'permission',
  [FAULT_LAZY]: 'lazy',
  [FAULT_INVALID]: 'invalid-address',
};

const TOP = 3;
const TWO32 = 2 ** 32;
const VPN_HI_DIV = 2 ** 44;
const ALL_PERMS = 0xf;
const ALL_MARKERS = PageMarker.COPY_ON_WRITE | PageMarker.LAZY;
const A = PteLo.ACCESSED;
const AD = PteLo.ACCESSED | PteLo.DIRTY;

/**
 * One x86_64 address space: a PML4 in machine memory tagged by a PCID. Mutations take the
 * machine-wide MMU lock and post TLB shootdowns; translations are lock-free.
 */
export class X86AddressSpace implements AddressSpace {
  readonly asid: number;
  readonly root: number;
  readonly #tables: PageTables;
  readonly #u32: Uint32Array;
  readonly #shared: SharedState;
  readonly #tlb: Tlb;
  readonly #handlers: PageFaultHandler[];
  #destroyed = false;

  constructor(ctx: MmuContext, root: number, asid: number) {
    this.root = root;
    this.asid = asid;
    this.#tables = ctx.tables;
    this.#u32 = ctx.tables.u32;
    this.#shared = ctx.shared;
    this.#tlb = ctx.tlb;
    this.#handlers = ctx.handlers;
  }

  map(va: VirtualAddress, pa: number, length: number, perms: PagePerms, options: MapOptions = {}): void {
    this.#live();
    const pageSize = options.pageSize ?? 4096;
    const leafLevel = LEVEL_SPAN.indexOf(pageSize);
    if (leafLevel < 0 || leafLevel > 2) invalidArgument(`page size ${pageSize} is not one of 4096, 2 MiB, 1 GiB`);
    const start = this.#range(va, length, pageSize);
    if (!Number.isSafeInteger(pa) || pa < 0 || pa % pageSize !== 0 || pa + length > PHYS_LIMIT) {
      invalidArgument(`physical address ${pa} is not a ${pageSize}-aligned address below 2^52 for ${length} bytes`);
    }
    checkPerms(perms);
    const markers = options.markers ?? 0;
    checkMarkers(markers);
    const lo = leafLo(0, perms, markers, options.global === true, leafLevel);
    const hi = leafHi(0, perms);
    const end = start + length;
    const tables = this.#tables;
    this.#shared.lock();
    try {
      if (tables.anyLeaf(this.root, TOP, 0, start, end)) throw new IpcError('AlreadyExists', 'the range overlaps an existing mapping');
      const created: number[] = [];
      try {
        tables.ensureTables(this.root, TOP, 0, start, end, leafLevel, created);
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
      if (this.#tables.clearRange(this.root, TOP, 0, start, start + length) > 0) this.#shootdown(start, length);
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
    if (access === AccessKind.Read) need = 0;
    else if (access === AccessKind.Write) need = TlbRight.WRITE | TlbRight.DIRTY;
    else if (access === AccessKind.Execute) need = TlbRight.EXECUTE;
    else throw new IpcError('InvalidArgument', `unknown access kind ${access}`);
    if (user) need |= TlbRight.USER;
    const linear = typeof va === 'number' ? (va >= 0 && va < LOWER_HALF_END && Math.floor(va) === va ? va : -1) : toLinear(va);
    if (linear < 0) return FAULT_INVALID;
    tlb.sync(cpu);
    const vpnLo = (linear / 4096) >>> 0;
    const vpnHi = (linear / VPN_HI_DIV) & 0xf;
    const page = tlb.lookup(cpu, this.asid, vpnLo, vpnHi, need);
    if (page >= 0) return page + (linear & 0xfff);
    return this.#walk(linear, access, cpu, user, vpnLo, vpnHi);
  }

  /** The hardware walk: checks rights, sets A (and D on a write) atomically, fills the TLB. */
  #walk(linear: number, access: AccessKind, cpu: number, user: boolean, vpnLo: number, vpnHi: number): number {
    const u32 = this.#u32;
    const tables = this.#tables;
    restart: for (;;) {
      let table = this.root;
      for (let level = TOP; level >= 0; level--) {
        const w = tables.word(table, indexAt(linear, level));
        const lo = u32[w]!;
        const hi = u32[w + 1]!;
        if ((lo | hi) === 0) return FAULT_NOT_PRESENT;
        if (level === 0 || (level < TOP && (lo & PteLo.PAGE_SIZE) !== 0)) {
          if (lo & PteLo.SW_LAZY) return FAULT_LAZY;
          if ((lo & PteLo.PRESENT) === 0) return FAULT_PERMISSION;
          if (access === AccessKind.Write && (lo & PteLo.WRITABLE) === 0) return FAULT_PERMISSION;
          if (access === AccessKind.Execute && (hi & PteHi.NO_EXECUTE) !== 0) return FAULT_PERMISSION;
          if (user && (lo & PteLo.USER) === 0) return FAULT_PERMISSION;
          const want = access === AccessKind.Write ? AD : A;
          let cur = lo;
          if ((lo & want) !== want) {
            // Compare-and-swap, not a blind OR: if the entry changed under us (unmap, protect), walk again.
            cur = (lo | want) >>> 0;
            if (Atomics.compareExchange(u32, w, lo, cur) !== lo) continue restart;
          }
          const page = entryAddress(cur, hi, level, true) + (linear % LEVEL_SPAN[level]!) - (linear & 0xfff);
          const rights =
            (cur & PteLo.WRITABLE ? TlbRight.WRITE : 0) |
            (cur & PteLo.USER ? TlbRight.USER : 0) |
            (hi & PteHi.NO_EXECUTE ? 0 : TlbRight.EXECUTE) |
            (cur & PteLo.DIRTY ? TlbRight.DIRTY : 0);
          this.#tlb.fill(cpu, this.asid, vpnLo, vpnHi, page, rights, (cur & PteLo.GLOBAL) !== 0, level);
          return page + (linear & 0xfff);
        }
        if ((lo & PteLo.ACCESSED) === 0 && Atomics.compareExchange(u32, w, lo, (lo | A) >>> 0) !== lo) continue restart;
        table = entryAddress(lo, hi, level, false);
      }
      return FAULT_NOT_PRESENT;
    }
  }

  /** Slow path of a failed translation: confirm under the lock, run the handlers, retry once, else throw. */
  #fault(va: VirtualAddress, access: AccessKind, cpu: number, user: boolean, code: number): number {
    if (code !== FAULT_INVALID) {
      // A writer on another thread may have been mid-update: look again while it cannot be.
      const linear = toLinear(va);
      this.#shared.lock();
      try {
        code = this.#walk(linear, access, cpu, user, (linear / 4096) >>> 0, (linear / VPN_HI_DIV) & 0xf);
      } finally {
        this.#shared.unlock();
      }
      if (code >= 0) return code;
    }
    const fault = this.#pageFault(va, access, user, code);
    for (const handler of this.#handlers.slice()) {
      if (handler(fault, this)) {
        const pa = this.#attempt(va, access, cpu, user);
        if (pa >= 0) return pa;
        throw this.#pageFault(va, access, user, pa);
      }
    }
    throw fault;
  }

  #pageFault(va: VirtualAddress, access: AccessKind, user: boolean, code: number): PageFault {
    const mapping = code === FAULT_PERMISSION || code === FAULT_LAZY ? this.lookup(va) : undefined;
    return new PageFault(va, access, user, REASONS[code]!, mapping);
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
    if (linear < 0) throw new PageFault(va, AccessKind.Read, false, 'invalid-address');
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

  destroy(): void {
    this.#live();
    this.#shared.lock();
    try {
      this.#tables.freeTables(this.root, TOP);
      // Flush before the PCID can be handed out again, so its next owner sees no old entry.
      this.#shared.post(ShootdownKind.Pcid, this.asid, 0, 0, 0);
      this.#tlb.stats.shootdowns++;
      this.#shared.freePcid(this.asid);
    } finally {
      this.#shared.unlock();
    }
    this.#destroyed = true;
  }

  /** Tells every CPU to drop its entries for `[start, start + length)` (caller holds the lock). */
  #shootdown(start: number, length: number): void {
    const vpn = start / 4096;
    const pages = length / 4096;
    if (pages < 2 ** 31) this.#shared.post(ShootdownKind.Range, this.asid, vpn % TWO32, Math.floor(vpn / TWO32), pages);
    else this.#shared.post(ShootdownKind.Pcid, this.asid, 0, 0, 0);
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

function checkPerms(perms: PagePerms): void {
  if (!Number.isInteger(perms) || (perms & ~ALL_PERMS) !== 0 || perms < 0) invalidArgument(`unknown permission bits in ${perms}`);
}

function checkMarkers(markers: number): void {
  if (!Number.isInteger(markers) || (markers & ~ALL_MARKERS) !== 0 || markers < 0) invalidArgument(`unknown marker bits in ${markers}`);
}
