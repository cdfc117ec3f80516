/**
 * Outsider-64 syscall ABI (`trap 0`). 32 general registers with names of our own:
 *
 * | reg | name | syscall role |
 * | --- | --- | --- |
 * | 0 | zr | hard-wired zero (never used) |
 * | 1 | at | assembler temporary — clobbered by `trap` |
 * | 2 | rv0 | syscall number in (low half) |
 * | 3 | rv1 | sender pid out (low half), capability 3 (high half) |
 * | 4 | arg0 | endpoint handle (low half) |
 * | 5 | arg1 | info word low (low half), message type (high half) |
 * | 6 | arg2 | capabilities 0 and 1 |
 * | 7 | arg3 | status out (low half, MIPS-style error register), capability 2 (high half) |
 * | 8–11 | arg4–arg7 | data bytes 0–31 |
 * | 12–15 | tmp0–tmp3 | data bytes 32–63 |
 * | 16–23 | sv0–sv7 | callee-saved, untouched |
 * | 24, 25 | tmp8, tmp9 | untouched |
 * | 26, 27 | kr0, kr1 | kernel-reserved — clobbered by `trap` |
 * | 28–31 | gp, sp, fp, ra | untouched |
 */
import { defineFastPath } from '@veridian/core';

export const REGISTER_NAMES: readonly string[] = Object.freeze([
  'zr', 'at', 'rv0', 'rv1', 'arg0', 'arg1', 'arg2', 'arg3',
  'arg4', 'arg5', 'arg6', 'arg7', 'tmp0', 'tmp1', 'tmp2', 'tmp3',
  'sv0', 'sv1', 'sv2', 'sv3', 'sv4', 'sv5', 'sv6', 'sv7',
  'tmp8', 'tmp9', 'kr0', 'kr1', 'gp', 'sp', 'fp', 'ra',
]);

export const outsiderFastPath = defineFastPath({
  arch: 'outsider64',
  registerNames: REGISTER_NAMES,
  layout: {
    syscall: { reg: 2, half: 0 },
    status: { reg: 7, half: 0 },
    endpoint: { reg: 4, half: 0 },
    sender: { reg: 3, half: 0 },
    info: { reg: 5, half: 0 },
    type: { reg: 5, half: 1 },
    caps: [
      { reg: 6, half: 0 },
      { reg: 6, half: 1 },
      { reg: 7, half: 1 },
      { reg: 3, half: 1 },
    ],
    data: [8, 9, 10, 11, 12, 13, 14, 15],
  },
});
