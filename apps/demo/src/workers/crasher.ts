import type { Process } from '@veridian/core';

/** A worker-CPU process that takes resources and then throws: the kernel must report it and take everything back. */
export default function crasher(proc: Process): void {
  proc.createEndpoint({ name: 'doomed' });
  const va = proc.memory.map(256 * 1024);
  proc.memory.write(va, new Uint8Array(256 * 1024).fill(1));
  throw new Error('segfault on purpose');
}
