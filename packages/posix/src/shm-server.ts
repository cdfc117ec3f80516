import { FRAME_SIZE, IpcError, Rights, type CapHandle, type Process } from '@veridian/core';
import { O_ACCMODE, O_CREAT, O_EXCL, O_RDWR, O_TRUNC } from './constants.js';
import type { ErrnoName } from './errno.js';
import { Op, readWord, words } from './wire.js';

/*
 * The shared-memory half of the object server (`posixd`): the name table of POSIX shared
 * memory objects. Each object is a record with its size and, once sized, a shared region whose
 * capability the server holds. `shm_open` answers with the object's id and a capability to its
 * region derived for the caller (MAP|READ|SHARE, and WRITE for `O_RDWR`); the caller's POSIX
 * layer keeps it with the descriptor and maps through it.
 *
 * Who may use an object: the server counts the opens of each process (the sender pid of a call
 * is the kernel's, not the caller's word), so only a process with the object open can size it
 * (with a read-write open) or ask for its region. The record — and the server's capability —
 * goes when the name is unlinked and the last open is closed (or released when its process
 * exits); mappings hold their frames on their own, so they outlive all of that.
 *
 * A size change that changes the number of pages makes a new region and copies the contents
 * (the kernel's regions have a fixed size): mappings made before keep the old pages.
 */

/** Most bytes an object has (the kernel's limit on one region is larger; frames run out first). */
export const SHM_SIZE_MAX = 2 ** 40;

interface ShmObj {
  readonly id: number;
  name: string | undefined;
  /** The server's capability to the region (none while the size is 0). */
  region: CapHandle | undefined;
  size: number;
  /** Bumped whenever the region changes (a client with an older one asks for the new one). */
  gen: number;
  mode: number;
  /** Opens per pid: [read-only, read-write]. */
  readonly opens: Map<number, [number, number]>;
}

type Reply = (pid: number, status: number, data?: Uint8Array, caps?: CapHandle[]) => boolean;
type Fail = (pid: number, code: ErrnoName) => boolean;

const utf8 = new TextDecoder();

/** Size as two little-endian words (sizes reach 2^40). */
export function sizeWords(n: number): [number, number] {
  return [n % 2 ** 32, Math.floor(n / 2 ** 32)];
}

export function readSize(b: Uint8Array, i: number): number {
  return readWord(b, i) + readWord(b, i + 1) * 2 ** 32;
}

/** @internal The shared-memory name table of the object server. */
export class ShmServer {
  readonly #byName = new Map<string, ShmObj>();
  readonly #byId = new Map<number, ShmObj>();
  #nextId = 1;

  constructor(
    readonly proc: () => Process,
    readonly reply: Reply,
    readonly fail: Fail,
  ) {}

  /** Objects the server knows (named, or unlinked but still open). */
  count(): number {
    return this.#byId.size;
  }

  /** Handles an `SHM_*` request; false if `op` is not one. */
  handle(pid: number, op: number, p: Uint8Array): boolean {
    if (op < Op.SHM_OPEN || op > Op.SHM_CLOSE) return false;
    try {
      this.#request(pid, op, p);
    } catch (e) {
      if (!(e instanceof IpcError)) throw e;
      this.fail(pid, shmErrno(e));
    }
    return true;
  }

  #request(pid: number, op: number, p: Uint8Array): boolean {
    switch (op) {
      case Op.SHM_OPEN:
        this.#open(pid, readWord(p, 0), readWord(p, 1), utf8.decode(p.subarray(8)));
        return true;
      case Op.SHM_UNLINK: {
        const o = this.#byName.get(utf8.decode(p));
        if (!o) return this.fail(pid, 'ENOENT'), true;
        this.#byName.delete(o.name!);
        o.name = undefined;
        this.#maybeFree(o);
        return this.reply(pid, 0), true;
      }
      case Op.SHM_TRUNCATE: {
        const o = this.#opened(pid, readWord(p, 0), true);
        if (!o) return true;
        const size = readSize(p, 1);
        if (size > SHM_SIZE_MAX) return this.fail(pid, 'EFBIG'), true;
        this.#resize(o, size);
        return this.#answer(pid, o, -1), true;
      }
      case Op.SHM_STAT: {
        const o = this.#opened(pid, readWord(p, 0), false);
        if (o) this.#answer(pid, o, readWord(p, 1));
        return true;
      }
      case Op.SHM_CLOSE: {
        const o = this.#byId.get(readWord(p, 0));
        const c = o?.opens.get(pid);
        if (!o || !c) return this.fail(pid, 'EBADF'), true;
        this.#drop(o, pid, readWord(p, 1) !== 0 ? 1 : 0);
        return this.reply(pid, 0), true;
      }
      default:
        return false;
    }
  }

  /** Drops every open of `pid` (a process that exited). */
  release(pid: number): void {
    for (const o of [...this.#byId.values()]) {
      if (!o.opens.delete(pid)) continue;
      this.#maybeFree(o);
    }
  }

  #open(pid: number, oflag: number, mode: number, name: string): void {
    const rw = (oflag & O_ACCMODE) === O_RDWR;
    let o = this.#byName.get(name);
    if (o) {
      if (oflag & O_CREAT && oflag & O_EXCL) return void this.fail(pid, 'EEXIST');
      if (oflag & O_TRUNC && rw) this.#resize(o, 0);
    } else {
      if (!(oflag & O_CREAT)) return void this.fail(pid, 'ENOENT');
      o = { id: this.#nextId++, name, region: undefined, size: 0, gen: 1, mode: mode & 0o7777, opens: new Map() };
      this.#byName.set(name, o);
      this.#byId.set(o.id, o);
    }
    const c = o.opens.get(pid) ?? [0, 0];
    c[rw ? 1 : 0]++;
    o.opens.set(pid, c);
    if (!this.#answer(pid, o, -1)) this.#drop(o, pid, rw ? 1 : 0);
  }

  /** The object `id` if `pid` has it open (read-write if `write`); answers the error otherwise. */
  #opened(pid: number, id: number, write: boolean): ShmObj | undefined {
    const o = this.#byId.get(id);
    const c = o?.opens.get(pid);
    if (!o || !c) return void this.fail(pid, 'EBADF');
    if (write && c[1] === 0) return void this.fail(pid, 'EINVAL');
    return o;
  }

  /** Replies `[id, size lo, size hi, gen, mode]`, with a capability to the region unless the caller has generation `known`. */
  #answer(pid: number, o: ShmObj, known: number): boolean {
    const data = words(o.id, ...sizeWords(o.size), o.gen, o.mode);
    if (!o.region || known === o.gen) return this.reply(pid, 0, data);
    const rw = (o.opens.get(pid)?.[1] ?? 0) > 0;
    const proc = this.proc();
    const cap = proc.derive(o.region, Rights.MAP | Rights.READ | Rights.SHARE | (rw ? Rights.WRITE : 0));
    try {
      return this.reply(pid, 0, data, [cap]);
    } finally {
      proc.close(cap);
    }
  }

  #drop(o: ShmObj, pid: number, rw: 0 | 1): void {
    const c = o.opens.get(pid);
    if (!c) return;
    if (c[rw] > 0) c[rw]--;
    if (c[0] + c[1] === 0) o.opens.delete(pid);
    this.#maybeFree(o);
  }

  #maybeFree(o: ShmObj): void {
    if (o.name !== undefined || o.opens.size > 0) return;
    this.#byId.delete(o.id);
    if (o.region !== undefined) this.proc().close(o.region);
    o.region = undefined;
  }

  /**
   * Sets the size. The same number of pages keeps the region (bytes past a smaller size are
   * zeroed, so growing again shows zeros); another number makes a new region with the old
   * contents copied (up to the smaller size) and a new generation; size 0 drops the region.
   * Throws `IpcError` (OutOfMemory, nothing changed) when frames run out.
   */
  #resize(o: ShmObj, size: number): void {
    if (size === o.size) return;
    const proc = this.proc();
    const pages = Math.ceil(size / FRAME_SIZE);
    const oldPages = Math.ceil(o.size / FRAME_SIZE);
    if (pages === oldPages) {
      if (size < o.size) this.#with(o.region!, oldPages, (va) => proc.memory.write(va + size, new Uint8Array(o.size - size)));
      o.size = size;
      return;
    }
    let next: CapHandle | undefined;
    if (pages > 0) {
      next = proc.memory.createRegion({ size: pages * FRAME_SIZE }).handle;
      const keep = Math.min(size, o.size);
      if (keep > 0) {
        try {
          this.#with(o.region!, oldPages, (from) => this.#with(next!, pages, (to) => proc.memory.write(to, proc.memory.read(from, keep))));
        } catch (e) {
          proc.close(next);
          throw e;
        }
      }
    }
    if (o.region !== undefined) proc.close(o.region);
    o.region = next;
    o.size = size;
    o.gen++;
  }

  /** Runs `fn` with the region mapped read-write in the server. */
  #with(region: CapHandle, pages: number, fn: (va: number) => void): void {
    const proc = this.proc();
    const va = proc.memory.mapRegion(region);
    try {
      fn(va);
    } finally {
      proc.memory.unmap(va, pages * FRAME_SIZE);
    }
  }
}

/** Maps an `IpcError` raised while handling a request to the errno to answer. */
export function shmErrno(e: IpcError): ErrnoName {
  return e.code === 'OutOfMemory' ? 'ENOMEM' : e.code === 'InvalidArgument' ? 'EFBIG' : 'EINVAL';
}
