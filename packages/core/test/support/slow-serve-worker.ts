import { messagePayload, type Process } from '@veridian/core';

/** Message type that makes the handler hold the call until Int32[0] of `flags` becomes non-zero (at most 10 s). */
export const HOLD = 0x484f4c44;

/**
 * Worker-CPU `serve()` server on endpoint `name`: replies type + 1 with the same payload. Counts
 * served calls in Int32[1] of `flags` and records the payload length of the last request in
 * Int32[2]. A request of type {@link HOLD} is held in the handler until the test sets Int32[0].
 */
export default async function slowServe(proc: Process, args: { name: string; flags: SharedArrayBuffer }): Promise<void> {
  const flags = new Int32Array(args.flags);
  await proc.serve(proc.createEndpoint({ name: args.name }), (m) => {
    Atomics.add(flags, 1, 1);
    Atomics.store(flags, 2, m.length);
    if (m.type === HOLD) {
      const deadline = performance.now() + 10_000;
      while (Atomics.load(flags, 0) === 0 && performance.now() < deadline) Atomics.wait(flags, 0, 0, 1);
    }
    return { type: m.type + 1, data: messagePayload(m).slice() };
  });
}
