/**
 * A shared region: memory that belongs to no process, named by a capability. The owner maps it
 * read-write and hands a derived read-only capability to a peer, whose write faults.
 */
import { type IpcError, PagePerm, Rights, messageCaps } from '@veridian/core';
import type { Scene } from '../scene.js';
import { heading } from '../ui.js';

const enc = new TextEncoder();
const dec = new TextDecoder();

export async function regionScene(s: Scene): Promise<void> {
  const { kernel } = s;
  heading('a shared region with a read-only capability');
  const reader = kernel.spawn({ name: 'viewer', priority: 20 }, async (p) => {
    const m = await p.receive(p.createEndpoint({ name: 'viewer' }));
    const [cap] = messageCaps(m);
    p.reply(m.sender, { type: 0, data: new Uint8Array(0) });
    const va = p.memory.mapRegion(cap!, PagePerm.READ);
    console.log(`[viewer] mapped the region read-only: "${dec.decode(p.memory.read(va, 22))}"`);
    try {
      p.memory.write(va, Uint8Array.of(0));
      s.fail('a read-only region mapping was writable');
    } catch (e) {
      console.log(`[viewer] writing to it -> ${(e as IpcError).code}`);
    }
    p.memory.unmap(va, 4096);
    p.close(cap!);
  });
  await kernel.whenNamed('viewer');
  const owner = kernel.spawn({ name: 'owner', priority: 10 }, async (p) => {
    const region = p.memory.createRegion({ size: 64 * 1024 });
    const va = p.memory.mapRegion(region);
    p.memory.write(va, enc.encode('written by the owner  '));
    const ro = p.derive(region.handle, Rights.MAP | Rights.READ | Rights.SHARE);
    console.log(`[owner]  region of ${region.size >> 10} KiB on node ${region.node}; sending a MAP|READ capability (no WRITE)`);
    await p.call(p.connect('viewer'), { type: 1, data: new Uint8Array(0), caps: [ro] });
    await reader.exited;
    p.memory.unmap(va, region.size);
  });
  for (const h of [owner, reader]) {
    const exit = await h.exited;
    if (exit.reason !== 'returned') throw exit.error;
  }
  s.ran.push('region');
}
