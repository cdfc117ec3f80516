/** The kill scene: the kv server is killed with a call pending; the caller wakes with ChannelClosed. */
import type { IpcError, ProcessHandle } from '@veridian/core';
import { Op, encodeEntry } from '../protocol.js';
import type { Scene } from '../scene.js';
import { heading } from '../ui.js';

export async function killScene(s: Scene, server: ProcessHandle): Promise<void> {
  heading('a kill with a call pending');
  const carol = s.kernel.spawn({ name: 'carol', priority: 9 }, async (p) => {
    const ch = p.connect('kv');
    const pending = p.call(ch, { type: Op.HOLD, data: encodeEntry('motd') });
    await p.call(ch, { type: Op.GET, data: encodeEntry('motd') }).catch((e: IpcError) => console.log(`[carol  prio  9] a second call while one is pending -> ${e.code}`));
    return pending;
  });
  // The server holds carol's call without answering; kill it with the call pending.
  await new Promise((r) => setTimeout(r, 5));
  const killed = await server.kill();
  const carolExit = await carol.exited;
  console.log(`[kernel] server ${killed.reason}; carol ${carolExit.reason === 'returned' ? 'got her reply before the kill' : `woke with ${(carolExit.error as IpcError).code}`}`);
  s.ran.push('kill');
}
