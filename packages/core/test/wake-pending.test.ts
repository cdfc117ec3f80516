// The pending-notify word of ring waits (R.NOTIFY_PENDING, R.SPACE_PENDING; sched/futex.ts):
// one Atomics.notify per parking however many wakes come before the parked thread runs, and
// no wake lost for it.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { FutexWaiter, WaitCode, wakeAllFutex } from '../src/kernel/sched/futex.ts';
import { PEER, type PendingPeerArgs } from './support/pending-peer.ts';
import { testKernel } from './support/kernel.ts';

const WORD = 0;
const PARKED = 1;
const PENDING = 2;

afterEach(() => {
  vi.restoreAllMocks();
});

describe('pending notify', () => {
  it('wakes before the parked thread parks again bump the word but notify once; without a pending word every wake notifies', () => {
    const i32 = new Int32Array(new SharedArrayBuffer(16));
    const notify = vi.spyOn(Atomics, 'notify');
    // Nobody parked: a bump, no notify, the flag untouched.
    wakeAllFutex(i32, WORD, PARKED, PENDING);
    expect([i32[WORD], i32[PENDING], notify.mock.calls.length]).toEqual([1, 0, 0]);
    // One parked: the first wake notifies and sets the flag; the next two only bump.
    i32[PARKED] = 1;
    for (let i = 0; i < 3; i++) wakeAllFutex(i32, WORD, PARKED, PENDING);
    expect([i32[WORD], i32[PENDING], notify.mock.calls.length]).toEqual([4, 1, 1]);
    // The waiter cleared the flag to park again: the next wake notifies again.
    i32[PENDING] = 0;
    wakeAllFutex(i32, WORD, PARKED, PENDING);
    expect([i32[WORD], i32[PENDING], notify.mock.calls.length]).toEqual([5, 1, 2]);
    // No pending word (close, revoke): always.
    wakeAllFutex(i32, WORD, PARKED);
    wakeAllFutex(i32, WORD, PARKED);
    expect(notify.mock.calls.length).toBe(4);
  });

  it('a parking wait clears the pending flag before it waits', () => {
    const i32 = new Int32Array(new SharedArrayBuffer(16));
    i32[PENDING] = 1;
    const w = new FutexWaiter(2, WaitCode.PARK);
    // Nothing wakes it: it times out, having cleared the flag to park.
    expect(w.waitChange(i32, WORD, 0, PARKED, 1, PENDING)).toBe(false);
    expect([i32[PENDING], i32[PARKED]]).toEqual([0, 0]);
    // A word that changed already returns at once and leaves the flag as it was.
    i32[PENDING] = 1;
    i32[WORD] = 7;
    expect(w.waitChange(i32, WORD, 0, PARKED, 1, PENDING)).toBe(true);
    expect(i32[PENDING]).toBe(1);
  });

  for (const [mode, burst] of [
    [WaitCode.PARK, 1],
    [WaitCode.PARK, 3],
    [WaitCode.ADAPTIVE, 2],
  ] as const) {
    it(`two worker CPUs waking each other (${mode === WaitCode.PARK ? 'park' : 'adaptive'}, ${burst} wake(s) a turn), no timeouts: none lost`, async () => {
      const k = testKernel({ cpus: 3 });
      const sab = new SharedArrayBuffer(PEER.WORDS * 4);
      const rounds = 5_000;
      const url = new URL('./support/pending-peer.ts', import.meta.url);
      const peers = ([1, 0] as const).map((me) => k.spawnWorker(url, { name: `peer${me}`, args: { sab, me, rounds, burst, mode } satisfies PendingPeerArgs }));
      const i32 = new Int32Array(sab);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hang = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`hang: rounds done ${i32[PEER.ROUNDS_DONE]}, ${i32[PEER.ROUNDS_DONE + 1]} of ${rounds}`)), 60_000)));
      try {
        const exits = await Promise.race([Promise.all(peers.map((p) => p.exited)), hang]);
        expect(exits.map((e) => e.reason)).toEqual(['returned', 'returned']);
        expect([i32[PEER.ROUNDS_DONE], i32[PEER.ROUNDS_DONE + 1]]).toEqual([rounds, rounds]);
      } finally {
        clearTimeout(timer);
        await k.shutdown();
      }
    }, 90_000);
  }
});
