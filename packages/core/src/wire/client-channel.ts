import type { CapHandle } from '../contracts/capability.js';
import { messageCaps, type MessageBuffer } from '../contracts/message.js';
import { FrameworkError } from './errors.js';
import { FrameworkMessageType, REPLY_EVENTS_PENDING, REPLY_STATUS_MASK, ReplyStatus } from './protocol-constants.js';
import { WireReader, type BufferOwner } from './reader.js';
import { closeQuietly, serializePerProcess, type StubProcess } from './stub-process.js';
import { WireWriter } from './writer.js';

/** Options of a generated client. */
export interface ClientOptions {
  /** Timeout of each call, in nanoseconds of the kernel clock. */
  timeout?: number;
  /** Receives errors thrown by event handlers, undecodable events and failed subscriptions (default: `console.error`). */
  onError?: (error: unknown) => void;
}

/**
 * What `client.onX(handler)` returns: call it to stop the handler. Events are pulled, not
 * pushed (a process has one blocking operation at a time, so it cannot wait for events while
 * it calls): they are delivered right after any call on the client whose reply says events
 * are queued, and by {@link Unsubscribe.next}.
 */
export interface Unsubscribe {
  (): void;
  /** Settles once the server has accepted the subscription; events emitted before that are not delivered. */
  readonly ready: Promise<void>;
  /**
   * Blocks this process in a long-poll call until the server has at least one event for it,
   * then delivers every queued event to the handlers. Rejects if the server goes away.
   */
  next(): Promise<void>;
}

interface EventRoute {
  decode: (reader: WireReader) => unknown;
  handlers: Set<(event: unknown) => void>;
}

type Outcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

/**
 * The transport under a generated client: encodes a request, calls or sends on the channel,
 * turns the reply status into a result, an application error or a framework error, and
 * fetches the events the server queued for this process.
 */
export class ClientChannel {
  /** The calling process. */
  readonly proc: StubProcess;
  /** The channel capability (SEND) the calls go to. */
  readonly channel: CapHandle;
  /** The protocol's name (`library/Protocol`), for error messages. */
  readonly protocol: string;
  readonly #options: ClientOptions;
  readonly #routes = new Map<number, EventRoute>();
  #subscribed: Promise<void> | undefined;

  constructor(proc: StubProcess, channel: CapHandle, protocol: string, options: ClientOptions = {}) {
    this.proc = proc;
    this.channel = channel;
    this.protocol = protocol;
    this.#options = options;
  }

  /**
   * Calls the method whose request type is `type`. `decodeError` (methods with `error E`)
   * reads the error value and builds the error the promise rejects with. Never throws: an
   * argument that fails to encode (`IpcError('InvalidArgument')`) rejects the promise, and
   * nothing is sent.
   */
  call<R>(
    type: number,
    method: string,
    encode: (writer: WireWriter) => void,
    decodeResponse: (reader: WireReader) => R,
    decodeError?: (reader: WireReader) => Error,
  ): Promise<R> {
    const writer = new WireWriter(64, this.#movableOwner());
    // A value that fails to encode is a rejected promise, not a synchronous throw, so
    // `client.put(x).catch(h)` sees it like any other failure of the call.
    try {
      encode(writer);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    const name = `${this.protocol}.${method}`;
    return serializePerProcess(this.proc, async () => {
      const reply = await this.proc.call(this.channel, writer.message(type), this.#callOptions());
      // The reply buffer is reused by the next call: decode it before fetching events.
      const pending = (reply.type & REPLY_EVENTS_PENDING) !== 0;
      const outcome = decodeReply(this.proc, reply, name, decodeResponse, decodeError);
      if (pending) await this.#drainEvents(FrameworkMessageType.TakeEvent);
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    });
  }

  /**
   * Sends a one-way message of type `type`; resolves once the server has taken it. Never
   * throws: an argument that fails to encode rejects the promise, and nothing is sent.
   */
  send(type: number, encode: (writer: WireWriter) => void): Promise<void> {
    const writer = new WireWriter(64, this.#movableOwner());
    try {
      encode(writer);
    } catch (error) {
      return Promise.reject(asError(error));
    }
    return serializePerProcess(this.proc, () => this.proc.send(this.channel, writer.message(type), this.#callOptions()));
  }

  /**
   * Registers `handler` for events of message type `type`. The first registration
   * subscribes; removing the last handler unsubscribes.
   */
  on<E>(type: number, decode: (reader: WireReader) => E, handler: (event: E) => void): Unsubscribe {
    let route = this.#routes.get(type);
    if (!route) {
      route = { decode, handlers: new Set() };
      this.#routes.set(type, route);
    }
    const entry = handler as (event: unknown) => void;
    route.handlers.add(entry);
    const ready = this.#subscribe();
    let active = true;
    const unsubscribe = () => {
      if (!active) return;
      active = false;
      route.handlers.delete(entry);
      if (route.handlers.size === 0) this.#routes.delete(type);
      if (this.#routes.size === 0) this.#unsubscribe();
    };
    const next = () => serializePerProcess(this.proc, () => this.#drainEvents(FrameworkMessageType.WaitEvent));
    return Object.assign(unsubscribe, { ready, next });
  }

  /** The pid whose memory views may travel by Move: this process's, when it has memory. */
  #movableOwner(): number | undefined {
    return this.proc.memory === undefined ? undefined : this.proc.pid;
  }

  #callOptions(): { timeout?: number } | undefined {
    return this.#options.timeout === undefined ? undefined : { timeout: this.#options.timeout };
  }

  #subscribe(): Promise<void> {
    if (this.#subscribed) return this.#subscribed;
    const subscribed = this.call(
      FrameworkMessageType.Subscribe,
      'subscribe',
      () => {},
      (reader) => reader.end(),
    );
    // Nobody has to await `ready`; a failure must still not become an unhandled rejection.
    subscribed.catch((error: unknown) => {
      if (this.#subscribed === subscribed) this.#subscribed = undefined;
      this.#report(error);
    });
    this.#subscribed = subscribed;
    return subscribed;
  }

  #unsubscribe(): void {
    if (!this.#subscribed) return;
    this.#subscribed = undefined;
    this.call(
      FrameworkMessageType.Unsubscribe,
      'unsubscribe',
      () => {},
      (reader) => reader.end(),
    ).catch(() => {
      // The server is gone: there is no subscription left to cancel.
    });
  }

  /**
   * Fetches queued events one call at a time until the server has none (the first call is
   * `first`: a take, or a wait that blocks until an event exists), then runs the handlers.
   * Runs inside the per-process queue.
   */
  async #drainEvents(first: number): Promise<void> {
    const events: Array<{ route: EventRoute; event: unknown }> = [];
    let request = first;
    for (;;) {
      const reply = await this.proc.call(this.channel, { type: request, data: new Uint8Array(0) });
      if (reply.type === FrameworkMessageType.NoEvent) break;
      request = FrameworkMessageType.TakeEvent;
      const route = this.#routes.get(reply.type);
      if (!route) {
        // Unsubscribed from this event since it was queued.
        closeQuietly(this.proc, messageCaps(reply));
        continue;
      }
      try {
        const reader = WireReader.fromMessage(reply);
        const event = route.decode(reader);
        reader.end();
        events.push({ route, event });
      } catch (error) {
        closeQuietly(this.proc, messageCaps(reply));
        this.#report(error);
      }
    }
    for (const { route, event } of events) {
      for (const handler of [...route.handlers]) {
        try {
          handler(event);
        } catch (error) {
          this.#report(error);
        }
      }
    }
  }

  // Never rethrown: an exception from an event handler must not take the process's thread down.
  #report(error: unknown): void {
    (this.#options.onError ?? console.error)(error);
  }
}

// Encoders throw `IpcError`s; anything else thrown by user code (a getter, a proxy) is
// rejected as it was thrown when it is an Error, and wrapped otherwise.
function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

function decodeReply<R>(
  proc: StubProcess,
  reply: MessageBuffer,
  method: string,
  decodeResponse: (reader: WireReader) => R,
  decodeError: ((reader: WireReader) => Error) | undefined,
): Outcome<R> {
  const reader = WireReader.fromMessage(reply, proc.memory === undefined ? undefined : (proc as BufferOwner));
  const status = reply.type & REPLY_STATUS_MASK;
  try {
    if (reply.type & ~(REPLY_STATUS_MASK | REPLY_EVENTS_PENDING)) throw reader.invalid('reply type', reply.type);
    switch (status) {
      case ReplyStatus.Ok: {
        const value = decodeResponse(reader);
        reader.end();
        return { ok: true, value };
      }
      case ReplyStatus.ApplicationError: {
        if (!decodeError) throw reader.invalid(`reply status: ${method} declares no error type`);
        const error = decodeError(reader);
        reader.end();
        return { ok: false, error };
      }
      case ReplyStatus.FrameworkError: {
        const reason = reader.u32();
        reader.end();
        return { ok: false, error: new FrameworkError(reason, method) };
      }
      default:
        throw reader.invalid('reply status', status);
    }
  } catch (error) {
    // A reply that fails to decode must not leak the capabilities it carried into our space.
    closeQuietly(proc, messageCaps(reply));
    return { ok: false, error };
  }
}
