import type { Process } from '@veridian/core';

/** Arguments of the identity server worker. */
export interface IdentityServerArgs {
  /** Name to register the endpoint under. */
  name: string;
}

/** Worker-CPU server that answers one call with its own pid and CPU index (two u32, little-endian), then returns. */
export default function identityServer(proc: Process, args: IdentityServerArgs): void {
  const ep = proc.createEndpoint({ name: args.name });
  const m = proc.receiveSync(ep);
  const data = new Uint8Array(8);
  const view = new DataView(data.buffer);
  view.setUint32(0, proc.pid, true);
  view.setUint32(4, proc.cpu, true);
  proc.reply(m.sender, { type: m.type, data });
}
