import type { Process } from '@veridian/core';

/** Worker-CPU server that receives one call and then never replies (it spins in its own code). */
export default function holdForever(proc: Process, args: { name: string; busy?: boolean }): void {
  const ep = proc.createEndpoint({ name: args.name });
  proc.receiveSync(ep);
  if (args.busy) for (;;);
  proc.receiveSync(ep);
}
