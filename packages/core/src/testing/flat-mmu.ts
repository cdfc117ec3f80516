/**
 * The software MMU of the test arch: a two-level table (a root of 1024 words naming leaf
 * tables, leaf tables of 1024 words) over 32-bit addresses. A leaf word is
 * `frame << 12 | PRESENT << 9 | MAPPED << 8 | markers << 4 | perms`. No TLB, no real CPU's
 * format: it exists so arch-neutral code (the kernel, the suite) runs without a backend.
 */
import { IpcError } from '../contracts/errors.js';
import { AccessKind, FrameInfo, PageFault, PageMarker, PagePerm } from '../contracts/mmu.js';
import type { AddressSpace, MapOptions, Mmu, MmuOptions, PageFaultHandler, PageMapping, PagePerms, VirtualAddress } from '../contracts/mmu.js';
import { FRAME_SIZE, PhysicalMemory } from '../memory/physical-memory.js';
import { FaultHandlerList } from '../mmu/fault-handlers.js';
import { formatMappings } from '../mmu/dump.js';

const ENTRIES = 1024;
const LEAF_SPAN = ENTRIES * FRAME_SIZE;
const TOP = 2 ** 31;
const MAPPED = FrameInfo.MAPPED;
const PRESENT = FrameInfo.PRESENT;
const LOW = 0xfff;

function bad(message: string): never {
  throw new IpcError('InvalidArgument', message);
}

class FlatSpace implements AddressSpace {
  readonly #phys: PhysicalMemory;
  readonly #u32: Uint32Array;
  readonly #handlers: FaultHandlerList;
  #live = true;

  constructor(
    phys: PhysicalMemory,
    handlers: FaultHandlerList,
    readonly root: number,
    readonly asid: number,
  ) {
    this.#phys = phys;
    this.#u32 = phys.u32;
    this.#handlers = handlers;
  }

  #words(frame: number): number {
    return this.#phys.frameOffset(frame) >> 2;
  }
  #leafWord(page: number): number {
    const t = this.#u32[this.#words(this.root / FRAME_SIZE) + Math.floor(page / ENTRIES)]!;
    return t === 0 ? -1 : this.#words(t) + (page % ENTRIES);
  }
  #check(va: VirtualAddress, count: number): number {
    if (!this.#live) throw new IpcError('InvalidState', 'address space destroyed');
    const v = typeof va === 'bigint' ? Number(va) : va;
    if (!Number.isSafeInteger(v) || v < 0 || v % FRAME_SIZE !== 0) bad(`address ${String(va)} is not a page-aligned address`);
    if (!Number.isSafeInteger(count) || count <= 0 || v + count * FRAME_SIZE > TOP) bad(`${String(count)} pages from ${v} leave the 2 GiB space`);
    return v / FRAME_SIZE;
  }

  map(va: VirtualAddress, pa: number, length: number, perms: PagePerms, options?: MapOptions): void {
    if (!Number.isSafeInteger(length) || length <= 0 || length % FRAME_SIZE !== 0) bad(`length ${length} is not a positive multiple of 4096`);
    if (!Number.isSafeInteger(pa) || pa % FRAME_SIZE !== 0 || !this.#phys.isInstalled(pa)) bad(`physical address ${pa} is not an installed frame`);
    const n = length / FRAME_SIZE;
    const frames = new Int32Array(n);
    for (let i = 0; i < n; i++) frames[i] = pa / FRAME_SIZE + i;
    this.mapFrames(va, frames, 0, n, perms, options?.markers ?? 0);
  }

  mapFrames(va: VirtualAddress, frames: ArrayLike<number>, from: number, count: number, perms: PagePerms, markers = 0): void {
    const first = this.#check(va, count);
    if (!Number.isInteger(from) || from < 0 || from + count > frames.length) bad('frames do not cover the range');
    if (!Number.isInteger(perms) || perms < 0 || perms > 0xf) bad(`unknown permission bits in ${perms}`);
    if (!Number.isInteger(markers) || markers < 0 || markers > 3) bad(`unknown marker bits in ${markers}`);
    for (let i = 0; i < count; i++) {
      const f = frames[from + i]!;
      if (!Number.isInteger(f) || !this.#phys.isInstalled(f * FRAME_SIZE)) bad(`not a frame: ${String(f)}`);
      const w = this.#leafWord(first + i);
      if (w >= 0 && this.#u32[w]! & MAPPED) throw new IpcError('AlreadyExists', 'the range overlaps an existing mapping');
    }
    // Tables first (all or nothing), then the leaves.
    const rootW = this.#words(this.root / FRAME_SIZE);
    const made: number[] = [];
    try {
      for (let t = Math.floor(first / ENTRIES); t <= Math.floor((first + count - 1) / ENTRIES); t++) {
        if (this.#u32[rootW + t] === 0) {
          const f = this.#phys.allocFrame();
          made.push(t);
          this.#u32[rootW + t] = f;
        }
      }
    } catch (e) {
      for (const t of made) {
        this.#phys.freeFrame(this.#u32[rootW + t]!);
        this.#u32[rootW + t] = 0;
      }
      throw e;
    }
    const flags = perms | (markers << FrameInfo.MARKER_SHIFT) | MAPPED | (markers & PageMarker.LAZY ? 0 : PRESENT);
    for (let i = 0; i < count; i++) this.#u32[this.#leafWord(first + i)] = ((frames[from + i]! << 12) | flags) >>> 0;
  }

  unmap(va: VirtualAddress, length: number): void {
    if (!Number.isSafeInteger(length) || length <= 0 || length % FRAME_SIZE !== 0) bad(`length ${length} is not a positive multiple of 4096`);
    this.unmapFrames(va, length / FRAME_SIZE, new Int32Array(length / FRAME_SIZE));
  }

  unmapFrames(va: VirtualAddress, count: number, out: Int32Array, at = 0): number {
    const first = this.#check(va, count);
    if (!(out instanceof Int32Array) || !Number.isInteger(at) || at < 0 || at + count > out.length) bad('out is not an Int32Array long enough');
    let mapped = 0;
    for (let i = 0; i < count; i++) {
      const w = this.#leafWord(first + i);
      const e = w >= 0 ? this.#u32[w]! : 0;
      out[at + i] = e & MAPPED ? e >>> 12 : -1;
      if (e & MAPPED) {
        mapped++;
        this.#u32[w] = 0;
      }
    }
    // Free leaf tables left empty.
    const rootW = this.#words(this.root / FRAME_SIZE);
    for (let t = Math.floor(first / ENTRIES); t <= Math.floor((first + count - 1) / ENTRIES); t++) {
      const f = this.#u32[rootW + t]!;
      if (f === 0) continue;
      const b = this.#words(f);
      let empty = true;
      for (let i = 0; i < ENTRIES && empty; i++) if (this.#u32[b + i] !== 0) empty = false;
      if (empty) {
        this.#u32[rootW + t] = 0;
        this.#phys.freeFrame(f);
      }
    }
    return mapped;
  }

  readFrames(va: VirtualAddress, count: number, frames: Int32Array, info: Int32Array, at = 0): number {
    const first = this.#check(va, count);
    if (!(frames instanceof Int32Array) || !(info instanceof Int32Array) || !Number.isInteger(at) || at < 0 || at + count > frames.length || at + count > info.length) bad('frames/info are not Int32Arrays long enough');
    let mapped = 0;
    for (let i = 0; i < count; i++) {
      const w = this.#leafWord(first + i);
      const e = w >= 0 ? this.#u32[w]! : 0;
      frames[at + i] = e & MAPPED ? e >>> 12 : -1;
      info[at + i] = e & LOW;
      if (e & MAPPED) mapped++;
    }
    return mapped;
  }

  protect(va: VirtualAddress, length: number, perms: PagePerms, markers?: number): void {
    if (!Number.isSafeInteger(length) || length <= 0 || length % FRAME_SIZE !== 0) bad(`length ${length} is not a positive multiple of 4096`);
    const first = this.#check(va, length / FRAME_SIZE);
    if (!Number.isInteger(perms) || perms < 0 || perms > 0xf) bad(`unknown permission bits in ${perms}`);
    for (let i = 0; i < length / FRAME_SIZE; i++) {
      const w = this.#leafWord(first + i);
      if (w < 0 || !(this.#u32[w]! & MAPPED)) continue;
      const e = this.#u32[w]!;
      const m = markers ?? (e >>> FrameInfo.MARKER_SHIFT) & 3;
      this.#u32[w] = ((e & ~LOW) | perms | (m << FrameInfo.MARKER_SHIFT) | MAPPED | (m & PageMarker.LAZY ? 0 : PRESENT)) >>> 0;
    }
  }

  translate(va: VirtualAddress, access: AccessKind, _cpu = 0, user = false): number {
    for (let attempt = 0; ; attempt++) {
      const fault = this.#fault(va, access, user);
      if (!fault) {
        const v = Number(va);
        return (this.#u32[this.#leafWord(Math.floor(v / FRAME_SIZE))]! >>> 12) * FRAME_SIZE + (v % FRAME_SIZE);
      }
      if (attempt > 0 || !this.#handlers.repair(fault, this)) throw fault;
    }
  }

  #fault(va: VirtualAddress, access: AccessKind, user: boolean): PageFault | undefined {
    if (!this.#live) throw new IpcError('InvalidState', 'address space destroyed');
    const v = Number(va);
    if (!Number.isSafeInteger(v) || v < 0 || v >= TOP) return new PageFault(va, access, user, 'invalid-address');
    const w = this.#leafWord(Math.floor(v / FRAME_SIZE));
    const e = w >= 0 ? this.#u32[w]! : 0;
    if (!(e & MAPPED)) return new PageFault(va, access, user, 'not-present');
    const mapping = this.lookup(va);
    if (!(e & PRESENT)) return new PageFault(va, access, user, 'lazy', mapping);
    const need = access === AccessKind.Write ? PagePerm.WRITE : access === AccessKind.Execute ? PagePerm.EXECUTE : PagePerm.READ;
    if ((e & need) === 0 || (user && (e & PagePerm.USER) === 0)) return new PageFault(va, access, user, 'permission', mapping);
    return undefined;
  }

  lookup(va: VirtualAddress): PageMapping | undefined {
    const v = Number(va);
    if (!Number.isSafeInteger(v) || v < 0 || v >= TOP) return undefined;
    const page = Math.floor(v / FRAME_SIZE);
    const w = this.#leafWord(page);
    const e = w >= 0 ? this.#u32[w]! : 0;
    if (!(e & MAPPED)) return undefined;
    return { va: page * FRAME_SIZE, pa: (e >>> 12) * FRAME_SIZE, size: FRAME_SIZE, perms: e & 0xf, markers: (e >>> FrameInfo.MARKER_SHIFT) & 3, accessed: false, dirty: false, global: false, present: (e & PRESENT) !== 0 };
  }

  mappings(): PageMapping[] {
    const out: PageMapping[] = [];
    const rootW = this.#words(this.root / FRAME_SIZE);
    for (let t = 0; t < ENTRIES; t++) {
      if (this.#u32[rootW + t] === 0) continue;
      for (let i = 0; i < ENTRIES; i++) {
        const m = this.lookup(t * LEAF_SPAN + i * FRAME_SIZE);
        if (m) out.push(m);
      }
    }
    return out;
  }

  walk(va: VirtualAddress): bigint[] {
    const v = Number(va);
    const rootW = this.#words(this.root / FRAME_SIZE);
    const t = this.#u32[rootW + Math.floor(v / LEAF_SPAN)]!;
    if (t === 0) return [0n];
    return [BigInt(t), BigInt(this.#u32[this.#leafWord(Math.floor(v / FRAME_SIZE))]!)];
  }

  tableFrameCount(): number {
    const rootW = this.#words(this.root / FRAME_SIZE);
    let n = 1;
    for (let t = 0; t < ENTRIES; t++) if (this.#u32[rootW + t] !== 0) n++;
    return n;
  }

  dump(): string {
    return formatMappings(this.mappings());
  }

  destroy(): void {
    const rootW = this.#words(this.root / FRAME_SIZE);
    for (let t = ENTRIES - 1; t >= 0; t--) {
      const f = this.#u32[rootW + t]!;
      if (f !== 0) this.#phys.freeFrame(f);
      this.#u32[rootW + t] = 0;
    }
    this.#phys.freeFrame(this.root / FRAME_SIZE);
    this.#live = false;
  }
}

/** The test arch's MMU: {@link FlatSpace} address spaces, fault handlers, no TLB. */
export class FlatMmu implements Mmu {
  readonly arch = 'test';
  readonly pageSizes = [FRAME_SIZE];
  readonly cpuCount: number;
  readonly sharedState = 0;
  readonly tlbStats = { hits: 0, misses: 0, invalidations: 0, shootdowns: 0, flushes: 0 };
  readonly #handlers = new FaultHandlerList();

  constructor(
    readonly phys: PhysicalMemory,
    options: MmuOptions,
  ) {
    this.cpuCount = options.cpus ?? 1;
  }
  splitAddress(va: VirtualAddress): { indices: number[]; offset: number } {
    const v = Number(va);
    return { indices: [Math.floor(v / LEAF_SPAN), Math.floor(v / FRAME_SIZE) % ENTRIES], offset: v % FRAME_SIZE };
  }
  createAddressSpace(): AddressSpace {
    const frame = this.phys.allocFrame();
    return new FlatSpace(this.phys, this.#handlers, PhysicalMemory.addressOf(frame), frame);
  }
  attachAddressSpace(root: number, asid: number): AddressSpace {
    return new FlatSpace(this.phys, this.#handlers, root, asid);
  }
  onFault(handler: PageFaultHandler): () => void {
    return this.#handlers.add(handler);
  }
  flushTlb(): void {}
}
