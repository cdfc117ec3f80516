import { FRAME_SIZE, IpcError, Rights, type CapHandle } from '@veridian/core';
import { O_ACCMODE, O_CREAT, O_EXCL, O_RDWR, O_TRUNC } from './constants.js';
import type { ErrnoName } from './errno.js';
import { R, ShmObj, W, type Desc, type ServerCore } from './server-objects.js';
import { Op, readWord, words } from './wire.js';

/*
 * The shared-memory half of the object server (`posixd`): the name table of POSIX shared
 * memory objects (`ShmObj`, server-objects.ts). Each object has its size and, once sized, a
 * shared region whose capability the server holds. An open file description of an object is
 * a description like any other (an endpoint of the server, `newDesc`): `shm_open` answers
 * with a capability to it and one to the object's region derived for the caller
 * (MAP|READ|SHARE, and WRITE for `O_RDWR`); the caller's POSIX layer keeps both with the
 * descriptor, presents the first with each request and maps through the second. So a shm
 * descriptor is closed, passed with `SCM_RIGHTS` and inherited as every descriptor is, and
 * the receiver of one asks for the region through the description it got.
 *
 * The object — and the server's capability — goes when the name is unlinked and no
 * description (or description in flight) is left; mappings hold their frames on their own, so
 * they outlive all of that. A size change that changes the number of pages makes a new region
 * and copies the contents (the kernel's regions have a fixed size): mappings made before keep
 * the old pages.
 */

/** Most bytes an object has (the kernel's limit on one region is larger; frames run out first). */
export const SHM_SIZE_MAX = 2 ** 40;

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
  readonly #s: ServerCore;
  #nextId = 1;

  constructor(core: ServerCore) {
    this.#s = core;
  }

  /** Objects the server knows (named, or unlinked but still open). */
  count(): number {
    return this.#byId.size;
  }

  /** Handles an `SHM_*` request (`d`: the description presented); false if `op` is not one. */
  handle(pid: number, op: number, p: Uint8Array, d: Desc | undefined): boolean {
    if (op < Op.SHM_OPEN || op > Op.SHM_STAT) return false;
    try {
      this.#request(pid, op, p, d);
    } catch (e) {
      if (!(e instanceof IpcError)) throw e;
      this.#s.fail(pid, shmErrno(e));
    }
    return true;
  }

  #request(pid: number, op: number, p: Uint8Array, d: Desc | undefined): void {
    if (op === Op.SHM_OPEN) return this.#open(pid, readWord(p, 0), readWord(p, 1), utf8.decode(p.subarray(8)));
    if (op === Op.SHM_UNLINK) {
      const o = this.#byName.get(utf8.decode(p));
      if (!o) return void this.#s.fail(pid, 'ENOENT');
      this.#byName.delete(o.name!);
      o.name = undefined;
      this.maybeFree(o);
      return void this.#s.ok(pid, 0);
    }
    // SHM_TRUNCATE, SHM_STAT: through a description of the object (read-write to size it).
    if (!d || !(d.obj instanceof ShmObj)) return void this.#s.fail(pid, 'EBADF');
    const o = d.obj;
    if (op === Op.SHM_TRUNCATE) {
      if (!(d.mode & W)) return void this.#s.fail(pid, 'EINVAL');
      const size = readSize(p, 0);
      if (size > SHM_SIZE_MAX) return void this.#s.fail(pid, 'EFBIG');
      this.#resize(o, size);
      this.#answer(pid, o, d.mode, -1);
    } else this.#answer(pid, o, d.mode, readWord(p, 0));
  }

  #open(pid: number, oflag: number, mode: number, name: string): void {
    const rw = (oflag & O_ACCMODE) === O_RDWR;
    let o = this.#byName.get(name);
    if (o) {
      if (oflag & O_CREAT && oflag & O_EXCL) return void this.#s.fail(pid, 'EEXIST');
      if (oflag & O_TRUNC && rw) this.#resize(o, 0);
    } else {
      if (!(oflag & O_CREAT)) return void this.#s.fail(pid, 'ENOENT');
      o = new ShmObj(this.#nextId++, name, mode & 0o7777);
      this.#byName.set(name, o);
      this.#byId.set(o.id, o);
    }
    const access = rw ? R | W : R;
    this.#s.addRef(o, 0, access);
    let made;
    try {
      made = this.#s.newDesc(o, 0, access, pid);
    } catch (e) {
      o.count--;
      this.maybeFree(o);
      if (!(e instanceof IpcError)) throw e;
      // Out of endpoints or capability slots: the system-wide file table is full.
      return void this.#s.fail(pid, 'ENFILE');
    }
    let ok = false;
    try {
      ok = this.#answer(pid, o, access, -1, made.cap);
    } finally {
      this.#s.proc.close(made.cap);
      if (!ok) this.#s.closeDesc(made.desc);
    }
  }

  /**
   * Replies `[id, size lo, size hi, gen, mode]`, with `first` (a description's capability) and
   * a capability to the region (rights as `access` allows) unless the caller has generation `known`.
   */
  #answer(pid: number, o: ShmObj, access: number, known: number, first?: CapHandle): boolean {
    const data = words(o.id, ...sizeWords(o.size), o.gen, o.mode);
    const caps = first === undefined ? [] : [first];
    if (!o.region || known === o.gen) return this.#s.reply(pid, 0, 0, data, caps);
    const proc = this.#s.proc;
    const cap = proc.derive(o.region, Rights.MAP | Rights.READ | Rights.SHARE | (access & W ? Rights.WRITE : 0));
    try {
      return this.#s.reply(pid, 0, 0, data, [...caps, cap]);
    } finally {
      proc.close(cap);
    }
  }

  /** Frees `o` if it has neither a name nor a reference. */
  maybeFree(o: ShmObj): void {
    if (o.name !== undefined || o.count > 0 || !this.#byId.has(o.id)) return;
    this.#byId.delete(o.id);
    if (o.region !== undefined) this.#s.proc.close(o.region);
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
    const proc = this.#s.proc;
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
    const proc = this.#s.proc;
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
