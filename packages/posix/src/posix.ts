import type { CapHandle, Process } from '@veridian/core';
import { OPEN_MAX } from './constants.js';
import { runAsync, runSync, type Drive } from './driver.js';
import { PosixError } from './error.js';
import { FdTable } from './fd-table.js';
import { installMq } from './mq.js';
import { installPipe } from './pipe.js';
import { installPoll } from './poll.js';
import { ShmCalls, installShm } from './shm.js';
import { installSocket } from './socket.js';
import type { PosixOptions, Steps } from './types.js';

/*
 * The `Posix` class: one process's descriptor table (fd-table.ts) and its calls. The calls of
 * each family are in their own module, which declares them on `Posix` and installs them on its
 * prototype (the static block below): pipe.ts (pipe, read, write), socket.ts, mq.ts, poll.ts,
 * shm.ts. Each call is a generator of requests to the object server, run by driver.ts.
 */

/**
 * The POSIX functions of one process: its descriptor table and the calls, with their POSIX
 * names and argument order. Descriptors are small integers (lowest free first), each naming a
 * capability in the process's capability space. Calls that can block (or that need the object
 * server) return promises; on a worker CPU each has a `…Sync` twin that blocks the thread.
 * Failures throw {@link PosixError} (`code`, `errno`, `syscall`).
 *
 * Get one with {@link createPosix}; the kernel needs an object server first
 * ({@link posixFor}).
 *
 * @example
 * ```ts
 * kernel.spawn({ name: 'demo' }, async (proc) => {
 *   const px = createPosix(proc);
 *   const [r, w] = await px.pipe();
 *   await px.write(w, new TextEncoder().encode('hello'));
 *   const buf = new Uint8Array(16);
 *   const n = await px.read(r, buf);
 * });
 * ```
 */
export class Posix {
  /** The process this table belongs to. */
  readonly proc: Process;
  readonly #t: FdTable;
  readonly #shm: ShmCalls;

  /** @internal use {@link createPosix} */
  constructor(proc: Process, server: CapHandle, flags: CapHandle, options: PosixOptions = {}) {
    this.proc = proc;
    const t = new FdTable(proc, server, flags, options.openMax ?? OPEN_MAX, (d) => this.#shm.close(d));
    this.#t = t;
    this.#shm = new ShmCalls({ proc: () => proc, description: (fd, s) => t.entry(fd, s).d, install: (d, c, s) => t.install(d, c, s), free: () => t.free() });
  }

  #async<T>(syscall: string, make: () => Steps<T>): Promise<T> {
    return runAsync(this.#t, syscall, make);
  }

  #sync<T>(syscall: string, make: () => Steps<T>): T {
    return runSync(this.#t, syscall, make);
  }

  /** The descriptors a child started by a spawn helper inherits: every one without `FD_CLOEXEC`. @internal */
  inheritable(): Array<{ fd: number; cap: CapHandle }> {
    return this.#t.inheritable();
  }

  /**
   * Installs the descriptors this process inherited from its parent (the spawn helpers of
   * {@link PosixHost} call this before the body runs; on a worker CPU {@link createPosix} does).
   * Returns the descriptor numbers (the parent's numbers).
   */
  attach(): Promise<number[]> {
    return this.#async('attach', () => this.#t.attach());
  }

  /** {@link Posix.attach} on a worker CPU. */
  attachSync(): number[] {
    return this.#sync('attach', () => this.#t.attach());
  }

  // ------------------------------------------------------------------ close, dup, fcntl

  /**
   * `close(fildes)`: frees the descriptor. When it was the last descriptor of its open file
   * description anywhere, the object notices: the last writer of a pipe closing gives its
   * readers end-of-file, the last reader gives its writers `EPIPE`.
   * Errors: `EBADF`.
   */
  close(fildes: number): Promise<void> {
    return this.#async('close', () => this.#t.close(fildes));
  }

  /** {@link Posix.close} on a worker CPU. */
  closeSync(fildes: number): void {
    this.#sync('close', () => this.#t.close(fildes));
  }

  /**
   * `dup(fildes)`: a new descriptor (the lowest free) for the same open file description;
   * `FD_CLOEXEC` is clear on it. Errors: `EBADF`, `EMFILE`.
   */
  dup(fildes: number): number {
    try {
      return this.#t.dup(fildes);
    } catch (err) {
      throw PosixError.from(err, 'dup');
    }
  }

  /**
   * `dup2(fildes, fildes2)`: makes `fildes2` refer to `fildes`'s open file description, closing
   * `fildes2` first if open (unless they are equal, which returns `fildes2` untouched).
   * `FD_CLOEXEC` is clear on `fildes2`. Errors: `EBADF` (`fildes` not open, `fildes2` out of
   * range; `fildes2` is not closed then).
   */
  dup2(fildes: number, fildes2: number): Promise<number> {
    return this.#async('dup2', () => this.#t.dup2(fildes, fildes2));
  }

  /** {@link Posix.dup2} on a worker CPU. */
  dup2Sync(fildes: number, fildes2: number): number {
    return this.#sync('dup2', () => this.#t.dup2(fildes, fildes2));
  }

  /**
   * `fcntl(fildes, cmd, arg)`: `F_DUPFD` / `F_DUPFD_CLOEXEC` (lowest free ≥ `arg`),
   * `F_GETFD` / `F_SETFD` (`FD_CLOEXEC`, per descriptor), `F_GETFL` (status flags | access
   * mode), `F_SETFL` (`O_NONBLOCK`; other bits are ignored). The status flags belong to the open
   * file description, kept by the object server: descriptors made by `dup`, received with
   * `SCM_RIGHTS` or inherited through the spawn helpers share them, in every process ("the same
   * open file description"). `F_GETFL`/`F_SETFL` ask the server synchronously (on CPU 0 its
   * passive flag server, `posix.fl`; on a worker CPU a `callSync`); the other commands are
   * local. Errors: `EBADF`, `EINVAL` (unknown `cmd`, `arg` out of range for `F_DUPFD`; `F_GETFL`/`F_SETFL`
   * while another call of this process is pending), `EMFILE`.
   */
  fcntl(fildes: number, cmd: number, arg = 0): number {
    return this.#t.fcntl(fildes, cmd, arg);
  }

  // ------------------------------------------------------------------ the calls of pipe.ts, socket.ts, mq.ts, poll.ts, shm.ts

  static {
    // `this` is the class here: naming it would compile to an alias that is not yet set.
    const drive: Drive = { async: (px, syscall, make) => px.#async(syscall, () => make(px.#t)), sync: (px, syscall, make) => px.#sync(syscall, () => make(px.#t)) };
    installPipe(this.prototype, drive);
    installSocket(this.prototype, drive);
    installMq(this.prototype, drive);
    installPoll(this.prototype, drive);
    installShm(this.prototype, (px, sync, syscall, make) => (sync ? px.#sync(syscall, () => make(px.#shm)) : px.#async(syscall, () => make(px.#shm))), (px) => px.#shm);
  }
}
