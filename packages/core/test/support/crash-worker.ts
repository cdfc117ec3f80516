import type { Process } from '@veridian/core';

/** Worker-CPU process whose body throws: the kernel must report the crash and clean up. */
export default function crash(proc: Process): void {
  proc.createEndpoint({ name: 'doomed' });
  throw new Error('crash on purpose');
}
