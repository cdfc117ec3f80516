/**
 * `@veridian/posix`: the POSIX translation layer over VeridianOS native IPC. This release
 * ships the error translation table; pipes, message queues, shared memory and fd passing
 * follow in later releases.
 * @packageDocumentation
 */
export { ERRNO, ERRNO_OF_IPC_ERROR, errnoOf, type ErrnoName } from './errno.js';
