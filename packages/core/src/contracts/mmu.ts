import { IpcError } from './errors.js';
import type { PhysicalMemory } from '../memory/physical-memory.js';

/**
 * A virtual address. A `number` must be an exact (safe) integer; a `bigint` carries any
 * 64-bit value, which matters for upper-half addresses such as `0xFFFF_8000_0000_0000`.
 */
export type VirtualAddress = number | bigint;

/** Page permissions (arch-neutral; each arch encodes them in its own bits). */
export const PagePerm = {
  READ: 0x1,
  WRITE: 0x2,
  EXECUTE: 0x4,
  /** Accessible from user mode (the least privileged level: ring 3, EL0, U-mode, …). */
  USER: 0x8,
} as const;

/** A set of {@link PagePerm} bits. */
export type PagePerms = number;

/** Kind of memory access being translated. */
export const AccessKind = {
  Read: 1,
  Write: 2,
  Execute: 4,
} as const;

/** One of the {@link AccessKind} values. */
export type AccessKind = (typeof AccessKind)[keyof typeof AccessKind];

/**
 * Kernel markers kept in the bits each architecture leaves to software (each arch package
 * documents which). The MMU stores and reports them; the kernel gives them meaning.
 */
export const PageMarker = {
  /** Shared copy-on-write: a write fault copies the frame. */
  COPY_ON_WRITE: 0x1,
  /** Lazily mapped: the entry records the frame but is not yet present; first access installs it. */
  LAZY: 0x2,
} as const;

/** Why a translation faulted. */
export type FaultReason =
  /** No valid entry at some level. */
  | 'not-present'
  /** An entry exists but forbids this access kind or privilege. */
  | 'permission'
  /** The address is outside what the arch translates (not a valid sign extension, or beyond the translated range). */
  | 'invalid-address'
  /** The entry is a kernel marker entry (LAZY) that must be resolved by a fault handler. */
  | 'lazy'
  /** An entry on the walk has a bit set that the architecture reserves (must be zero). */
  | 'reserved-bit'
  /** The leaf's accessed flag is clear and the hardware does not set it: software must ({@link AddressSpace.setAccessed}). */
  | 'access-flag';

/** A leaf mapping as read back from the page tables. */
export interface PageMapping {
  /** First virtual address of the page. */
  readonly va: VirtualAddress;
  /** Physical address the page maps to. */
  readonly pa: number;
  /** Page size in bytes (one of the arch's `pageSizes`). */
  readonly size: number;
  /** {@link PagePerm} bits. */
  readonly perms: PagePerms;
  /** {@link PageMarker} bits. */
  readonly markers: number;
  /** Hardware accessed flag. */
  readonly accessed: boolean;
  /** Hardware dirty state. */
  readonly dirty: boolean;
  /** Global (not tagged by the ASID). */
  readonly global: boolean;
  /** Present/valid in hardware terms (false for a LAZY marker entry). */
  readonly present: boolean;
}

/** A page fault: an {@link IpcError} with code `AccessFault` and the details. */
export class PageFault extends IpcError {
  readonly address: VirtualAddress;
  readonly access: AccessKind;
  readonly user: boolean;
  readonly reason: FaultReason;
  /** The leaf entry involved, if one exists (permission faults, markers). */
  readonly mapping: PageMapping | undefined;
  /**
   * Translation level at which the walk stopped, when the arch reports one. Numbering is the
   * arch's own (each arch package documents it); `undefined` when not reported.
   */
  readonly level: number | undefined;

  constructor(address: VirtualAddress, access: AccessKind, user: boolean, reason: FaultReason, mapping?: PageMapping, level?: number) {
    const hex = typeof address === 'bigint' ? address.toString(16) : address.toString(16);
    super('AccessFault', `${reason} fault on ${access === 2 ? 'write' : access === 4 ? 'execute' : 'read'} of 0x${hex}${user ? ' (user)' : ''}`);
    this.name = 'PageFault';
    this.address = address;
    this.access = access;
    this.user = user;
    this.reason = reason;
    this.mapping = mapping;
    this.level = level;
  }
}

/**
 * Called on a fault before it is thrown. Return `true` when the handler repaired the
 * mapping (copy-on-write copy, lazy install); the MMU then retries the translation once.
 */
export type PageFaultHandler = (fault: PageFault, space: AddressSpace) => boolean;

/** Options of {@link AddressSpace.map}. */
export interface MapOptions {
  /** Page size to use (default 4096); `va`, `pa` and `length` must be aligned to it. */
  pageSize?: number;
  /** {@link PageMarker} bits to store in software bits. */
  markers?: number;
  /** Global mapping (not tagged by the ASID). */
  global?: boolean;
}

/**
 * Bits of the per-page words {@link AddressSpace.readFrames} reports: the page's
 * {@link PagePerm} bits in 0–3, its {@link PageMarker} bits shifted by
 * {@link FrameInfo.MARKER_SHIFT}, and {@link FrameInfo.PRESENT} when hardware would translate
 * it (a LAZY marker entry is mapped but not present). A hole reads as 0.
 */
export const FrameInfo = {
  /** The page has an entry (present, or a marker entry that records its frame). */
  MAPPED: 0x100,
  /** Hardware translates the page (not a LAZY marker entry). */
  PRESENT: 0x200,
  /** Shift of the {@link PageMarker} bits. */
  MARKER_SHIFT: 4,
  /** Mask of the {@link PagePerm} bits. */
  PERMS: 0xf,
} as const;

/** TLB counters of one MMU instance. */
export interface TlbStats {
  hits: number;
  misses: number;
  /** Single-address (or range) invalidations. */
  invalidations: number;
  /** Shootdowns sent to other CPUs. */
  shootdowns: number;
  /** Whole-TLB or whole-ASID flushes. */
  flushes: number;
}

/**
 * One address space: a root table in machine memory tagged by an ASID (address-space identifier). Every mutating
 * operation either completes or throws with the tables exactly as before (e.g. `OutOfMemory`
 * when an intermediate table cannot be allocated).
 */
export interface AddressSpace {
  /** ASID tagging this space's TLB entries (whatever the arch calls it). */
  readonly asid: number;
  /** Physical address (not a frame number) of the top-level table: what the arch's translation-base register would hold. */
  readonly root: number;
  /**
   * Maps `[va, va + length)` to `[pa, pa + length)` with pages of `options.pageSize`.
   * Overlapping an existing mapping throws `AlreadyExists`; misalignment `InvalidArgument`.
   */
  map(va: VirtualAddress, pa: number, length: number, perms: PagePerms, options?: MapOptions): void;
  /** Unmaps every page in the range (splitting a huge page is `InvalidArgument`); shoots down TLBs; frees empty tables. Unmapped holes are ignored. */
  unmap(va: VirtualAddress, length: number): void;
  /** Changes permissions (and optionally markers) of every mapped page in the range; shoots down TLBs. */
  protect(va: VirtualAddress, length: number, perms: PagePerms, markers?: number): void;
  /**
   * Range operation: maps `count` consecutive 4 KiB pages from `va` onto the frames
   * `frames[from]`, `frames[from + 1]`, … (frame numbers of the MMU's physical memory, in any
   * order), touching each page table once. Every page gets `perms` and `markers` (a LAZY
   * marker records the frame in a not-present entry). All or nothing: a page already mapped
   * (a marker entry counts) is `AlreadyExists`, a table that cannot be allocated
   * `OutOfMemory`, with the tables exactly as before. Needs no shootdown.
   *
   * Optional in the contract: the kernel falls back to one {@link AddressSpace.map} per page
   * when a backend lacks it (see `frameOps` in `@veridian/core`).
   *
   * @example
   * ```ts
   * const frames = Int32Array.of(17, 9, 40);
   * space.mapFrames(0x40_0000, frames, 0, 3, PagePerm.READ | PagePerm.USER, PageMarker.LAZY);
   * ```
   */
  mapFrames?(va: VirtualAddress, frames: ArrayLike<number>, from: number, count: number, perms: PagePerms, markers?: number): void;
  /**
   * Range operation: unmaps `count` 4 KiB pages from `va`, writing each page's frame number
   * to `out[at + i]` (−1 for a hole; a LAZY marker entry reports its frame), with one TLB
   * shootdown for the whole range on every CPU. Tables left empty are retired (freed after
   * the grace period of the MMU shared state's `TableReclaim`). Splitting a huge page is `InvalidArgument`
   * with nothing changed. Returns the number of pages that were mapped.
   *
   * @example
   * ```ts
   * const out = new Int32Array(256);
   * space.unmapFrames(0x40_0000, 256, out); // out now holds the 256 frames, the range is gone
   * ```
   */
  unmapFrames?(va: VirtualAddress, count: number, out: Int32Array, at?: number): number;
  /**
   * Reads `count` 4 KiB pages from `va` without changing anything (no accessed bits, no TLB):
   * each page's frame number into `frames[at + i]` (−1 for a hole; a page inside a huge page
   * reports its own 4 KiB frame) and its {@link FrameInfo} word into `info[at + i]`. Returns
   * the number of mapped pages.
   */
  readFrames?(va: VirtualAddress, count: number, frames: Int32Array, info: Int32Array, at?: number): number;
  /**
   * Sets the accessed flag of every valid leaf in `[va, va + length)`; returns how many it set.
   * Required of a backend whose {@link AddressSpace.translate} raises `'access-flag'` faults (a
   * CPU that does not set the flag itself, e.g. Arm without hardware access-flag management):
   * the kernel's fault handler calls it and retries the access. Optional otherwise.
   */
  setAccessed?(va: VirtualAddress, length: number): number;
  /**
   * Translates an access by `cpu` (default 0) through its TLB, walking the tables on a miss;
   * sets accessed (and dirty on write) bits where the hardware would. `user` (default `false`):
   * the access is made in user mode, so pages without {@link PagePerm.USER} refuse it. On a
   * fault, runs the fault handlers, retries if one repaired it, else throws {@link PageFault}.
   */
  translate(va: VirtualAddress, access: AccessKind, cpu?: number, user?: boolean): number;
  /** Reads the leaf mapping covering `va` from the tables (no TLB, no side effects). */
  lookup(va: VirtualAddress): PageMapping | undefined;
  /** Every leaf mapping, in address order. */
  mappings(): PageMapping[];
  /** Raw entry values read along the walk for `va`, top level first, stopping at the leaf or the first invalid entry (golden tests, debugging). */
  walk(va: VirtualAddress): bigint[];
  /** Frames this space's tables occupy (root included). */
  tableFrameCount(): number;
  /** A readable dump: merged ranges with size and rights, like Linux's page-table dump. */
  dump(): string;
  /** Frees every table frame (never the mapped frames) and flushes the ASID from all TLBs. */
  destroy(): void;
}

/**
 * The memory-management unit of one arch, over one machine's physical memory.
 *
 * @example Map, translate and dump
 * ```ts
 * import { AccessKind, PagePerm, PhysicalMemory } from '@veridian/core';
 * import { x86_64 } from '@veridian/arch-x86_64';
 *
 * const phys = PhysicalMemory.create({ frames: 16 });
 * const mmu = x86_64.createMmu(phys, { cpus: 1 });
 * const space = mmu.createAddressSpace();
 * const pa = PhysicalMemory.addressOf(phys.allocFrame());
 * space.map(0x40_0000, pa, 4096, PagePerm.READ | PagePerm.WRITE | PagePerm.USER);
 * space.translate(0x40_0123, AccessKind.Write); // pa + 0x123 (sets accessed and dirty)
 * console.log(space.dump()); // 0x…400000-0x…401000  4K  RW USR  NX  pte
 * space.unmap(0x40_0000, 4096);
 * space.destroy();
 * ```
 */
export interface Mmu {
  /** Arch name. */
  readonly arch: string;
  /** Supported page sizes, smallest first. */
  readonly pageSizes: readonly number[];
  /** Number of CPUs (each with its own TLB). */
  readonly cpuCount: number;
  /** The machine memory holding the tables. */
  readonly phys: PhysicalMemory;
  /**
   * Physical address of this MMU's shared state (ASID allocator, shootdown mailboxes). Pass it
   * as `options.sharedState` to `createMmu` on another thread to attach to the same MMU.
   */
  readonly sharedState: number;
  /**
   * How many address spaces can exist at once (the ASIDs the MMU hands out, each held for a
   * space's whole life), if it is bounded: the kernel refuses more process records than that at
   * `createKernel`, instead of failing a spawn later. Omit it when the MMU has no such bound.
   */
  readonly maxAddressSpaces?: number;
  /**
   * At most how many page-table frames mapping `pages` consecutive 4 KiB pages into an address
   * space can allocate. The kernel checks that many are free before it commits to mapping a
   * received buffer. Omit it to let the kernel assume the worst case for `addressSpace.vaBits`
   * (tables of 256 entries).
   */
  tableFramesFor?(pages: number): number;
  /** Splits `va` into table indices (top level first) and the offset within a 4 KiB page; throws `AccessFault` for an invalid address. */
  splitAddress(va: VirtualAddress): { indices: number[]; offset: number };
  /** Creates an empty address space with a fresh ASID. */
  createAddressSpace(): AddressSpace;
  /** Re-opens an address space created elsewhere (e.g. on another worker CPU). */
  attachAddressSpace(root: number, asid: number): AddressSpace;
  /** Adds a fault handler; returns a function that removes it. */
  onFault(handler: PageFaultHandler): () => void;
  /** Flushes `cpu`'s TLB (all CPUs of this instance when omitted). */
  flushTlb(cpu?: number): void;
  /** TLB counters. */
  readonly tlbStats: TlbStats;
}

/** Options of {@link Arch.createMmu}. */
export interface MmuOptions {
  /** Number of CPUs (TLBs). Default 1. */
  cpus?: number;
  /** Entries per TLB. Default 64. */
  tlbEntries?: number;
  /** Attach to an existing MMU's shared state (from {@link Mmu.sharedState}) instead of creating one. */
  sharedState?: number;
}
