/**
 * `@veridian/posix`: POSIX pipes, message queues and local sockets (with descriptor passing),
 * `poll`, POSIX shared memory (`shm_open`, `shm_unlink`, `ftruncate`, `mmap`, `munmap`,
 * `mprotect` on the kernel's shared regions), and the `IpcError` → errno table, translated onto
 * VeridianOS native IPC.
 *
 * @example
 * ```ts
 * import { createKernel } from '@veridian/core';
 * import { x86_64 } from '@veridian/arch-x86_64';
 * import { posixFor, createPosix } from '@veridian/posix';
 *
 * const kernel = createKernel({ arch: x86_64 });
 * await posixFor(kernel).ready;
 * kernel.spawn({ name: 'app' }, async (proc) => {
 *   const px = createPosix(proc);
 *   const [r, w] = await px.pipe();
 *   await px.write(w, new TextEncoder().encode('hi'));
 *   await px.close(w);
 *   const buf = new Uint8Array(8);
 *   console.log(await px.read(r, buf), await px.read(r, buf)); // 2, then 0 (end of file)
 * });
 * ```
 * @packageDocumentation
 */
export { ERRNO, ERRNO_OF_IPC_ERROR, errnoOf, type ErrnoName } from './errno.js';
export { PosixError, errnoName } from './error.js';
export * from './constants.js';
export { Posix } from './posix.js';
export { clock_gettime, timespecIn, CLOCK_REALTIME } from './time.js';
export { MAX_CAPS_PER_CALL } from './io.js';
export type { MqAttr, Timespec, SigEvent, PollFd, Cmsg, MsgHdr, PosixOptions } from './types.js';
export type { ShmStat } from './shm.js';
export { PosixHost, posixFor, createPosix, type PosixHostOptions, type InheritOptions } from './host.js';
export { MQ_DEFAULT_MAXMSG, MQ_DEFAULT_MSGSIZE, MQ_MAXMSG_LIMIT, MQ_MSGSIZE_LIMIT } from './mq-server.js';
