import { IPC_ERROR_NUMBERS, IpcErrorCode } from '@veridian/core';
import { describe, expect, it } from 'vitest';
import { ERRNO, ERRNO_OF_IPC_ERROR, errnoOf } from '@veridian/posix';

describe('errno table', () => {
  it('maps every IpcError code to a POSIX errno', () => {
    const codes = Object.values(IpcErrorCode);
    expect(Object.keys(ERRNO_OF_IPC_ERROR).sort()).toEqual([...codes].sort());
    expect(Object.keys(IPC_ERROR_NUMBERS).sort()).toEqual([...codes].sort());
    for (const code of codes) expect(Object.values(ERRNO)).toContain(errnoOf(code));
  });

  it('uses the errno a POSIX program expects for the common failures', () => {
    expect(errnoOf('ChannelFull')).toBe(11);
    expect(errnoOf('ChannelClosed')).toBe(32);
    expect(errnoOf('InvalidCapability')).toBe(9);
    expect(errnoOf('MessageTooLarge')).toBe(90);
    expect(errnoOf('Timeout')).toBe(110);
    expect(errnoOf('NotFound')).toBe(2);
  });
});
