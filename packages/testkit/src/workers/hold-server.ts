import type { Process } from '@veridian/core';

/** Arguments of the hold server worker. */
export interface HoldServerArgs {
  /** Name to register the endpoint under. */
  name: string;
  /** Name registered once a call has been received (tells the test the call is held). */
  signal: string;
  /** After receiving, spin in user code instead of parking in the kernel. */
  busy: boolean;
}

/** Worker-CPU server that receives one call and never replies: it parks in the kernel or spins. */
export default function holdServer(proc: Process, args: HoldServerArgs): void {
  const ep = proc.createEndpoint({ name: args.name });
  proc.receiveSync(ep);
  proc.createEndpoint({ name: args.signal });
  if (args.busy) for (;;);
  proc.receiveSync(proc.createEndpoint());
}
