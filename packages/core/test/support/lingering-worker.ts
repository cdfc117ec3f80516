import { createServer } from 'node:net';
import type { Process } from '@veridian/core';

/**
 * Worker-CPU module that leaves something keeping its thread alive: a timer (`timer`), or an open
 * server socket (`socket`). With `block`, it then waits in the kernel on an endpoint of its own
 * (until killed); otherwise it returns at once.
 */
export default function lingering(proc: Process, args: { keep: 'timer' | 'socket'; block: boolean }): void {
  if (args.keep === 'timer') setInterval(() => {}, 1000);
  else createServer().listen(0, '127.0.0.1');
  const ep = proc.createEndpoint();
  if (args.block) proc.receiveSync(ep);
}
