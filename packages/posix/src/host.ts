import { IpcError, type Kernel, type Process, type ProcessHandle, type SpawnOptions, type WorkerSpawnOptions } from '@veridian/core';
import { PosixError } from './error.js';
import { Posix } from './posix.js';
import type { PosixOptions } from './types.js';
import { FLAGS_ENDPOINT, serveFlags } from './flags-server.js';
import { ObjectServer, type ServerOptions } from './server.js';
import { DAEMON_ENDPOINT, Op, reqType, words } from './wire.js';

/** Options of {@link posixFor} (used by the first call for a kernel). */
export interface PosixHostOptions {
  /** Bytes a pipe holds before writers wait (default 65536, as Linux). */
  pipeCapacity?: number;
  /** Bytes each direction of a socket pair holds (default 212992, as Linux). */
  socketCapacity?: number;
  /** Priority of the object server process (default 20). */
  priority?: number;
}

/** Where a child's descriptors come from: every descriptor of `from` without `FD_CLOEXEC`, at the same numbers. */
export interface InheritOptions {
  from?: Posix;
}

const hosts = new WeakMap<Kernel, PosixHost>();

/**
 * The POSIX layer of one kernel, on the thread that created it (CPU 0): the object server
 * process (`posixd`) that holds every pipe, queue and socket pair, the queue-name registry
 * (visible to every process of the kernel), and spawn helpers that pass descriptors to a new
 * process the way `exec` does (those with `FD_CLOEXEC` stay behind) and release a process's
 * descriptors when it exits.
 *
 * @example
 * ```ts
 * const kernel = createKernel({ arch: x86_64 });
 * const host = posixFor(kernel);
 * await host.ready;
 * host.spawn({ name: 'parent' }, async (proc, px) => {
 *   const [r, w] = await px.pipe();
 *   host.spawnWorker(new URL('./child.js', import.meta.url), { name: 'child' }, { from: px }); // child gets r and w
 *   await px.close(r);
 * });
 * ```
 */
export class PosixHost {
  readonly kernel: Kernel;
  /** The object server process. */
  readonly server: ProcessHandle;
  /** The object server's passive flag server (`fcntl` `F_GETFL` / `F_SETFL` from CPU 0). */
  readonly flags: ProcessHandle;
  /** Resolves once the object server takes requests. */
  readonly ready: Promise<void>;
  readonly #state: ObjectServer;
  #down = false;

  /** @internal use {@link posixFor} */
  constructor(kernel: Kernel, options: PosixHostOptions) {
    this.kernel = kernel;
    const opts: ServerOptions = { pipeCapacity: options.pipeCapacity ?? 65536, socketCapacity: options.socketCapacity ?? 212992 };
    const state = new ObjectServer(() => kernel.clock.now(), opts);
    this.#state = state;
    this.server = kernel.spawn({ name: 'posixd', priority: options.priority ?? 20 }, (proc) => state.run(proc, DAEMON_ENDPOINT));
    this.flags = kernel.spawn({ name: 'posix.fl', priority: options.priority ?? 20 }, (proc) => serveFlags(proc, state.descs));
    // Every process that exits has its descriptors released, however it was started (the
    // kernel's 'exit' event), as POSIX closes a process's descriptors when it ends.
    const onExit = (e: { pid: number }) => {
      if (state.holds(e.pid)) this.#reap(e.pid);
    };
    kernel.on('exit', onExit);
    void this.server.exited.then(() => {
      this.#down = true;
      kernel.off('exit', onExit);
      // The flag server serves the object server's descriptions: it ends with it.
      void this.flags.kill();
      if (hosts.get(kernel) === this) hosts.delete(kernel);
    });
    this.ready = Promise.all([kernel.whenNamed(DAEMON_ENDPOINT), kernel.whenNamed(FLAGS_ENDPOINT)]).then(() => undefined);
  }

  /**
   * Spawns a process on CPU 0 whose body gets its {@link Posix} table, with the descriptors of
   * `inherit.from` that lack `FD_CLOEXEC` already installed; its descriptors are released when
   * it exits.
   */
  spawn(options: SpawnOptions, body: (proc: Process, posix: Posix) => unknown, inherit: InheritOptions = {}): ProcessHandle {
    const h = this.kernel.spawn(options, async (proc) => {
      const px = createPosix(proc);
      await px.attach();
      return body(proc, px);
    });
    this.#inherit(h.pid, inherit);
    return h;
  }

  /**
   * Spawns a process on a worker CPU (`kernel.spawnWorker`) that inherits the descriptors of
   * `inherit.from` that lack `FD_CLOEXEC`: its module's `createPosix(proc)` installs them.
   * Its descriptors are released when it exits.
   */
  spawnWorker(module: string | URL, options: WorkerSpawnOptions, inherit: InheritOptions = {}): ProcessHandle {
    const h = this.kernel.spawnWorker(module, options);
    this.#inherit(h.pid, inherit);
    return h;
  }

  /**
   * Releases a process's descriptors once it exits. Every process's are released at its exit
   * anyway (the host listens to the kernel's `'exit'` event); kept for code written before that.
   */
  track(handle: ProcessHandle): void {
    void handle.exited.then(() => {
      if (this.#state.holds(handle.pid)) this.#reap(handle.pid);
    });
  }

  /** Open descriptions, queues, waiters and shared memory objects in the object server (for leak checks). */
  stats(): { descriptions: number; queues: number; pooledEndpoints: number; waiters: number; shmObjects: number } {
    return this.#state.counts();
  }

  #inherit(pid: number, inherit: InheritOptions): void {
    const from = inherit.from;
    if (!from) return;
    const list = [];
    for (const x of from.inheritable()) {
      const f = this.#state.inheritFrom(from.proc, x.cap);
      if (f) list.push({ fd: x.fd, f });
    }
    if (list.length) this.#state.inherit.set(pid, list);
  }

  #reap(pid: number): void {
    if (this.#down) return;
    try {
      const reaper = this.kernel.spawn({ name: 'posix.reaper', priority: 20 }, async (proc) => {
        try {
          await proc.call(proc.connect(DAEMON_ENDPOINT), { type: reqType(Op.RELEASE), data: words(pid) });
        } catch {
          /* the server is gone: nothing left to release */
        }
      });
      this.#state.reapers.add(reaper.pid);
    } catch {
      /* the kernel is out of processes or shutting down */
    }
  }
}

/**
 * The POSIX layer of `kernel` (created on first use: it spawns the object server on CPU 0).
 * Call it on the thread that created the kernel, before any process uses {@link createPosix}.
 */
export function posixFor(kernel: Kernel, options: PosixHostOptions = {}): PosixHost {
  let h = hosts.get(kernel);
  if (!h) {
    h = new PosixHost(kernel, options);
    hosts.set(kernel, h);
  }
  return h;
}

/**
 * The POSIX functions of process `proc` (a fresh descriptor table). On a worker CPU the
 * descriptors it inherited through {@link PosixHost.spawnWorker} are installed at once. The
 * kernel must have its object server ({@link posixFor}); on a worker CPU this waits up to five
 * seconds for it to appear.
 *
 * @example
 * ```ts
 * // a worker module
 * export default function main(proc: Process) {
 *   const px = createPosix(proc);
 *   const buf = new Uint8Array(65536);
 *   for (let n; (n = px.readSync(0, buf)) > 0; ) consume(buf.subarray(0, n));
 * }
 * ```
 */
export function createPosix(proc: Process, options: PosixOptions = {}): Posix {
  let server: number | undefined;
  const deadline = performance.now() + 5000;
  while (server === undefined) {
    try {
      server = proc.connect(DAEMON_ENDPOINT);
    } catch (e) {
      if (!(e instanceof IpcError) || e.code !== 'NotFound') throw PosixError.from(e, 'createPosix');
      if (proc.cpu === 0 || performance.now() > deadline) throw new PosixError('ENOSYS', 'createPosix', { detail: 'no POSIX object server in this kernel: call posixFor(kernel) on its thread first' });
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
  // CPU 0 asks the passive flag server for F_GETFL / F_SETFL (it cannot wait for posixd); a worker asks posixd.
  const flags = proc.cpu === 0 ? proc.connect(FLAGS_ENDPOINT) : server;
  const px = new Posix(proc, server, flags, options);
  if (proc.cpu !== 0) px.attachSync();
  return px;
}
