import { ReplyStatus, WireWriter, type Process } from '@veridian/core';
import { StoreProtocol, encodeStoreGetRequest, encodeStorePutRequest } from '../generated/demo.kv.js';

/**
 * A client on its own worker CPU: `count` Store.get calls straight through the register fast
 * path, encoded once with the generated encoder and sent with `callSync` (no promise per call);
 * reports ns per round trip.
 */
export default function kvBenchClient(proc: Process, args: { name: string; count: number; out: SharedArrayBuffer }): void {
  const ch = proc.connect(args.name);
  const w = new WireWriter();
  encodeStorePutRequest(w, { key: 'motd', value: new TextEncoder().encode('hello') });
  proc.callSync(ch, { type: StoreProtocol.methods.put.type, data: w.finish().slice() }); // the server may be a fresh one
  w.reset();
  encodeStoreGetRequest(w, { key: 'motd' });
  const get = { type: StoreProtocol.methods.get.type, data: w.finish().slice() };
  if ((proc.callSync(ch, get).type & 0xff) !== ReplyStatus.Ok) throw new Error('Store.get failed');
  for (let i = 0; i < 1000; i++) proc.callSync(ch, get);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < args.count; i++) proc.callSync(ch, get);
  new Float64Array(args.out)[0] = Number(process.hrtime.bigint() - t0) / args.count;
}
