import { IpcError } from '../contracts/errors.js';
import { FRAME_SIZE, PhysicalMemory } from '../memory/physical-memory.js';

/** Int32 words of a frame. */
const WORDS = FRAME_SIZE / 4;
/** Limbo frame: words 0–3 control, then (frame, epoch) pairs. */
const L_HEAD = 0;
const L_TAIL = 1;
const L_PAIRS = 4;
/** Pairs the limbo ring holds. */
export const LIMBO_CAPACITY = (WORDS - L_PAIRS) / 2;
/** CPUs the reader slots cover (a CPU number is its slot). */
export const RECLAIM_CPUS = WORDS;
/** How long a writer with a full limbo waits for the readers before giving up. */
const SYNC_LIMIT_MS = 2000;
/** Epochs are compared in 31 bits (what a reader slot holds beside its busy bit). */
const EPOCH_MASK = 0x7fff_ffff;

/** True when 31-bit epoch `a` comes after epoch `e` (modulo 2^31, within half the range). */
function after(a: number, e: number): boolean {
  const d = (a - e) & EPOCH_MASK;
  return d !== 0 && d < 0x4000_0000;
}

/**
 * Where the reclaimer keeps its words (all in machine memory, so every thread's MMU instance
 * shares them): a reader-slot frame, a limbo frame, and three header words.
 */
export interface TableReclaimWords {
  /** Int32 index of the global epoch word (bumped once per retired frame). */
  readonly epoch: number;
  /** Int32 index of the count of walks in progress on every CPU. */
  readonly active: number;
  /** Int32 index of the word holding the highest CPU count attached (slots scanned). */
  readonly cpus: number;
  /** Int32 index of the first reader slot (one word per CPU). */
  readonly slots: number;
  /** Int32 index of the limbo frame's first word. */
  readonly limbo: number;
}

/**
 * Deferred freeing of page-table frames — an epoch-based grace period (RCU-style), shared by
 * every CPU of a machine.
 *
 * A lock-free walker on another CPU may be reading a table at the moment a writer unlinks it.
 * Freeing the frame at once would let the allocator hand it out again (as a payload page, a
 * new table) while that walker still reads it. So a writer *retires* an unlinked table frame
 * instead: the frame waits in limbo, stamped with the epoch, until every CPU that could have
 * seen the link has finished its walk.
 *
 * - **Walker**: {@link TableReclaim.enter} before reading any table (announces the epoch it
 *   saw in its CPU's slot), {@link TableReclaim.exit} after its last table read. Two atomic
 *   stores and two atomic adds; a walk never waits.
 * - **Writer** (holding the MMU lock, after the unlink and the shootdown):
 *   {@link TableReclaim.retire}. A frame retired at epoch `e` is freed once every CPU is
 *   either outside a walk or announced an epoch after `e` (it started after the unlink and
 *   cannot reach the frame). When no walk is in progress anywhere — always on one thread —
 *   the frame is freed at once, so frame counts behave as with immediate freeing.
 * - A full limbo (more than {@link LIMBO_CAPACITY} frames waiting) makes the writer wait for
 *   the walks in progress (they are short and never block); after 2 s it throws
 *   `InvalidState` and the frame stays unfreed — a leaked frame rather than a use-after-free
 *   (a walk only stops that long when its thread was stopped inside it).
 *
 * Limits: a CPU number is its slot, so two threads must never walk as the same CPU at once
 * (the kernel gives each thread its own CPU number). {@link RECLAIM_CPUS} covers every CPU
 * count an MMU accepts.
 *
 * @example
 * ```ts
 * const reclaim = state.reclaim;
 * reclaim.enter(cpu);
 * try { walk(); } finally { reclaim.exit(cpu); }
 * // writer, MMU lock held, after unlinking `frame` and posting the shootdown:
 * reclaim.retire(frame);
 * ```
 */
export class TableReclaim {
  readonly #phys: PhysicalMemory;
  readonly #i32: Int32Array;
  readonly #w: TableReclaimWords;

  /** @internal Built by `MmuSharedState`. */
  constructor(phys: PhysicalMemory, words: TableReclaimWords) {
    this.#phys = phys;
    this.#i32 = phys.i32;
    this.#w = words;
  }

  /** Records that this machine has CPUs `[0, cpus)` (each MMU instance calls it once). */
  registerCpus(cpus: number): void {
    const i32 = this.#i32;
    const n = Math.min(cpus, RECLAIM_CPUS);
    for (let seen = Atomics.load(i32, this.#w.cpus); seen < n; seen = Atomics.load(i32, this.#w.cpus)) {
      if (Atomics.compareExchange(i32, this.#w.cpus, seen, n) === seen) break;
    }
  }

  /** A walk by `cpu` begins: it may read any table linked from now on. */
  enter(cpu: number): void {
    const i32 = this.#i32;
    Atomics.add(i32, this.#w.active, 1);
    // The announced epoch keeps 31 bits (bit 0 marks the slot busy); comparisons are modulo 2^31.
    if (cpu < RECLAIM_CPUS) Atomics.store(i32, this.#w.slots + cpu, ((Atomics.load(i32, this.#w.epoch) << 1) | 1) | 0);
  }

  /** The walk by `cpu` read its last table. */
  exit(cpu: number): void {
    const i32 = this.#i32;
    if (cpu < RECLAIM_CPUS) Atomics.store(i32, this.#w.slots + cpu, 0);
    Atomics.sub(i32, this.#w.active, 1);
  }

  /** Table frames retired and not yet freed. */
  get pending(): number {
    const l = this.#w.limbo;
    return (this.#i32[l + L_TAIL]! - this.#i32[l + L_HEAD]!) | 0;
  }

  /**
   * Hands an unlinked table frame to the reclaimer (MMU lock held, shootdown posted). It is
   * freed now if no walk is in progress, else once the walks that may see it are over.
   */
  retire(frame: number): void {
    const i32 = this.#i32;
    const l = this.#w.limbo;
    const epoch = Atomics.add(i32, this.#w.epoch, 1);
    this.collect();
    if (this.pending === 0 && Atomics.load(i32, this.#w.active) === 0) {
      this.#phys.freeFrame(frame);
      return;
    }
    if (this.pending >= LIMBO_CAPACITY) this.synchronize();
    const tail = i32[l + L_TAIL]!;
    const at = l + L_PAIRS + (tail % LIMBO_CAPACITY) * 2;
    i32[at] = frame;
    i32[at + 1] = epoch;
    i32[l + L_TAIL] = (tail + 1) | 0;
  }

  /** Frees every retired frame no walk can still see (MMU lock held); returns how many. */
  collect(): number {
    const i32 = this.#i32;
    const l = this.#w.limbo;
    let head = i32[l + L_HEAD]!;
    const tail = i32[l + L_TAIL]!;
    if (head === tail) return 0;
    const quiet = Atomics.load(i32, this.#w.active) === 0;
    const oldest = quiet ? 0 : this.#oldestWalk();
    let freed = 0;
    while (head !== tail) {
      const at = l + L_PAIRS + (head % LIMBO_CAPACITY) * 2;
      // Retired at epoch e: safe once every walk in progress announced an epoch after e.
      if (!quiet && !after(oldest, i32[at + 1]!)) break;
      this.#phys.freeFrame(i32[at]!);
      head = (head + 1) | 0;
      freed++;
    }
    i32[l + L_HEAD] = head;
    return freed;
  }

  /**
   * The oldest epoch (31 bits) a walk in progress announced — the one furthest behind the
   * current epoch — or the current epoch + 1 when none did.
   */
  #oldestWalk(): number {
    const i32 = this.#i32;
    const now = Atomics.load(i32, this.#w.epoch) & EPOCH_MASK;
    let oldest = (now + 1) & EPOCH_MASK;
    let age = -1;
    const n = Atomics.load(i32, this.#w.cpus);
    for (let c = 0; c < n; c++) {
      const s = Atomics.load(i32, this.#w.slots + c);
      if (s === 0) continue;
      const a = (now - (s >>> 1)) & EPOCH_MASK;
      if (a > age) {
        age = a;
        oldest = s >>> 1;
      }
    }
    return oldest;
  }

  /**
   * Waits until at least one retired frame is freed or none is waiting — for a writer with a
   * full limbo, or an allocator that ran out while tables wait. Returns the frames freed.
   * `InvalidState` after 2 s (a walk that never ends: its thread was stopped inside it).
   */
  synchronize(): number {
    if (this.pending === 0) return 0;
    const deadline = Date.now() + SYNC_LIMIT_MS;
    const cell = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      const n = this.collect();
      if (n > 0 || this.pending === 0) return n;
      if (Date.now() > deadline) throw new IpcError('InvalidState', `${this.pending} retired page tables wait for walks that do not end`);
      Atomics.wait(cell, 0, 0, 0.05);
    }
  }

  /** Frees every frame in limbo regardless of walks (the machine is being torn down). */
  drain(): void {
    const i32 = this.#i32;
    const l = this.#w.limbo;
    for (let head = i32[l + L_HEAD]!; head !== i32[l + L_TAIL]!; head = (head + 1) | 0) {
      this.#phys.freeFrame(i32[l + L_PAIRS + (head % LIMBO_CAPACITY) * 2]!);
      i32[l + L_HEAD] = (head + 1) | 0;
    }
  }

  /** Int32 index of a frame's first word. */
  static wordsOf(phys: PhysicalMemory, frame: number): number {
    return phys.physOffset(PhysicalMemory.addressOf(frame)) / 4;
  }
}
