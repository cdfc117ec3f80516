import { messagePayload, type Process } from '@veridian/core';

/** Request type the server holds: it sets RECEIVED, waits for GO, replies, then sets REPLIED. */
export const HOLD = 0x484f4c44;
/** Int32 indices in `flags`. */
export const F = { RECEIVED: 0, GO: 1, REPLIED: 2, ERRORS: 3 } as const;

/**
 * Worker-CPU echo server on endpoint `name` (reply: type + 1, same payload) with a hand-off for
 * {@link HOLD} requests, so a test can make the reply's wake-up of a CPU-0 caller sit in CPU 0's
 * wake ring while CPU 0 is busy. A failed reply is counted in ERRORS (the server goes on).
 */
export default function holdReply(proc: Process, args: { name: string; flags: SharedArrayBuffer }): void {
  const f = new Int32Array(args.flags);
  const ep = proc.createEndpoint({ name: args.name });
  let m = proc.receiveSync(ep);
  for (;;) {
    const sender = m.sender;
    const response = { type: m.type + 1, data: messagePayload(m).slice() };
    if (m.type === HOLD) {
      Atomics.store(f, F.RECEIVED, 1);
      Atomics.notify(f, F.RECEIVED);
      while (Atomics.load(f, F.GO) === 0) Atomics.wait(f, F.GO, 0, 10);
      try {
        proc.reply(sender, response);
      } catch {
        Atomics.add(f, F.ERRORS, 1);
      }
      Atomics.store(f, F.REPLIED, 1);
      Atomics.notify(f, F.REPLIED);
      m = proc.receiveSync(ep);
      continue;
    }
    try {
      m = proc.replyReceiveSync(sender, response, ep);
    } catch {
      Atomics.add(f, F.ERRORS, 1);
      m = proc.receiveSync(ep);
    }
  }
}
