import { byteCount, IpcError, messageCaps, messagePayload, type CapHandle, type MessageBuffer, type Process } from '@veridian/core';
import { PosixError, errnoName } from './error.js';
import type { FdTable } from './fd-table.js';
import type { Posix } from './posix.js';
import type { Reply, Req, Steps } from './types.js';
import { reqType } from './wire.js';

/*
 * Runs a call. Every POSIX call is written once, as a generator of requests to the object
 * server (`Steps<T>`): it yields a request and gets the reply back (or a thrown PosixError for
 * a failed one). The drivers here answer those requests: asynchronously on CPU 0 (`call`),
 * blocking the thread on a worker CPU (`callSync`, the `…Sync` twins).
 */

const EMPTY = new Uint8Array(0);

/** The status of a failed request. */
class Status {
  constructor(readonly errno: number) {}
}

/** Where a table's requests go: its process and the capability to the object server. @internal */
export interface Link {
  readonly proc: Process;
  readonly server: CapHandle;
}

function request(l: Link, r: Req): MessageBuffer | Promise<MessageBuffer> {
  const msg = { type: reqType(r.op, r.flags ?? 0, r.arg ?? 0), data: r.data ?? EMPTY, caps: r.caps };
  return l.proc.cpu === 0 ? l.proc.call(l.server, msg) : l.proc.callSync(l.server, msg);
}

function read(m: MessageBuffer): Reply | Status {
  const status = m.type & 0xffff;
  if (status !== 0) return new Status(status);
  const p = messagePayload(m);
  return { arg: m.type >>> 16, data: m.large ? p : p.slice(), caps: Array.from(messageCaps(m)) };
}

function step<T>(g: Steps<T>, syscall: string, input: Reply | Status | PosixError | undefined): IteratorResult<Req, T> {
  if (input instanceof Status) return g.throw(new PosixError(errnoName(input.errno) ?? 'EINVAL', syscall));
  if (input instanceof PosixError) return g.throw(input);
  return g.next(input as Reply);
}

function ipc(e: unknown, syscall: string): PosixError {
  if (e instanceof IpcError) return new PosixError(e.code === 'InvalidCapability' ? 'EBADF' : (PosixError.from(e, syscall) as PosixError).code, syscall, { cause: e });
  throw e;
}

/**
 * What a call throws: its PosixError, an IpcError's errno — and for a `TypeError`, which only a
 * wrongly typed argument from plain JavaScript causes (a buffer that is not one, an object
 * without its fields), `EFAULT`, as the kernel answers a bad pointer.
 */
function fromThrown(e: unknown, syscall: string): unknown {
  if (e instanceof TypeError) return new PosixError('EFAULT', syscall, { detail: `a bad argument (${e.message})`, cause: e });
  return PosixError.from(e, syscall);
}

/** The real length of `b` when it is a byte array (the default `nbyte` of a call), else 0 (the call then refuses `b`). @internal */
export function lengthOf(b: unknown): number {
  return Math.max(0, byteCount(b));
}

/** Runs `make()`'s requests with `await` (any CPU; CPU 0 is the usual). @internal */
export async function runAsync<T>(l: Link, syscall: string, make: () => Steps<T>): Promise<T> {
  try {
    const g = make();
    let r = g.next();
    while (!r.done) {
      let input: Reply | Status | PosixError;
      try {
        input = read(await request(l, r.value));
      } catch (e) {
        input = ipc(e, syscall);
      }
      r = step(g, syscall, input);
    }
    return r.value;
  } catch (e) {
    throw fromThrown(e, syscall);
  }
}

/** Runs `make()`'s requests blocking the thread (worker CPUs only: `EINVAL` on CPU 0). @internal */
export function runSync<T>(l: Link, syscall: string, make: () => Steps<T>): T {
  try {
    if (l.proc.cpu === 0) throw new PosixError('EINVAL', syscall, { detail: 'the …Sync variants block the thread: worker CPUs only' });
    const g = make();
    let r = g.next();
    while (!r.done) {
      let input: Reply | Status | PosixError;
      try {
        input = read(request(l, r.value) as MessageBuffer);
      } catch (e) {
        input = ipc(e, syscall);
      }
      r = step(g, syscall, input);
    }
    return r.value;
  } catch (e) {
    throw fromThrown(e, syscall);
  }
}

/** Runs a call module's steps on `px`'s drivers with its descriptor table (`sync`: the `…Sync` twins). @internal */
export interface Drive {
  async<T>(px: Posix, syscall: string, make: (t: FdTable) => Steps<T>): Promise<T>;
  sync<T>(px: Posix, syscall: string, make: (t: FdTable) => Steps<T>): T;
}

/** Adds a call module's methods to `Posix.prototype` (non-enumerable, as class methods are). @internal */
export function define(proto: Posix, methods: Record<string, (this: Posix, ...a: never[]) => unknown>): void {
  for (const [name, value] of Object.entries(methods)) Object.defineProperty(proto, name, { value, writable: true, configurable: true, enumerable: false });
}
