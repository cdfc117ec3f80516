/** An Outsider-64 address space: walks, refills, maps, unmaps and protects its tables (see `mmu.ts`). */
import {
  AccessKind,
  checkCpu,
  FrameInfo,
  formatMappings,
  IpcError,
  PageFault,
  ShootdownKind,
  type AddressSpace,
  type MapOptions,
  type PageMapping,
  type PagePerms,
  type VirtualAddress,
} from '@veridian/core';
import { A, D, G, HUGE, isLeaf, isTable, leafBits, LEVELS, markersOf, PAGE, PFN_MASK, T, USER_TOP, V, VA_LIMIT } from './pte.js';
import { PageTables } from './page-tables.js';
import { faultReason, mappingOf } from './fault.js';
import { argAddress, FOUR_G, idx, invalid, norm, SIZES, type Ctx, type Slot } from './address.js';

export class OutsiderSpace implements AddressSpace {
  readonly asid: number;
  readonly root: number;
  readonly #c: Ctx;
  readonly #u32: Uint32Array;
  readonly #t: PageTables;
  #dead = false;

  constructor(c: Ctx, root: number, asid: number) {
    this.#c = c;
    this.root = root;
    this.asid = asid;
    this.#u32 = c.phys.u32;
    this.#t = new PageTables(c.phys, root);
  }

  #live(): void {
    if (this.#dead) throw new IpcError('InvalidState', 'address space destroyed');
  }

  // ---- faults and translation ----------------------------------------------------------

  #fault(va: VirtualAddress, n: number, access: AccessKind, user: boolean, s: Slot): PageFault | null {
    const e = s.e;
    const reason = faultReason(e, s.level, access, user);
    if (reason === null) return null;
    return new PageFault(va, access, user, reason, reason === 'not-present' || reason === 'reserved-bit' ? undefined : mappingOf(n, s), s.level);
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
        if (faultReason(b | V, 2, access, user) === null && (access !== AccessKind.Write || b & D)) {
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
        this.#t.walk(n, s);
        const f = this.#fault(va, n, access, user, s);
        if (f) return f;
        if (c.variant.softwareAccessFlag && !(s.e & A)) return new PageFault(va, access, user, 'access-flag', mappingOf(n, s), s.level);
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
    this.#t.walk(n, s);
    return mappingOf(n, s);
  }

  walk(va: VirtualAddress): bigint[] {
    const n = norm(va);
    if (n < 0) throw invalid(va, AccessKind.Read, false);
    const out: bigint[] = [];
    let table = this.#t.tab(this.root);
    for (let level = 0; level < LEVELS; level++) {
      const e = Atomics.load(this.#u32, table + idx(n, level));
      out.push(BigInt(e >>> 0));
      if (level < LEVELS - 1 && isTable(e)) table = this.#t.tab(e & PFN_MASK);
      else break;
    }
    return out;
  }

  mappings(): PageMapping[] {
    const out: PageMapping[] = [];
    if (this.#dead) return out;
    this.#t.leaves((va, at, e, level) => out.push(mappingOf(va, { at, e, level })!));
    return out;
  }

  tableFrameCount(): number {
    if (this.#dead) return 0;
    return this.#t.tables().length;
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
      this.#t.walk(p, s);
      const m = mappingOf(p, s);
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
    const r = this.#t.tab(this.root);
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
      const t1 = this.#t.tab(e0 & PFN_MASK);
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
      if (u32[this.#t.tab(e1 & PFN_MASK) + idx(p, 2)]! !== 0) throw new IpcError('AlreadyExists', `0x${p.toString(16)} is already mapped`);
    }
    const fresh = need > 0 ? this.#c.phys.allocFrames(need) : [];
    let next = 0;
    const table = (at: number): number => {
      const e = u32[at]!;
      if (isTable(e)) return this.#t.tab(e & PFN_MASK);
      const f = fresh[next++]!;
      Atomics.store(u32, at, ((f * PAGE) | V | T) >>> 0);
      return this.#t.tab(f * PAGE);
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
    const r = this.#t.tab(this.root);
    for (const p of [va, end - PAGE]) {
      const e0 = this.#u32[r + idx(p, 0)]!;
      if (!isTable(e0)) continue;
      const e1 = this.#u32[this.#t.tab(e0 & PFN_MASK) + idx(p, 1)]!;
      if (isLeaf(e1)) {
        const base = p - (p % HUGE);
        if (base < va || base + HUGE > end) throw new IpcError('InvalidArgument', `range splits the 4 MiB page at 0x${base.toString(16)}`);
      }
    }
  }

  #unmapRange(n: number, end: number, out: Int32Array | null, at: number): number {
    const st = this.#c.state;
    let mapped = 0;
    if (out) out.fill(-1, at, at + (end - n) / PAGE);
    st.beginWrite();
    let retired: number[];
    try {
      retired = this.#t.edit(
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
    this.#checkMapArgs(perms, markers ?? 0);
    const changed = this.#rewriteLeaves(va, length, true, (e) => ((e & (PFN_MASK | A | D)) | leafBits(perms, markers ?? markersOf(e), (e & G) !== 0)) >>> 0);
    if (changed > 0) this.#c.tlb.stats.shootdowns++;
  }

  /**
   * Sets A on every valid leaf in `[va, va + length)` (the contract's `setAccessed`): what the
   * kernel's fault handler calls on an `access-flag` fault with `softwareAccessFlag`. No
   * shootdown: the refill never fills the TLB from a leaf whose A is clear.
   */
  setAccessed(va: VirtualAddress, length: number): number {
    return this.#rewriteLeaves(va, length, false, (e) => ((e & V) === 0 ? e : (e | A) >>> 0));
  }

  /**
   * Rewrites every leaf in `[va, va + length)` to `f(entry)` under the lock, as one table
   * mutation; with `split` a huge page the range cuts is refused first, and changed entries are
   * shot down. Returns how many entries changed.
   */
  #rewriteLeaves(va: VirtualAddress, length: number, split: boolean, f: (e: number) => number): number {
    this.#live();
    if (!Number.isSafeInteger(length) || length < 0 || length % PAGE !== 0) throw new IpcError('InvalidArgument', `length ${String(length)} is not a multiple of 4096`);
    const n = this.#range(va, length / PAGE);
    if (length === 0) return 0;
    const st = this.#c.state;
    let changed = 0;
    st.lock();
    try {
      if (split) this.#checkSplit(n, n + length);
      st.beginWrite();
      try {
        this.#t.edit(
          n,
          n + length,
          (_a, e) => {
            const ne = f(e);
            if (ne !== e >>> 0) changed++;
            return ne;
          },
          false,
        );
      } finally {
        st.endWrite();
      }
      if (split && changed > 0) st.post(ShootdownKind.Range, this.asid, n / PAGE, length / PAGE);
    } finally {
      st.unlock();
    }
    return changed;
  }

  destroy(): void {
    if (this.#dead) return;
    const st = this.#c.state;
    st.lock();
    try {
      const frames = this.#t.tables();
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
