import { IpcError } from '../contracts/errors.js';
import type { SmallMessage } from '../contracts/message.js';
import { checkHandle, checkTimeout, readMessage, rejected } from './args.js';
import type { KernelContext } from './context.js';
import type { AsyncWaiter } from './ipc/async-wait.js';
import { Outgoing } from './ipc/async.js';
import { ObsFlag, P, R, S } from './records/layout.js';
import { FutexWaiter } from './sched/futex.js';
import { AsyncSyscalls } from './syscall-async.js';

/** Options of the waiting calls of channels, topics and subscriptions. */
export interface AsyncWaitOptions {
  /** Nanoseconds of kernel time before failing with `Timeout` (absent or `Infinity`: forever; 0: do not wait). */
  timeout?: number;
  /** Aborts the wait: the promise rejects with an `AbortError` whose `cause` is the signal's reason (Node's convention). */
  signal?: AbortSignal;
}

/** Polls of the ring before a worker counts itself as a waiter. */
const PRE_SPINS = 256;

/** Longest a worker parks before it looks at its kill flag again (ms). */
const PARK_SLICE_MS = 50;

/** What a process's async handles share: its kernel context, record, pid, the syscalls and a futex waiter. @internal */
export interface AsyncOwner {
  readonly k: KernelContext;
  readonly p: number;
  readonly pid: number;
  readonly sys: AsyncSyscalls;
  /** True on a worker CPU (the `*Sync` variants are available there). */
  readonly synchronous: boolean;
  readonly futex: FutexWaiter;
}

/** The async state of process record `p` (made once per process, on first use). @internal */
export function asyncOwner(k: KernelContext, p: number, pid: number, synchronous: boolean): AsyncOwner {
  return { k, p, pid, sys: new AsyncSyscalls(k), synchronous, futex: new FutexWaiter(k.platform.cpuCount(), k.procs.get(p, P.WAIT)) };
}

/** The pending-notify word (`R.NOTIFY_PENDING`, `R.SPACE_PENDING`) of ring word `word` of the ring whose record starts at word `base`. */
function pendingOf(word: number, base: number): number {
  return base + (word - base === R.NOTIFY ? R.NOTIFY_PENDING : R.SPACE_PENDING);
}

/** The `AbortError` Node's own APIs reject with. */
export function abortError(signal: AbortSignal): Error {
  const e = new Error('The operation was aborted', { cause: signal.reason });
  e.name = 'AbortError';
  (e as Error & { code: string }).code = 'ABORT_ERR';
  return e;
}

/** Checks the options of a waiting call; returns the timeout in ns (Infinity = forever). */
export function checkWaitOptions(options: unknown): { timeoutNs: number; signal: AbortSignal | undefined } {
  return { timeoutNs: checkWaitTimeout(options), signal: checkWaitSignal(options) };
}

/** The timeout part of {@link checkWaitOptions} (ns; Infinity = forever), allocating nothing. */
function checkWaitTimeout(options: unknown): number {
  return checkTimeout(options) ?? Infinity;
}

/** The signal part of {@link checkWaitOptions} (call after {@link checkWaitTimeout}: `options` is an object or undefined). */
function checkWaitSignal(options: unknown): AbortSignal | undefined {
  const signal = options === undefined ? undefined : (options as AsyncWaitOptions).signal;
  if (signal !== undefined && !(signal instanceof AbortSignal)) throw new IpcError('InvalidArgument', 'options.signal must be an AbortSignal');
  return signal;
}

/**
 * The base of {@link AsyncChannel}, {@link Topic} and {@link Subscription}: the capability
 * cache the lock-free path checks (the slot's tag and the ring's registry word — two reads;
 * anything else falls back to a full check under the lock, which also refreshes the cache),
 * the conversion of a user message into a slot image, and waiting (promises on any CPU
 * through the CPU's {@link AsyncHub}; `*Sync` spin-then-park on workers). @internal
 */
export abstract class RingHandle {
  /** The capability handle this object uses. */
  readonly handle: number;
  /** @internal */
  protected readonly o: AsyncOwner;
  /** @internal ring record index */
  protected readonly r: number;
  readonly #kind: number;
  readonly #cache = new Int32Array(3);
  readonly #rights: number;
  readonly #out = new Outgoing();

  /** @internal */
  constructor(o: AsyncOwner, handle: unknown, kind: number, ring?: number) {
    this.o = o;
    this.#kind = kind;
    if (ring !== undefined) {
      // Waiting helpers only (a subscription checks its own record, not a capability).
      this.handle = 0;
      this.r = ring;
      this.#rights = 0;
      return;
    }
    this.handle = checkHandle(handle);
    this.r = o.sys.resolve(o.p, o.pid, this.handle, kind, 0, this.#cache);
    this.#rights = o.k.slots.get(this.#cache[0]!, S.RIGHTS);
  }

  /** Lock-free capability check (inside the ring epoch): `rights` held and the capability live. Throws otherwise. @internal */
  protected check(rights: number): void {
    const k = this.o.k;
    const c = this.#cache;
    while (k.slots.get(c[0]!, S.TAG) !== c[1] || k.rings.t.registry(this.r) !== c[2]! >>> 0) {
      // Revoked, closed, or the revoker's own capability re-minted: the full check (under the
      // lock, outside the ring epoch so a ring being created never waits for us) says which.
      k.async.leave();
      try {
        this.o.sys.resolve(this.o.p, this.o.pid, this.handle, this.#kind, 0, c);
      } finally {
        k.async.enter();
      }
    }
    if ((this.#rights & rights) !== rights) throw new IpcError('PermissionDenied', `capability lacks rights 0x${rights.toString(16)}`);
  }

  /** Checks `message` and turns it into the slot image (capabilities snapshotted under the lock). @internal */
  protected outgoing(message: unknown, into: Outgoing = this.#out, buffers = false): Outgoing {
    // Each field read once (readMessage): the slot write copies exactly what was checked.
    readMessage(message, into);
    if (into.buffer !== null && !buffers) throw new IpcError('InvalidArgument', 'topic messages carry no buffer (send it over an async channel, or map a shared region)');
    into.ts = into.flow = 0;
    if (into.capCount > 0) {
      this.o.sys.snapshotCaps(this.o.p, this.o.pid, into.handles, into.capCount, into.caps);
      Atomics.store(this.o.k.i32, this.o.k.rings.t.word(this.r, R.HAS_CAPS), 1);
    }
    return into;
  }

  /** True when this ring has a security policy now (`flags`: the header's observation word): its sends go under the lock. @internal */
  protected policed(flags: number): boolean {
    const k = this.o.k;
    return (flags & ObsFlag.POLICY) !== 0 && k.policies.recordOf(k.policies.ringKey(this.r)) >= 0;
  }

  /** A send or publish (`kind`) that waited for room ended without it: a timeout is an event too (its other refusals are events of the push). Rethrows `e`. @internal */
  protected gaveUp(kind: number, message: SmallMessage, e: unknown): never {
    const ev = this.o.k.asyncEvents;
    if (e instanceof IpcError && e.code === 'Timeout' && ev.on) ev.timedOut(kind, this.o.pid, this.r, message);
    throw e;
  }

  /**
   * True when messages on this ring may carry capabilities or buffers (receivers take them under
   * the lock). A hint, read plainly: each slot says whether its take needs the lock. @internal
   */
  protected get hasCaps(): boolean {
    return this.o.k.i32[this.o.k.rings.t.word(this.r, R.HAS_CAPS)] !== 0;
  }

  /** True once the ring was closed. */
  get closed(): boolean {
    return Atomics.load(this.o.k.i32, this.o.k.rings.t.word(this.r, R.CLOSED)) !== 0;
  }

  /**
   * A promise that settles when `attempt` (tried now and after every change of ring word
   * `field`) returns a value other than `undefined`, or throws.
   @internal */
  protected waitAsync<T>(field: number, waitersField: number, parkedField: number, attempt: () => T | undefined, options: unknown): Promise<T> {
    let first: T | undefined;
    let wait: { timeoutNs: number; signal: AbortSignal | undefined };
    try {
      wait = checkWaitOptions(options);
      if (wait.signal?.aborted) return Promise.reject(abortError(wait.signal));
      first = attempt();
    } catch (e) {
      return rejected(e);
    }
    if (first !== undefined) return Promise.resolve(first);
    if (wait.timeoutNs === 0) return Promise.reject(new IpcError('Timeout', 'nothing ready and timeout 0'));
    const { k } = this.o;
    const t = k.rings.t;
    const word = t.word(this.r, field);
    return new Promise<T>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const { signal } = wait;
      const done = (): void => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      const waiter: AsyncWaiter = {
        retry: () => {
          let v: T | undefined;
          try {
            v = attempt();
          } catch (e) {
            done();
            reject(e instanceof Error ? e : new Error(String(e as string)));
            return true;
          }
          if (v === undefined) return false;
          done();
          resolve(v);
          return true;
        },
      };
      const onAbort = (): void => {
        k.hub.cancel(word, waiter);
        done();
        reject(abortError(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      if (wait.timeoutNs !== Infinity) {
        timer = setTimeout(() => {
          k.hub.cancel(word, waiter);
          signal?.removeEventListener('abort', onAbort);
          reject(new IpcError('Timeout', 'no message within the timeout'));
        }, wait.timeoutNs / 1e6);
      }
      k.hub.watch(word, t.word(this.r, waitersField), t.word(this.r, parkedField), pendingOf(word, t.word(this.r, 0)), waiter);
    });
  }

  /** `InvalidState` unless this process runs on a worker CPU (the `*Sync` variants). @internal */
  protected requireSync(): void {
    if (!this.o.synchronous) throw new IpcError('InvalidState', 'synchronous calls are only available on worker CPUs');
  }

  /**
   * Worker CPUs: spins then parks until `attempt` returns a value (see {@link RingHandle.waitAsync}).
   * `probe` (loads only) gates the attempts of the first spins: an attempt is a whole
   * operation (its capability check, ring epoch, counters), a probe a look at the ring.
   @internal */
  protected waitSync<T>(field: number, waitersField: number, parkedField: number, attempt: () => T | undefined, options: unknown, probe?: () => boolean): T {
    this.requireSync();
    // The options are checked first (a bad one fails even when nothing would wait), without
    // allocating; the clock is read only once the first attempt found nothing (in a steady
    // stream most calls return from it, and performance.now() costs ~30 ns and allocates).
    const timeoutNs = checkWaitTimeout(options);
    const signal = checkWaitSignal(options);
    if (signal?.aborted) throw abortError(signal);
    const first = attempt();
    if (first !== undefined) return first;
    const { k, p } = this.o;
    const t = k.rings.t;
    const i32 = k.i32;
    const word = t.word(this.r, field);
    const waiters = t.word(this.r, waitersField);
    const parked = t.word(this.r, parkedField);
    const deadline = timeoutNs === Infinity ? Infinity : performance.now() + timeoutNs / 1e6;
    // In a steady stream the peer answers within a few hundred nanoseconds: poll the ring
    // itself first, before the waiter count makes every publish bump the notification word.
    if (this.o.futex.spins && timeoutNs !== 0) {
      for (let i = 0; i < PRE_SPINS; i++) {
        if (probe !== undefined && !probe()) continue;
        const v = attempt();
        if (v !== undefined) return v;
      }
    }
    for (;;) {
      if (signal?.aborted) throw abortError(signal);
      const seen = Atomics.load(i32, word);
      const v = attempt();
      if (v !== undefined) return v;
      const left = deadline - performance.now();
      if (left <= 0) throw new IpcError('Timeout', 'no message within the timeout');
      Atomics.add(i32, waiters, 1);
      try {
        // A message that came after `attempt` and before the count is seen by the re-check.
        const again = attempt();
        if (again !== undefined) return again;
        this.o.futex.waitChange(i32, word, seen, parked, Math.min(left, PARK_SLICE_MS), pendingOf(word, t.word(this.r, 0)));
      } finally {
        Atomics.sub(i32, waiters, 1);
      }
      if (Atomics.load(i32, k.procs.word(p, P.KILL)) !== 0) throw new IpcError('ProcessNotFound', 'process was killed');
    }
  }

  /** An async iterator over `next` (each value is the same reused buffer: read it before the next). @internal */
  protected iterate<T>(next: () => Promise<T>): AsyncIterator<T> {
    let ended = false;
    return {
      next: async (): Promise<IteratorResult<T>> => {
        if (ended) return { value: undefined, done: true };
        try {
          return { value: await next(), done: false };
        } catch (e) {
          if (e instanceof IpcError && e.code === 'ChannelClosed') {
            ended = true;
            return { value: undefined, done: true };
          }
          throw e;
        }
      },
      return: (): Promise<IteratorResult<T>> => {
        ended = true;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
