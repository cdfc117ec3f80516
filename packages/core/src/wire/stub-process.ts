import type { CapHandle } from '../contracts/capability.js';
import type { MessageBuffer, SmallMessage } from '../contracts/message.js';

/**
 * The part of a kernel process that generated stubs use (see the kernel's KERNEL-API.md).
 * Declared structurally so the stubs depend on the user API, not on the kernel's classes:
 * the kernel's `Process` satisfies it.
 */
export interface StubProcess {
  /** The process id. */
  readonly pid: number;
  /** Calls a channel and waits for the reply (the buffer is reused by the next call). */
  call(channel: CapHandle, request: SmallMessage, options?: { timeout?: number }): Promise<MessageBuffer>;
  /** Sends a one-way message; resolves when delivered. */
  send(channel: CapHandle, message: SmallMessage, options?: { timeout?: number }): Promise<void>;
  /** Waits for a message on an endpoint (the buffer is reused by the next receive). */
  receive(endpoint: CapHandle, options?: { timeout?: number }): Promise<MessageBuffer>;
  /** Replies to the call `to` (a sender pid from a received message); one-shot. */
  reply(to: number, response: SmallMessage): void;
  /** Creates an endpoint and returns a capability with every right. */
  createEndpoint(options?: { name?: string }): CapHandle;
  /** Mints a capability with a subset of `handle`'s rights in the same process. */
  derive(handle: CapHandle, rights: number): CapHandle;
  /** Drops a capability handle. */
  close(handle: CapHandle): void;
  /**
   * The process's memory, when it has one (the kernel's `Process` does): a `bytes` argument
   * that is a view of it travels by Move, and a buffer that arrives is read out of it.
   */
  readonly memory?: {
    read(va: number, length: number): Uint8Array;
    unmap(va: number, length: number): void;
  };
}

// The kernel allows one outstanding call per process, but a process may hold several
// clients (and serve at the same time), so blocking operations queue per process.
const queues = new WeakMap<object, Promise<unknown>>();

/**
 * Runs `operation` after every operation queued earlier for the same process has settled,
 * so a process never has two calls outstanding.
 */
export function serializePerProcess<T>(proc: object, operation: () => Promise<T>): Promise<T> {
  const previous = queues.get(proc) ?? Promise.resolve();
  const run = previous.then(operation, operation);
  queues.set(
    proc,
    run.then(
      () => undefined,
      () => undefined,
    ),
  );
  return run;
}

/** Closes each handle, ignoring failures (used to drop capabilities of a message that was rejected). */
export function closeQuietly(proc: StubProcess, handles: ArrayLike<CapHandle>): void {
  for (let i = 0; i < handles.length; i++) {
    try {
      proc.close(handles[i]!);
    } catch {
      // Already gone: nothing left to release.
    }
  }
}
