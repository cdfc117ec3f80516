import { IPC_ERROR_NUMBERS, IpcError, IpcErrorCode } from '@veridian/core';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERRNO, ERRNO_OF_IPC_ERROR, PosixError, errnoName, errnoOf } from '@veridian/posix';

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

  it('uses Linux numbers for every errno it names', () => {
    // From Linux's asm-generic/errno-base.h and errno.h.
    const linux = { EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, ENXIO: 6, EBADF: 9, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, ENODEV: 19, EINVAL: 22, ENFILE: 23, EMFILE: 24, EFBIG: 27, ENOSPC: 28, EPIPE: 32, ENAMETOOLONG: 36, ENOSYS: 38, EOVERFLOW: 75, ENOTSOCK: 88, EMSGSIZE: 90, EPROTOTYPE: 91, EPROTONOSUPPORT: 93, EOPNOTSUPP: 95, EAFNOSUPPORT: 97, ECONNRESET: 104, ENOTCONN: 107, ETIMEDOUT: 110, ECONNREFUSED: 111 };
    expect(ERRNO).toEqual(linux);
    for (const [name, n] of Object.entries(linux)) expect(errnoName(n)).toBe(name);
    expect(errnoName(9999)).toBeUndefined();
  });

  it('is documented: the README table lists each IpcError code with its errno', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    for (const [code, errno] of Object.entries(ERRNO_OF_IPC_ERROR)) expect(readme).toMatch(new RegExp(`\\|[^|\\n]*\\b${code}\\b[^|\\n]*\\| ${errno} \\|`));
  });
});

describe('PosixError', () => {
  it('has the shape of a Node SystemError: code, errno, syscall, message', () => {
    const e = new PosixError('EAGAIN', 'read');
    expect(e).toBeInstanceOf(Error);
    expect(e).toMatchObject({ name: 'PosixError', code: 'EAGAIN', errno: 11, syscall: 'read' });
    expect(e.message).toBe('EAGAIN: resource temporarily unavailable, read');
  });

  it('translates an IpcError through the table and keeps it as the cause', () => {
    for (const code of Object.values(IpcErrorCode)) {
      const ipc = new IpcError(code, 'x');
      const e = PosixError.from(ipc, 'mq_send') as PosixError;
      expect(e.code).toBe(ERRNO_OF_IPC_ERROR[code]);
      expect(e.errno).toBe(errnoOf(code));
      expect(e.syscall).toBe('mq_send');
      expect(e.cause).toBe(ipc);
    }
    const other = new TypeError('no');
    expect(PosixError.from(other, 'read')).toBe(other);
  });
});
