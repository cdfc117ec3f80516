import { Rights } from '@veridian/core';

import { O_CLOEXEC, O_NONBLOCK } from './constants.js';
import { define, lengthOf, type Drive } from './driver.js';
import { PosixError } from './error.js';
import type { FdTable } from './fd-table.js';
import { recvSteps, sendSteps } from './io.js';
import type { Posix } from './posix.js';
import type { Steps } from './types.js';
import { Kind, Op, ReqFlag } from './wire.js';

/*
 * Pipes: `pipe`, `pipe2`, and `read` / `write` (on pipes and sockets; the byte engine is io.ts).
 * The pipe itself lives in the object server (pipe-server.ts).
 */

const R = Rights.READ;
const W = Rights.WRITE;

declare module './posix.js' {
  interface Posix {
    /**
     * `pipe()`: a pipe; returns `[readEnd, writeEnd]` (the two lowest free descriptors).
     * Errors: `EMFILE` (fewer than two descriptors free), `ENFILE` (the system's table is full).
     */
    pipe(): Promise<[number, number]>;
    /** {@link Posix.pipe} on a worker CPU. */
    pipeSync(): [number, number];
    /** `pipe2(flags)`: {@link Posix.pipe} with `O_NONBLOCK` and/or `O_CLOEXEC` on both ends. Errors: as `pipe`, `EINVAL` for other flags. */
    pipe2(flags: number): Promise<[number, number]>;
    /** {@link Posix.pipe2} on a worker CPU. */
    pipe2Sync(flags: number): [number, number];
    /**
     * `read(fildes, buf, nbyte)`: reads up to `nbyte` bytes (default `buf.length`) into `buf`;
     * resolves with the count. On a pipe: with data, at most what is there; empty with no writer
     * left, 0 (end of file); empty otherwise, waits — or `EAGAIN` with `O_NONBLOCK`. On a socket
     * as `recv(…, 0)`. Reads over 1 MiB − 4 KiB are cut to that (a short read, as POSIX allows).
     * Errors: `EBADF` (not open for reading), `EAGAIN`, `EFAULT` (`nbyte` > `buf.length`).
     */
    read(fildes: number, buf: Uint8Array, nbyte?: number): Promise<number>;
    /** {@link Posix.read} on a worker CPU. */
    readSync(fildes: number, buf: Uint8Array, nbyte?: number): number;
    /**
     * `write(fildes, buf, nbyte)`: writes `nbyte` bytes (default `buf.length`) of `buf`; resolves
     * with the count. On a pipe: no reader left, `EPIPE` (no signal is raised); up to `PIPE_BUF`
     * bytes are written at once, never interleaved with other writers; without `O_NONBLOCK` the
     * call waits until every byte is in; with it, a write of ≤ `PIPE_BUF` bytes that does not fit
     * fails with `EAGAIN`, a longer one writes what fits (a partial write) or fails with `EAGAIN`
     * if nothing does. On a socket as `send(…, 0)`. Errors: `EBADF` (not open for writing),
     * `EAGAIN`, `EPIPE`, `EFAULT`.
     */
    write(fildes: number, buf: Uint8Array, nbyte?: number): Promise<number>;
    /** {@link Posix.write} on a worker CPU. */
    writeSync(fildes: number, buf: Uint8Array, nbyte?: number): number;
  }
}

function* pipeSteps(t: FdTable, flags: number, syscall: string): Steps<[number, number]> {
  if (!Number.isInteger(flags) || (flags & ~(O_NONBLOCK | O_CLOEXEC)) !== 0) throw new PosixError('EINVAL', syscall);
  if (t.free() < 2) throw new PosixError('EMFILE', syscall);
  // The status flags are the server's (each end is an open file description of its own).
  const reply = yield { op: Op.PIPE, flags: flags & O_NONBLOCK ? ReqFlag.NONBLOCK : 0 };
  const cloexec = (flags & O_CLOEXEC) !== 0;
  const r = t.install({ cap: reply.caps[0]!, kind: Kind.PIPE, mode: R, sockType: 0, refs: 0 }, cloexec, syscall);
  const w = t.install({ cap: reply.caps[1]!, kind: Kind.PIPE, mode: W, sockType: 0, refs: 0 }, cloexec, syscall);
  return [r, w];
}

/** Adds the pipe, read and write methods to `Posix.prototype` (called once by posix.ts). @internal */
export function installPipe(proto: Posix, drive: Drive): void {
  define(proto, {
    pipe() { return drive.async(this, 'pipe', (t) => pipeSteps(t, 0, 'pipe')); },
    pipeSync() { return drive.sync(this, 'pipe', (t) => pipeSteps(t, 0, 'pipe')); },
    pipe2(flags: number) { return drive.async(this, 'pipe2', (t) => pipeSteps(t, flags, 'pipe2')); },
    pipe2Sync(flags: number) { return drive.sync(this, 'pipe2', (t) => pipeSteps(t, flags, 'pipe2')); },
    read(fildes: number, buf: Uint8Array, nbyte: number = lengthOf(buf)) { return drive.async(this, 'read', (t) => recvSteps(t, fildes, buf, nbyte, 0, 'read')); },
    readSync(fildes: number, buf: Uint8Array, nbyte: number = lengthOf(buf)) { return drive.sync(this, 'read', (t) => recvSteps(t, fildes, buf, nbyte, 0, 'read')); },
    write(fildes: number, buf: Uint8Array, nbyte: number = lengthOf(buf)) { return drive.async(this, 'write', (t) => sendSteps(t, fildes, buf, nbyte, 0, [], 'write')); },
    writeSync(fildes: number, buf: Uint8Array, nbyte: number = lengthOf(buf)) { return drive.sync(this, 'write', (t) => sendSteps(t, fildes, buf, nbyte, 0, [], 'write')); },
  });
}
