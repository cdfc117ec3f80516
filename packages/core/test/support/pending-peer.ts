// Worker-CPU side of the pending-notify test (wake-pending.test.ts): two peers wake each other
// in turn through sched/futex.ts (wakeAllFutex with a pending word, FutexWaiter.waitChange
// clearing it), each wait without a timeout, so a wake lost to a skipped notify hangs.
import type { Process } from '@veridian/core';
import { FutexWaiter, WaitCode, wakeAllFutex } from '../../src/kernel/sched/futex.ts';

/** Words of peer `i`: its sequence word at `i * 4`, its parked count next, its pending flag after. */
export const PEER = { WORD: 0, PARKED: 1, PENDING: 2, STRIDE: 4, ROUNDS_DONE: 8, WORDS: 16 } as const;

export interface PendingPeerArgs {
  sab: SharedArrayBuffer;
  /** 0 starts the exchange, 1 answers. */
  me: 0 | 1;
  rounds: number;
  /** Wakes per turn (the first may notify; the rest find the flag set and only bump the word). */
  burst: number;
  /** A {@link WaitCode}: PARK parks at every wait. */
  mode: number;
}

export default function pendingPeer(_proc: Process, a: PendingPeerArgs): void {
  const i32 = new Int32Array(a.sab);
  const mine = a.me * PEER.STRIDE;
  const theirs = (1 - a.me) * PEER.STRIDE;
  const waiter = new FutexWaiter(2, a.mode ?? WaitCode.PARK);
  const wake = () => {
    for (let b = 0; b < a.burst; b++) wakeAllFutex(i32, theirs + PEER.WORD, theirs + PEER.PARKED, theirs + PEER.PENDING);
  };
  // A turn is `burst` bumps of the word (from 0): wait for all of them, each wait from the
  // value last seen (a notify may come for the first bump only; the rest find the flag set).
  for (let r = 0; r < a.rounds; r++) {
    if (a.me === 0) wake();
    const target = (r + 1) * a.burst;
    for (let v = Atomics.load(i32, mine + PEER.WORD); v < target; v = Atomics.load(i32, mine + PEER.WORD)) {
      waiter.waitChange(i32, mine + PEER.WORD, v, mine + PEER.PARKED, Infinity, mine + PEER.PENDING);
    }
    if (a.me === 1) wake();
    Atomics.add(i32, PEER.ROUNDS_DONE + a.me, 1);
  }
}
