import { FRAME_SIZE, IpcError, lockWord, unlockWord } from '@veridian/core';
import type { PhysicalMemory } from '@veridian/core';

/**
 * The MMU state every CPU of a machine shares, in one frame of machine memory (so MMU
 * instances in other worker threads attach to it by physical address):
 *
 * | Int32 word | content |
 * | --- | --- |
 * | 0 | magic `0x4d363878` |
 * | 1 | mutation lock (one writer at a time for every address space) |
 * | 2 | shootdown epoch: number of records ever posted |
 * | 16–143 | PCID bitmap (4096 bits; PCID 0 is reserved) |
 * | 256–767 | shootdown ring: 128 records of 4 words |
 *
 * A record is `[kind << 16 | pcid, vpnLo, vpnHi, pageCount]`. Writers fill the record, then
 * bump the epoch; each CPU compares the epoch with the last one it processed (one
 * `Atomics.load` per translation) and replays the records it missed before using its TLB.
 */
const MAGIC = 0x4d363878;
const W_MAGIC = 0;
const W_LOCK = 1;
const W_EPOCH = 2;
const W_BITMAP = 16;
const W_RING = 256;
const RECORD_WORDS = 4;

/** PCIDs are 12 bits (CR3 bits 0–11). */
export const PCID_COUNT = 4096;
/** Records in the shootdown ring; a CPU that falls this far behind flushes its whole TLB. */
export const RING_SLOTS = 128;

/** Kinds of shootdown record. */
export const ShootdownKind = {
  /** Invalidate `pageCount` 4 KiB pages from `vpn` (and any larger page overlapping them). */
  Range: 0,
  /** Invalidate every entry tagged with the PCID (address space destroyed). */
  Pcid: 1,
} as const;

/** Handle on the shared MMU state frame. */
export class SharedState {
  /** Physical address of the frame. */
  readonly pa: number;
  /** The machine memory's Int32 view. */
  readonly i32: Int32Array;
  /** Int32 index of the frame's first word. */
  readonly base: number;
  /** Int32 index of the epoch word (read on every translation). */
  readonly epochIndex: number;

  private constructor(phys: PhysicalMemory, pa: number) {
    this.pa = pa;
    this.i32 = phys.i32;
    this.base = phys.physOffset(pa) / 4;
    this.epochIndex = this.base + W_EPOCH;
  }

  /** Allocates and initialises a fresh state frame. */
  static create(phys: PhysicalMemory): SharedState {
    const pa = phys.allocFrame() * FRAME_SIZE;
    const s = new SharedState(phys, pa);
    s.i32[s.base + W_BITMAP] = 1; // PCID 0 stays reserved (the "no PCID" context)
    Atomics.store(s.i32, s.base + W_MAGIC, MAGIC);
    return s;
  }

  /** Attaches to a state frame created by another MMU instance. */
  static attach(phys: PhysicalMemory, pa: number): SharedState {
    if (!Number.isInteger(pa) || pa % FRAME_SIZE !== 0 || !phys.isInstalled(pa)) {
      throw new IpcError('InvalidArgument', `sharedState ${pa} is not an installed frame address`);
    }
    const s = new SharedState(phys, pa);
    if (Atomics.load(s.i32, s.base + W_MAGIC) !== MAGIC) throw new IpcError('InvalidArgument', `no x86_64 MMU state at 0x${pa.toString(16)}`);
    return s;
  }

  /** Takes the mutation lock (spinning, then sleeping briefly if the holder is slow). */
  lock(): void {
    lockWord(this.i32, this.base + W_LOCK);
  }

  /** Releases the mutation lock. */
  unlock(): void {
    unlockWord(this.i32, this.base + W_LOCK);
  }

  /** Current shootdown epoch. */
  epoch(): number {
    return Atomics.load(this.i32, this.epochIndex);
  }

  /** Allocates the lowest free PCID (caller holds the lock); `OutOfMemory` when all are taken. */
  allocPcid(): number {
    const i32 = this.i32;
    for (let w = 0; w < PCID_COUNT / 32; w++) {
      const bits = i32[this.base + W_BITMAP + w]!;
      if (bits === -1) continue;
      const bit = 31 - Math.clz32(~bits & (bits + 1));
      i32[this.base + W_BITMAP + w] = bits | (1 << bit);
      return w * 32 + bit;
    }
    throw new IpcError('OutOfMemory', 'all 4095 PCIDs are in use');
  }

  /** Returns a PCID to the pool (caller holds the lock). */
  freePcid(pcid: number): void {
    this.i32[this.base + W_BITMAP + (pcid >>> 5)]! &= ~(1 << (pcid & 31));
  }

  /** True when `pcid` is allocated. */
  pcidInUse(pcid: number): boolean {
    return pcid > 0 && pcid < PCID_COUNT && (this.i32[this.base + W_BITMAP + (pcid >>> 5)]! & (1 << (pcid & 31))) !== 0;
  }

  /** Posts a shootdown record to every CPU (caller holds the lock). */
  post(kind: number, pcid: number, vpnLo: number, vpnHi: number, pageCount: number): void {
    const i32 = this.i32;
    const seq = i32[this.epochIndex]!;
    const r = this.base + W_RING + (seq & (RING_SLOTS - 1)) * RECORD_WORDS;
    i32[r] = (kind << 16) | pcid;
    i32[r + 1] = vpnLo;
    i32[r + 2] = vpnHi;
    i32[r + 3] = pageCount;
    // The epoch store publishes the record (Atomics order the plain writes before it).
    Atomics.store(i32, this.epochIndex, (seq + 1) | 0);
  }

  /** Int32 index of the record with sequence number `seq`. */
  recordIndex(seq: number): number {
    return this.base + W_RING + (seq & (RING_SLOTS - 1)) * RECORD_WORDS;
  }
}
