/**
 * Random syscall programs for the model-based property. A program is data: abstract choices
 * (which process, which of its handles, how many bytes) that the runner resolves against
 * the model's state at each step, so every generated program is runnable and shrinks well.
 */
import fc from 'fast-check';
import { Rights } from '@veridian/core';

/** How a step names a capability handle of the acting process. */
export interface CapRef {
  /**
   * A held handle whose live capability has the rights the syscall needs (`fit`, falling back
   * to any held one), any handle it holds (possibly revoked or lacking rights), one it closed,
   * or an arbitrary u32.
   */
  pick: 'fit' | 'held' | 'closed' | 'forged';
  index: number;
  forged: number;
}

/** One step of a program. `who` picks among the processes not blocked in a syscall. */
export type Step =
  | { kind: 'create'; who: number; capacity: number }
  | { kind: 'derive'; who: number; cap: CapRef; rights: number }
  | { kind: 'grant'; who: number; cap: CapRef; to: number; rights: number }
  | { kind: 'revoke'; who: number; cap: CapRef }
  | { kind: 'close'; who: number; cap: CapRef }
  | { kind: 'call' | 'send'; who: number; cap: CapRef; length: number; caps: CapRef[]; timeout: number }
  | { kind: 'receive'; who: number; cap: CapRef; timeout: number }
  | { kind: 'reply'; who: number; to: number; length: number; caps: CapRef[]; error: boolean }
  | { kind: 'tick'; ns: number };

const who = fc.nat({ max: 11 });
const capRef: fc.Arbitrary<CapRef> = fc.record({
  pick: fc.constantFrom<CapRef['pick']>('fit', 'fit', 'fit', 'fit', 'fit', 'fit', 'held', 'held', 'held', 'closed', 'forged'),
  index: fc.nat({ max: 15 }),
  forged: fc.oneof(fc.constantFrom(0, 1, 0x1000, 0xfff, 0x7fffffff, 0xffffffff), fc.integer({ min: 0, max: 0xffffffff })),
});
const { SEND, RECEIVE, SHARE, GRANT, REVOKE } = Rights;
const rights = fc.oneof(
  fc.constantFrom(SEND, SEND | SHARE, SEND | RECEIVE, RECEIVE, SEND | SHARE | GRANT, SEND | RECEIVE | SHARE | GRANT | REVOKE, SHARE, Rights.NONE),
  fc.integer({ min: 0, max: 0xff }),
);
const length = fc.oneof({ weight: 6, arbitrary: fc.nat({ max: 16 }) }, { weight: 1, arbitrary: fc.constantFrom(63, 64, 65) });
const caps = fc.oneof({ weight: 6, arbitrary: fc.constant<CapRef[]>([]) }, { weight: 3, arbitrary: fc.array(capRef, { minLength: 1, maxLength: 2 }) }, { weight: 1, arbitrary: fc.array(capRef, { minLength: 4, maxLength: 5 }) });
const timeout = fc.constantFrom(1_000, 5_000, 20_000);

/** One random step. */
export const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('create' as const), who, capacity: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('derive' as const), who, cap: capRef, rights }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('grant' as const), who, cap: capRef, to: fc.nat({ max: 7 }), rights }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revoke' as const), who, cap: capRef }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close' as const), who, cap: capRef }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('call' as const), who, cap: capRef, length, caps, timeout }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('send' as const), who, cap: capRef, length, caps, timeout }) },
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('receive' as const), who, cap: capRef, timeout }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('reply' as const), who, to: fc.nat({ max: 7 }), length, caps, error: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ns: fc.constantFrom(1_000, 5_000, 30_000) }) },
);

const held = (index: number): CapRef => ({ pick: 'held', index, forged: 0 });

/**
 * Every program starts the same way, so random steps meet endpoints and capabilities early:
 * each process creates an endpoint, and each grants the next process a capability to it.
 */
export const PROGRAM_PRELUDE: readonly Step[] = [
  { kind: 'create', who: 0, capacity: 2 },
  { kind: 'create', who: 1, capacity: 1 },
  { kind: 'create', who: 2, capacity: 3 },
  { kind: 'grant', who: 0, cap: held(0), to: 1, rights: SEND | SHARE },
  { kind: 'grant', who: 1, cap: held(0), to: 2, rights: SEND | SHARE | GRANT },
  { kind: 'grant', who: 2, cap: held(0), to: 0, rights: SEND | RECEIVE },
];

/** A random program of up to `maxSteps` steps after the prelude. */
export function programArbitrary(maxSteps: number): fc.Arbitrary<Step[]> {
  return fc.array(stepArbitrary, { minLength: 1, maxLength: maxSteps, size: 'max' });
}

// ---------------------------------------------------------------- programs across CPUs

/** A step of a multi-CPU program: any {@link Step}, or killing a process (which is then respawned empty). */
export type MultiStep = Step | { kind: 'kill'; who: number };

/** Where each model process of a multi-CPU program runs: CPU 0 (a cooperative task) or a worker CPU of its own. */
export const MULTI_PLACES: readonly ('cpu0' | 'worker')[] = ['cpu0', 'worker', 'worker', 'cpu0'];

const multiHeld = (index: number): CapRef => ({ pick: 'held', index, forged: 0 });

/**
 * The prelude of a multi-CPU program: each of the four processes (CPU 0, worker, worker,
 * CPU 0) creates an endpoint and grants both its neighbours on the ring a capability to it, so
 * random steps meet CPU 0 ↔ worker, worker ↔ worker and CPU 0 ↔ CPU 0 channels at once.
 */
export const MULTI_PRELUDE: readonly Step[] = [
  { kind: 'create', who: 0, capacity: 2 },
  { kind: 'create', who: 1, capacity: 1 },
  { kind: 'create', who: 2, capacity: 3 },
  { kind: 'create', who: 3, capacity: 2 },
  { kind: 'grant', who: 0, cap: multiHeld(0), to: 1, rights: SEND | SHARE },
  { kind: 'grant', who: 1, cap: multiHeld(0), to: 2, rights: SEND | SHARE | GRANT },
  { kind: 'grant', who: 2, cap: multiHeld(0), to: 3, rights: SEND | SHARE },
  { kind: 'grant', who: 3, cap: multiHeld(0), to: 0, rights: SEND | RECEIVE | SHARE },
  { kind: 'grant', who: 0, cap: multiHeld(0), to: 3, rights: SEND },
  { kind: 'grant', who: 1, cap: multiHeld(0), to: 0, rights: SEND | SHARE },
  { kind: 'grant', who: 2, cap: multiHeld(0), to: 1, rights: SEND | GRANT },
  { kind: 'grant', who: 3, cap: multiHeld(0), to: 2, rights: SEND | SHARE },
];

const receiveStep: fc.Arbitrary<MultiStep> = fc.record({ kind: fc.constant('receive' as const), who, cap: capRef, timeout });
const replyStep: fc.Arbitrary<MultiStep> = fc.record({ kind: fc.constant('reply' as const), who, to: fc.nat({ max: 7 }), length, caps, error: fc.boolean() });
const killStep: fc.Arbitrary<MultiStep> = fc.record({ kind: fc.constant('kill' as const), who: fc.nat({ max: 11 }) });

/**
 * A random multi-CPU program of up to `maxSteps` steps after {@link MULTI_PRELUDE}; with
 * `kills`, some steps kill a process (often one blocked in a call or receive).
 */
export function multiProgramArbitrary(maxSteps: number, kills: boolean): fc.Arbitrary<MultiStep[]> {
  // Worker CPUs' blocking syscalls have no timeout: only a receive and a reply elsewhere (or a
  // kill) resolve them, so multi-CPU programs receive and reply more often.
  const step: fc.Arbitrary<MultiStep> = fc.oneof(
    { weight: 24, arbitrary: stepArbitrary },
    { weight: 4, arbitrary: receiveStep },
    { weight: 5, arbitrary: replyStep },
    { weight: kills ? 3 : 0, arbitrary: killStep },
  );
  // Unbiased lengths: a multi-CPU run costs worker start-ups, so each should carry a long program.
  return fc.noBias(fc.array(step, { minLength: 1, maxLength: maxSteps, size: 'max' }));
}
