import { describe, expect, it } from 'vitest';
import { IPC_ERROR_NUMBERS, IpcError, IpcErrorCode, ManualClock, MessageInfo, Rights, formatRights, hasRights, ipcErrorCodeOf, isSubsetOf } from '@veridian/core';

describe('contracts', () => {
  it('every error code has a unique register number that maps back', () => {
    const codes = Object.values(IpcErrorCode);
    const numbers = codes.map((c) => IPC_ERROR_NUMBERS[c]);
    expect(new Set(numbers).size).toBe(codes.length);
    for (const c of codes) expect(ipcErrorCodeOf(IPC_ERROR_NUMBERS[c])).toBe(c);
    expect(ipcErrorCodeOf(0)).toBeUndefined();
    const e = IpcError.fromStatus(IPC_ERROR_NUMBERS.Timeout);
    expect(e.code).toBe('Timeout');
    expect(e.errno).toBe(6);
    expect(e).toBeInstanceOf(Error);
  });

  it('rights algebra', () => {
    expect(hasRights(Rights.SEND | Rights.SHARE, Rights.SEND)).toBe(true);
    expect(hasRights(Rights.SEND, Rights.SEND | Rights.SHARE)).toBe(false);
    expect(isSubsetOf(Rights.SEND, Rights.SEND | Rights.GRANT)).toBe(true);
    expect(isSubsetOf(Rights.RECEIVE, Rights.SEND)).toBe(false);
    expect(formatRights(Rights.SEND | Rights.GRANT)).toBe('SEND|GRANT');
    expect(formatRights(0)).toBe('NONE');
  });

  it('message-info word packs length, capability count and flags', () => {
    for (let len = 0; len <= 64; len++) {
      for (let caps = 0; caps <= 4; caps++) {
        const w = MessageInfo.pack(len, caps, 0x2a);
        expect([MessageInfo.length(w), MessageInfo.capCount(w), MessageInfo.flags(w)]).toEqual([len, caps, 0x2a]);
      }
    }
  });

  it('manual clock moves only when advanced and tells listeners', () => {
    const clock = new ManualClock(5);
    const seen: number[] = [];
    const off = clock.onAdvance((t) => seen.push(t));
    clock.advance(10);
    off();
    clock.advance(1);
    expect(clock.now()).toBe(16);
    expect(seen).toEqual([15]);
    expect(() => clock.advance(-1)).toThrow(RangeError);
  });
});
