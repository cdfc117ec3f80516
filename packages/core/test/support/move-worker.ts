import { SharedBuffer, type Process } from '@veridian/core';

/**
 * Worker-CPU sender: maps `pages` pages, writes page i's first byte as i, moves them to the
 * endpoint `name` with the frame numbers in the message data (as u32s, first 16 pages), then
 * checks that its own access to the moved range faults.
 */
export default function mover(proc: Process, args: { name: string; pages: number }): void {
  let ch = -1;
  for (let i = 0; i < 10_000 && ch < 0; i++) {
    try {
      ch = proc.connect(args.name);
    } catch {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
  const va = proc.memory.map(args.pages * 4096);
  for (let i = 0; i < args.pages; i++) proc.memory.write(va + i * 4096, Uint8Array.of(i & 0xff));
  const frames = proc.memory.frames(va, Math.min(16, args.pages));
  proc.callSync(ch, { type: 1, data: new Uint8Array(frames.buffer), buffer: new SharedBuffer(va, args.pages * 4096), transfer: 'move' });
  try {
    proc.memory.read(va, 1);
  } catch (e) {
    if ((e as { code?: string }).code === 'AccessFault') return;
  }
  throw new Error('the moved range stayed readable');
}
