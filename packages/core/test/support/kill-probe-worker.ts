import { IpcError, type Process } from '@veridian/core';

/** Int32 indices in `flags`. */
export const K = { READY: 0, GO: 1, SERVED_AFTER_GO: 2, UNWOUND: 3, ERRNO: 4 } as const;

/**
 * Worker-CPU echo server for kill checks: creates endpoint `name`, sets READY, then spins in its
 * own code until GO (at most 10 s); then serves (receiveSync / replyReceiveSync), counting each
 * request it took after GO in SERVED_AFTER_GO. When a kernel entry fails it records UNWOUND = 1 and
 * the error number, and rethrows (the process unwinds itself).
 */
export default function killProbe(proc: Process, args: { name: string; flags: SharedArrayBuffer }): void {
  const f = new Int32Array(args.flags);
  try {
    const ep = proc.createEndpoint({ name: args.name });
    Atomics.store(f, K.READY, 1);
    const deadline = performance.now() + 10_000;
    while (Atomics.load(f, K.GO) === 0 && performance.now() < deadline);
    let m = proc.receiveSync(ep);
    for (;;) {
      Atomics.add(f, K.SERVED_AFTER_GO, 1);
      m = proc.replyReceiveSync(m.sender, { type: m.type + 1, data: new Uint8Array() }, ep);
    }
  } catch (e) {
    Atomics.store(f, K.ERRNO, e instanceof IpcError ? e.errno : -1);
    Atomics.store(f, K.UNWOUND, 1);
    throw e;
  }
}
