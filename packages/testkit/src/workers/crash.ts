import type { Process } from '@veridian/core';

/** Worker-CPU process that creates an endpoint and then throws: the kernel must report the crash and clean up. */
export default function crash(proc: Process): void {
  proc.createEndpoint({ name: 'crash.ep' });
  throw new Error('crash worker: deliberate failure');
}
