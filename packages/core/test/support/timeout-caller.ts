import { IpcError, type Process } from '@veridian/core';

/** Message type the CPU-0 server of the defect-3 test holds until the caller has timed out. */
export const HOLD = 0x484f4c44;

/**
 * Worker-CPU client: calls `name` with a {@link HOLD} request and a `timeoutNs` timeout, expects
 * `Timeout`, then sets Int32[0] of `flags` (the server may now answer). Unless `exitAfterTimeout`,
 * it then makes one ordinary call and checks the reply. Returns normally when all went as expected.
 */
export default function timeoutCaller(proc: Process, args: { name: string; timeoutNs: number; flags: SharedArrayBuffer; exitAfterTimeout: boolean }): void {
  const flags = new Int32Array(args.flags);
  let ch = -1;
  for (let i = 0; i < 10_000 && ch < 0; i++) {
    try {
      ch = proc.connect(args.name);
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
  let first: string;
  try {
    proc.callSync(ch, { type: HOLD, data: new Uint8Array([1]) }, { timeout: args.timeoutNs });
    first = 'replied';
  } catch (e) {
    first = e instanceof IpcError ? e.code : String(e);
  }
  if (first !== 'Timeout') throw new Error(`the held call should time out, got ${first}`);
  Atomics.store(flags, 0, 1);
  Atomics.notify(flags, 0);
  if (args.exitAfterTimeout) return;
  const r = proc.callSync(ch, { type: 5, data: new Uint8Array([5]) });
  if (r.type !== 6) throw new Error(`wrong reply type ${r.type} to the second call`);
}
