import { IpcError, Rights, type Process } from '@veridian/core';
import { Failure, StoreError, serveStore } from '../generated/demo.kv.js';

/**
 * The key-value server, alone on its worker CPU: `serveStore` (generated from idl/demo.kv.vidl)
 * receives, decodes, runs these handlers and replies, one request at a time.
 */
export default async function kvServer(proc: Process, args: { name: string }): Promise<void> {
  const store = new Map<string, Uint8Array>();
  let reads = 0;
  let writes = 0;
  const endpoint = proc.createEndpoint({ name: args.name, capacity: 16 });
  // One shareable capability, handed out by every `share` (the kernel copies it into the caller).
  const shareable = proc.derive(endpoint, Rights.SEND | Rights.SHARE);
  const handle = serveStore(proc, endpoint, {
    put(key, value) {
      writes++;
      store.set(key, value);
    },
    get(key) {
      reads++;
      const value = store.get(key);
      if (value === undefined) throw new StoreError(Failure.NOT_FOUND);
      return { value };
    },
    remove(key) {
      if (!store.delete(key)) throw new StoreError(Failure.NOT_FOUND);
    },
    share: () => ({ store: shareable }),
    stats: () => ({ keys: store.size, reads, writes }),
    hold() {
      // Blocks this CPU in the kernel on an endpoint nobody knows: the call stays unanswered
      // until the server is killed.
      proc.receiveSync(proc.createEndpoint());
    },
  }, {
    // The kill ends that wait with ProcessNotFound, which the serve loop would report as a
    // failed handler; anything else is worth a line on stderr.
    onError: (e) => {
      if (!(e instanceof IpcError && e.code === 'ProcessNotFound')) console.error(e);
    },
  });
  await handle.closed;
}
