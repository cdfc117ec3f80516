import { AccessKind, IpcError, ShootdownKind, checkCpu, formatMappings } from '@veridian/core';
import type { AddressSpace, FaultReason, MapOptions, PageMapping, PagePerms, VirtualAddress } from '@veridian/core';
import { encodeSatp, fromLinear, indexAt, levelSpan, toLinear } from './address.js';
import { Riscv64PageFault } from './fault.js';
import type { MmuContext } from './mmu-context.js';
import { PteBit, RESERVED_HI, RWX, entryAddress, entryHi, entryLo, entryToBigInt, isSoftwareLeaf, leafFlags, leafMarkers, leafPerms, ppnOf } from './page-table-entry.js';
import { TlbRight } from './tlb.js';

const PAGE = 4096;
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

/**
 * An Sv39/Sv48 address space: a root table in machine memory tagged by an ASID (what `satp`
 * would hold, see {@link Riscv64AddressSpace.satp}). Every mutating call checks everything
 * (and allocates every table it needs) before its first write, so it completes or throws with
 * the tables as they were; unmap and protect shoot the range down on every hart of every
 * attached MMU instance through core's shootdown ring.
 */
export class Riscv64AddressSpace implements AddressSpace {
  readonly #ctx: MmuContext;
  readonly root: number;
  readonly asid: number;
  #destroyed = false;
  /** Tables along the current walk, by level (scratch; no allocation per call). */
  readonly #path: Float64Array;

  /** @internal Use `Riscv64Mmu.createAddressSpace` / `attachAddressSpace`. */
  constructor(ctx: MmuContext, root: number, asid: number) {
    this.#ctx = ctx;
    this.root = root;
    this.asid = asid;
    this.#path = new Float64Array(ctx.mode.levels);
  }

  /** The `satp` value that selects this space: MODE (8 = Sv39, 9 = Sv48), ASID, root PPN. */
  get satp(): bigint {
    return encodeSatp(this.#ctx.mode, this.asid, this.root);
  }

  #live(): void {
    if (this.#destroyed) throw new IpcError('InvalidState', 'the address space was destroyed');
  }

  /** Linear start of `[va, va + length)`, checked to be canonical, in one half, and `align`-aligned. */
  #range(va: VirtualAddress, length: number, align: number): number {
    const mode = this.#ctx.mode;
    const lin = toLinear(va, mode);
    if (lin < 0) throw new Riscv64PageFault(va, AccessKind.Read, false, 'invalid-address', mode.levels - 1);
    if (!Number.isSafeInteger(length) || length <= 0 || length % align !== 0) invalidArgument(`length ${length} is not a positive multiple of ${align}`);
    if (lin % align !== 0) invalidArgument(`address 0x${BigInt(va).toString(16)} is not ${align}-aligned`);
    const half = 2 ** (mode.vaBits - 1);
    if (lin < half ? lin + length > half : lin + length > 2 ** mode.vaBits) invalidArgument('the range crosses the end of its half of the address space');
    return lin;
  }

  map(va: VirtualAddress, pa: number, length: number, perms: PagePerms, options: MapOptions = {}): void {
    this.#live();
    const ctx = this.#ctx;
    const pageSize = options.pageSize ?? PAGE;
    const leafLevel = LEVEL_OF_SIZE.get(pageSize);
    if (leafLevel === undefined) invalidArgument(`page size ${pageSize} is not one of 4 KiB, 2 MiB, 1 GiB`);
    const lin = this.#range(va, length, pageSize);
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
      const missing = new Set<string>();
      for (let off = 0; off < length; off += pageSize) {
        const v = lin + off;
        let table = this.root;
        for (let level = top; level >= leafLevel!; level--) {
          const w = ctx.entryIndex(table, indexAt(v, level));
          const lo = u[w]!;
          const hi = u[w + 1]!;
          if (level === leafLevel) {
            if (lo !== 0 || hi !== 0) throw new IpcError('AlreadyExists', `0x${BigInt(fromLinear(v, ctx.mode)).toString(16)} is already mapped`);
            break;
          }
          if (lo === 0 && hi === 0) {
            // Tables from here down to leafLevel + 1 are missing; key them by what they cover.
            for (let l = level; l > leafLevel!; l--) missing.add(`${l}:${Math.floor(v / levelSpan(l))}`);
            break;
          }
          if ((lo & PteBit.V) === 0 || (lo & RWX) !== 0) throw new IpcError('AlreadyExists', `a larger page already maps 0x${BigInt(fromLinear(v, ctx.mode)).toString(16)}`);
          table = entryAddress(lo, hi);
        }
      }
      const frames = ctx.phys.allocFrames(missing.size);
      let next = 0;
      for (let off = 0; off < length; off += pageSize) {
        const v = lin + off;
        let table = this.root;
        for (let level = top; level > leafLevel!; level--) {
          const w = ctx.entryIndex(table, indexAt(v, level));
          if (u[w] === 0 && u[w + 1] === 0) {
            const t = frames[next++]! * PAGE;
            u[w + 1] = entryHi(t);
            Atomics.store(ctx.i32, w, entryLo(t, PteBit.V) | 0);
          }
          table = entryAddress(u[w]!, u[w + 1]!);
        }
        const w = ctx.entryIndex(table, indexAt(v, leafLevel!));
        u[w + 1] = entryHi(pa + off);
        Atomics.store(ctx.i32, w, entryLo(pa + off, flags) | 0);
      }
    } finally {
      ctx.state.unlock();
    }
  }

  /**
   * Calls `visit(w, level, pageStart)` for every leaf (valid or software) overlapping the
   * 4 KiB-aligned range, in address order, with the tables along its walk in `#path`.
   */
  #leaves(lin: number, length: number, visit: (w: number, level: number, start: number) => void): void {
    const ctx = this.#ctx;
    const u = ctx.u32;
    const end = lin + length;
    let v = lin;
    while (v < end) {
      let table = this.root;
      let level = ctx.mode.levels - 1;
      for (;;) {
        this.#path[level] = table;
        const w = ctx.entryIndex(table, indexAt(v, level));
        const lo = u[w]!;
        const hi = u[w + 1]!;
        const span = levelSpan(level);
        const start = v - (v % span);
        if (lo === 0 && hi === 0) {
          v = start + span;
          break;
        }
        if ((lo & PteBit.V) !== 0 && (lo & RWX) === 0 && level > 0) {
          table = entryAddress(lo, hi);
          level--;
          continue;
        }
        visit(w, level, start);
        v = start + span;
        break;
      }
    }
  }

  #checkWhole(lin: number, length: number): void {
    this.#leaves(lin, length, (_w, level, start) => {
      if (start < lin || start + levelSpan(level) > lin + length) invalidArgument(`the range splits a ${levelSpan(level)}-byte page at 0x${BigInt(fromLinear(start, this.#ctx.mode)).toString(16)}`);
    });
  }

  #shootdown(lin: number, length: number): void {
    const ctx = this.#ctx;
    ctx.state.post(ShootdownKind.Range, this.asid, lin / PAGE, length / PAGE);
    ctx.tlb.stats.shootdowns++;
  }

  unmap(va: VirtualAddress, length: number): void {
    this.#live();
    const ctx = this.#ctx;
    const lin = this.#range(va, length, PAGE);
    const u = ctx.u32;
    ctx.state.lock();
    try {
      this.#checkWhole(lin, length);
      let cleared = false;
      this.#leaves(lin, length, (w, level, start) => {
        Atomics.store(ctx.i32, w, 0);
        u[w + 1] = 0;
        cleared = true;
        // Free tables this emptied, bottom up (never the root).
        for (let l = level; l < ctx.mode.levels - 1; l++) {
          const table = this.#path[l]!;
          if (!ctx.isEmpty(table)) break;
          const pw = ctx.entryIndex(this.#path[l + 1]!, indexAt(start, l + 1));
          Atomics.store(ctx.i32, pw, 0);
          u[pw + 1] = 0;
          ctx.phys.freeFrame(table / PAGE);
        }
      });
      if (cleared) this.#shootdown(lin, length);
    } finally {
      ctx.state.unlock();
    }
  }

  protect(va: VirtualAddress, length: number, perms: PagePerms, markers?: number): void {
    this.#live();
    const ctx = this.#ctx;
    const lin = this.#range(va, length, PAGE);
    if (!Number.isInteger(perms) || perms < 0 || perms > 15) invalidArgument(`perms ${perms} are not PagePerm bits`);
    if (markers !== undefined && (!Number.isInteger(markers) || markers < 0 || markers > 3)) invalidArgument(`markers ${markers} are not PageMarker bits`);
    const u = ctx.u32;
    ctx.state.lock();
    try {
      this.#checkWhole(lin, length);
      let changed = false;
      this.#leaves(lin, length, (w) => {
        const lo = u[w]!;
        const global = (lo & PteBit.G) !== 0 && ((lo & PteBit.V) !== 0 || ((lo & PteBit.RSW1) !== 0 && (lo & RWX) !== 0));
        const f = leafFlags(perms, markers ?? leafMarkers(lo), global);
        // Keep A and D of a page that stays valid; the PPN is untouched.
        const keep = f & PteBit.V ? lo & (PteBit.A | PteBit.D) : 0;
        Atomics.store(ctx.i32, w, ((lo & ~0x3ff) | f | keep) | 0);
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
    const offset = lin % PAGE;
    const r = tlb.lookup(cpu, this.asid, vpn, ctx.paOut);
    if (r >= 0 && this.#allowed(r, access, user) && (access !== AccessKind.Write || (r & TlbRight.D) !== 0)) {
      tlb.count(true);
      return ctx.paOut[0]! + offset;
    }
    tlb.count(false);
    const u = ctx.u32;
    let table = this.root;
    for (let level = mode.levels - 1; level >= 0; level--) {
      const w = ctx.entryIndex(table, indexAt(lin, level));
      const lo = u[w]!;
      const hi = u[w + 1]!;
      if ((lo & PteBit.V) === 0) {
        if (isSoftwareLeaf(lo, hi)) {
          const reason: FaultReason = lo & PteBit.RSW1 ? 'lazy' : 'permission';
          return this.#fault(va, access, user, reason, level, this.#mappingOf(lin, level, lo, hi), cpu, retry);
        }
        return this.#fault(va, access, user, 'not-present', level, undefined, cpu, retry);
      }
      if ((hi & RESERVED_HI) !== 0 || ((lo & PteBit.W) !== 0 && (lo & PteBit.R) === 0)) return this.#fault(va, access, user, 'reserved-bit', level, undefined, cpu, retry);
      if ((lo & RWX) === 0) {
        // A pointer to the next table; at level 0 there is none (§4.3.2 step 4).
        const next = entryAddress(lo, hi);
        if (level === 0 || !ctx.phys.isInstalled(next)) return this.#fault(va, access, user, 'reserved-bit', level, undefined, cpu, retry);
        table = next;
        continue;
      }
      // A leaf. A megapage's PPN must be aligned to its size (§4.3.2 step 6).
      if (level > 0 && ppnOf(lo, hi) % 512 ** level !== 0) return this.#fault(va, access, user, 'reserved-bit', level, undefined, cpu, retry);
      if (!this.#allowed(tlbRights(lo), access, user)) return this.#fault(va, access, user, 'permission', level, this.#mappingOf(lin, level, lo, hi), cpu, retry);
      // Hardware A/D update (Svadu behaviour): set A, and D on a store, atomically.
      const need = PteBit.A | (access === AccessKind.Write ? PteBit.D : 0);
      const now = (lo & need) === need ? lo : Atomics.or(ctx.i32, w, need) | need;
      const piece = entryAddress(lo, hi) + (lin % levelSpan(level)) - offset;
      tlb.fill(cpu, this.asid, vpn, piece, tlbRights(now), (lo & PteBit.G) !== 0, level);
      return piece + offset;
    }
    return this.#fault(va, access, user, 'not-present', 0, undefined, cpu, retry);
  }

  #fault(va: VirtualAddress, access: AccessKind, user: boolean, reason: FaultReason, level: number, mapping: PageMapping | undefined, cpu: number, retry: boolean): number {
    const fault = new Riscv64PageFault(va, access, user, reason, level, mapping);
    if (retry && reason !== 'invalid-address' && this.#ctx.handlers.repair(fault, this)) return this.#translate(va, access, cpu, user, false);
    throw fault;
  }

  #mappingOf(lin: number, level: number, lo: number, hi: number): PageMapping {
    const span = levelSpan(level);
    const valid = (lo & PteBit.V) !== 0;
    return {
      va: fromLinear(lin - (lin % span), this.#ctx.mode),
      pa: entryAddress(lo, hi),
      size: span,
      perms: leafPerms(lo),
      markers: leafMarkers(lo),
      accessed: (lo & PteBit.A) !== 0,
      dirty: (lo & PteBit.D) !== 0,
      global: (lo & PteBit.G) !== 0 && (valid || ((lo & PteBit.RSW1) !== 0 && (lo & RWX) !== 0)),
      present: valid,
    };
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
      if ((lo & PteBit.V) === 0) return isSoftwareLeaf(lo, hi) ? this.#mappingOf(lin, level, lo, hi) : undefined;
      if ((lo & RWX) !== 0) return this.#mappingOf(lin, level, lo, hi);
      if (level === 0) return undefined;
      table = entryAddress(lo, hi);
    }
    return undefined;
  }

  mappings(): PageMapping[] {
    const out: PageMapping[] = [];
    if (!this.#destroyed) this.#collect(this.root, this.#ctx.mode.levels - 1, 0, out);
    return out;
  }

  #collect(table: number, level: number, base: number, out: PageMapping[]): void {
    const ctx = this.#ctx;
    const u = ctx.u32;
    const span = levelSpan(level);
    for (let i = 0; i < 512; i++) {
      const w = ctx.entryIndex(table, i);
      const lo = u[w]!;
      const hi = u[w + 1]!;
      if (lo === 0 && hi === 0) continue;
      const v = base + i * span;
      if ((lo & PteBit.V) !== 0 && (lo & RWX) === 0) {
        if (level > 0) this.#collect(entryAddress(lo, hi), level - 1, v, out);
      } else if ((lo & PteBit.V) !== 0 || isSoftwareLeaf(lo, hi)) {
        out.push(this.#mappingOf(v, level, lo, hi));
      }
    }
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
    return this.#destroyed ? 0 : this.#countTables(this.root, this.#ctx.mode.levels - 1);
  }

  #countTables(table: number, level: number): number {
    const ctx = this.#ctx;
    const u = ctx.u32;
    let n = 1;
    if (level === 0) return n;
    for (let i = 0; i < 512; i++) {
      const w = ctx.entryIndex(table, i);
      const lo = u[w]!;
      if ((lo & PteBit.V) !== 0 && (lo & RWX) === 0) n += this.#countTables(entryAddress(lo, u[w + 1]!), level - 1);
    }
    return n;
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
      this.#freeTables(this.root, ctx.mode.levels - 1);
      ctx.state.post(ShootdownKind.Asid, this.asid, 0, 0);
      ctx.tlb.stats.shootdowns++;
      ctx.state.freeAsid(this.asid);
      this.#destroyed = true;
    } finally {
      ctx.state.unlock();
    }
  }

  #freeTables(table: number, level: number): void {
    const ctx = this.#ctx;
    const u = ctx.u32;
    if (level > 0) {
      for (let i = 0; i < 512; i++) {
        const w = ctx.entryIndex(table, i);
        const lo = u[w]!;
        if ((lo & PteBit.V) !== 0 && (lo & RWX) === 0) this.#freeTables(entryAddress(lo, u[w + 1]!), level - 1);
      }
    }
    ctx.phys.freeFrame(table / PAGE);
  }
}

