import type { Process, SmallMessage } from '@veridian/core';

/** Worker-CPU echo server: answers every call with its own message type and payload until type 0xffffffff. */
export default function echoServer(proc: Process, args: { name: string }): void {
  const ep = proc.createEndpoint({ name: args.name });
  const reply: SmallMessage = { type: 0, data: new Uint8Array(0) };
  let m = proc.receiveSync(ep);
  while (m.type !== 0xffffffff) {
    reply.type = m.type;
    reply.data = m.length === 64 ? m.bytes : m.bytes.subarray(0, m.length);
    m = proc.replyReceiveSync(m.sender, reply, ep);
  }
  proc.reply(m.sender, { type: 0, data: new Uint8Array(0) });
}
