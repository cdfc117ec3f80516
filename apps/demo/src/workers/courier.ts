import type { CapHandle, Process } from '@veridian/core';
import { StoreClient, serveCourier } from '../generated/demo.kv.js';
import { writeReport } from '../report.js';

/** A worker-CPU process that is handed a capability to the store and then calls through it. */
export default async function courier(proc: Process, args: { name: string; report: SharedArrayBuffer }): Promise<void> {
  let got: { store: CapHandle; key: string } | undefined;
  const handle = serveCourier(proc, proc.createEndpoint({ name: args.name }), {
    deliver(store, key) {
      got = { store, key };
      handle.close(); // one delivery is all it waits for
    },
  });
  await handle.closed;
  if (got === undefined) throw new Error('the courier ended without a delivery');
  const { value } = await new StoreClient(proc, got.store).get(got.key);
  writeReport(args.report, [`got a channel to the store it never connected to (handle 0x${got.store.toString(16)} in its own space); GET ${got.key} through it -> "${new TextDecoder().decode(value)}"`]);
  proc.close(got.store);
}
