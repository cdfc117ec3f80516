import { IpcError, type Process } from '@veridian/core';

/** Reports whether the worker's `@veridian/core` is the same module the kernel's worker entry uses. */
export default function identity(proc: Process): void {
  try {
    proc.inspect(0);
  } catch (e) {
    if (!(e instanceof IpcError)) throw new Error('worker sees a second copy of @veridian/core');
    return;
  }
  throw new Error('inspect(0) should fail');
}
