import { IpcError, MAX_LARGE_DATA, Rights, messageCaps, messagePayload, type CapHandle, type MessageBuffer, type Process } from '@veridian/core';
import {
  AF_UNIX,
  FD_CLOEXEC,
  F_DUPFD,
  F_DUPFD_CLOEXEC,
  F_GETFD,
  F_GETFL,
  F_SETFD,
  F_SETFL,
  MQ_PRIO_MAX,
  MSG_CMSG_CLOEXEC,
  MSG_CTRUNC,
  MSG_DONTWAIT,
  MSG_EOR,
  MSG_NOSIGNAL,
  MSG_PEEK,
  MSG_WAITALL,
  NAME_MAX,
  OPEN_MAX,
  O_ACCMODE,
  O_CLOEXEC,
  O_CREAT,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  POLLNVAL,
  SCM_RIGHTS,
  SIGEV_NONE,
  SIGEV_THREAD,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_SEQPACKET,
  SOCK_STREAM,
  SOL_SOCKET,
} from './constants.js';
import type { ErrnoName } from './errno.js';
import { PosixError, errnoName } from './error.js';
import { registerNotify } from './server.js';
import { ShmCalls, installShm, type ShmFile } from './shm.js';
import { BAD_TIMESPEC, Kind, Op, ReqFlag, readWord, reqType, timed, words } from './wire.js';

const R = Rights.READ;
const W = Rights.WRITE;
/** Bytes per request of a read (a reply is at most a 1 MiB large message, with a small header). */
const READ_CHUNK = MAX_LARGE_DATA - 4096;
/** Bytes per request of a write. */
const WRITE_CHUNK = MAX_LARGE_DATA;
/** Most descriptors one `poll` or `sendmsg` carries (capabilities per large message, less one). */
export const MAX_CAPS_PER_CALL = 63;
const EMPTY = new Uint8Array(0);
const utf8 = new TextEncoder();

/** `mq_attr`. */
export interface MqAttr {
  /** `O_NONBLOCK` or 0. */
  mq_flags: number;
  /** Most messages the queue holds. */
  mq_maxmsg: number;
  /** Largest message, in bytes. */
  mq_msgsize: number;
  /** Messages in the queue now. */
  mq_curmsgs: number;
}

/** `struct timespec`: an absolute time on `CLOCK_REALTIME` (as `Date.now()`). */
export interface Timespec {
  tv_sec: number;
  tv_nsec: number;
}

/** `struct sigevent`, for {@link Posix.mq_notify}. */
export interface SigEvent {
  /** `SIGEV_NONE` (register, deliver nothing) or `SIGEV_THREAD` (call `sigev_notify_function`; CPU 0 only). */
  sigev_notify: number;
  sigev_notify_function?: (value: unknown) => void;
  sigev_value?: unknown;
}

/** `struct pollfd`; `revents` is written by {@link Posix.poll}. */
export interface PollFd {
  fd: number;
  events: number;
  revents?: number;
}

/** `struct cmsghdr` with its data: for `SCM_RIGHTS`, the descriptors. */
export interface Cmsg {
  cmsg_level: number;
  cmsg_type: number;
  cmsg_data: number[];
}

/** `struct msghdr` (without a name: socket pairs are connected). */
export interface MsgHdr {
  /** Buffers to gather from (`sendmsg`) or scatter into (`recvmsg`). */
  msg_iov: Uint8Array[];
  /** Ancillary data: in for `sendmsg`, written by `recvmsg`. */
  msg_control?: Cmsg[];
  /** Written by `recvmsg`: `MSG_TRUNC`, `MSG_CTRUNC`. */
  msg_flags?: number;
}

/** Options of {@link createPosix}. */
export interface PosixOptions {
  /** Size of the descriptor table (default {@link OPEN_MAX}). */
  openMax?: number;
}

/** @internal */
export interface Description {
  cap: CapHandle;
  kind: Kind;
  /** READ and/or WRITE rights. */
  mode: number;
  /** File status flags (`O_NONBLOCK`). */
  status: number;
  sockType: number;
  /** Descriptors of this table that point at it. */
  refs: number;
  /** A shared memory object's state (kind SHM). */
  shm?: ShmFile;
}

interface Entry {
  d: Description;
  cloexec: boolean;
}

/** @internal */
export interface Req {
  op: number;
  flags?: number;
  arg?: number;
  data?: Uint8Array;
  caps?: CapHandle[];
}

/** A reply, read out of the (reused) message buffer. */
export interface Reply {
  arg: number;
  data: Uint8Array;
  caps: CapHandle[];
}

/** @internal */
export type Steps<T> = Generator<Req, T, Reply>;

/** The status of a failed request. */
class Status {
  constructor(readonly errno: number) {}
}

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
  readonly #server: CapHandle;
  readonly #fds: Array<Entry | undefined> = [];
  readonly #openMax: number;
  readonly #shm = new ShmCalls({ proc: () => this.proc, description: (fd, s) => this.#entry(fd, s).d, install: (d, c, s) => this.#install(d, c, s), free: () => this.#free() });

  /** @internal use {@link createPosix} */
  constructor(proc: Process, server: CapHandle, options: PosixOptions = {}) {
    this.proc = proc;
    this.#server = server;
    this.#openMax = options.openMax ?? OPEN_MAX;
  }

  // ------------------------------------------------------------------ drivers

  #request(r: Req): MessageBuffer | Promise<MessageBuffer> {
    const msg = { type: reqType(r.op, r.flags ?? 0, r.arg ?? 0), data: r.data ?? EMPTY, caps: r.caps };
    return this.proc.cpu === 0 ? this.proc.call(this.#server, msg) : this.proc.callSync(this.#server, msg);
  }

  static #read(m: MessageBuffer): Reply | Status {
    const status = m.type & 0xffff;
    if (status !== 0) return new Status(status);
    const p = messagePayload(m);
    return { arg: m.type >>> 16, data: m.large ? p : p.slice(), caps: Array.from(messageCaps(m)) };
  }

  #step<T>(g: Steps<T>, syscall: string, input: Reply | Status | PosixError | undefined): IteratorResult<Req, T> {
    if (input instanceof Status) return g.throw(new PosixError(errnoName(input.errno) ?? 'EINVAL', syscall));
    if (input instanceof PosixError) return g.throw(input);
    return g.next(input as Reply);
  }

  async #async<T>(syscall: string, make: () => Steps<T>): Promise<T> {
    try {
      const g = make();
      let r = g.next();
      while (!r.done) {
        let input: Reply | Status | PosixError;
        try {
          input = Posix.#read(await this.#request(r.value));
        } catch (e) {
          input = this.#ipc(e, syscall);
        }
        r = this.#step(g, syscall, input);
      }
      return r.value;
    } catch (e) {
      throw PosixError.from(e, syscall);
    }
  }

  #sync<T>(syscall: string, make: () => Steps<T>): T {
    try {
      if (this.proc.cpu === 0) throw new PosixError('EINVAL', syscall, { detail: 'the …Sync variants block the thread: worker CPUs only' });
      const g = make();
      let r = g.next();
      while (!r.done) {
        let input: Reply | Status | PosixError;
        try {
          input = Posix.#read(this.#request(r.value) as MessageBuffer);
        } catch (e) {
          input = this.#ipc(e, syscall);
        }
        r = this.#step(g, syscall, input);
      }
      return r.value;
    } catch (e) {
      throw PosixError.from(e, syscall);
    }
  }

  #ipc(e: unknown, syscall: string): PosixError {
    if (e instanceof IpcError) return new PosixError(e.code === 'InvalidCapability' ? 'EBADF' : (PosixError.from(e, syscall) as PosixError).code, syscall, { cause: e });
    throw e;
  }

  // ------------------------------------------------------------------ descriptor table

  #entry(fd: number, syscall: string): Entry {
    const e = Number.isInteger(fd) && fd >= 0 ? this.#fds[fd] : undefined;
    if (!e) throw new PosixError('EBADF', syscall);
    return e;
  }

  #lowest(from: number, syscall: string): number {
    for (let fd = from; fd < this.#openMax; fd++) if (this.#fds[fd] === undefined) return fd;
    throw new PosixError('EMFILE', syscall);
  }

  #install(d: Description, cloexec: boolean, syscall: string, at?: number): number {
    const fd = at ?? this.#lowest(0, syscall);
    this.#fds[fd] = { d, cloexec };
    d.refs++;
    return fd;
  }

  /** Free descriptors left (for checking `EMFILE` before asking the server). */
  #free(): number {
    let n = 0;
    for (let fd = 0; fd < this.#openMax; fd++) if (this.#fds[fd] === undefined) n++;
    return n;
  }

  /** Drops descriptor `fd`; yields the server request when it was the description's last. */
  *#release(fd: number): Steps<void> {
    const e = this.#fds[fd]!;
    this.#fds[fd] = undefined;
    if (--e.d.refs > 0) return;
    if (e.d.kind === Kind.SHM) return yield* this.#shm.close(e.d);
    try {
      yield { op: Op.CLOSE, caps: [e.d.cap] };
    } finally {
      try {
        this.proc.close(e.d.cap);
      } catch {
        /* already gone */
      }
    }
  }

  /** Installs descriptions the server handed over (`recvmsg`, inheritance): `info` is [n, (info, status, extra)×n]. */
  #adopt(reply: Reply, at: number, cloexec: boolean, syscall: string, useExtraAsFd: boolean): { fds: number[]; dropped: CapHandle[]; end: number } {
    const n = readWord(reply.data, at);
    const fds: number[] = [];
    const dropped: CapHandle[] = [];
    for (let i = 0; i < n; i++) {
      const info = readWord(reply.data, at + 1 + 3 * i);
      const status = readWord(reply.data, at + 2 + 3 * i);
      const extra = readWord(reply.data, at + 3 + 3 * i);
      const d: Description = { cap: reply.caps[i]!, kind: (info & 0xff) as Kind, mode: (info >>> 8) & 0xff, status: status & O_NONBLOCK, sockType: info >>> 16, refs: 0 };
      const want = useExtraAsFd ? extra : undefined;
      if (want !== undefined ? this.#fds[want] !== undefined || want >= this.#openMax : this.#free() === 0) {
        dropped.push(d.cap);
        continue;
      }
      fds.push(this.#install(d, cloexec, syscall, want));
    }
    return { fds, dropped, end: at + 1 + 3 * n };
  }

  /** The descriptors a child started by a spawn helper inherits: every one without `FD_CLOEXEC`. @internal */
  inheritable(): Array<{ fd: number; cap: CapHandle; status: number }> {
    const out: Array<{ fd: number; cap: CapHandle; status: number }> = [];
    this.#fds.forEach((e, fd) => {
      if (e && !e.cloexec && e.d.kind !== Kind.SHM) out.push({ fd, cap: e.d.cap, status: e.d.status });
    });
    return out;
  }

  *#attach(): Steps<number[]> {
    const reply = yield { op: Op.ATTACH };
    const { fds, dropped } = this.#adopt(reply, 0, false, 'attach', true);
    for (const cap of dropped) yield* this.#closeCap(cap);
    return fds;
  }

  *#closeCap(cap: CapHandle): Steps<void> {
    try {
      yield { op: Op.CLOSE, caps: [cap] };
    } catch {
      /* gone already */
    } finally {
      this.proc.close(cap);
    }
  }

  /**
   * Installs the descriptors this process inherited from its parent (the spawn helpers of
   * {@link PosixHost} call this before the body runs; on a worker CPU {@link createPosix} does).
   * Returns the descriptor numbers (the parent's numbers).
   */
  attach(): Promise<number[]> {
    return this.#async('attach', () => this.#attach());
  }

  /** {@link Posix.attach} on a worker CPU. */
  attachSync(): number[] {
    return this.#sync('attach', () => this.#attach());
  }

  // ------------------------------------------------------------------ close, dup, fcntl

  /**
   * `close(fildes)`: frees the descriptor. When it was the last descriptor of its open file
   * description anywhere, the object notices: the last writer of a pipe closing gives its
   * readers end-of-file, the last reader gives its writers `EPIPE`.
   * Errors: `EBADF`.
   */
  close(fildes: number): Promise<void> {
    return this.#async('close', () => this.#close(fildes));
  }

  /** {@link Posix.close} on a worker CPU. */
  closeSync(fildes: number): void {
    this.#sync('close', () => this.#close(fildes));
  }

  *#close(fildes: number): Steps<void> {
    this.#entry(fildes, 'close');
    try {
      yield* this.#release(fildes);
    } catch (e) {
      // The descriptor is gone either way; a server that no longer knows it is not the caller's error.
      if (!(e instanceof PosixError) || e.code !== 'EBADF') throw e;
    }
  }

  /**
   * `dup(fildes)`: a new descriptor (the lowest free) for the same open file description;
   * `FD_CLOEXEC` is clear on it. Errors: `EBADF`, `EMFILE`.
   */
  dup(fildes: number): number {
    try {
      const e = this.#entry(fildes, 'dup');
      return this.#install(e.d, false, 'dup');
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
    return this.#async('dup2', () => this.#dup2(fildes, fildes2));
  }

  /** {@link Posix.dup2} on a worker CPU. */
  dup2Sync(fildes: number, fildes2: number): number {
    return this.#sync('dup2', () => this.#dup2(fildes, fildes2));
  }

  *#dup2(fildes: number, fildes2: number): Steps<number> {
    const e = this.#entry(fildes, 'dup2');
    if (!Number.isInteger(fildes2) || fildes2 < 0 || fildes2 >= this.#openMax) throw new PosixError('EBADF', 'dup2');
    if (fildes === fildes2) return fildes2;
    e.d.refs++; // keep it alive while fildes2 closes
    try {
      if (this.#fds[fildes2]) yield* this.#release(fildes2);
    } catch (err) {
      // fildes2 is closed either way; a server that no longer knows it is not the caller's error.
      if (!(err instanceof PosixError) || err.code !== 'EBADF') throw err;
    } finally {
      e.d.refs--;
    }
    return this.#install(e.d, false, 'dup2', fildes2);
  }

  /**
   * `fcntl(fildes, cmd, arg)`: `F_DUPFD` / `F_DUPFD_CLOEXEC` (lowest free ≥ `arg`),
   * `F_GETFD` / `F_SETFD` (`FD_CLOEXEC`), `F_GETFL` (status flags | access mode), `F_SETFL`
   * (`O_NONBLOCK`; other bits are ignored). The status flags belong to the open file description:
   * descriptors made by `dup` share them. Errors: `EBADF`, `EINVAL` (unknown `cmd`, `arg` out of
   * range for `F_DUPFD`), `EMFILE`.
   */
  fcntl(fildes: number, cmd: number, arg = 0): number {
    const e = this.#entry(fildes, 'fcntl');
    switch (cmd) {
      case F_DUPFD:
      case F_DUPFD_CLOEXEC:
        if (!Number.isInteger(arg) || arg < 0 || arg >= this.#openMax) throw new PosixError('EINVAL', 'fcntl');
        return this.#install(e.d, cmd === F_DUPFD_CLOEXEC, 'fcntl', this.#lowest(arg, 'fcntl'));
      case F_GETFD:
        return e.cloexec ? FD_CLOEXEC : 0;
      case F_SETFD:
        e.cloexec = (arg & FD_CLOEXEC) !== 0;
        return 0;
      case F_GETFL:
        return e.d.status | (e.d.mode === (R | W) ? O_RDWR : e.d.mode === W ? O_WRONLY : O_RDONLY);
      case F_SETFL:
        e.d.status = (e.d.status & ~O_NONBLOCK) | (arg & O_NONBLOCK);
        return 0;
      default:
        throw new PosixError('EINVAL', 'fcntl');
    }
  }

  // ------------------------------------------------------------------ pipes

  /**
   * `pipe()`: a pipe; returns `[readEnd, writeEnd]` (the two lowest free descriptors).
   * Errors: `EMFILE` (fewer than two descriptors free), `ENFILE` (the system's table is full).
   */
  pipe(): Promise<[number, number]> {
    return this.#async('pipe', () => this.#pipe(0, 'pipe'));
  }

  /** {@link Posix.pipe} on a worker CPU. */
  pipeSync(): [number, number] {
    return this.#sync('pipe', () => this.#pipe(0, 'pipe'));
  }

  /** `pipe2(flags)`: {@link Posix.pipe} with `O_NONBLOCK` and/or `O_CLOEXEC` on both ends. Errors: as `pipe`, `EINVAL` for other flags. */
  pipe2(flags: number): Promise<[number, number]> {
    return this.#async('pipe2', () => this.#pipe(flags, 'pipe2'));
  }

  /** {@link Posix.pipe2} on a worker CPU. */
  pipe2Sync(flags: number): [number, number] {
    return this.#sync('pipe2', () => this.#pipe(flags, 'pipe2'));
  }

  *#pipe(flags: number, syscall: string): Steps<[number, number]> {
    if (!Number.isInteger(flags) || (flags & ~(O_NONBLOCK | O_CLOEXEC)) !== 0) throw new PosixError('EINVAL', syscall);
    if (this.#free() < 2) throw new PosixError('EMFILE', syscall);
    const reply = yield { op: Op.PIPE };
    const status = flags & O_NONBLOCK;
    const cloexec = (flags & O_CLOEXEC) !== 0;
    const r = this.#install({ cap: reply.caps[0]!, kind: Kind.PIPE, mode: R, status, sockType: 0, refs: 0 }, cloexec, syscall);
    const w = this.#install({ cap: reply.caps[1]!, kind: Kind.PIPE, mode: W, status, sockType: 0, refs: 0 }, cloexec, syscall);
    return [r, w];
  }

  /**
   * `read(fildes, buf, nbyte)`: reads up to `nbyte` bytes (default `buf.length`) into `buf`;
   * resolves with the count. On a pipe: with data, at most what is there; empty with no writer
   * left, 0 (end of file); empty otherwise, waits — or `EAGAIN` with `O_NONBLOCK`. On a socket
   * as `recv(…, 0)`. Reads over 1 MiB − 4 KiB are cut to that (a short read, as POSIX allows).
   * Errors: `EBADF` (not open for reading), `EAGAIN`, `EFAULT` (`nbyte` > `buf.length`).
   */
  read(fildes: number, buf: Uint8Array, nbyte: number = buf.length): Promise<number> {
    return this.#async('read', () => this.#recv(fildes, buf, nbyte, 0, 'read'));
  }

  /** {@link Posix.read} on a worker CPU. */
  readSync(fildes: number, buf: Uint8Array, nbyte: number = buf.length): number {
    return this.#sync('read', () => this.#recv(fildes, buf, nbyte, 0, 'read'));
  }

  /**
   * `write(fildes, buf, nbyte)`: writes `nbyte` bytes (default `buf.length`) of `buf`; resolves
   * with the count. On a pipe: no reader left, `EPIPE` (no signal is raised); up to `PIPE_BUF`
   * bytes are written at once, never interleaved with other writers; without `O_NONBLOCK` the
   * call waits until every byte is in; with it, a write of ≤ `PIPE_BUF` bytes that does not fit
   * fails with `EAGAIN`, a longer one writes what fits (a partial write) or fails with `EAGAIN`
   * if nothing does. On a socket as `send(…, 0)`. Errors: `EBADF` (not open for writing),
   * `EAGAIN`, `EPIPE`, `EFAULT`.
   */
  write(fildes: number, buf: Uint8Array, nbyte: number = buf.length): Promise<number> {
    return this.#async('write', () => this.#send(fildes, buf, nbyte, 0, [], 'write'));
  }

  /** {@link Posix.write} on a worker CPU. */
  writeSync(fildes: number, buf: Uint8Array, nbyte: number = buf.length): number {
    return this.#sync('write', () => this.#send(fildes, buf, nbyte, 0, [], 'write'));
  }

  *#recv(fd: number, buf: Uint8Array, nbyte: number, flags: number, syscall: string, msg?: MsgHdr): Steps<number> {
    const e = this.#entry(fd, syscall);
    const sock = syscall === 'recv' || syscall === 'recvmsg';
    if (sock && e.d.kind !== Kind.SOCKET) throw new PosixError('ENOTSOCK', syscall);
    if (e.d.kind === Kind.MQ || !(e.d.mode & R)) throw new PosixError('EBADF', syscall);
    if (!Number.isInteger(nbyte) || nbyte < 0 || nbyte > buf.length) throw new PosixError('EFAULT', syscall);
    if (flags & ~(MSG_PEEK | MSG_DONTWAIT | MSG_WAITALL | MSG_CMSG_CLOEXEC)) throw new PosixError('EOPNOTSUPP', syscall);
    const nb = (e.d.status & O_NONBLOCK) !== 0 || (flags & MSG_DONTWAIT) !== 0;
    const rf = (nb ? ReqFlag.NONBLOCK : 0) | (flags & MSG_PEEK ? ReqFlag.PEEK : 0);
    const waitAll = (flags & MSG_WAITALL) !== 0 && !(flags & MSG_PEEK) && e.d.sockType === SOCK_STREAM && sock;
    let got = 0;
    do {
      const want = Math.min(nbyte - got, READ_CHUNK);
      let reply: Reply;
      try {
        reply = yield { op: msg ? Op.RECVMSG : Op.READ, flags: rf, data: words(want), caps: [e.d.cap] };
      } catch (err) {
        if (got > 0) return got;
        throw err;
      }
      let data = reply.data;
      if (msg) {
        const adopted = this.#adopt(reply, 0, (flags & MSG_CMSG_CLOEXEC) !== 0, syscall, false);
        for (const cap of adopted.dropped) yield* this.#closeCap(cap);
        data = data.subarray(adopted.end * 4);
        msg.msg_flags = reply.arg | (adopted.dropped.length ? MSG_CTRUNC : 0);
        msg.msg_control = adopted.fds.length ? [{ cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS, cmsg_data: adopted.fds }] : [];
      }
      buf.set(data, got);
      got += data.length;
      if (data.length === 0) break;
    } while (waitAll && got < nbyte);
    return got;
  }

  *#send(fd: number, buf: Uint8Array, nbyte: number, flags: number, passFds: number[], syscall: string): Steps<number> {
    const e = this.#entry(fd, syscall);
    const sock = syscall === 'send' || syscall === 'sendmsg';
    if (sock && e.d.kind !== Kind.SOCKET) throw new PosixError('ENOTSOCK', syscall);
    if (e.d.kind === Kind.MQ || !(e.d.mode & W)) throw new PosixError('EBADF', syscall);
    if (!Number.isInteger(nbyte) || nbyte < 0 || nbyte > buf.length) throw new PosixError('EFAULT', syscall);
    if (flags & ~(MSG_DONTWAIT | MSG_NOSIGNAL | MSG_EOR)) throw new PosixError('EOPNOTSUPP', syscall);
    const passed = passFds.map((f) => this.#entry(f, syscall).d);
    if (passed.length > MAX_CAPS_PER_CALL) throw new PosixError('EINVAL', syscall, { detail: `at most ${MAX_CAPS_PER_CALL} descriptors per message` });
    const nb = (e.d.status & O_NONBLOCK) !== 0 || (flags & MSG_DONTWAIT) !== 0;
    const packet = e.d.sockType === SOCK_SEQPACKET;
    if (packet && nbyte > WRITE_CHUNK - 4 - 4 * passed.length) throw new PosixError('EMSGSIZE', syscall);
    let done = 0;
    do {
      const withFds = done === 0 && (passed.length > 0 || syscall === 'sendmsg');
      const room = withFds ? WRITE_CHUNK - 4 - 4 * passed.length : WRITE_CHUNK;
      const k = packet ? nbyte : Math.min(nbyte - done, room);
      let data = buf.subarray(done, done + k);
      if (withFds) {
        const head = words(passed.length, ...passed.map((d) => d.status));
        const b = new Uint8Array(head.length + k);
        b.set(head);
        b.set(data, head.length);
        data = b;
      }
      let reply: Reply;
      try {
        reply = yield { op: withFds ? Op.SENDMSG : Op.WRITE, flags: nb ? ReqFlag.NONBLOCK : 0, data, caps: withFds ? [e.d.cap, ...passed.map((d) => d.cap)] : [e.d.cap] };
      } catch (err) {
        if (done > 0) return done;
        throw err;
      }
      const n = reply.data.length ? readWord(reply.data, 0) : 0;
      done += n;
      if (n < k) break;
    } while (done < nbyte);
    return done;
  }

  // ------------------------------------------------------------------ sockets

  /**
   * `socketpair(domain, type, protocol)`: a connected pair of local sockets, `[a, b]`.
   * `domain` `AF_UNIX`; `type` `SOCK_STREAM` or `SOCK_SEQPACKET`, optionally with
   * `SOCK_NONBLOCK` / `SOCK_CLOEXEC`; `protocol` 0. Errors: `EAFNOSUPPORT`, `EPROTOTYPE`
   * (other types, e.g. `SOCK_DGRAM`), `EPROTONOSUPPORT` (protocol ≠ 0), `EMFILE`, `ENFILE`.
   */
  socketpair(domain: number, type: number, protocol = 0): Promise<[number, number]> {
    return this.#async('socketpair', () => this.#socketpair(domain, type, protocol));
  }

  /** {@link Posix.socketpair} on a worker CPU. */
  socketpairSync(domain: number, type: number, protocol = 0): [number, number] {
    return this.#sync('socketpair', () => this.#socketpair(domain, type, protocol));
  }

  *#socketpair(domain: number, type: number, protocol: number): Steps<[number, number]> {
    if (domain !== AF_UNIX) throw new PosixError('EAFNOSUPPORT', 'socketpair');
    const base = type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (base !== SOCK_STREAM && base !== SOCK_SEQPACKET) throw new PosixError('EPROTOTYPE', 'socketpair');
    if (protocol !== 0) throw new PosixError('EPROTONOSUPPORT', 'socketpair');
    if (this.#free() < 2) throw new PosixError('EMFILE', 'socketpair');
    const reply = yield { op: Op.SOCKETPAIR, arg: base };
    const status = type & SOCK_NONBLOCK ? O_NONBLOCK : 0;
    const cloexec = (type & SOCK_CLOEXEC) !== 0;
    const a = this.#install({ cap: reply.caps[0]!, kind: Kind.SOCKET, mode: R | W, status, sockType: base, refs: 0 }, cloexec, 'socketpair');
    const b = this.#install({ cap: reply.caps[1]!, kind: Kind.SOCKET, mode: R | W, status, sockType: base, refs: 0 }, cloexec, 'socketpair');
    return [a, b];
  }

  /**
   * `send(socket, buffer, length, flags)`: as `write` on a socket; a `SOCK_SEQPACKET` message
   * goes whole or not at all (`EMSGSIZE` if it can never fit). Flags: `MSG_DONTWAIT`,
   * `MSG_NOSIGNAL` (no signals exist: accepted), `MSG_EOR`. Errors: `EBADF`, `ENOTSOCK`,
   * `EAGAIN`, `EPIPE` (peer closed), `EMSGSIZE`, `EOPNOTSUPP` (other flags).
   */
  send(socket: number, buffer: Uint8Array, length: number = buffer.length, flags = 0): Promise<number> {
    return this.#async('send', () => this.#send(socket, buffer, length, flags, [], 'send'));
  }

  /** {@link Posix.send} on a worker CPU. */
  sendSync(socket: number, buffer: Uint8Array, length: number = buffer.length, flags = 0): number {
    return this.#sync('send', () => this.#send(socket, buffer, length, flags, [], 'send'));
  }

  /**
   * `recv(socket, buffer, length, flags)`: as `read` on a socket; 0 once the peer has closed
   * and nothing is left. `SOCK_SEQPACKET`: one message per call, the rest of a longer one is
   * discarded. Flags: `MSG_PEEK`, `MSG_DONTWAIT`, `MSG_WAITALL` (stream sockets). Errors:
   * `EBADF`, `ENOTSOCK`, `EAGAIN`, `EOPNOTSUPP` (other flags).
   */
  recv(socket: number, buffer: Uint8Array, length: number = buffer.length, flags = 0): Promise<number> {
    return this.#async('recv', () => this.#recv(socket, buffer, length, flags, 'recv'));
  }

  /** {@link Posix.recv} on a worker CPU. */
  recvSync(socket: number, buffer: Uint8Array, length: number = buffer.length, flags = 0): number {
    return this.#sync('recv', () => this.#recv(socket, buffer, length, flags, 'recv'));
  }

  /**
   * `sendmsg(socket, message, flags)`: sends the bytes of `message.msg_iov` and, with a
   * `SOL_SOCKET`/`SCM_RIGHTS` control message, descriptors: the receiver gets new descriptors
   * for the same open file descriptions (the capabilities behind them travel in the message);
   * the sender's stay open. Errors: as `send`, and `EBADF` (a passed descriptor is not open),
   * `EINVAL` (another control message, or more than 63 descriptors).
   */
  sendmsg(socket: number, message: MsgHdr, flags = 0): Promise<number> {
    return this.#async('sendmsg', () => this.#sendmsg(socket, message, flags));
  }

  /** {@link Posix.sendmsg} on a worker CPU. */
  sendmsgSync(socket: number, message: MsgHdr, flags = 0): number {
    return this.#sync('sendmsg', () => this.#sendmsg(socket, message, flags));
  }

  *#sendmsg(socket: number, message: MsgHdr, flags: number): Steps<number> {
    const fds: number[] = [];
    for (const c of message.msg_control ?? []) {
      if (c.cmsg_level !== SOL_SOCKET || c.cmsg_type !== SCM_RIGHTS) throw new PosixError('EINVAL', 'sendmsg');
      fds.push(...c.cmsg_data);
    }
    const buf = concat(message.msg_iov);
    return yield* this.#send(socket, buf, buf.length, flags, fds, 'sendmsg');
  }

  /**
   * `recvmsg(socket, message, flags)`: reads into `message.msg_iov` (scattered in order);
   * descriptors that came with the data are installed (lowest free first; `MSG_CMSG_CLOEXEC`
   * sets `FD_CLOEXEC` on them) and listed in `message.msg_control` as one `SCM_RIGHTS` entry;
   * `message.msg_flags` gets `MSG_TRUNC` (a longer `SOCK_SEQPACKET` message was cut) and
   * `MSG_CTRUNC` (descriptors did not fit in the table and were closed). A stream read stops
   * at data that carries descriptors, so they arrive with the bytes they were sent with.
   * Errors: as `recv`.
   */
  recvmsg(socket: number, message: MsgHdr, flags = 0): Promise<number> {
    return this.#async('recvmsg', () => this.#recvmsg(socket, message, flags));
  }

  /** {@link Posix.recvmsg} on a worker CPU. */
  recvmsgSync(socket: number, message: MsgHdr, flags = 0): number {
    return this.#sync('recvmsg', () => this.#recvmsg(socket, message, flags));
  }

  *#recvmsg(socket: number, message: MsgHdr, flags: number): Steps<number> {
    const total = message.msg_iov.reduce((n, b) => n + b.length, 0);
    const buf = new Uint8Array(total);
    const n = yield* this.#recv(socket, buf, total, flags & ~MSG_WAITALL, 'recvmsg', message);
    let off = 0;
    for (const b of message.msg_iov) {
      if (off >= n) break;
      const k = Math.min(b.length, n - off);
      b.set(buf.subarray(off, off + k));
      off += k;
    }
    return n;
  }

  // ------------------------------------------------------------------ message queues

  /**
   * `mq_open(name, oflag, mode, attr)`: opens (with `O_CREAT`, creates) the message queue
   * `name` (`/` then 1–255 bytes without `/`; visible to every process of the kernel); returns
   * its descriptor. `oflag`: `O_RDONLY` / `O_WRONLY` / `O_RDWR`, `O_CREAT`, `O_EXCL`,
   * `O_NONBLOCK`, `O_CLOEXEC`. `mode` is accepted and ignored (there are no users).
   * `attr` (only with `O_CREAT`, for a new queue): `mq_maxmsg` (1–65536, default 10),
   * `mq_msgsize` (1–1 MiB − 4 KiB, default 8192). Errors: `EEXIST` (`O_CREAT|O_EXCL`, exists),
   * `ENOENT` (no `O_CREAT`, does not exist), `EINVAL` (bad name, bad access mode, attributes
   * ≤ 0 or over the limits), `ENAMETOOLONG`, `EMFILE`, `ENFILE`.
   */
  mq_open(name: string, oflag: number, mode?: number, attr?: Partial<Pick<MqAttr, 'mq_maxmsg' | 'mq_msgsize'>> | null): Promise<number> {
    return this.#async('mq_open', () => this.#mqOpen(name, oflag, mode, attr));
  }

  /** {@link Posix.mq_open} on a worker CPU. */
  mq_openSync(name: string, oflag: number, mode?: number, attr?: Partial<Pick<MqAttr, 'mq_maxmsg' | 'mq_msgsize'>> | null): number {
    return this.#sync('mq_open', () => this.#mqOpen(name, oflag, mode, attr));
  }

  *#mqOpen(name: string, oflag: number, _mode: number | undefined, attr: Partial<Pick<MqAttr, 'mq_maxmsg' | 'mq_msgsize'>> | null | undefined): Steps<number> {
    const bytes = checkName(name, 'mq_open');
    if ((oflag & O_ACCMODE) === O_ACCMODE) throw new PosixError('EINVAL', 'mq_open');
    if (this.#free() < 1) throw new PosixError('EMFILE', 'mq_open');
    const has = (oflag & O_CREAT) !== 0 && attr != null;
    const maxmsg = has ? attr!.mq_maxmsg : 0;
    const msgsize = has ? attr!.mq_msgsize : 0;
    if (has && (!Number.isInteger(maxmsg) || !Number.isInteger(msgsize))) throw new PosixError('EINVAL', 'mq_open');
    const head = words(oflag, has ? 1 : 0, has ? Math.max(0, Math.min(maxmsg!, 0x7fffffff)) : 0, has ? Math.max(0, Math.min(msgsize!, 0x7fffffff)) : 0);
    const data = new Uint8Array(head.length + bytes.length);
    data.set(head);
    data.set(bytes, head.length);
    const reply = yield { op: Op.MQ_OPEN, data };
    const acc = oflag & O_ACCMODE;
    const d: Description = { cap: reply.caps[0]!, kind: Kind.MQ, mode: acc === O_RDONLY ? R : acc === O_WRONLY ? W : R | W, status: oflag & O_NONBLOCK, sockType: 0, refs: 0 };
    return this.#install(d, (oflag & O_CLOEXEC) !== 0, 'mq_open');
  }

  /** `mq_close(mqdes)`: closes the descriptor; removes this process's notification request made through it. Errors: `EBADF`. */
  mq_close(mqdes: number): Promise<void> {
    return this.#async('mq_close', () => this.#mqClose(mqdes));
  }

  /** {@link Posix.mq_close} on a worker CPU. */
  mq_closeSync(mqdes: number): void {
    this.#sync('mq_close', () => this.#mqClose(mqdes));
  }

  *#mqClose(mqdes: number): Steps<void> {
    if (this.#mq(mqdes, 'mq_close', 0)) yield* this.#close(mqdes);
  }

  /**
   * `mq_unlink(name)`: removes the name; the queue lives on until its last descriptor closes, and
   * a later `mq_open(name)` without `O_CREAT` fails with `ENOENT`. Errors: `ENOENT`, `EINVAL`,
   * `ENAMETOOLONG`.
   */
  mq_unlink(name: string): Promise<void> {
    return this.#async('mq_unlink', () => this.#mqUnlink(name));
  }

  /** {@link Posix.mq_unlink} on a worker CPU. */
  mq_unlinkSync(name: string): void {
    this.#sync('mq_unlink', () => this.#mqUnlink(name));
  }

  *#mqUnlink(name: string): Steps<void> {
    yield { op: Op.MQ_UNLINK, data: checkName(name, 'mq_unlink') };
  }

  #mq(mqdes: number, syscall: string, mode: number): Description {
    const e = Number.isInteger(mqdes) && mqdes >= 0 ? this.#fds[mqdes] : undefined;
    if (!e || e.d.kind !== Kind.MQ || (e.d.mode & mode) !== mode) throw new PosixError('EBADF', syscall);
    return e.d;
  }

  /**
   * `mq_send(mqdes, msg_ptr, msg_len, msg_prio)`: adds a message of `msg_len` bytes (default
   * `msg_ptr.length`) with priority `msg_prio` (0–32767) after the others of its priority and
   * before lower ones; a full queue waits, or `EAGAIN` with `O_NONBLOCK`. Errors: `EBADF` (not
   * open for writing), `EMSGSIZE` (over `mq_msgsize`), `EINVAL` (priority), `EAGAIN`, `EFAULT`.
   */
  mq_send(mqdes: number, msg_ptr: Uint8Array, msg_len: number = msg_ptr.length, msg_prio = 0): Promise<void> {
    return this.#async('mq_send', () => this.#mqSend(mqdes, msg_ptr, msg_len, msg_prio, undefined, 'mq_send'));
  }

  /** {@link Posix.mq_send} on a worker CPU. */
  mq_sendSync(mqdes: number, msg_ptr: Uint8Array, msg_len: number = msg_ptr.length, msg_prio = 0): void {
    this.#sync('mq_send', () => this.#mqSend(mqdes, msg_ptr, msg_len, msg_prio, undefined, 'mq_send'));
  }

  /**
   * `mq_timedsend(mqdes, msg_ptr, msg_len, msg_prio, abs_timeout)`: as `mq_send`, but a wait ends
   * with `ETIMEDOUT` at `abs_timeout` (`CLOCK_REALTIME`); `EINVAL` for a `tv_nsec` outside
   * 0 … 999 999 999 when the call would wait (not checked when the message fits at once).
   */
  mq_timedsend(mqdes: number, msg_ptr: Uint8Array, msg_len: number, msg_prio: number, abs_timeout: Timespec): Promise<void> {
    return this.#async('mq_timedsend', () => this.#mqSend(mqdes, msg_ptr, msg_len, msg_prio, abs_timeout, 'mq_timedsend'));
  }

  /** {@link Posix.mq_timedsend} on a worker CPU. */
  mq_timedsendSync(mqdes: number, msg_ptr: Uint8Array, msg_len: number, msg_prio: number, abs_timeout: Timespec): void {
    this.#sync('mq_timedsend', () => this.#mqSend(mqdes, msg_ptr, msg_len, msg_prio, abs_timeout, 'mq_timedsend'));
  }

  *#mqSend(mqdes: number, msg: Uint8Array, len: number, prio: number, abs: Timespec | undefined, syscall: string): Steps<void> {
    const d = this.#mq(mqdes, syscall, W);
    if (!Number.isInteger(len) || len < 0 || len > msg.length) throw new PosixError('EFAULT', syscall);
    if (!Number.isInteger(prio) || prio < 0 || prio >= MQ_PRIO_MAX) throw new PosixError('EINVAL', syscall);
    if (len > WRITE_CHUNK - 8) throw new PosixError('EMSGSIZE', syscall);
    const body = msg.subarray(0, len);
    const nb = d.status & O_NONBLOCK ? ReqFlag.NONBLOCK : 0;
    if (abs) yield { op: Op.MQ_SEND, flags: nb | ReqFlag.TIMED, arg: prio, data: timed(relative(abs), body), caps: [d.cap] };
    else yield { op: Op.MQ_SEND, flags: nb, arg: prio, data: body, caps: [d.cap] };
  }

  /**
   * `mq_receive(mqdes, msg_ptr, msg_len, msg_prio)`: takes the oldest message of the highest
   * priority into `msg_ptr`; resolves with its length and stores its priority in
   * `msg_prio.value` if given. An empty queue waits, or `EAGAIN` with `O_NONBLOCK`. Errors:
   * `EBADF` (not open for reading), `EMSGSIZE` (`msg_len` < `mq_msgsize`), `EAGAIN`, `EFAULT`.
   */
  mq_receive(mqdes: number, msg_ptr: Uint8Array, msg_len: number = msg_ptr.length, msg_prio?: { value: number }): Promise<number> {
    return this.#async('mq_receive', () => this.#mqReceive(mqdes, msg_ptr, msg_len, msg_prio, undefined, 'mq_receive'));
  }

  /** {@link Posix.mq_receive} on a worker CPU. */
  mq_receiveSync(mqdes: number, msg_ptr: Uint8Array, msg_len: number = msg_ptr.length, msg_prio?: { value: number }): number {
    return this.#sync('mq_receive', () => this.#mqReceive(mqdes, msg_ptr, msg_len, msg_prio, undefined, 'mq_receive'));
  }

  /**
   * `mq_timedreceive(mqdes, msg_ptr, msg_len, msg_prio, abs_timeout)`: as `mq_receive`, but a
   * wait ends with `ETIMEDOUT` at `abs_timeout`; never fails with a timeout when a message is
   * there; `EINVAL` for a bad `tv_nsec` only when it would wait.
   */
  mq_timedreceive(mqdes: number, msg_ptr: Uint8Array, msg_len: number, msg_prio: { value: number } | null | undefined, abs_timeout: Timespec): Promise<number> {
    return this.#async('mq_timedreceive', () => this.#mqReceive(mqdes, msg_ptr, msg_len, msg_prio ?? undefined, abs_timeout, 'mq_timedreceive'));
  }

  /** {@link Posix.mq_timedreceive} on a worker CPU. */
  mq_timedreceiveSync(mqdes: number, msg_ptr: Uint8Array, msg_len: number, msg_prio: { value: number } | null | undefined, abs_timeout: Timespec): number {
    return this.#sync('mq_timedreceive', () => this.#mqReceive(mqdes, msg_ptr, msg_len, msg_prio ?? undefined, abs_timeout, 'mq_timedreceive'));
  }

  *#mqReceive(mqdes: number, buf: Uint8Array, len: number, prio: { value: number } | undefined, abs: Timespec | undefined, syscall: string): Steps<number> {
    const d = this.#mq(mqdes, syscall, R);
    if (!Number.isInteger(len) || len < 0 || len > buf.length) throw new PosixError('EFAULT', syscall);
    const nb = d.status & O_NONBLOCK ? ReqFlag.NONBLOCK : 0;
    const reply = abs ? yield { op: Op.MQ_RECEIVE, flags: nb | ReqFlag.TIMED, data: timed(relative(abs), words(len)), caps: [d.cap] } : yield { op: Op.MQ_RECEIVE, flags: nb, data: words(len), caps: [d.cap] };
    buf.set(reply.data);
    if (prio) prio.value = reply.arg;
    return reply.data.length;
  }

  /** `mq_getattr(mqdes)`: the queue's attributes and this description's `mq_flags`. Errors: `EBADF`. */
  mq_getattr(mqdes: number): Promise<MqAttr> {
    return this.#async('mq_getattr', () => this.#mqGetattr(mqdes, 'mq_getattr'));
  }

  /** {@link Posix.mq_getattr} on a worker CPU. */
  mq_getattrSync(mqdes: number): MqAttr {
    return this.#sync('mq_getattr', () => this.#mqGetattr(mqdes, 'mq_getattr'));
  }

  *#mqGetattr(mqdes: number, syscall: string): Steps<MqAttr> {
    const d = this.#mq(mqdes, syscall, 0);
    const reply = yield { op: Op.MQ_GETATTR, caps: [d.cap] };
    return { mq_flags: d.status & O_NONBLOCK, mq_maxmsg: readWord(reply.data, 0), mq_msgsize: readWord(reply.data, 1), mq_curmsgs: readWord(reply.data, 2) };
  }

  /**
   * `mq_setattr(mqdes, mqstat, omqstat)`: sets `mq_flags` (`O_NONBLOCK`; the other members are
   * ignored); resolves with the attributes before the call (also stored in `omqstat` if given).
   * Errors: `EBADF`.
   */
  mq_setattr(mqdes: number, mqstat: Pick<MqAttr, 'mq_flags'>, omqstat?: MqAttr): Promise<MqAttr> {
    return this.#async('mq_setattr', () => this.#mqSetattr(mqdes, mqstat, omqstat));
  }

  /** {@link Posix.mq_setattr} on a worker CPU. */
  mq_setattrSync(mqdes: number, mqstat: Pick<MqAttr, 'mq_flags'>, omqstat?: MqAttr): MqAttr {
    return this.#sync('mq_setattr', () => this.#mqSetattr(mqdes, mqstat, omqstat));
  }

  *#mqSetattr(mqdes: number, mqstat: Pick<MqAttr, 'mq_flags'>, omqstat: MqAttr | undefined): Steps<MqAttr> {
    const old = yield* this.#mqGetattr(mqdes, 'mq_setattr');
    const d = this.#mq(mqdes, 'mq_setattr', 0);
    d.status = (d.status & ~O_NONBLOCK) | (mqstat.mq_flags & O_NONBLOCK);
    if (omqstat) Object.assign(omqstat, old);
    return old;
  }

  /**
   * `mq_notify(mqdes, notification)`: registers this process to be told when the queue goes
   * from empty to non-empty while no receiver waits (`SIGEV_THREAD`: `sigev_notify_function`
   * is called with `sigev_value`, on CPU 0 only; `SIGEV_NONE`: nothing is delivered); the
   * registration is removed when it fires. `null` removes this process's registration. Errors:
   * `EBADF`, `EBUSY` (a process is registered already), `EINVAL` (`SIGEV_SIGNAL` — there are no
   * signals — or `SIGEV_THREAD` on a worker CPU).
   */
  mq_notify(mqdes: number, notification: SigEvent | null): Promise<void> {
    return this.#async('mq_notify', () => this.#mqNotify(mqdes, notification));
  }

  /** {@link Posix.mq_notify} on a worker CPU (`SIGEV_NONE` or `null`). */
  mq_notifySync(mqdes: number, notification: SigEvent | null): void {
    this.#sync('mq_notify', () => this.#mqNotify(mqdes, notification));
  }

  *#mqNotify(mqdes: number, n: SigEvent | null): Steps<void> {
    const d = this.#mq(mqdes, 'mq_notify', 0);
    if (n === null) {
      yield { op: Op.MQ_NOTIFY, data: words(0, 0), caps: [d.cap] };
      return;
    }
    let id = 0;
    if (n.sigev_notify === SIGEV_THREAD) {
      const fn = n.sigev_notify_function;
      if (typeof fn !== 'function' || this.proc.cpu !== 0) throw new PosixError('EINVAL', 'mq_notify', { detail: 'SIGEV_THREAD needs a function and CPU 0' });
      const value = n.sigev_value;
      id = registerNotify(() => fn(value));
    } else if (n.sigev_notify !== SIGEV_NONE) throw new PosixError('EINVAL', 'mq_notify', { detail: 'no signals: SIGEV_NONE or SIGEV_THREAD' });
    yield { op: Op.MQ_NOTIFY, data: words(1, id), caps: [d.cap] };
  }

  // ------------------------------------------------------------------ shared memory: the methods are shm.ts's (installShm)

  static {
    // `this` is the class here: naming it would compile to an alias that is not yet set.
    installShm(this.prototype, (px, sync, syscall, make) => (sync ? px.#sync(syscall, () => make(px.#shm)) : px.#async(syscall, () => make(px.#shm))), (px) => px.#shm);
  }

  // ------------------------------------------------------------------ poll

  /**
   * `poll(fds, nfds, timeout)`: waits until one of the first `nfds` entries is ready or
   * `timeout` ms pass (0: do not wait; −1: forever); writes each `revents` and resolves with how
   * many are non-zero. Pipes, queues and sockets: `POLLIN`/`POLLRDNORM` (data, or end of file),
   * `POLLOUT`/`POLLWRNORM` (a write of `PIPE_BUF` bytes, or a message, fits), `POLLHUP` (no
   * writer left / peer closed), `POLLERR` (a pipe's write end with no reader), `POLLNVAL` (not
   * open); a negative `fd` is skipped. `POLLHUP`, `POLLERR` and `POLLNVAL` are reported whatever
   * `events` says. Errors: `EINVAL` (`nfds` > `fds.length`, or over 63 distinct open descriptors).
   */
  poll(fds: PollFd[], nfds: number = fds.length, timeout = -1): Promise<number> {
    return this.#async('poll', () => this.#poll(fds, nfds, timeout));
  }

  /** {@link Posix.poll} on a worker CPU. */
  pollSync(fds: PollFd[], nfds: number = fds.length, timeout = -1): number {
    return this.#sync('poll', () => this.#poll(fds, nfds, timeout));
  }

  *#poll(fds: PollFd[], nfds: number, timeout: number): Steps<number> {
    if (!Number.isInteger(nfds) || nfds < 0 || nfds > fds.length) throw new PosixError('EINVAL', 'poll');
    const ask: number[] = [];
    let invalid = 0;
    for (let i = 0; i < nfds; i++) {
      const p = fds[i]!;
      p.revents = 0;
      if (p.fd < 0) continue;
      if (!this.#fds[p.fd]) {
        p.revents = POLLNVAL;
        invalid++;
      } else ask.push(i);
    }
    if (ask.length > MAX_CAPS_PER_CALL) throw new PosixError('EINVAL', 'poll', { detail: `at most ${MAX_CAPS_PER_CALL} descriptors` });
    const t = invalid > 0 ? 0 : timeout < 0 ? -1 : Math.floor(timeout);
    if (ask.length === 0) {
      if (invalid === 0 && t !== 0) yield* this.#sleep(t);
      return invalid;
    }
    const reply = yield { op: Op.POLL, data: words(t, ...ask.map((i) => fds[i]!.events & 0xffff)), caps: ask.map((i) => this.#fds[fds[i]!.fd]!.d.cap) };
    let n = invalid;
    ask.forEach((i, k) => {
      fds[i]!.revents = readWord(reply.data, k);
      if (fds[i]!.revents) n++;
    });
    return n;
  }

  /** `poll` with nothing to watch: a sleep (forever for −1, as POSIX says; here: until the process is killed). */
  *#sleep(ms: number): Steps<void> {
    // An empty poll through the server waits for its timeout there (no descriptor can wake it).
    yield { op: Op.POLL, data: words(ms) };
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of parts) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

/** Checks a queue name; returns its UTF-8 bytes. */
function checkName(name: string, syscall: string): Uint8Array {
  if (typeof name !== 'string' || name[0] !== '/' || name.length < 2 || name.indexOf('/', 1) >= 0) throw new PosixError('EINVAL', syscall, { detail: 'a queue name is / then 1–255 bytes without /' });
  const b = utf8.encode(name);
  if (b.length - 1 > NAME_MAX) throw new PosixError('ENAMETOOLONG', syscall);
  return b;
}

/** `abs_timeout` as nanoseconds from now (0 if past; BAD_TIMESPEC if malformed). */
function relative(abs: Timespec): number {
  if (typeof abs !== 'object' || abs === null || !Number.isFinite(abs.tv_sec) || !Number.isInteger(abs.tv_nsec) || abs.tv_nsec < 0 || abs.tv_nsec >= 1e9) return BAD_TIMESPEC;
  const ns = abs.tv_sec * 1e9 + abs.tv_nsec - Date.now() * 1e6;
  return ns > 0 ? ns : 0;
}

/** `CLOCK_REALTIME`, the clock of `abs_timeout`. */
export const CLOCK_REALTIME = 0;

/** `clock_gettime(CLOCK_REALTIME)`: now, as a {@link Timespec} (to build an `abs_timeout`). */
export function clock_gettime(clock_id: number = CLOCK_REALTIME): Timespec {
  if (clock_id !== CLOCK_REALTIME) throw new PosixError('EINVAL', 'clock_gettime');
  const ms = Date.now();
  return { tv_sec: Math.floor(ms / 1000), tv_nsec: (ms % 1000) * 1e6 };
}

/** A {@link Timespec} `ms` milliseconds from now. */
export function timespecIn(ms: number): Timespec {
  const t = Date.now() + ms;
  return { tv_sec: Math.floor(t / 1000), tv_nsec: Math.round((t % 1000) * 1e6) };
}

export type { ErrnoName };
