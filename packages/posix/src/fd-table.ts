import { Rights, type CapHandle, type Process } from '@veridian/core';
import { FD_CLOEXEC, F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_SETFD, F_SETFL, O_RDONLY, O_RDWR, O_WRONLY } from './constants.js';
import type { Link } from './driver.js';
import { PosixError, errnoName } from './error.js';
import { shmFile } from './shm.js';
import type { Description, Reply, Steps } from './types.js';
import { Kind, Op, readWord, reqType } from './wire.js';

/*
 * The descriptor table of one process: small integers (lowest free first), each naming an open
 * file description, which holds the capability the object server handed out for it. The call
 * modules (pipe.ts, socket.ts, mq.ts, poll.ts, shm.ts) reach descriptors through it; the
 * `Posix` methods of close, dup, dup2 and fcntl are its own.
 */

const EMPTY = new Uint8Array(0);
const R = Rights.READ;
const W = Rights.WRITE;

interface Entry {
  d: Description;
  cloexec: boolean;
}

/** @internal The descriptor table of one `Posix`. */
export class FdTable implements Link {
  readonly #fds: Array<Entry | undefined> = [];

  constructor(
    readonly proc: Process,
    readonly server: CapHandle,
    /** Where `F_GETFL`/`F_SETFL` go: the passive flag server on CPU 0, `posixd` on a worker (flags-server.ts). */
    readonly flags: CapHandle,
    readonly openMax: number,
    /** Drops what a shared memory description holds besides its capability, as its last descriptor closes (shm.ts). */
    readonly closeShm: (d: Description) => void,
  ) {}

  /** The open entry `fd`, or `EBADF`. */
  entry(fd: number, syscall: string): Entry {
    const e = this.get(fd);
    if (!e) throw new PosixError('EBADF', syscall);
    return e;
  }

  /** The entry `fd` if open. */
  get(fd: number): Entry | undefined {
    return Number.isInteger(fd) && fd >= 0 ? this.#fds[fd] : undefined;
  }

  lowest(from: number, syscall: string): number {
    for (let fd = from; fd < this.openMax; fd++) if (this.#fds[fd] === undefined) return fd;
    throw new PosixError('EMFILE', syscall);
  }

  install(d: Description, cloexec: boolean, syscall: string, at?: number): number {
    const fd = at ?? this.lowest(0, syscall);
    this.#fds[fd] = { d, cloexec };
    d.refs++;
    return fd;
  }

  /** Free descriptors left (for checking `EMFILE` before asking the server). */
  free(): number {
    let n = 0;
    for (let fd = 0; fd < this.openMax; fd++) if (this.#fds[fd] === undefined) n++;
    return n;
  }

  /**
   * Drops descriptor `fd`; yields the server request when it was the description's last. The
   * server is told first: a request refused with `EINVAL` (another call of this process is
   * pending) leaves the descriptor open, as if the close had not been made. Any other outcome
   * closes it (a server that no longer knows the description, or is gone, cannot keep it open).
   */
  *release(fd: number): Steps<void> {
    const e = this.#fds[fd]!;
    if (e.d.refs > 1) {
      this.#fds[fd] = undefined;
      e.d.refs--;
      return;
    }
    let failure: Error | undefined;
    try {
      yield { op: Op.CLOSE, caps: [e.d.cap] };
    } catch (err) {
      if (err instanceof PosixError && err.code === 'EINVAL') throw err;
      failure = err instanceof Error ? err : new Error(String(err));
    }
    this.#fds[fd] = undefined;
    e.d.refs--;
    if (e.d.kind === Kind.SHM) this.closeShm(e.d);
    try {
      this.proc.close(e.d.cap);
    } catch {
      /* already gone */
    }
    if (failure !== undefined) throw failure;
  }

  /** Installs descriptions the server handed over (`recvmsg`, inheritance): `info` is [n, (info, status, extra)×n] (the status flags stay at the server). */
  adopt(reply: Reply, at: number, cloexec: boolean, syscall: string, useExtraAsFd: boolean): { fds: number[]; dropped: CapHandle[]; end: number } {
    const n = readWord(reply.data, at);
    const fds: number[] = [];
    const dropped: CapHandle[] = [];
    for (let i = 0; i < n; i++) {
      const info = readWord(reply.data, at + 1 + 3 * i);
      const extra = readWord(reply.data, at + 3 + 3 * i);
      const d: Description = { cap: reply.caps[i]!, kind: (info & 0xff) as Kind, mode: (info >>> 8) & 0xff, sockType: info >>> 16, refs: 0 };
      if (d.kind === Kind.SHM) d.shm = shmFile((d.mode & W) !== 0);
      const want = useExtraAsFd ? extra : undefined;
      if (want !== undefined ? this.#fds[want] !== undefined || want >= this.openMax : this.free() === 0) {
        dropped.push(d.cap);
        continue;
      }
      fds.push(this.install(d, cloexec, syscall, want));
    }
    return { fds, dropped, end: at + 1 + 3 * n };
  }

  /** The descriptors a child started by a spawn helper inherits: every one without `FD_CLOEXEC`. */
  inheritable(): Array<{ fd: number; cap: CapHandle }> {
    const out: Array<{ fd: number; cap: CapHandle }> = [];
    this.#fds.forEach((e, fd) => {
      if (e && !e.cloexec) out.push({ fd, cap: e.d.cap });
    });
    return out;
  }

  *attach(): Steps<number[]> {
    const reply = yield { op: Op.ATTACH };
    const { fds, dropped } = this.adopt(reply, 0, false, 'attach', true);
    for (const cap of dropped) yield* this.closeCap(cap);
    return fds;
  }

  *closeCap(cap: CapHandle): Steps<void> {
    try {
      yield { op: Op.CLOSE, caps: [cap] };
    } catch {
      /* gone already */
    } finally {
      this.proc.close(cap);
    }
  }

  *close(fildes: number): Steps<void> {
    this.entry(fildes, 'close');
    try {
      yield* this.release(fildes);
    } catch (e) {
      // The descriptor is gone either way; a server that no longer knows it is not the caller's error.
      if (!(e instanceof PosixError) || e.code !== 'EBADF') throw e;
    }
  }

  dup(fildes: number): number {
    const e = this.entry(fildes, 'dup');
    return this.install(e.d, false, 'dup');
  }

  *dup2(fildes: number, fildes2: number): Steps<number> {
    const e = this.entry(fildes, 'dup2');
    if (!Number.isInteger(fildes2) || fildes2 < 0 || fildes2 >= this.openMax) throw new PosixError('EBADF', 'dup2');
    if (fildes === fildes2) return fildes2;
    e.d.refs++; // keep it alive while fildes2 closes
    try {
      if (this.#fds[fildes2]) yield* this.release(fildes2);
    } catch (err) {
      // fildes2 is closed either way; a server that no longer knows it is not the caller's error.
      if (!(err instanceof PosixError) || err.code !== 'EBADF') throw err;
    } finally {
      e.d.refs--;
    }
    return this.install(e.d, false, 'dup2', fildes2);
  }

  /**
   * The status flags of `d`'s open file description, set first to `arg` when `set` is 1: one
   * synchronous request to the server that keeps them (flags-server.ts). `EINVAL` while
   * another call of this process is pending, `EBADF` when the server no longer knows it.
   */
  status(d: Description, set: 0 | 1, arg: number, syscall: string): number {
    let r;
    try {
      r = this.proc.callSync(this.flags, { type: reqType(Op.FCNTL_FL, set, arg & 0xffff), data: EMPTY, caps: [d.cap] });
    } catch (e) {
      throw PosixError.from(e, syscall);
    }
    const st = r.type & 0xffff;
    if (st !== 0) throw new PosixError(errnoName(st) ?? 'EINVAL', syscall);
    return r.type >>> 16;
  }

  fcntl(fildes: number, cmd: number, arg: number): number {
    const e = this.entry(fildes, 'fcntl');
    switch (cmd) {
      case F_DUPFD:
      case F_DUPFD_CLOEXEC:
        if (!Number.isInteger(arg) || arg < 0 || arg >= this.openMax) throw new PosixError('EINVAL', 'fcntl');
        return this.install(e.d, cmd === F_DUPFD_CLOEXEC, 'fcntl', this.lowest(arg, 'fcntl'));
      case F_GETFD:
        return e.cloexec ? FD_CLOEXEC : 0;
      case F_SETFD:
        e.cloexec = (arg & FD_CLOEXEC) !== 0;
        return 0;
      case F_GETFL:
        return this.status(e.d, 0, 0, 'fcntl') | (e.d.mode === (R | W) ? O_RDWR : e.d.mode === W ? O_WRONLY : O_RDONLY);
      case F_SETFL:
        if (!Number.isInteger(arg)) throw new PosixError('EINVAL', 'fcntl');
        this.status(e.d, 1, arg, 'fcntl');
        return 0;
      default:
        throw new PosixError('EINVAL', 'fcntl');
    }
  }
}
