import { FRAME_SIZE, IpcError, PagePerm, Rights, type CapHandle, type Process } from '@veridian/core';
import { MAP_ANONYMOUS, MAP_FIXED, MAP_PRIVATE, MAP_SHARED, MS_ASYNC, MS_INVALIDATE, MS_SYNC, NAME_MAX, O_ACCMODE, O_CLOEXEC, O_CREAT, O_EXCL, O_RDONLY, O_RDWR, O_TRUNC, PROT_EXEC, PROT_READ, PROT_WRITE } from './constants.js';
import { PosixError } from './error.js';
import type { Posix } from './posix.js';
import type { Description, Reply, Steps } from './types.js';
import { SHM_SIZE_MAX, readSize, sizeWords } from './shm-server.js';
import { Kind, Op, readWord, words } from './wire.js';

/*
 * The client half of POSIX shared memory (the server half is shm-server.ts). A shm descriptor
 * is an ordinary entry of the process's descriptor table (kind SHM): its description holds the
 * capability to its description at the server, as every description does (so it is closed,
 * passed with SCM_RIGHTS and inherited the same way), and a {@link ShmFile}: the access mode
 * and the capability to the object's region the server handed over (MAP|READ|SHARE, WRITE
 * for O_RDWR), asked for when the object got its region (its first size > 0) or when first used
 * after it arrived by SCM_RIGHTS. The region is resized in place, mappings and all. `mmap` maps through the region's capability with `proc.memory.mapRegion`;
 * `munmap` and `mprotect` work on this table's record of its mappings, locally.
 */

const utf8 = new TextEncoder();

/** What a shm descriptor's open file description holds besides its capability. @internal */
export interface ShmFile {
  readonly write: boolean;
  cap: CapHandle | undefined;
  gen: number;
  size: number;
  mode: number;
}

/** What {@link Posix.fstat} reports for a shared memory object. */
export interface ShmStat {
  /** Size in bytes (as set by `ftruncate`). */
  st_size: number;
  /** The `mode` given when the object was created (permission bits; not enforced). */
  st_mode: number;
}

/** The state of a new shm description (`write`: opened O_RDWR); its region comes with the server's first answer. @internal */
export function shmFile(write: boolean): ShmFile {
  return { write, cap: undefined, gen: 0, size: 0, mode: 0 };
}

/** Access to the descriptor table of the owning `Posix`. @internal */
export interface ShmHooks {
  proc(): Process;
  description(fd: number, syscall: string): Description;
  install(d: Description, cloexec: boolean, syscall: string): number;
  free(): number;
}

interface Mapping {
  va: number;
  end: number;
  /** Whether PROT_WRITE may be asked (MAP_PRIVATE: always; MAP_SHARED: the descriptor was O_RDWR). */
  writable: boolean;
}

function isInt(n: unknown, min = 0, max = Number.MAX_SAFE_INTEGER): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= min && n <= max;
}

/** Checks an object name (`/` then 1–255 bytes without `/`); returns its UTF-8 bytes. */
function shmName(name: unknown, syscall: string): Uint8Array {
  if (typeof name !== 'string' || name[0] !== '/' || name.length < 2 || name.indexOf('/', 1) >= 0) throw new PosixError('EINVAL', syscall, { detail: 'a shared memory object name is / then 1–255 bytes without /' });
  const b = utf8.encode(name);
  if (b.length - 1 > NAME_MAX) throw new PosixError('ENAMETOOLONG', syscall);
  return b;
}

/**
 * `prot` as page permissions (the kernel's PagePerm contract has EXECUTE, and every arch MMU
 * has an execute permission); EINVAL for unknown bits. PROT_WRITE and PROT_EXEC imply
 * PROT_READ, as the MMUs do (x86-64, AArch64: no writable or executable page is unreadable).
 */
function pagePerms(prot: unknown, syscall: string): number {
  if (!isInt(prot) || (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) !== 0) throw new PosixError('EINVAL', syscall, { detail: 'prot is PROT_NONE or PROT_READ | PROT_WRITE | PROT_EXEC' });
  if (prot === 0) return 0;
  return PagePerm.READ | (prot & PROT_WRITE ? PagePerm.WRITE : 0) | (prot & PROT_EXEC ? PagePerm.EXECUTE : 0);
}

/** A page-aligned address and a length > 0 rounded up to whole pages: `[va, end)`. */
function range(addr: unknown, len: unknown, syscall: string): [number, number] {
  if (!isInt(addr) || addr % FRAME_SIZE !== 0) throw new PosixError('EINVAL', syscall, { detail: 'addr must be a multiple of the page size' });
  if (!isInt(len, 1, SHM_SIZE_MAX)) throw new PosixError('EINVAL', syscall, { detail: 'len must be an integer > 0' });
  return [addr, addr + Math.ceil(len / FRAME_SIZE) * FRAME_SIZE];
}

/** @internal The shared-memory calls of one `Posix` table (see the `Posix` methods for the documentation). */
export class ShmCalls {
  readonly #h: ShmHooks;
  /** This table's mappings of shm objects, sorted by address, not overlapping. */
  #maps: Mapping[] = [];

  constructor(hooks: ShmHooks) {
    this.#h = hooks;
  }

  #file(fd: number, syscall: string, wrongKind: 'EINVAL' | 'ENODEV'): [ShmFile, Description] {
    const d = this.#h.description(fd, syscall);
    if (d.kind !== Kind.SHM || !d.shm) throw new PosixError(wrongKind, syscall, { detail: 'not a shared memory object' });
    return [d.shm, d];
  }

  /** Takes what the server answered (`[id, size lo, size hi, gen, mode]`, maybe a new region capability at `caps[at]`). */
  #update(f: ShmFile, reply: Reply, at = 0): void {
    f.size = readSize(reply.data, 1);
    f.mode = readWord(reply.data, 4);
    const gen = readWord(reply.data, 3);
    if (gen === f.gen && reply.caps.length <= at) return;
    if (f.cap !== undefined) this.#closeCap(f.cap);
    f.cap = reply.caps[at];
    f.gen = gen;
  }

  /** Asks the server for the object's size (and its region, when this description has an older one or none). */
  *#stat(f: ShmFile, d: Description): Steps<void> {
    this.#update(f, yield { op: Op.SHM_STAT, data: words(f.gen), caps: [d.cap] });
  }

  #closeCap(cap: CapHandle): void {
    try {
      this.#h.proc().close(cap);
    } catch {
      /* gone already */
    }
  }

  *open(name: string, oflag: number, mode: number): Steps<number> {
    const bytes = shmName(name, 'shm_open');
    if (!isInt(oflag) || (oflag & ~(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC)) !== 0) throw new PosixError('EINVAL', 'shm_open', { detail: 'oflag: O_RDONLY or O_RDWR, with O_CREAT, O_EXCL, O_TRUNC, O_CLOEXEC' });
    const acc = oflag & O_ACCMODE;
    if (acc !== O_RDONLY && acc !== O_RDWR) throw new PosixError('EINVAL', 'shm_open', { detail: 'the access mode is O_RDONLY or O_RDWR' });
    if (oflag & O_TRUNC && acc !== O_RDWR) throw new PosixError('EINVAL', 'shm_open', { detail: 'O_TRUNC needs O_RDWR' });
    if (!isInt(mode, 0, 0o7777)) throw new PosixError('EINVAL', 'shm_open', { detail: 'mode is permission bits' });
    if (this.#h.free() === 0) throw new PosixError('EMFILE', 'shm_open');
    const data = new Uint8Array(8 + bytes.length);
    data.set(words(oflag, mode));
    data.set(bytes, 8);
    const reply = yield { op: Op.SHM_OPEN, data };
    const f = shmFile(acc === O_RDWR);
    this.#update(f, reply, 1);
    const d: Description = { cap: reply.caps[0]!, kind: Kind.SHM, mode: f.write ? Rights.READ | Rights.WRITE : Rights.READ, sockType: 0, refs: 0, shm: f };
    return this.#h.install(d, (oflag & O_CLOEXEC) !== 0, 'shm_open');
  }

  *unlink(name: string): Steps<void> {
    yield { op: Op.SHM_UNLINK, data: shmName(name, 'shm_unlink') };
  }

  *ftruncate(fd: number, length: number): Steps<void> {
    const [f, d] = this.#file(fd, 'ftruncate', 'EINVAL');
    if (!f.write) throw new PosixError('EINVAL', 'ftruncate', { detail: 'not open for writing' });
    if (!isInt(length, -Infinity)) throw new PosixError('EINVAL', 'ftruncate', { detail: 'length must be an integer' });
    if (length < 0) throw new PosixError('EINVAL', 'ftruncate', { detail: 'length is negative' });
    if (length > SHM_SIZE_MAX) throw new PosixError('EFBIG', 'ftruncate');
    this.#update(f, yield { op: Op.SHM_TRUNCATE, data: words(...sizeWords(length)), caps: [d.cap] });
  }

  *fstat(fd: number): Steps<ShmStat> {
    const [f, d] = this.#file(fd, 'fstat', 'EINVAL');
    yield* this.#stat(f, d);
    return { st_size: f.size, st_mode: f.mode };
  }

  /** The last descriptor of a shm description is closing: drop the region's capability (the description goes as any does). Mappings stay. */
  close(d: Description): void {
    const f = d.shm!;
    if (f.cap !== undefined) this.#closeCap(f.cap);
    f.cap = undefined;
  }

  *mmap(addr: number | null | undefined, len: number, prot: number, flags: number, fd: number, off: number): Steps<number> {
    if (addr !== null && addr !== undefined && !isInt(addr)) throw new PosixError('EINVAL', 'mmap', { detail: 'addr is null or a hint (an address)' });
    if (!isInt(len, 1)) throw new PosixError('EINVAL', 'mmap', { detail: 'len must be an integer > 0' });
    // Larger than any mapping can be: no room for it (POSIX lists EINVAL only for a len of 0).
    if (len > SHM_SIZE_MAX) throw new PosixError('ENOMEM', 'mmap', { detail: `len is over ${SHM_SIZE_MAX} bytes` });
    const perms = pagePerms(prot, 'mmap');
    const kind = isInt(flags) ? flags & (MAP_SHARED | MAP_PRIVATE) : 0;
    if (!isInt(flags) || (flags & ~(MAP_ANONYMOUS | MAP_FIXED)) !== kind || kind === (MAP_SHARED | MAP_PRIVATE) || kind === 0) throw new PosixError('EINVAL', 'mmap', { detail: 'flags is MAP_SHARED or MAP_PRIVATE, optionally with MAP_ANONYMOUS and MAP_FIXED (other flags are not supported)' });
    // MAP_FIXED: "[EINVAL] The addr argument (if MAP_FIXED was specified) … [is] not a multiple of the page size".
    const fixed = (flags & MAP_FIXED) !== 0;
    if (fixed && (!isInt(addr) || addr % FRAME_SIZE !== 0)) throw new PosixError('EINVAL', 'mmap', { detail: 'MAP_FIXED needs addr, a multiple of the page size' });
    const at = fixed ? (addr as number) : undefined;
    if (flags & MAP_ANONYMOUS) return this.#anonymous(len, perms, fd, off, at);
    const [f, d] = this.#file(fd, 'mmap', 'ENODEV');
    if (!isInt(off) || off % FRAME_SIZE !== 0) throw new PosixError('EINVAL', 'mmap', { detail: 'off must be a non-negative multiple of the page size' });
    if (off + len > SHM_SIZE_MAX) throw new PosixError('EOVERFLOW', 'mmap');
    const shared = kind === MAP_SHARED;
    if (shared && perms & PagePerm.WRITE && !f.write) throw new PosixError('EACCES', 'mmap', { detail: 'MAP_SHARED with PROT_WRITE needs a descriptor open O_RDWR' });
    yield* this.#stat(f, d);
    if (f.cap === undefined || f.size === 0 || off > Math.ceil(f.size / FRAME_SIZE) * FRAME_SIZE) throw new PosixError('ENXIO', 'mmap', { detail: f.cap === undefined || f.size === 0 ? 'the object has size 0 (ftruncate it first)' : 'off is past the end of the object' });
    const mem = this.#h.proc().memory;
    const cap = f.cap;
    // A private mapping is made writable (copy-on-write) and lowered, so mprotect may raise it later.
    const mapped = shared ? perms || PagePerm.READ : PagePerm.READ | PagePerm.WRITE | (perms & PagePerm.EXECUTE);
    const va = this.#fixed(at, len, () => mem.mapRegion(cap, { perms: mapped, offset: off, length: len, private: !shared, at }));
    const end = va + Math.ceil(len / FRAME_SIZE) * FRAME_SIZE;
    if (perms !== mapped) mem.protect(va, end - va, perms);
    this.#maps.push({ va, end, writable: !shared || f.write });
    this.#maps.sort((a, b) => a.va - b.va);
    return va;
  }

  /**
   * Runs `map` (which maps at `at` when given); for `MAP_FIXED` first removes this table's
   * mappings of the range ("the mapping established by mmap() shall replace any previous
   * mappings for those whole pages"). Memory there that `mmap` did not map (the process's own
   * `proc.memory` ranges, received buffers) is not replaced: `ENOMEM`.
   */
  #fixed(at: number | undefined, len: number, map: () => number): number {
    if (at === undefined) return map();
    this.munmap(at, len);
    try {
      return map();
    } catch (e) {
      if (e instanceof IpcError && (e.code === 'AlreadyExists' || e.code === 'InvalidArgument')) {
        throw new PosixError('ENOMEM', 'mmap', { cause: e, detail: e.code === 'AlreadyExists' ? 'part of the range is memory mmap did not map' : 'the range is outside the process-memory window' });
      }
      throw e;
    }
  }

  /** `MAP_ANONYMOUS`: fresh zeroed pages of this process (shared with nobody: there is no `fork`). */
  #anonymous(len: number, perms: number, fd: number, off: number, at: number | undefined): number {
    if (fd !== -1 || off !== 0) throw new PosixError('EINVAL', 'mmap', { detail: 'MAP_ANONYMOUS takes fildes -1 and off 0' });
    const mem = this.#h.proc().memory;
    const va = this.#fixed(at, len, () => mem.map(len, perms || PagePerm.READ, { at }));
    const end = va + Math.ceil(len / FRAME_SIZE) * FRAME_SIZE;
    if (perms === 0) mem.protect(va, end - va, 0);
    this.#maps.push({ va, end, writable: true });
    this.#maps.sort((a, b) => a.va - b.va);
    return va;
  }

  /** The mappings that cover `[va, end)` in order; `ENOMEM` if a page of it is not mapped by `mmap`. */
  #covering(va: number, end: number, syscall: string): Mapping[] {
    const parts: Mapping[] = [];
    let at = va;
    for (const m of this.#maps) {
      if (m.end <= at || m.va >= end) continue;
      if (m.va > at) break;
      parts.push(m);
      at = Math.min(m.end, end);
    }
    if (at < end) throw new PosixError('ENOMEM', syscall, { detail: 'part of the range is not a mapping made by mmap' });
    return parts;
  }

  munmap(addr: number, len: number): void {
    try {
      const [va, end] = range(addr, len, 'munmap');
      const mem = this.#h.proc().memory;
      const next: Mapping[] = [];
      for (const m of this.#maps) {
        const lo = Math.max(m.va, va);
        const hi = Math.min(m.end, end);
        if (lo >= hi) {
          next.push(m);
          continue;
        }
        mem.unmap(lo, hi - lo);
        if (m.va < lo) next.push({ ...m, end: lo });
        if (hi < m.end) next.push({ ...m, va: hi });
      }
      this.#maps = next;
    } catch (e) {
      throw PosixError.from(e, 'munmap');
    }
  }

  mprotect(addr: number, len: number, prot: number): void {
    try {
      const [va, end] = range(addr, len, 'mprotect');
      const perms = pagePerms(prot, 'mprotect');
      const parts = this.#covering(va, end, 'mprotect');
      if (perms & PagePerm.WRITE && parts.some((m) => !m.writable)) throw new PosixError('EACCES', 'mprotect', { detail: 'a MAP_SHARED mapping of a descriptor opened O_RDONLY' });
      const mem = this.#h.proc().memory;
      for (const m of parts) mem.protect(Math.max(m.va, va), Math.min(m.end, end) - Math.max(m.va, va), perms);
    } catch (e) {
      if (e instanceof IpcError && e.code === 'PermissionDenied') throw new PosixError('EACCES', 'mprotect', { cause: e, detail: 'the kernel does not let these pages be writable' });
      throw PosixError.from(e, 'mprotect');
    }
  }

  msync(addr: number, len: number, flags: number): void {
    if (!isInt(flags) || (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) !== 0 || (flags & (MS_ASYNC | MS_SYNC)) === (MS_ASYNC | MS_SYNC)) throw new PosixError('EINVAL', 'msync', { detail: 'flags is MS_ASYNC or MS_SYNC, optionally with MS_INVALIDATE' });
    if (!isInt(addr) || addr % FRAME_SIZE !== 0) throw new PosixError('EINVAL', 'msync', { detail: 'addr must be a multiple of the page size' });
    if (!isInt(len, 0, SHM_SIZE_MAX)) throw new PosixError('EINVAL', 'msync', { detail: 'len must be a non-negative integer' });
    // Nothing to write back or invalidate: every mapping is the object's memory itself (a
    // private one, this process's copy). The range must be mapped all the same.
    if (len > 0) this.#covering(addr, addr + Math.ceil(len / FRAME_SIZE) * FRAME_SIZE, 'msync');
  }
}

/** Runs a shm call on `px`'s drivers: `sync` for the `…Sync` twins (worker CPUs). @internal */
export type ShmDriver = <T>(px: Posix, sync: boolean, syscall: string, make: (shm: ShmCalls) => Steps<T>) => T | Promise<T>;

declare module './posix.js' {
  interface Posix {
    /**
     * `shm_open(name, oflag, mode)`: "establish a connection between a shared memory object and
     * a file descriptor". `name` is `/` then 1–255 bytes without `/`, visible to every process of
     * the kernel. `oflag`: `O_RDONLY` or `O_RDWR`, with `O_CREAT` (create it, size 0, if it does
     * not exist), `O_EXCL` (with `O_CREAT`: fail if it exists), `O_TRUNC` (with `O_RDWR`: size
     * 0), `O_CLOEXEC`. `mode` (default `0o600`) is kept (`fstat`'s `st_mode`), not enforced:
     * there are no users. Errors: `EEXIST` ("O_CREAT and O_EXCL are set and the named shared
     * memory object already exists"), `ENOENT` ("O_CREAT is not set and the named shared memory
     * object does not exist"), `EINVAL` (name, flags, `O_WRONLY`, `O_TRUNC` without `O_RDWR`),
     * `ENAMETOOLONG`, `EMFILE`, `ENOMEM`.
     */
    shm_open(name: string, oflag: number, mode?: number): Promise<number>;
    /** {@link Posix.shm_open} on a worker CPU. */
    shm_openSync(name: string, oflag: number, mode?: number): number;
    /**
     * `shm_unlink(name)`: removes the name. "If one or more references to the shared memory
     * object exist when the object is unlinked, the name shall be removed before shm_unlink()
     * returns, but the removal of the memory object contents shall be postponed until all open
     * and map references to the shared memory object have been removed." A later `shm_open`
     * with `O_CREAT` makes a new object. Errors: `ENOENT`, `EINVAL`, `ENAMETOOLONG`.
     */
    shm_unlink(name: string): Promise<void>;
    /** {@link Posix.shm_unlink} on a worker CPU. */
    shm_unlinkSync(name: string): void;
    /**
     * `ftruncate(fildes, length)`: sets the size of a shared memory object to `length` bytes,
     * in place: "the extended area shall appear as if it were zero-filled", and every
     * `MAP_SHARED` mapping of the object — in any process, made before or after — keeps showing
     * the same memory. Whole pages of a mapping past the new end are discarded: an access there
     * is `AccessFault` (the `SIGBUS` analogue) in every mapping, `MAP_PRIVATE` copies included;
     * pages the object grows into become accessible in the mappings made before. Errors: `EBADF`, `EINVAL` (not a shared memory
     * object, "not open for writing", `length` negative or not an integer), `EFBIG` (over
     * 2^40 bytes), `ENOMEM` (the kernel is out of frames; nothing changed).
     */
    ftruncate(fildes: number, length: number): Promise<void>;
    /** {@link Posix.ftruncate} on a worker CPU. */
    ftruncateSync(fildes: number, length: number): void;
    /** `fstat(fildes)` of a shared memory object: its `st_size` and `st_mode`. Errors: `EBADF`, `EINVAL` (another kind of descriptor). */
    fstat(fildes: number): Promise<ShmStat>;
    /** {@link Posix.fstat} on a worker CPU. */
    fstatSync(fildes: number): ShmStat;
    /**
     * `mmap(addr, len, prot, flags, fildes, off)`: maps `len` bytes of the shared memory object
     * from byte `off` into this process's memory (`proc.memory`); resolves with the address.
     * `addr`: `null` (or a hint, ignored) — with `MAP_FIXED` the address, exactly (a multiple of
     * the page size; this table's `mmap` mappings of those whole pages are removed first, memory
     * `mmap` did not map is not replaced: `ENOMEM`). `prot`: `PROT_NONE` or `PROT_READ` /
     * `PROT_WRITE` / `PROT_EXEC`.
     * `flags` (optionally with `MAP_FIXED`): exactly one of `MAP_SHARED` (the object's own pages: writes are seen by every
     * process mapping it) and `MAP_PRIVATE` (copy-on-write: "modifications to the mapped data by
     * the calling process shall be visible only to the calling process"), optionally with
     * `MAP_ANONYMOUS` (`fildes` −1, `off` 0, else `EINVAL`): fresh zero-filled pages of this
     * process, no object (shared with nobody either way: there is no `fork`). Pages past the
     * object's end stay unmapped: an access there fails with `AccessFault` (`EFAULT` through
     * `PosixError.from`) — the analogue of `SIGBUS`. Errors: `EACCES` ("MAP_SHARED was
     * specified and PROT_WRITE is set", descriptor not open for writing), `EBADF`, `EINVAL`
     * (`len` 0, `off` not page-aligned, flags), `ENODEV` (not a shared memory object), `ENOMEM`,
     * `ENXIO` (size 0, or `off` past the end), `EOVERFLOW` (`off + len` over 2^40). `PROT_EXEC`
     * maps the pages executable (the arch MMU's execute permission; it implies `PROT_READ`).
     */
    mmap(addr: number | null, len: number, prot: number, flags: number, fildes: number, off?: number): Promise<number>;
    /** {@link Posix.mmap} on a worker CPU. */
    mmapSync(addr: number | null, len: number, prot: number, flags: number, fildes: number, off?: number): number;
    /**
     * `munmap(addr, len)`: removes the mappings of whole pages of `[addr, addr + len)` made by
     * {@link Posix.mmap} (pages not mapped by it are left alone: "if there are no mappings in
     * the specified address range, then munmap() has no effect"). Closing the descriptor does not
     * unmap. Errors: `EINVAL` (`addr` not page-aligned, `len` 0).
     */
    munmap(addr: number, len: number): void;
    /**
     * `mprotect(addr, len, prot)`: changes the protection of whole pages mapped by
     * {@link Posix.mmap}. Lowering always works, and so does raising back to `PROT_WRITE`,
     * except on a `MAP_SHARED` mapping of a descriptor opened `O_RDONLY` ("the memory object was
     * not opened for write, and PROT_WRITE was specified for a MAP_SHARED type mapping"); a
     * `MAP_PRIVATE` mapping raised stays copy-on-write. Errors: `EACCES` (that case), `EINVAL`,
     * `ENOMEM` (part of the range is not such a mapping). `PROT_EXEC` as in {@link Posix.mmap}.
     */
    mprotect(addr: number, len: number, prot: number): void;
    /**
     * `msync(addr, len, flags)`: nothing to write back — a mapping is the object's memory itself
     * (a `MAP_PRIVATE` one this process's copy), so every write is already seen — but the
     * arguments are checked. `flags`: `MS_ASYNC` or `MS_SYNC` (or neither), optionally with
     * `MS_INVALIDATE`. `len` 0 checks only `addr` and `flags`. Errors: `EINVAL` ("the value of
     * flags is invalid": unknown bits, or both `MS_ASYNC` and `MS_SYNC`; "the value of addr is
     * not a multiple of the page size"), `ENOMEM` ("the addresses in the range starting at addr
     * and continuing for len bytes … specify one or more pages that are not mapped": not mapped
     * by {@link Posix.mmap}). Never `EBUSY` (there are no locked pages).
     */
    msync(addr: number, len: number, flags: number): void;
  }
}

/** Adds the shared-memory methods to `Posix.prototype` (called once by posix.ts). @internal */
export function installShm(proto: Posix, drive: ShmDriver, calls: (px: Posix) => ShmCalls): void {
  const methods: Record<string, (this: Posix, ...a: never[]) => unknown> = {
    shm_open(name: string, oflag: number, mode = 0o600) { return drive(this, false, 'shm_open', (c) => c.open(name, oflag, mode)); },
    shm_openSync(name: string, oflag: number, mode = 0o600) { return drive(this, true, 'shm_open', (c) => c.open(name, oflag, mode)); },
    shm_unlink(name: string) { return drive(this, false, 'shm_unlink', (c) => c.unlink(name)); },
    shm_unlinkSync(name: string) { return drive(this, true, 'shm_unlink', (c) => c.unlink(name)); },
    ftruncate(fd: number, length: number) { return drive(this, false, 'ftruncate', (c) => c.ftruncate(fd, length)); },
    ftruncateSync(fd: number, length: number) { return drive(this, true, 'ftruncate', (c) => c.ftruncate(fd, length)); },
    fstat(fd: number) { return drive(this, false, 'fstat', (c) => c.fstat(fd)); },
    fstatSync(fd: number) { return drive(this, true, 'fstat', (c) => c.fstat(fd)); },
    mmap(addr: number | null, len: number, prot: number, flags: number, fd: number, off = 0) { return drive(this, false, 'mmap', (c) => c.mmap(addr, len, prot, flags, fd, off)); },
    mmapSync(addr: number | null, len: number, prot: number, flags: number, fd: number, off = 0) { return drive(this, true, 'mmap', (c) => c.mmap(addr, len, prot, flags, fd, off)); },
    munmap(addr: number, len: number) { calls(this).munmap(addr, len); },
    mprotect(addr: number, len: number, prot: number) { calls(this).mprotect(addr, len, prot); },
    msync(addr: number, len: number, flags: number) { calls(this).msync(addr, len, flags); },
  };
  for (const [name, value] of Object.entries(methods)) Object.defineProperty(proto, name, { value, writable: true, configurable: true, enumerable: false });
}
