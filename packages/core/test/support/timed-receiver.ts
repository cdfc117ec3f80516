import { IpcError, type Process } from '@veridian/core';

/** Worker-CPU process: receives on a fresh endpoint with a `timeoutNs` timeout and expects `Timeout`. */
export default function timedReceiver(proc: Process, args: { timeoutNs: number }): void {
  const ep = proc.createEndpoint();
  try {
    proc.receiveSync(ep, { timeout: args.timeoutNs });
  } catch (e) {
    if (e instanceof IpcError && e.code === 'Timeout') return;
    throw e;
  }
  throw new Error('the receive should have timed out');
}
