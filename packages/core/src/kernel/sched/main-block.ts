import { IPC_ERROR_NUMBERS } from '../../contracts/errors.js';
import type { KernelContext } from '../context.js';
import { H, P, PS, PState } from '../records/layout.js';
import { WaitCode } from './futex.js';

/** How long CPU 0 spins on its doorbell before it parks the thread (a worker answers in µs), by `P.WAIT` ({@link WaitCode}). */
const SPIN_MS = [0.05, 0.1, 0];

/**
 * A blocking wait on CPU 0 (`callSync` from the main thread, as synckit offers): the thread
 * spins briefly on the doorbell, then parks in `Atomics.wait` until a wake-up for `p` arrives
 * through the wake ring, or the timeout passes. No other process of CPU 0 runs meanwhile — the
 * kernel refused the call up front if its server is on CPU 0 and not passive (it could never
 * answer). Returns the wake status.
 */
export function blockMainSync(k: KernelContext, p: number, timeoutNs: number, ready: (q: number) => void): number {
  const i32 = k.i32;
  const procs = k.procs;
  const seq = procs.get(p, P.SEQ);
  const deadline = timeoutNs === Infinity ? Infinity : performance.now() + timeoutNs / 1e6;
  const spinMs = k.platform.cpuCount() > 1 ? (SPIN_MS[procs.get(p, P.WAIT)] ?? SPIN_MS[WaitCode.ADAPTIVE]!) : 0;
  for (;;) {
    const seen = Atomics.load(i32, H.DOORBELL);
    k.withLock(() => k.wake.drain(ready));
    if (procs.state(p) === PState.READY) {
      procs.setState(p, PState.RUNNING);
      return procs.get(p, P.RESULT);
    }
    const now = performance.now();
    if (now >= deadline) {
      k.withLock(() => k.processes.cancelIfBlocked(p, seq, IPC_ERROR_NUMBERS.Timeout));
      procs.setState(p, PState.RUNNING);
      return procs.get(p, P.RESULT);
    }
    const spinEnd = Math.min(deadline, now + spinMs);
    while (Atomics.load(i32, H.DOORBELL) === seen && performance.now() < spinEnd);
    if (Atomics.load(i32, H.DOORBELL) === seen) {
      const w = k.mm.statsBase + p * PS.SIZE + PS.PARKS;
      i32[w] = (i32[w]! + 1) | 0;
      k.platform.wait(i32, H.DOORBELL, seen, deadline === Infinity ? Infinity : Math.max(0, deadline - performance.now()));
    }
  }
}
