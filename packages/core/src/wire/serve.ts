import { messageCaps } from '../contracts/message.js';
import type { CapHandle } from '../contracts/capability.js';
import { isIpcError } from '../contracts/errors.js';
import type { MessageBuffer, SmallMessage } from '../contracts/message.js';
import { ApplicationError, FrameworkErrorReason } from './errors.js';
import { EVENT_QUEUE_LIMIT, FrameworkMessageType, REPLY_EVENTS_PENDING, ReplyStatus } from './protocol-constants.js';
import { WireReader, type BufferOwner } from './reader.js';
import { closeQuietly, type StubProcess } from './stub-process.js';
import { WireWriter } from './writer.js';

/**
 * One method of a served protocol, as a generated `serveX` function describes it. Members
 * are method signatures on purpose: a table of differently typed methods is then one array.
 */
export interface ServerMethod<Request = unknown, Response = unknown> {
  /** Request message type: the low 32 bits of the method ordinal. */
  readonly type: number;
  /** Method name, for error reports. */
  readonly name: string;
  /** True for a one-way method: no reply is sent. */
  readonly oneway: boolean;
  /** Decodes the request payload. */
  decode(reader: WireReader): Request;
  /** Runs the implementation. */
  run(request: Request): Response | void | Promise<Response | void>;
  /** Encodes the response (two-way methods). */
  encodeResponse?(writer: WireWriter, response: Response): void;
  /** Encodes the `error E` value of an {@link ApplicationError} (methods with an error type). */
  encodeError?(writer: WireWriter, value: unknown): void;
}

/** Options of a generated `serveX` function. */
export interface ServeOptions {
  /**
   * Receives handler failures (the client gets a framework error), requests that failed to
   * decode, and loop failures. Default: `console.error` for handler and loop failures; bad
   * requests are only answered.
   */
  onError?: (error: unknown) => void;
}

/** A running server: the generated `serveX` wraps it in a handle with one method per event. */
export interface ServerBinding {
  /**
   * Stops serving. The loop ends after the request in progress; when it is waiting in
   * receive, after the next message or when the endpoint closes (the kernel cannot interrupt
   * a blocked receive). The endpoint capability is closed then and {@link ServerBinding.closed} settles.
   */
  close(): void;
  /** Settles when the serve loop has ended. */
  readonly closed: Promise<void>;
  /**
   * Queues an event of message type `type` for every subscriber (the oldest is dropped past
   * {@link EVENT_QUEUE_LIMIT}); a subscriber waiting in a long poll gets it at once when the
   * loop is not blocked in receive, otherwise after the next request.
   */
  emit(type: number, encode: (writer: WireWriter) => void): void;
  /** Number of subscribed processes. */
  readonly subscriberCount: number;
}

interface Subscriber {
  readonly queue: SmallMessage[];
  /** Waiting in a `WaitEvent` long poll (its reply is owed). */
  waiting: boolean;
}

const EMPTY = new Uint8Array(0);

/**
 * Serves `methods` on `endpoint` until closed: receive, decode, run the handler, reply.
 * Requests are handled one at a time, in arrival order. A request that fails to decode,
 * names no method, or whose handler throws something other than an {@link ApplicationError}
 * gets a framework-error reply; the loop keeps serving. Events are queued per subscribing
 * process and pulled by the client (see IDL.md, "Events").
 */
export function serveProtocol(
  proc: StubProcess,
  endpoint: CapHandle,
  protocol: string,
  methods: readonly ServerMethod[],
  options: ServeOptions = {},
): ServerBinding {
  const byType = new Map<number, ServerMethod>();
  for (const method of methods) byType.set(method.type, method);
  const subscribers = new Map<number, Subscriber>();
  let closing = false;
  let receiving = false;

  // A failure must never escape the loop: an exception thrown from here would take the
  // whole thread down, and a client's bad request must not be able to do that.
  const report = (error: unknown) => (options.onError ?? console.error)(error);
  const reportBadRequest = (error: unknown) => options.onError?.(error);

  /**
   * Replies, tolerating a caller that timed out or exited (the loop must keep serving
   * others). Returns the kernel's error when the reply could not be sent.
   */
  const send = (to: number, message: SmallMessage): unknown => {
    try {
      proc.reply(to, message);
      return undefined;
    } catch (error) {
      // Nothing was transferred: handles in `message.caps` stay the implementation's to close.
      if (!isIpcError(error)) throw error;
      if (isIpcError(error, 'ProcessNotFound')) subscribers.delete(to);
      return error;
    }
  };
  const frameworkError = (to: number, reason: number) => {
    const writer = new WireWriter();
    writer.u32(reason);
    send(to, { type: ReplyStatus.FrameworkError | pendingFlag(to), data: writer.finish() });
  };
  const pendingFlag = (to: number) => ((subscribers.get(to)?.queue.length ?? 0) > 0 ? REPLY_EVENTS_PENDING : 0);
  const replyWith = (to: number, status: number, writer: WireWriter, method: string) => {
    const failure = send(to, writer.message(status | pendingFlag(to)));
    // A reply the kernel refuses (too large for the path today, a capability without SHARE)
    // still owes the caller an answer, or it would wait forever.
    if (failure !== undefined && !isIpcError(failure, 'ProcessNotFound') && !isIpcError(failure, 'InvalidState')) {
      frameworkError(to, FrameworkErrorReason.InternalError);
      report(new Error(`${protocol}.${method}: the reply could not be sent`, { cause: failure }));
    }
  };
  const noEvent: SmallMessage = { type: FrameworkMessageType.NoEvent, data: EMPTY };
  /** Answers a take or wait with the oldest event that can be sent (one the kernel refuses is dropped and reported). */
  const deliverEvent = (to: number, subscriber: Subscriber): void => {
    for (;;) {
      const event = subscriber.queue.shift();
      const failure = send(to, event ?? noEvent);
      if (failure === undefined || event === undefined || isIpcError(failure, 'ProcessNotFound') || isIpcError(failure, 'InvalidState')) return;
      report(new Error(`${protocol}: an event of type 0x${event.type.toString(16)} could not be delivered`, { cause: failure }));
    }
  };
  const flushWaiters = () => {
    for (const [pid, subscriber] of subscribers) {
      if (subscriber.waiting && subscriber.queue.length > 0) {
        subscriber.waiting = false;
        deliverEvent(pid, subscriber);
      }
    }
  };

  const handleFramework = (sender: number, type: number, message: MessageBuffer): void => {
    if (message.length !== 0 || message.capCount !== 0) {
      closeQuietly(proc, messageCaps(message));
      frameworkError(sender, FrameworkErrorReason.InvalidRequest);
      return;
    }
    const subscriber = subscribers.get(sender);
    switch (type) {
      case FrameworkMessageType.Subscribe:
        if (!subscriber) subscribers.set(sender, { queue: [], waiting: false });
        replyWith(sender, ReplyStatus.Ok, new WireWriter(), 'subscribe');
        return;
      case FrameworkMessageType.Unsubscribe:
        subscribers.delete(sender);
        replyWith(sender, ReplyStatus.Ok, new WireWriter(), 'unsubscribe');
        return;
      case FrameworkMessageType.TakeEvent:
        if (subscriber) deliverEvent(sender, subscriber);
        else void send(sender, noEvent);
        return;
      case FrameworkMessageType.WaitEvent:
        if (!subscriber) void send(sender, noEvent);
        else if (subscriber.queue.length > 0) deliverEvent(sender, subscriber);
        else subscriber.waiting = true;
        return;
      default:
        frameworkError(sender, FrameworkErrorReason.UnknownMethod);
    }
  };

  const handle = async (message: MessageBuffer): Promise<void> => {
    const sender = message.sender;
    const type = message.type;
    const method = byType.get(type);
    if (!method) {
      if (type >= FrameworkMessageType.NoEvent) handleFramework(sender, type, message);
      else {
        closeQuietly(proc, messageCaps(message));
        frameworkError(sender, FrameworkErrorReason.UnknownMethod);
      }
      return;
    }
    let request: unknown;
    try {
      const reader = WireReader.fromMessage(message, proc.memory === undefined ? undefined : (proc as BufferOwner));
      request = method.decode(reader);
      reader.end();
    } catch (error) {
      closeQuietly(proc, messageCaps(message));
      if (!method.oneway) frameworkError(sender, FrameworkErrorReason.InvalidRequest);
      // The client is told; only an explicit onError hears about it (a client must not be able to flood the server's log).
      reportBadRequest(error);
      return;
    }
    // From here on the receive buffer may be reused: only `request` is used.
    let response: unknown;
    try {
      response = await method.run(request);
    } catch (error) {
      if (method.oneway) report(error);
      else if (error instanceof ApplicationError && method.encodeError) {
        const writer = new WireWriter();
        try {
          method.encodeError(writer, error.value);
        } catch (encodeFailure) {
          frameworkError(sender, FrameworkErrorReason.InternalError);
          report(new Error(`${protocol}.${method.name}: the error value failed to encode`, { cause: encodeFailure }));
          return;
        }
        replyWith(sender, ReplyStatus.ApplicationError, writer, method.name);
      } else {
        frameworkError(sender, FrameworkErrorReason.InternalError);
        report(error);
      }
      return;
    }
    if (method.oneway) return;
    const writer = new WireWriter(64, proc.memory === undefined ? undefined : proc.pid);
    try {
      method.encodeResponse?.(writer, response);
    } catch (encodeFailure) {
      frameworkError(sender, FrameworkErrorReason.InternalError);
      report(new Error(`${protocol}.${method.name}: the response failed to encode`, { cause: encodeFailure }));
      return;
    }
    replyWith(sender, ReplyStatus.Ok, writer, method.name);
  };

  const closed = (async () => {
    while (!closing) {
      let message: MessageBuffer;
      receiving = true;
      try {
        message = await proc.receive(endpoint);
      } catch (error) {
        // The endpoint closed, its handle went away, or this process was killed: serving is over.
        const gone = isIpcError(error, 'ChannelClosed') || isIpcError(error, 'ProcessNotFound') || isIpcError(error, 'InvalidCapability');
        if (!closing && !gone) report(error);
        break;
      } finally {
        receiving = false;
      }
      try {
        await handle(message);
      } catch (error) {
        report(error);
      }
      flushWaiters();
    }
    // Long polls still open get an empty answer, so no client stays blocked on us.
    for (const [pid, subscriber] of subscribers) if (subscriber.waiting) void send(pid, noEvent);
    subscribers.clear();
    closeQuietly(proc, [endpoint]);
  })();

  return {
    closed,
    get subscriberCount() {
      return subscribers.size;
    },
    close() {
      closing = true;
    },
    emit(type, encode) {
      if (subscribers.size === 0) return;
      const writer = new WireWriter();
      encode(writer);
      if (writer.caps.length > 0) throw new Error(`${protocol}: events cannot carry capabilities`);
      const data = writer.finish().slice();
      for (const subscriber of subscribers.values()) {
        if (subscriber.queue.length >= EVENT_QUEUE_LIMIT) subscriber.queue.shift();
        subscriber.queue.push({ type, data });
      }
      if (!receiving) flushWaiters();
    },
  };
}
