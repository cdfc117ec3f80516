import type { Process } from '@veridian/core';
import { CourierClient, StoreClient } from '../generated/demo.kv.js';
import { writeReport } from '../report.js';

export interface KvClientArgs {
  /** The store's endpoint name. */
  store: string;
  /** Prefix of this client's keys. */
  prefix: string;
  count: number;
  /** When set: afterwards, hand a channel to the store to the courier of this name. */
  courier?: string;
  report: SharedArrayBuffer;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A client on a worker CPU: `count` PUTs and GETs through the generated StoreClient. */
export default async function kvClient(proc: Process, args: KvClientArgs): Promise<void> {
  const channel = proc.connect(args.store);
  const store = new StoreClient(proc, channel);
  const key = (i: number) => `${args.prefix}.k${i}`;
  for (let i = 0; i < args.count; i++) await store.put(key(i), encoder.encode(`${args.prefix} value ${i}`));
  let intact = 0;
  for (let i = 0; i < args.count; i++) if (decoder.decode((await store.get(key(i))).value) === `${args.prefix} value ${i}`) intact++;
  const lines = [`${args.count} PUTs then ${args.count} GETs through StoreClient, ${intact} of ${args.count} values back intact`];
  if (args.courier !== undefined) {
    // Our channel from connect() has SEND only; passing a capability needs SHARE, so we ask
    // the server for one that has it. It passes onward in a generated call: the kernel
    // re-mints it in the courier's space with the same rights.
    const { store: onward } = await store.share();
    await new CourierClient(proc, proc.connect(args.courier)).deliver(onward, key(0));
    proc.close(onward); // ours; the courier holds its own copy
    lines.push(`asked the store for a shareable channel (Store.share) and handed it to the courier (Courier.deliver, key "${key(0)}")`);
  }
  writeReport(args.report, lines);
}
