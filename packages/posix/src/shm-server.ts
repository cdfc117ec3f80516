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
 * they outlive all of that. The region is resizable (`createRegion({ resizable: true })`): a
 * size change resizes it in place, and the kernel carries every mapping of it along (pages past
 * the end fault in every mapping; pages added are seen by every mapping).
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
      made = this.#s.newDesc(o, 0, access, pid, { status: 0 });
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
   * Sets the size, in place: the object's region is made on the first size > 0 (resizable, so
   * the kernel carries every mapping of it along) and keeps its identity after — growing adds
   * zeroed pages that every mapping then shows, shrinking unmaps the pages past the new end
   * from every mapping, and size 0 leaves a region of no pages. The bytes of the page holding
   * the smaller of the two sizes, past it, are zeroed first. Throws `IpcError`
   * (OutOfMemory, nothing changed) when frames run out.
   */
  #resize(o: ShmObj, size: number): void {
    if (size === o.size) return;
    const mem = this.#s.proc.memory;
    const pages = Math.ceil(size / FRAME_SIZE);
    if (o.region === undefined) {
      o.region = mem.createRegion({ size: pages * FRAME_SIZE, resizable: true }).handle;
      o.size = size;
      o.gen++;
      return;
    }
    // The rest of the page holding the smaller size, up to the larger one, reads as zero
    // afterwards (writes there through a mapping are allowed, and a growth must not show them).
    const lo = Math.min(size, o.size);
    const hi = Math.min(Math.max(size, o.size), Math.ceil(lo / FRAME_SIZE) * FRAME_SIZE);
    if (hi > lo) this.#with(o.region, Math.floor(lo / FRAME_SIZE), (va) => mem.write(va + (lo % FRAME_SIZE), new Uint8Array(hi - lo)));
    if (pages !== Math.ceil(o.size / FRAME_SIZE)) mem.resizeRegion(o.region, pages * FRAME_SIZE);
    o.size = size;
  }

  /** Runs `fn` with page `page` of the region mapped read-write in the server (at the address it gets). */
  #with(region: CapHandle, page: number, fn: (va: number) => void): void {
    const mem = this.#s.proc.memory;
    const va = mem.mapRegion(region, { offset: page * FRAME_SIZE, length: FRAME_SIZE });
    try {
      fn(va);
    } finally {
      mem.unmap(va, FRAME_SIZE);
    }
  }
}

/** Maps an `IpcError` raised while handling a request to the errno to answer. */
export function shmErrno(e: IpcError): ErrnoName {
  return e.code === 'OutOfMemory' ? 'ENOMEM' : e.code === 'InvalidArgument' ? 'EFBIG' : 'EINVAL';
}
