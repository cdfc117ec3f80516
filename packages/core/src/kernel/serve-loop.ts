import { IpcError, type IpcErrorCode } from '../contracts/errors.js';
import { MessageFlags, type MessageBuffer, type SmallMessage } from '../contracts/message.js';

/** Reply failures that are the reply's own fault: the server fails the call with them. */
const UNDELIVERABLE_REPLY: ReadonlySet<string> = new Set(['MessageTooLarge', 'PermissionDenied', 'InvalidCapability', 'OutOfMemory', 'InvalidArgument', 'ChannelClosed']);

/** What the serve loop needs from its process. @internal */
export interface ServeHost {
  receive(ep: number): Promise<MessageBuffer>;
  replyReceive(to: number, response: SmallMessage, ep: number): Promise<MessageBuffer>;
  /** Fails the call of `to` with `code`, ignoring a caller that is gone. */
  replyError(to: number, code: IpcErrorCode): void;
  /** True once the process itself was killed or has exited (its own errors must propagate). */
  dying(): boolean;
}

/**
 * The loop of `Process.serve`: receive, run the handler, reply-and-receive, until the endpoint
 * closes. A caller that gave up or died while its call was handled (`ProcessNotFound`,
 * `InvalidState` on the reply) never stops the server; a reply the kernel refuses fails that
 * call with the refusal instead. @internal
 */
export async function serveLoop(host: ServeHost, ep: number, handler: (request: MessageBuffer) => SmallMessage): Promise<void> {
  try {
    let m = await host.receive(ep);
    for (;;) {
      let response: SmallMessage | undefined;
      let failure: IpcError | undefined;
      try {
        response = handler(m);
      } catch (err) {
        if (!(err instanceof IpcError)) throw err;
        failure = err;
      }
      if (!(m.flags & MessageFlags.CALL)) m = await host.receive(ep);
      else if (failure) {
        host.replyError(m.sender, failure.code);
        m = await host.receive(ep);
      } else {
        const caller = m.sender;
        try {
          m = await host.replyReceive(caller, response!, ep);
        } catch (err) {
          if (!(err instanceof IpcError) || host.dying()) throw err;
          if (UNDELIVERABLE_REPLY.has(err.code)) host.replyError(caller, err.code);
          else if (err.code !== 'ProcessNotFound' && err.code !== 'InvalidState') throw err;
          m = await host.receive(ep);
        }
      }
    }
  } catch (err) {
    if (err instanceof IpcError && err.code === 'ChannelClosed' && !host.dying()) return;
    throw err;
  }
}
