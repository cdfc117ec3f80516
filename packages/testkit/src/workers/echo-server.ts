import { messagePayload, type Process } from '@veridian/core';
import { echoType, reversed } from '../support/bytes.js';

/** Arguments of the echo server worker. */
export interface EchoServerArgs {
  /** Name to register the endpoint under. */
  name: string;
  /** Calls to answer before returning. */
  count: number;
}

/**
 * Worker-CPU echo server: answers `count` calls (small or large), each with the complemented
 * type and the payload reversed, then returns.
 */
export default function echoServer(proc: Process, args: EchoServerArgs): void {
  const ep = proc.createEndpoint({ name: args.name });
  let m = proc.receiveSync(ep);
  for (let served = 1; ; served++) {
    const reply = { type: echoType(m.type), data: reversed(messagePayload(m)) };
    if (served >= args.count) {
      proc.reply(m.sender, reply);
      return;
    }
    m = proc.replyReceiveSync(m.sender, reply, ep);
  }
}
