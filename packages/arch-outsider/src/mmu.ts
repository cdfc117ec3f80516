/**
 * The Outsider-64 MMU: page tables of 32-bit entries (see `pte.ts`) in machine memory, a
 * direct-mapped per-CPU TLB tagged by an 8-bit ASID, a software refill handler that sets the
 * accessed bit and a software modify handler that sets the dirty bit.
 *
 * Everything arch-neutral comes from `@veridian/core`: `MmuSharedState` (lock, ASIDs,
 * shootdown ring, table reclaim), `ShootdownReader`, `FaultHandlerList`, the argument checks
 * and the dump formatter. Fault levels are numbered 0 (top, L0) to 2 (L2).
 */
import {
  AccessKind,
  checkAttach,
  checkCpu,
  checkTlbShape,
  FaultHandlerList,
  FrameInfo,
  formatMappings,
  IpcError,
  MmuSharedState,
  PageFault,
  PhysicalMemory,
  ShootdownKind,
  ShootdownReader,
  type AddressSpace,
  type FaultReason,
  type MapOptions,
  type Mmu,
  type MmuOptions,
  type PageFaultHandler,
  type PageMapping,
  type PagePerms,
  type ShootdownTarget,
  type TlbStats,
  type VirtualAddress,
} from '@veridian/core';
import { A, D, ENTRIES, G, HUGE, isLeaf, isTable, LAZY, leafBits, LEVELS, markersOf, NR, NX, PAGE, PFN_MASK, PLV_MASK, PLV_USER, permsOf, shiftOf, T, USER_TOP, V, VA_LIMIT, W } from './pte.js';

/** Magic word of the Outsider-64 shared MMU state ("OUT6"). */
export const OUTSIDER_MAGIC = 0x4f555436;
/** ASID width of Outsider-64 (255 usable ASIDs; 0 reserved). */
export const OUTSIDER_ASID_BITS = 8;

const FOUR_G = 2 ** 32;
const SIZES = [PAGE, HUGE] as const;

function invalid(va: VirtualAddress, access: AccessKind, user: boolean): PageFault {
  return new PageFault(va, access, user, 'invalid-address');
}

/** The address as a number in [0, 2^42), or -1 when Outsider-64 does not translate it. */
function norm(va: VirtualAddress): number {
  if (typeof va === 'bigint') return va >= 0n && va < BigInt(VA_LIMIT) ? Number(va) : -1;
  return Number.isSafeInteger(va) && va >= 0 && va < VA_LIMIT ? va : -1;
}

function argAddress(va: VirtualAddress, what: string): number {
  if (typeof va !== 'bigint' && !Number.isSafeInteger(va)) throw new IpcError('InvalidArgument', `${what} ${String(va)} is not an integer address`);
  const n = norm(va);
  if (n < 0) throw invalid(va, AccessKind.Read, false);
  return n;
}

const idx = (va: number, level: number): number => Math.floor(va / 2 ** shiftOf(level)) & (ENTRIES - 1);

/** Per-CPU direct-mapped TLBs of one MMU instance. */
class Tlb implements ShootdownTarget {
  readonly n: number;
  readonly mask: number;
  readonly vpn: Int32Array;
  readonly asid: Int32Array;
  readonly shift: Int8Array;
  readonly ppn: Int32Array;
  readonly bits: Int32Array;
  readonly stats: TlbStats = { hits: 0, misses: 0, invalidations: 0, shootdowns: 0, flushes: 0 };

  constructor(cpus: number, entries: number) {
    this.n = entries;
    this.mask = entries - 1;
    this.vpn = new Int32Array(cpus * entries).fill(-1);
    this.asid = new Int32Array(cpus * entries);
    this.shift = new Int8Array(cpus * entries);
    this.ppn = new Int32Array(cpus * entries);
    this.bits = new Int32Array(cpus * entries);
  }

  /** Slot index of a hit for `vpn` in `asid` on `cpu`, or -1. */
  probe(cpu: number, asid: number, vpn: number): number {
    const base = cpu * this.n;
    let s = base + (vpn & this.mask);
    if (this.vpn[s] === vpn && this.shift[s] === 12 && (this.asid[s] === asid || this.bits[s]! & G)) return s;
    const hv = vpn - (vpn & 1023);
    s = base + ((hv >>> 10) & this.mask);
    if (this.vpn[s] === hv && this.shift[s] === 22 && (this.asid[s] === asid || this.bits[s]! & G)) return s;
    return -1;
  }

  fill(cpu: number, asid: number, vpn: number, shift: number, ppn: number, bits: number): void {
    const s = cpu * this.n + ((shift === 12 ? vpn : vpn >>> 10) & this.mask);
    this.vpn[s] = vpn;
    this.asid[s] = asid;
    this.shift[s] = shift;
    this.ppn[s] = ppn;
    this.bits[s] = bits;
  }

  invalidateRange(cpu: number, asid: number, vpn: number, count: number): void {
    this.stats.invalidations++;
    const base = cpu * this.n;
    for (let s = base; s < base + this.n; s++) {
      const v = this.vpn[s]!;
      if (v < 0 || (this.asid[s] !== asid && !(this.bits[s]! & G))) continue;
      const pages = this.shift[s] === 12 ? 1 : 1024;
      if (v < vpn + count && vpn < v + pages) this.vpn[s] = -1;
    }
  }

  flushAsid(cpu: number, asid: number): void {
    this.stats.flushes++;
    const base = cpu * this.n;
    for (let s = base; s < base + this.n; s++) if (this.asid[s] === asid && !(this.bits[s]! & G)) this.vpn[s] = -1;
  }

  flushAll(cpu: number): void {
    this.stats.flushes++;
    this.vpn.fill(-1, cpu * this.n, (cpu + 1) * this.n);
  }
}

/** Design variants of Outsider-64 (for experiments; the `outsider64` Arch uses the defaults). */
export interface OutsiderVariant {
  /** ASID width (default {@link OUTSIDER_ASID_BITS}); 6 models a MIPS R3000-sized TLB tag. */
  asidBits?: number;
  /**
   * Model an accessed flag that hardware does not set (ARMv8.0 without FEAT_HAFDBS, MIPS-style
   * software refill): a translation of a leaf with A clear faults `access-flag` for software to
   * repair, instead of the MMU setting A itself. Default false.
   */
  softwareAccessFlag?: boolean;
}

interface Ctx {
  readonly variant: OutsiderVariant;
  readonly phys: PhysicalMemory;
  readonly state: MmuSharedState;
  readonly reader: ShootdownReader;
  readonly tlb: Tlb;
  readonly cpus: number;
  readonly handlers: FaultHandlerList;
}

/** Result of a walk: i32 index of the entry reached, the entry, its level. */
interface Slot {
  at: number;
  e: number;
  level: number;
}

class OutsiderSpace implements AddressSpace {
  readonly asid: number;
  readonly root: number;
  readonly #c: Ctx;
  readonly #u32: Uint32Array;
  #dead = false;

  constructor(c: Ctx, root: number, asid: number) {
    this.#c = c;
    this.root = root;
    this.asid = asid;
    this.#u32 = c.phys.u32;
  }

  /** i32 index of entry 0 of the table at physical address `pa`. */
  #tab(pa: number): number {
    return this.#c.phys.physOffset(pa) >>> 2;
  }

  #live(): void {
    if (this.#dead) throw new IpcError('InvalidState', 'address space destroyed');
  }

  /** Walks to the entry recording `va` (leaf, LAZY, or the first empty/odd one). No side effects. */
  #walk(va: number, out: Slot): void {
    let table = this.#tab(this.root);
    for (let level = 0; level < LEVELS; level++) {
      const at = table + idx(va, level);
      const e = Atomics.load(this.#u32, at);
      out.at = at;
      out.e = e;
      out.level = level;
      if (level < LEVELS - 1 && isTable(e) && (e & ~(PFN_MASK | V | T)) === 0) {
        table = this.#tab(e & PFN_MASK);
        continue;
      }
      return;
    }
  }

  #mappingOf(va: number, s: Slot): PageMapping | undefined {
    const e = s.e;
    if (!isLeaf(e) || s.level === 0) return undefined;
    const size = s.level === 1 ? HUGE : PAGE;
    const base = va - (va % size);
    return { va: base, pa: (e & PFN_MASK) >>> 0, size, perms: permsOf(e), markers: markersOf(e), accessed: (e & A) !== 0, dirty: (e & D) !== 0, global: (e & G) !== 0, present: (e & V) !== 0 };
  }

  // ---- faults and translation ----------------------------------------------------------

  #fault(va: VirtualAddress, n: number, access: AccessKind, user: boolean, s: Slot): PageFault | null {
    const e = s.e;
    const reason = this.#reason(e, s.level, access, user);
    if (reason === null) return null;
    return new PageFault(va, access, user, reason, reason === 'not-present' || reason === 'reserved-bit' ? undefined : this.#mappingOf(n, s), s.level);
  }

  #reason(e: number, level: number, access: AccessKind, user: boolean): FaultReason | null {
    if (e === 0) return 'not-present';
    if (e & V) {
      if (e & T) return level === LEVELS - 1 || (e & ~(PFN_MASK | V | T)) !== 0 ? 'reserved-bit' : 'not-present';
      if (level === 0) return 'reserved-bit';
      const plv = e & PLV_MASK;
      if (plv !== 0 && plv !== PLV_USER) return 'reserved-bit';
    } else {
      return e & LAZY ? 'lazy' : 'not-present';
    }
    if (user && (e & PLV_MASK) !== PLV_USER) return 'permission';
    if (access === AccessKind.Write) return e & W ? null : 'permission';
    if (access === AccessKind.Execute) return e & NX ? 'permission' : null;
    return e & NR ? 'permission' : null;
  }

  translate(va: VirtualAddress, access: AccessKind, cpu = 0, user = false): number {
    const c = this.#c;
    checkCpu(cpu, c.cpus);
    this.#live();
    if (access !== AccessKind.Read && access !== AccessKind.Write && access !== AccessKind.Execute) throw new IpcError('InvalidArgument', `bad access kind ${String(access)}`);
    const n = norm(va);
    if (n < 0) throw invalid(va, access, user);
    const vpn = Math.floor(n / PAGE);
    const tlb = c.tlb;
    for (let attempt = 0; ; attempt++) {
      c.reader.sync(cpu);
      const hit = tlb.probe(cpu, this.asid, vpn);
      if (hit >= 0) {
        const b = tlb.bits[hit]!;
        if (this.#reason(b | V, 2, access, user) === null && (access !== AccessKind.Write || b & D)) {
          tlb.stats.hits++;
          const size = tlb.shift[hit] === 12 ? PAGE : HUGE;
          return tlb.ppn[hit]! * PAGE + (n % size);
        }
      }
      tlb.stats.misses++;
      const fault = this.#refill(va, n, vpn, access, cpu, user);
      if (typeof fault === 'number') return fault;
      if (attempt === 0 && c.handlers.repair(fault, this)) continue;
      throw fault;
    }
  }

  /** The software refill / modify handler: walk, set A (and D on a write) in the leaf, fill the TLB. */
  #refill(va: VirtualAddress, n: number, vpn: number, access: AccessKind, cpu: number, user: boolean): number | PageFault {
    const c = this.#c;
    const s: Slot = { at: 0, e: 0, level: 0 };
    c.state.reclaim.enter(cpu);
    try {
      for (;;) {
        this.#walk(n, s);
        const f = this.#fault(va, n, access, user, s);
        if (f) return f;
        if (c.variant.softwareAccessFlag && !(s.e & A)) return new PageFault(va, access, user, 'access-flag', this.#mappingOf(n, s), s.level);
        const want = s.e | A | (access === AccessKind.Write ? D : 0);
        if (want !== s.e && Atomics.compareExchange(this.#u32, s.at, s.e, want >>> 0) !== s.e) continue; // changed under us: walk again
        const shift = s.level === 1 ? 22 : 12;
        const ppn = (want & PFN_MASK) >>> 12;
        const tvpn = shift === 12 ? vpn : vpn - (vpn & 1023);
        c.tlb.fill(cpu, this.asid, tvpn, shift, ppn, want & 0xfff);
        return ppn * PAGE + (n % (shift === 12 ? PAGE : HUGE));
      }
    } finally {
      c.state.reclaim.exit(cpu);
    }
  }

  // ---- reading -------------------------------------------------------------------------

  lookup(va: VirtualAddress): PageMapping | undefined {
    const n = norm(va);
    if (n < 0 || this.#dead) return undefined;
    const s: Slot = { at: 0, e: 0, level: 0 };
    this.#walk(n, s);
    return this.#mappingOf(n, s);
  }

  walk(va: VirtualAddress): bigint[] {
    const n = norm(va);
    if (n < 0) throw invalid(va, AccessKind.Read, false);
    const out: bigint[] = [];
    let table = this.#tab(this.root);
    for (let level = 0; level < LEVELS; level++) {
      const e = Atomics.load(this.#u32, table + idx(n, level));
      out.push(BigInt(e >>> 0));
      if (level < LEVELS - 1 && isTable(e)) table = this.#tab(e & PFN_MASK);
      else break;
    }
    return out;
  }

  /** Calls `f` for every leaf (present or LAZY) in address order. */
  #leaves(f: (va: number, at: number, e: number, level: number) => void): void {
    const r = this.#tab(this.root);
    for (let i0 = 0; i0 < ENTRIES; i0++) {
      const e0 = this.#u32[r + i0]!;
      if (!isTable(e0)) continue;
      const t1 = this.#tab(e0 & PFN_MASK);
      for (let i1 = 0; i1 < ENTRIES; i1++) {
        const e1 = this.#u32[t1 + i1]!;
        const va1 = i0 * FOUR_G + i1 * HUGE;
        if (isTable(e1)) {
          const t2 = this.#tab(e1 & PFN_MASK);
          for (let i2 = 0; i2 < ENTRIES; i2++) {
            const e2 = this.#u32[t2 + i2]!;
            if (isLeaf(e2)) f(va1 + i2 * PAGE, t2 + i2, e2, 2);
          }
        } else if (isLeaf(e1)) f(va1, t1 + i1, e1, 1);
      }
    }
  }

  mappings(): PageMapping[] {
    const out: PageMapping[] = [];
    if (this.#dead) return out;
    this.#leaves((va, at, e, level) => out.push(this.#mappingOf(va, { at, e, level })!));
    return out;
  }

  tableFrameCount(): number {
    if (this.#dead) return 0;
    return this.#tables().length;
  }

  /** Every table frame, root first. */
  #tables(): number[] {
    const frames = [PhysicalMemory.frameOf(this.root)];
    const r = this.#tab(this.root);
    for (let i0 = 0; i0 < ENTRIES; i0++) {
      const e0 = this.#u32[r + i0]!;
      if (!isTable(e0)) continue;
      frames.push((e0 & PFN_MASK) >>> 12);
      const t1 = this.#tab(e0 & PFN_MASK);
      for (let i1 = 0; i1 < ENTRIES; i1++) {
        const e1 = this.#u32[t1 + i1]!;
        if (isTable(e1)) frames.push((e1 & PFN_MASK) >>> 12);
      }
    }
    return frames;
  }

  dump(): string {
    return formatMappings(this.mappings(), { levelName: (s) => (s === PAGE ? 'pte' : 'pmd'), kernelStart: BigInt(USER_TOP) });
  }

  readFrames(va: VirtualAddress, count: number, frames: Int32Array, info: Int32Array, at = 0): number {
    const base = this.#range(va, count);
    const s: Slot = { at: 0, e: 0, level: 0 };
    let mapped = 0;
    for (let i = 0; i < count; i++) {
      const p = base + i * PAGE;
      this.#walk(p, s);
      const m = this.#mappingOf(p, s);
      if (!m) {
        frames[at + i] = -1;
        info[at + i] = 0;
        continue;
      }
      mapped++;
      frames[at + i] = (m.pa + (p - (m.va as number))) / PAGE;
      info[at + i] = (m.perms & FrameInfo.PERMS) | (m.markers << FrameInfo.MARKER_SHIFT) | FrameInfo.MAPPED | (m.present ? FrameInfo.PRESENT : 0);
    }
    return mapped;
  }

  // ---- writing -------------------------------------------------------------------------

  #range(va: VirtualAddress, count: number): number {
    const n = argAddress(va, 'address');
    if (n % PAGE !== 0) throw new IpcError('InvalidArgument', `address 0x${n.toString(16)} is not page-aligned`);
    if (!Number.isSafeInteger(count) || count < 0) throw new IpcError('InvalidArgument', `page count ${String(count)} is not a non-negative integer`);
    if (n + count * PAGE > VA_LIMIT) throw invalid(n + count * PAGE, AccessKind.Read, false);
    return n;
  }

  #checkMapArgs(perms: PagePerms, markers: number): void {
    if (!Number.isInteger(perms) || perms < 0 || perms > 15) throw new IpcError('InvalidArgument', `bad perms ${String(perms)}`);
    if (!Number.isInteger(markers) || markers < 0 || markers > 3) throw new IpcError('InvalidArgument', `bad markers ${String(markers)}`);
  }

  /**
   * Maps `count` pages of `size` from `va`, page `i` onto frame `frameOf(i)`, all or nothing.
   * Lock held by the caller.
   */
  #mapPages(va: number, count: number, size: number, frameOf: (i: number) => number, bits: number): void {
    const u32 = this.#u32;
    const r = this.#tab(this.root);
    // Pass 1: overlaps, and how many tables are missing.
    let need = 0;
    let lastMissingL1 = -1;
    let lastMissingL2 = -1;
    for (let i = 0; i < count; i++) {
      const p = va + i * size;
      const i0 = idx(p, 0);
      const e0 = u32[r + i0]!;
      if (e0 !== 0 && !isTable(e0)) throw new IpcError('AlreadyExists', `0x${p.toString(16)} overlaps an entry at L0`);
      if (e0 === 0) {
        if (lastMissingL1 !== i0) {
          lastMissingL1 = i0;
          need++;
        }
        if (size === PAGE) {
          const k = Math.floor(p / HUGE);
          if (lastMissingL2 !== k) {
            lastMissingL2 = k;
            need++;
          }
        }
        continue;
      }
      const t1 = this.#tab(e0 & PFN_MASK);
      const e1 = u32[t1 + idx(p, 1)]!;
      if (size === HUGE) {
        if (e1 !== 0) throw new IpcError('AlreadyExists', `0x${p.toString(16)} overlaps a mapping`);
        continue;
      }
      if (e1 !== 0 && !isTable(e1)) throw new IpcError('AlreadyExists', `0x${p.toString(16)} overlaps a 4 MiB page`);
      if (e1 === 0) {
        const k = Math.floor(p / HUGE);
        if (lastMissingL2 !== k) {
          lastMissingL2 = k;
          need++;
        }
        continue;
      }
      if (u32[this.#tab(e1 & PFN_MASK) + idx(p, 2)]! !== 0) throw new IpcError('AlreadyExists', `0x${p.toString(16)} is already mapped`);
    }
    const fresh = need > 0 ? this.#c.phys.allocFrames(need) : [];
    let next = 0;
    const table = (at: number): number => {
      const e = u32[at]!;
      if (isTable(e)) return this.#tab(e & PFN_MASK);
      const f = fresh[next++]!;
      Atomics.store(u32, at, ((f * PAGE) | V | T) >>> 0);
      return this.#tab(f * PAGE);
    };
    this.#c.state.beginWrite();
    try {
      for (let i = 0; i < count; i++) {
        const p = va + i * size;
        const t1 = table(r + idx(p, 0));
        const at = size === HUGE ? t1 + idx(p, 1) : table(t1 + idx(p, 1)) + idx(p, 2);
        Atomics.store(u32, at, ((frameOf(i) * PAGE) | bits) >>> 0);
      }
    } finally {
      this.#c.state.endWrite();
    }
  }

  map(va: VirtualAddress, pa: number, length: number, perms: PagePerms, options?: MapOptions): void {
    this.#live();
    const size = options?.pageSize ?? PAGE;
    if (!SIZES.includes(size as 4096)) throw new IpcError('InvalidArgument', `page size ${String(size)} is not one of ${SIZES.join(', ')}`);
    const markers = options?.markers ?? 0;
    this.#checkMapArgs(perms, markers);
    const n = argAddress(va, 'address');
    if (!Number.isSafeInteger(pa) || pa < 0 || pa % size !== 0) throw new IpcError('InvalidArgument', `physical address ${String(pa)} is not aligned to ${size}`);
    if (n % size !== 0) throw new IpcError('InvalidArgument', `address 0x${n.toString(16)} is not aligned to ${size}`);
    if (!Number.isSafeInteger(length) || length <= 0 || length % size !== 0) throw new IpcError('InvalidArgument', `length ${String(length)} is not a positive multiple of ${size}`);
    if (n + length > VA_LIMIT) throw invalid(n + length - 1, AccessKind.Read, false);
    if (pa + length > FOUR_G) throw new IpcError('InvalidArgument', `physical address 0x${(pa + length).toString(16)} beyond Outsider-64's 32-bit physical space`);
    const bits = leafBits(perms, markers, options?.global === true);
    const f0 = pa / PAGE;
    const step = size / PAGE;
    const st = this.#c.state;
    st.lock();
    try {
      this.#mapPages(n, length / size, size, (i) => f0 + i * step, bits);
    } finally {
      st.unlock();
    }
  }

  mapFrames(va: VirtualAddress, frames: ArrayLike<number>, from: number, count: number, perms: PagePerms, markers = 0): void {
    this.#live();
    this.#checkMapArgs(perms, markers);
    const n = this.#range(va, count);
    if (count === 0) return;
    for (let i = 0; i < count; i++) {
      const f = frames[from + i];
      if (!Number.isInteger(f) || f! < 1 || f! >= this.#c.phys.frameCount) throw new IpcError('InvalidArgument', `not a frame number: ${String(f)}`);
    }
    const bits = leafBits(perms, markers, false);
    const st = this.#c.state;
    st.lock();
    try {
      this.#mapPages(n, count, PAGE, (i) => frames[from + i]!, bits);
    } finally {
      st.unlock();
    }
  }

  /** Pass 1 of unmap/protect: `InvalidArgument` if the range splits a 4 MiB page. */
  #checkSplit(va: number, end: number): void {
    const r = this.#tab(this.root);
    for (const p of [va, end - PAGE]) {
      const e0 = this.#u32[r + idx(p, 0)]!;
      if (!isTable(e0)) continue;
      const e1 = this.#u32[this.#tab(e0 & PFN_MASK) + idx(p, 1)]!;
      if (isLeaf(e1)) {
        const base = p - (p % HUGE);
        if (base < va || base + HUGE > end) throw new IpcError('InvalidArgument', `range splits the 4 MiB page at 0x${base.toString(16)}`);
      }
    }
  }

  /**
   * Visits every leaf in `[va, end)` with `f(at, e, pageVa, level)`; `f` returns the new entry.
   * Empty tables left behind are unlinked and returned (to retire after the shootdown).
   */
  #edit(va: number, end: number, f: (at: number, e: number, p: number, level: number) => number, reclaim: boolean): number[] {
    const u32 = this.#u32;
    const r = this.#tab(this.root);
    const retired: number[] = [];
    let p = va;
    while (p < end) {
      const at0 = r + idx(p, 0);
      const e0 = u32[at0]!;
      const next0 = Math.min(end, (Math.floor(p / FOUR_G) + 1) * FOUR_G);
      if (!isTable(e0)) {
        p = next0;
        continue;
      }
      const t1 = this.#tab(e0 & PFN_MASK);
      while (p < next0) {
        const at1 = t1 + idx(p, 1);
        const e1 = u32[at1]!;
        const next1 = Math.min(end, (Math.floor(p / HUGE) + 1) * HUGE);
        if (isLeaf(e1)) {
          Atomics.store(u32, at1, f(at1, e1, p, 1) >>> 0);
        } else if (isTable(e1)) {
          const t2 = this.#tab(e1 & PFN_MASK);
          for (let q = p; q < next1; q += PAGE) {
            const at2 = t2 + idx(q, 2);
            const e2 = u32[at2]!;
            if (isLeaf(e2)) Atomics.store(u32, at2, f(at2, e2, q, 2) >>> 0);
          }
          if (reclaim && this.#empty(t2)) {
            Atomics.store(u32, at1, 0);
            retired.push((e1 & PFN_MASK) >>> 12);
          }
        }
        p = next1;
      }
      if (reclaim && this.#empty(t1)) {
        Atomics.store(u32, at0, 0);
        retired.push((e0 & PFN_MASK) >>> 12);
      }
    }
    return retired;
  }

  #empty(table: number): boolean {
    for (let i = 0; i < ENTRIES; i++) if (this.#u32[table + i] !== 0) return false;
    return true;
  }

  #unmapRange(n: number, end: number, out: Int32Array | null, at: number): number {
    const st = this.#c.state;
    let mapped = 0;
    if (out) out.fill(-1, at, at + (end - n) / PAGE);
    st.beginWrite();
    let retired: number[];
    try {
      retired = this.#edit(
        n,
        end,
        (_a, e, p, level) => {
          const pfn = (e & PFN_MASK) >>> 12;
          if (level === 1) {
            for (let k = 0; k < 1024; k++) {
              const q = p + k * PAGE;
              if (out && q >= n && q < end) out[at + (q - n) / PAGE] = pfn + k;
            }
            mapped += 1024;
          } else {
            if (out) out[at + (p - n) / PAGE] = pfn;
            mapped++;
          }
          return 0;
        },
        true,
      );
    } finally {
      st.endWrite();
    }
    if (mapped > 0 || retired.length > 0) {
      st.post(ShootdownKind.Range, this.asid, n / PAGE, (end - n) / PAGE);
      this.#c.tlb.stats.shootdowns++;
    }
    for (const f of retired) st.reclaim.retire(f);
    return mapped;
  }

  unmap(va: VirtualAddress, length: number): void {
    this.#live();
    if (!Number.isSafeInteger(length) || length < 0 || length % PAGE !== 0) throw new IpcError('InvalidArgument', `length ${String(length)} is not a multiple of 4096`);
    const n = this.#range(va, length / PAGE);
    if (length === 0) return;
    const st = this.#c.state;
    st.lock();
    try {
      this.#checkSplit(n, n + length);
      this.#unmapRange(n, n + length, null, 0);
    } finally {
      st.unlock();
    }
  }

  unmapFrames(va: VirtualAddress, count: number, out: Int32Array, at = 0): number {
    this.#live();
    const n = this.#range(va, count);
    if (count === 0) return 0;
    const st = this.#c.state;
    st.lock();
    try {
      this.#checkSplit(n, n + count * PAGE);
      return this.#unmapRange(n, n + count * PAGE, out, at);
    } finally {
      st.unlock();
    }
  }

  protect(va: VirtualAddress, length: number, perms: PagePerms, markers?: number): void {
    this.#live();
    this.#checkMapArgs(perms, markers ?? 0);
    if (!Number.isSafeInteger(length) || length < 0 || length % PAGE !== 0) throw new IpcError('InvalidArgument', `length ${String(length)} is not a multiple of 4096`);
    const n = this.#range(va, length / PAGE);
    if (length === 0) return;
    const st = this.#c.state;
    st.lock();
    try {
      this.#checkSplit(n, n + length);
      let changed = 0;
      st.beginWrite();
      try {
        this.#edit(
          n,
          n + length,
          (_a, e) => {
            const m = markers ?? markersOf(e);
            const ne = ((e & (PFN_MASK | A | D)) | leafBits(perms, m, (e & G) !== 0)) >>> 0;
            if (ne !== e >>> 0) changed++;
            return ne;
          },
          false,
        );
      } finally {
        st.endWrite();
      }
      if (changed > 0) {
        st.post(ShootdownKind.Range, this.asid, n / PAGE, length / PAGE);
        this.#c.tlb.stats.shootdowns++;
      }
    } finally {
      st.unlock();
    }
  }

  /**
   * Sets A on every valid leaf in `[va, va + length)` (the contract's `setAccessed`): what the
   * kernel's fault handler calls on an `access-flag` fault with `softwareAccessFlag`. No
   * shootdown: the refill never fills the TLB from a leaf whose A is clear.
   */
  setAccessed(va: VirtualAddress, length: number): number {
    this.#live();
    if (!Number.isSafeInteger(length) || length < 0 || length % PAGE !== 0) throw new IpcError('InvalidArgument', `length ${String(length)} is not a multiple of 4096`);
    const n = this.#range(va, length / PAGE);
    if (length === 0) return 0;
    let set = 0;
    const st = this.#c.state;
    st.lock();
    try {
      st.beginWrite();
      try {
        this.#edit(
          n,
          n + length,
          (_a, e) => {
            if ((e & V) === 0 || (e & A) !== 0) return e;
            set++;
            return (e | A) >>> 0;
          },
          false,
        );
      } finally {
        st.endWrite();
      }
    } finally {
      st.unlock();
    }
    return set;
  }

  destroy(): void {
    if (this.#dead) return;
    const st = this.#c.state;
    st.lock();
    try {
      const frames = this.#tables();
      this.#dead = true;
      st.post(ShootdownKind.Asid, this.asid, 0, 0);
      this.#c.tlb.stats.shootdowns++;
      for (const f of frames.reverse()) st.reclaim.retire(f);
      st.freeAsid(this.asid);
    } finally {
      st.unlock();
    }
  }
}

class OutsiderMmu implements Mmu {
  readonly arch = 'outsider64';
  readonly pageSizes: readonly number[] = SIZES;
  readonly cpuCount: number;
  readonly phys: PhysicalMemory;
  readonly sharedState: number;
  /** One ASID per address space for its life (ASID 0 reserved): `createKernel` refuses more process records. */
  readonly maxAddressSpaces: number;
  readonly #c: Ctx;

  constructor(phys: PhysicalMemory, options: MmuOptions, variant: OutsiderVariant) {
    const cpus = options.cpus ?? 1;
    const entries = options.tlbEntries ?? 64;
    checkTlbShape(cpus, entries);
    const state = options.sharedState !== undefined ? MmuSharedState.attach(phys, options.sharedState, OUTSIDER_MAGIC) : MmuSharedState.create(phys, { magic: OUTSIDER_MAGIC, asidBits: variant.asidBits ?? OUTSIDER_ASID_BITS });
    state.reclaim.registerCpus(cpus);
    const tlb = new Tlb(cpus, entries);
    this.#c = { variant, phys, state, tlb, cpus, reader: new ShootdownReader(state, cpus, tlb), handlers: new FaultHandlerList() };
    this.cpuCount = cpus;
    this.phys = phys;
    this.sharedState = state.pa;
    this.maxAddressSpaces = state.asidCount - 1;
  }

  get tlbStats(): TlbStats {
    return this.#c.tlb.stats;
  }

  splitAddress(va: VirtualAddress): { indices: number[]; offset: number } {
    const n = norm(va);
    if (n < 0) throw invalid(va, AccessKind.Read, false);
    return { indices: [idx(n, 0), idx(n, 1), idx(n, 2)], offset: n % PAGE };
  }

  createAddressSpace(): AddressSpace {
    const { state, phys } = this.#c;
    state.lock();
    try {
      const asid = state.allocAsid();
      let frame: number;
      try {
        frame = phys.allocFrame();
      } catch (e) {
        state.freeAsid(asid);
        throw e;
      }
      return new OutsiderSpace(this.#c, PhysicalMemory.addressOf(frame), asid);
    } finally {
      state.unlock();
    }
  }

  attachAddressSpace(root: number, asid: number): AddressSpace {
    checkAttach(this.phys, this.#c.state, root, asid);
    return new OutsiderSpace(this.#c, root, asid);
  }

  onFault(handler: PageFaultHandler): () => void {
    if (typeof handler !== 'function') throw new IpcError('InvalidArgument', 'fault handler must be a function');
    return this.#c.handlers.add(handler);
  }

  flushTlb(cpu?: number): void {
    if (cpu === undefined) {
      for (let i = 0; i < this.cpuCount; i++) this.#c.tlb.flushAll(i);
      return;
    }
    checkCpu(cpu, this.cpuCount);
    this.#c.tlb.flushAll(cpu);
  }
}

/** `Arch.createMmu` of Outsider-64. */
export function createOutsiderMmu(phys: PhysicalMemory, options: MmuOptions = {}, variant: OutsiderVariant = {}): Mmu {
  return new OutsiderMmu(phys, options, variant);
}
