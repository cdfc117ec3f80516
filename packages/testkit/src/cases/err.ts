/** Error cases: the frozen error table, and the model-based property that failures change nothing. */
import fc from 'fast-check';
import { expect } from 'vitest';
import { IPC_ERROR_NUMBERS, IpcError, IpcErrorCode, createKernel, ipcErrorCodeOf, isIpcError } from '@veridian/core';
import { programArbitrary } from '../model/program.js';
import { runProgram } from '../model/runner.js';
import type { CaseTable } from './types.js';

/**
 * The error ABI as frozen by this suite: code string → register number. Changing, removing,
 * renumbering or adding a code must be a deliberate change here too.
 */
const FROZEN_ERROR_TABLE: ReadonlyArray<readonly [string, number]> = Object.freeze([
  ['ChannelFull', 1],
  ['ChannelClosed', 2],
  ['InvalidCapability', 3],
  ['PermissionDenied', 4],
  ['MessageTooLarge', 5],
  ['Timeout', 6],
  ['ProcessNotFound', 7],
  ['OutOfMemory', 8],
  ['InvalidArgument', 9],
  ['InvalidState', 10],
  ['AccessFault', 11],
  ['RateLimited', 12],
  ['Filtered', 13],
  ['AlreadyExists', 14],
  ['NotFound', 15],
] as const);

/** The `err.*` cases. */
export const errCases: CaseTable<'err'> = {
  'err.codes-stable': {
    checks: 'the IpcError codes and their register numbers are exactly the frozen table (no change, no removal, no addition); numbers map back to codes; 0 and unknown numbers are no code',
    run() {
      expect(Object.entries(IpcErrorCode)).toEqual(FROZEN_ERROR_TABLE.map(([code]) => [code, code]));
      expect(Object.entries(IPC_ERROR_NUMBERS)).toEqual(FROZEN_ERROR_TABLE.map(([code, n]) => [code, n]));
      expect(Object.isFrozen(IPC_ERROR_NUMBERS)).toBe(true);
      for (const [code, n] of FROZEN_ERROR_TABLE) {
        expect(ipcErrorCodeOf(n)).toBe(code);
        const e = new IpcError(code as IpcErrorCode, 'detail');
        expect(e.code).toBe(code);
        expect(e.errno).toBe(n);
        expect(e).toBeInstanceOf(Error);
        expect(isIpcError(e, code as IpcErrorCode)).toBe(true);
        expect(IpcError.fromStatus(n).code).toBe(code);
      }
      for (const n of [0, 16, 255, -1]) expect(ipcErrorCodeOf(n)).toBeUndefined();
      expect(isIpcError(new Error('ChannelFull'))).toBe(false);
    },
  },

  'err.state-unchanged': {
    checks:
      'random programs of syscalls (create, derive, grant, revoke, close, call, send, receive, reply, replyError, clock ticks) across three processes agree with a reference model: FIFO per channel, capacity bound, message conservation, channel isolation, only authorized senders, no lost or duplicated message, and every failing syscall leaves the kernel snapshot byte-identical',
    timeout: 60_000,
    async run(ctx) {
      await fc.assert(
        fc.asyncProperty(programArbitrary(40), (steps) => runProgram((options) => createKernel(ctx.kernelOptions(options)), steps)),
        { numRuns: ctx.propertyRuns },
      );
    },
  },
};
