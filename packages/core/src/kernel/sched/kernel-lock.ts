import { IpcError } from '../../contracts/errors.js';
import { isLocked, lockWord, unlockWord } from '../../memory/spinlock.js';
import type { MachineMemory } from '../records/machine-memory.js';
import { CPU_FAST_CONTENDED, CPU_FAST_ENTRIES, CpuState, H } from '../records/layout.js';

/** Spins on a CPU still inside an endpoint fast path before napping (it holds no lock we wait for, only its endpoint's). */
const SPINS_BEFORE_NAP = 2000;

/**
 * The kernel's locks, in two modes (the per-CPU reader scheme of Linux's percpu-rwsem, with an
 * endpoint lock inside the shared mode):
 *
 * - **Exclusive**: the big kernel lock (a ticket lock at `H.LOCK`), as every syscall took it
 *   before. Its holder then waits until no CPU is inside an endpoint fast path, so it sees and
 *   changes the whole kernel alone.
 * - **Endpoint fast path**: a worker CPU marks its own per-CPU word `FAST` (a compare-and-swap on
 *   a line only it writes), checks that the big lock is free (a load of a line that stays
 *   shared while no exclusive entry runs) and then takes only the lock of the one endpoint the
 *   call or reply goes through. Two calls through different endpoints touch no common line.
 *
 * The two marks are ordered like Dekker's: a CPU entering the fast path writes its word and then
 * reads the lock word; an exclusive entry writes the lock word (takes its ticket) and then reads
 * every CPU's word. With sequentially consistent atomics at least one of the two sees the
 * other: the fast path backs off (and takes the exclusive path), or the exclusive entry waits.
 * A fast path never waits for the big lock, so the waiting cannot form a cycle.
 *
 * Termination: `FAST` is, like `LOCKING`, a state in which CPU 0 never terminates the worker
 * (see `worker-cpus.ts`); a `DOOMED` worker takes neither.
 */
export class KernelLock {
  readonly #mm: MachineMemory;
  readonly #i32: Int32Array;
  readonly #cpu: number;
  readonly #state: number;
  readonly #ncpu: number;
  /** This CPU holds the big lock. */
  held = false;
  /** This CPU is inside an endpoint fast path. */
  fast = false;

  constructor(mm: MachineMemory, cpu: number) {
    this.#mm = mm;
    this.#i32 = mm.i32;
    this.#cpu = cpu;
    this.#state = mm.cpuState(cpu);
    this.#ncpu = mm.ncpu;
  }

  /** Takes the big lock (a no-op while only CPU 0 exists), then waits out every endpoint fast path. */
  lock(): void {
    if (this.held || this.fast) throw new IpcError('InvalidState', 'kernel entered twice on one CPU');
    const i32 = this.#i32;
    if (i32[H.SHARED] === 0) return;
    if (this.#cpu !== 0) this.#mark(CpuState.LOCKING);
    const spins = lockWord(i32, H.LOCK);
    this.held = true;
    i32[H.LOCK_ACQUIRED]++;
    if (spins > 0) {
      i32[H.LOCK_CONTENDED]++;
      i32[H.LOCK_SPINS] += spins;
    }
    this.#waitForFastPaths();
  }

  /** Releases the big lock if this CPU holds it (the CPU's state is the caller's to reset, after its owed wake-ups). */
  unlock(): boolean {
    if (!this.held) return false;
    this.held = false;
    unlockWord(this.#i32, H.LOCK);
    return true;
  }

  /**
   * Worker CPUs: enters the endpoint fast path. False (nothing changed) when the big lock is held
   * or wanted, or fast paths are off: take the exclusive path instead.
   */
  enterFast(): boolean {
    if (this.held || this.fast) throw new IpcError('InvalidState', 'kernel entered twice on one CPU');
    const i32 = this.#i32;
    if (i32[H.FAST_OFF] !== 0) return false;
    this.#mark(CpuState.FAST);
    if (isLocked(i32, H.LOCK)) {
      Atomics.store(i32, this.#state, CpuState.SAFE);
      return false;
    }
    this.fast = true;
    return true;
  }

  /** Inside the fast path: counts an entry it completed (one that did not fall back). */
  countTaken(): void {
    this.#i32[this.#state + CPU_FAST_ENTRIES]++;
  }

  /** Leaves the endpoint fast path (the CPU's state is the caller's to reset, after its owed wake-ups). */
  leaveFast(): boolean {
    if (!this.fast) return false;
    this.fast = false;
    return true;
  }

  /** This worker CPU is out of the kernel again: it may be terminated. */
  safe(): void {
    if (this.#cpu !== 0) Atomics.store(this.#i32, this.#state, CpuState.SAFE);
  }

  /** Inside the fast path: takes the lock word at `word` (an endpoint's `E.LOCK`, a ticket lock). */
  lockEndpoint(word: number): void {
    if (lockWord(this.#i32, word) > 0) this.#i32[this.#state + CPU_FAST_CONTENDED]++;
  }

  /** Releases an endpoint lock taken with {@link KernelLock.lockEndpoint}. */
  unlockEndpoint(word: number): void {
    // Back to 0 when free: the word is part of the endpoint record, which snapshots compare.
    unlockWord(this.#i32, word, true);
  }

  /** Endpoint fast-path entries completed and lock waits, over every CPU. */
  fastStats(): { entries: number; contended: number } {
    const i32 = this.#i32;
    let entries = 0;
    let contended = 0;
    for (let c = 0; c < this.#ncpu; c++) {
      const w = this.#mm.cpuState(c);
      entries += i32[w + CPU_FAST_ENTRIES]! >>> 0;
      contended += i32[w + CPU_FAST_CONTENDED]! >>> 0;
    }
    return { entries, contended };
  }

  /** SAFE → `to` on this worker's own word; a DOOMED worker stops here for good. */
  #mark(to: number): void {
    const i32 = this.#i32;
    if (Atomics.compareExchange(i32, this.#state, CpuState.SAFE, to) !== CpuState.SAFE) {
      for (;;) Atomics.wait(i32, this.#state, CpuState.DOOMED);
    }
  }

  /** Big lock held: waits until no other CPU is inside an endpoint fast path. */
  #waitForFastPaths(): void {
    const i32 = this.#i32;
    for (let c = 1; c < this.#ncpu; c++) {
      if (c === this.#cpu) continue;
      const w = this.#mm.cpuState(c);
      for (let spins = 0; Atomics.load(i32, w) === CpuState.FAST; spins++) {
        // The CPU inside is probably descheduled: nap briefly instead of burning the core.
        if (spins > SPINS_BEFORE_NAP) {
          Atomics.wait(i32, w, CpuState.FAST, 0.05);
          spins = 0;
        }
      }
    }
  }
}
