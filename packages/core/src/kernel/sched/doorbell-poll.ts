import { H } from '../records/layout.js';
import { WaitCode } from './futex.js';

const START_POLL_NS = 20_000;
const MIN_POLL_NS = 2_000;
const MAX_POLL_NS = 200_000;
/** The poll of a process that waits by spinning: the bounded window of {@link WaitCode}.SPIN. */
const SPIN_POLL_NS = 100_000;

/**
 * CPU 0's poll of its doorbell when nothing of its own can run and another CPU may answer soon:
 * a worker replies within microseconds, a trip through the event loop and `Atomics.waitAsync`
 * costs far more. The budget adapts (grown towards 4× what an answer took, halved when a poll
 * goes unanswered); a process that waits by parking never polls, one that spins polls the whole
 * bounded window. Never on a single core.
 */
export class DoorbellPoll {
  #budgetNs: number;

  constructor(cores: number) {
    this.#budgetNs = cores > 1 ? START_POLL_NS : 0;
  }

  /** Polls for a process of wait policy `wait` ({@link WaitCode}); true if the doorbell rang. */
  poll(i32: Int32Array, wait: number): boolean {
    if (this.#budgetNs === 0 || wait === WaitCode.PARK) return false;
    const seen = Atomics.load(i32, H.DOORBELL);
    const start = performance.now();
    const limit = start + (wait === WaitCode.SPIN ? SPIN_POLL_NS : this.#budgetNs) / 1e6;
    for (let spins = 0; ; spins++) {
      if (Atomics.load(i32, H.DOORBELL) !== seen) {
        const took = (performance.now() - start) * 1e6;
        this.#budgetNs = Math.min(MAX_POLL_NS, Math.max(this.#budgetNs, took * 4));
        return true;
      }
      if ((spins & 255) === 255 && performance.now() > limit) break;
    }
    this.#budgetNs = Math.max(MIN_POLL_NS, this.#budgetNs / 2);
    return false;
  }
}
