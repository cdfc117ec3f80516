import { messagePayload, type Process } from '@veridian/core';
import { Op, decodeEntry } from '../protocol.js';

/** The key-value server, alone on its worker CPU: blocks in the kernel between requests. */
export default function kvServer(proc: Process, args: { name: string }): void {
  const store = new Map<string, Uint8Array>();
  const ep = proc.createEndpoint({ name: args.name, capacity: 16 });
  const empty = new Uint8Array(0);
  let m = proc.receiveSync(ep);
  for (;;) {
    const payload = messagePayload(m);
    const { key } = decodeEntry(payload);
    if (m.type === Op.STOP) {
      proc.reply(m.sender, { type: 0, data: empty });
      return;
    }
    if (m.type === Op.HOLD) {
      m = proc.receiveSync(ep);
    } else if (m.type === Op.PUT) {
      store.set(key, payload.slice(1 + payload[0]!));
      m = proc.replyReceiveSync(m.sender, { type: 0, data: empty }, ep);
    } else if (m.type === Op.GET && store.has(key)) {
      m = proc.replyReceiveSync(m.sender, { type: 0, data: store.get(key)! }, ep);
    } else if (m.type === Op.DEL && store.delete(key)) {
      m = proc.replyReceiveSync(m.sender, { type: 0, data: empty }, ep);
    } else {
      proc.replyError(m.sender, m.type === Op.GET || m.type === Op.DEL ? 'NotFound' : 'InvalidArgument');
      m = proc.receiveSync(ep);
    }
  }
}
