/**
 * Zero-copy large transfers: 1 MiB moved by page-table edits (the receiver maps the sender's very
 * frames, lazily; the sender's addresses fault afterwards), then a Share where one copy-on-write
 * write makes exactly one page differ. Both ends on CPU 0: the frames are what matters here.
 */
import { type IpcError, SharedBuffer, type Process } from '@veridian/core';
import type { Scene } from '../scene.js';
import { heading } from '../ui.js';

const PAGE = 4096;
const MiB = 1 << 20;
const PAGES = MiB / PAGE;
const EMPTY = new Uint8Array(0);

const few = (frames: ArrayLike<number>) => `${Array.from(frames).slice(0, 4).join(', ')}, …`;

export async function zeroCopyScene(s: Scene): Promise<void> {
  const { kernel } = s;
  heading('zero-copy: 1 MiB by Move, 64 KiB by Share');
  let sent: Int32Array | undefined;
  const receiver = kernel.spawn({ name: 'sink', priority: 20 }, async (p) => {
    const ep = p.createEndpoint({ name: 'sink' });
    const moved = await p.receive(ep);
    const b = moved.buffer!;
    const frames = p.memory.frames(b.va, PAGES);
    const same = Array.from(frames).every((f, i) => f === sent![i]);
    console.log(`[sink]   got ${b.length >> 10} KiB at 0x${b.va.toString(16)}; frames ${few(frames)} ${same ? 'are the sender\'s former frames (no byte copied)' : 'DIFFER from the sender\'s'}`);
    if (!same) s.fail('moved frames are not the sender\'s');
    const lazy = p.memory.pages(b.va, PAGES).every((st) => st.mapped && !st.present);
    const first = p.memory.read(b.va + 5 * PAGE, 1)[0];
    const present = p.memory.pages(b.va, PAGES).filter((st) => st.present).length;
    console.log(`[sink]   mapped lazily: ${lazy ? 'no page present before the first access' : 'pages were present?!'}; after reading page 5 (it holds ${first}), ${present} page present`);
    if (!lazy || present !== 1 || first !== 5) s.fail('the moved buffer was not mapped lazily');
    p.memory.unmap(b.va, b.length);
    p.reply(moved.sender, { type: 0, data: EMPTY });

    const shared = await p.receive(ep);
    const sb = shared.buffer!;
    const before = p.memory.frames(sb.va, 16);
    p.memory.write(sb.va + 3 * PAGE, Uint8Array.of(99)); // the copy-on-write fault copies this one page
    const after = p.memory.frames(sb.va, 16);
    const differ = Array.from(before).filter((f, i) => f !== after[i]).length;
    console.log(`[sink]   shared 16 pages read-only copy-on-write (frames ${few(before)}); one write to page 3 -> ${differ} page's frame differs (${before[3]} -> ${after[3]})`);
    if (differ !== 1) s.fail(`a copy-on-write write changed ${differ} frames`);
    p.reply(shared.sender, { type: 0, data: EMPTY });
  });
  await kernel.whenNamed('sink');
  const sender = kernel.spawn({ name: 'source', priority: 10 }, async (p: Process) => {
    const ch = p.connect('sink');
    const va = p.memory.map(MiB);
    // Fill through zero-copy views straight over the frames (one Uint8Array per contiguous run).
    let page = 0;
    for (const v of p.memory.views(va, MiB, { write: true })) for (let i = 0; i < v.length; i += PAGE) v.fill(page++ & 0xff, i, i + PAGE);
    sent = p.memory.frames(va, PAGES);
    console.log(`[source] mapped and filled 1 MiB at 0x${va.toString(16)}: frames ${few(sent)}; sending it with transfer: 'move'`);
    await p.call(ch, { type: 1, data: EMPTY, buffer: new SharedBuffer(va, MiB), transfer: 'move' });
    try {
      p.memory.read(va, 1);
      console.log('[source] reading the moved memory: still readable?!');
      s.fail('the sender could still read moved memory');
    } catch (e) {
      console.log(`[source] reading the moved memory -> ${(e as IpcError).code} (its pages left with the message)`);
    }
    const small = p.memory.map(16 * PAGE);
    p.memory.write(small + 3 * PAGE, Uint8Array.of(5));
    await p.call(ch, { type: 2, data: EMPTY, buffer: new SharedBuffer(small, 16 * PAGE), transfer: 'share' });
    console.log(`[source] after the peer's write my page 3 still reads ${p.memory.read(small + 3 * PAGE, 1)[0]} (the other side keeps the old bytes)`);
    p.memory.unmap(small, 16 * PAGE);
  });
  for (const h of [sender, receiver]) {
    const exit = await h.exited;
    if (exit.reason !== 'returned') throw exit.error;
  }
  s.ran.push('zero-copy');
}
