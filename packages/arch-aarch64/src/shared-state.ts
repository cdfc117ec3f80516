import { FRAME_SIZE, IpcError, PhysicalMemory, lockWord, unlockWord } from '@veridian/core';

// Shared MMU state lives in machine memory so every MMU instance (one per worker thread)
// attached to it agrees on ASIDs, serialises table updates and sees every shootdown.
//
// Header frame, in u32 words:
const H_MAGIC = 0;
const H_VERSION = 1;
const H_LOCK = 2; // mutation lock (table updates, ASID allocation, shootdown log)
const H_GEN = 3; // table seqlock: odd while a mutation is in progress
const H_EPOCH = 4; // shootdown messages published so far
const H_RESERVE = 5; // shootdown messages reserved (bumped before a log slot is overwritten)
const H_INSTANCES = 6; // MMU instances attached
const H_ASID_HINT = 7;
const H_ASID_FRAME0 = 8;
const H_ASID_FRAME1 = 9;
const H_LOG = 16; // log ring: LOG_CAPACITY messages of 4 words
const MAGIC = 0x3436_4141; // "AA64" little-endian
const VERSION = 1;
const LOG_WORDS = 4;
/** Shootdown messages the ring holds; a reader further behind flushes its TLBs instead. */
export const LOG_CAPACITY = 128;
/** ASIDs are 16 bits (TCR_EL1.AS = 1); ASID 0 is reserved, as Linux reserves it. */
export const ASID_COUNT = 0x1_0000;
const ASID_WORDS = ASID_COUNT / 32;
const WORDS_PER_FRAME = FRAME_SIZE / 4;

/** Kinds of shootdown message. */
export const Shootdown = {
  /** `tlbi vae1is` over a page range of one ASID (global entries in the range too). */
  Range: 1,
  /** `tlbi aside1is`: every non-global entry of one ASID. */
  Asid: 2,
  /** `tlbi vmalle1is`: everything. */
  All: 3,
} as const;

/** A decoded shootdown message. */
export interface ShootdownMessage {
  kind: number;
  asid: number;
  startVpn: number;
  endVpn: number;
}

const TWO_32 = 0x1_0000_0000;

/** View of the shared MMU state frame(s) in machine memory. */
export class SharedState {
  /** Physical address of the header frame (what `Mmu.sharedState` reports). */
  readonly pa: number;
  readonly #phys: PhysicalMemory;
  readonly #u32: Uint32Array;
  readonly #i32: Int32Array;
  readonly #h: number;
  /** Index in `phys.u32` of the table seqlock word (read on every walk). */
  readonly genIndex: number;
  /** Index in `phys.u32` of the shootdown epoch word (read on every translate). */
  readonly epochIndex: number;

  private constructor(phys: PhysicalMemory, pa: number) {
    this.pa = pa;
    this.#phys = phys;
    this.#u32 = phys.u32;
    this.#i32 = phys.i32;
    this.#h = phys.physOffset(pa) / 4;
    this.genIndex = this.#h + H_GEN;
    this.epochIndex = this.#h + H_EPOCH;
  }

  /** Allocates and initialises fresh shared state (three frames, all or none). */
  static create(phys: PhysicalMemory): SharedState {
    const frames = phys.allocFrames(3);
    const pa = PhysicalMemory.addressOf(frames[0]!);
    const st = new SharedState(phys, pa);
    const u32 = phys.u32;
    const h = st.#h;
    u32[h + H_VERSION] = VERSION;
    u32[h + H_ASID_FRAME0] = frames[1]!;
    u32[h + H_ASID_FRAME1] = frames[2]!;
    u32[h + H_ASID_HINT] = 1;
    u32[st.#asidWord(0)] = 1; // ASID 0 reserved
    u32[h + H_INSTANCES] = 1;
    Atomics.store(u32, h + H_MAGIC, MAGIC);
    return st;
  }

  /** Attaches to shared state created elsewhere; `InvalidArgument` if `pa` holds none. */
  static attach(phys: PhysicalMemory, pa: number): SharedState {
    if (!Number.isSafeInteger(pa) || pa % FRAME_SIZE !== 0 || !phys.isInstalled(pa)) {
      throw new IpcError('InvalidArgument', `sharedState 0x${Number(pa).toString(16)} is not an installed frame`);
    }
    const st = new SharedState(phys, pa);
    if (Atomics.load(phys.u32, st.#h + H_MAGIC) !== MAGIC || phys.u32[st.#h + H_VERSION] !== VERSION) {
      throw new IpcError('InvalidArgument', `no aarch64 MMU state at 0x${pa.toString(16)}`);
    }
    Atomics.add(phys.u32, st.#h + H_INSTANCES, 1);
    return st;
  }

  /** MMU instances attached (including the creator). */
  get instances(): number {
    return Atomics.load(this.#u32, this.#h + H_INSTANCES);
  }

  /** Takes the mutation lock (spin, then brief waits). */
  lock(): void {
    lockWord(this.#i32, this.#h + H_LOCK);
  }

  /** Releases the mutation lock. */
  unlock(): void {
    unlockWord(this.#i32, this.#h + H_LOCK);
  }

  /** Starts a table mutation (lock held): walkers that overlap it retry. */
  beginWrite(): void {
    Atomics.add(this.#u32, this.genIndex, 1);
  }

  /** Ends a table mutation. */
  endWrite(): void {
    Atomics.add(this.#u32, this.genIndex, 1);
  }

  #asidWord(asid: number): number {
    const frame = asid < ASID_COUNT / 2 ? this.#u32[this.#h + H_ASID_FRAME0]! : this.#u32[this.#h + H_ASID_FRAME1]!;
    return this.#phys.frameOffset(frame) / 4 + ((asid >>> 5) % WORDS_PER_FRAME);
  }

  /**
   * Allocates an ASID (lock held), round-robin from the last one handed out so a freed ASID
   * is reused as late as possible; `OutOfMemory` when all 65535 are in use.
   */
  allocAsid(): number {
    const u32 = this.#u32;
    const hint = u32[this.#h + H_ASID_HINT]! % ASID_COUNT;
    for (let n = 0; n <= ASID_WORDS; n++) {
      const word = ((hint >>> 5) + n) % ASID_WORDS;
      const at = this.#asidWord(word << 5);
      const bits = u32[at]!;
      // In the first word, skip the ASIDs below the hint (they come round again at the end).
      const taken = n === 0 ? (bits | ((1 << (hint & 31)) - 1)) >>> 0 : bits;
      if (taken === 0xffff_ffff) continue;
      for (let b = 0; b < 32; b++) {
        if (taken & (1 << b)) continue;
        const asid = (word << 5) | b;
        u32[at] = (bits | (1 << b)) >>> 0;
        u32[this.#h + H_ASID_HINT] = (asid + 1) % ASID_COUNT;
        return asid;
      }
    }
    throw new IpcError('OutOfMemory', 'no free ASID');
  }

  /** Returns an ASID to the pool (lock held). */
  freeAsid(asid: number): void {
    const at = this.#asidWord(asid);
    this.#u32[at] = (this.#u32[at]! & ~(1 << (asid & 31))) >>> 0;
  }

  /** True when `asid` is allocated. */
  asidInUse(asid: number): boolean {
    return (this.#u32[this.#asidWord(asid)]! & (1 << (asid & 31))) !== 0;
  }

  /** Shootdown messages published so far (wraps at 2^32). */
  epoch(): number {
    return Atomics.load(this.#u32, this.epochIndex);
  }

  /** Shootdown messages reserved so far; a slot is overwritten only after this moves past it. */
  reserved(): number {
    return Atomics.load(this.#u32, this.#h + H_RESERVE);
  }

  /** Publishes a shootdown message (lock held). Returns the new epoch. */
  publish(kind: number, asid: number, startVpn: number, endVpn: number): number {
    const u32 = this.#u32;
    const seq = Atomics.load(u32, this.epochIndex);
    const next = (seq + 1) >>> 0;
    Atomics.store(u32, this.#h + H_RESERVE, next);
    const at = this.#h + H_LOG + (seq % LOG_CAPACITY) * LOG_WORDS;
    u32[at] = kind | (asid << 8);
    u32[at + 1] = startVpn >>> 0;
    u32[at + 2] = endVpn >>> 0;
    u32[at + 3] = (Math.floor(startVpn / TWO_32) & 0xffff) | ((Math.floor(endVpn / TWO_32) & 0xffff) << 16);
    Atomics.store(u32, this.epochIndex, next);
    return next;
  }

  /** Reads message `seq` of the ring into `out`. */
  read(seq: number, out: ShootdownMessage): void {
    const u32 = this.#u32;
    const at = this.#h + H_LOG + (seq % LOG_CAPACITY) * LOG_WORDS;
    const w0 = u32[at]!;
    const w3 = u32[at + 3]!;
    out.kind = w0 & 0xff;
    out.asid = w0 >>> 8;
    out.startVpn = (w3 & 0xffff) * TWO_32 + u32[at + 1]!;
    out.endVpn = (w3 >>> 16) * TWO_32 + u32[at + 2]!;
  }
}
