/** The kill scene: the kv server is killed with a call pending; the caller wakes with ChannelClosed. */
import type { IpcError, ProcessHandle } from '@veridian/core';
import { StoreClient } from '../generated/demo.kv.js';
import type { Scene } from '../scene.js';
import { heading } from '../ui.js';

export async function killScene(s: Scene, server: ProcessHandle): Promise<void> {
  heading('a kill with a call pending');
  const carol = s.kernel.spawn({ name: 'carol', priority: 9 }, async (p) => {
    const store = new StoreClient(p, p.connect('kv'));
    // Store.hold: the server takes the call and never answers it.
    const pending = store.hold();
    // A process has one call outstanding: the generated client queues a second one behind it.
    const second = store.stats().then(
      () => 'answered',
      (e: IpcError) => e.code,
    );
    console.log(`[carol  prio  9] Store.hold sent; a second call (Store.stats) waits in the client's queue behind it`);
    try {
      await pending;
    } finally {
      console.log(`[carol  prio  9] after the kill the queued Store.stats -> ${await second}`);
    }
  });
  // The server holds carol's call without answering; kill it with the call pending.
  await new Promise((r) => setTimeout(r, 5));
  const killed = await server.kill();
  const carolExit = await carol.exited;
  console.log(`[kernel] server ${killed.reason}; carol ${carolExit.reason === 'returned' ? 'got her reply before the kill' : `woke with ${(carolExit.error as IpcError).code}`}`);
  s.ran.push('kill');
}
