import { messagePayload, type Process } from '@veridian/core';

/** Worker-CPU echo server: replies to each call with type + 1 and the same payload. Exits on type 0xffffffff (a stop request). */
export default function echoServer(proc: Process, args: { name: string }): void {
  const ep = proc.createEndpoint({ name: args.name });
  let m = proc.receiveSync(ep);
  for (;;) {
    if (m.type === 0xffffffff) {
      proc.reply(m.sender, { type: 0, data: new Uint8Array(0) });
      return;
    }
    m = proc.replyReceiveSync(m.sender, { type: m.type + 1, data: messagePayload(m) }, ep);
  }
}
