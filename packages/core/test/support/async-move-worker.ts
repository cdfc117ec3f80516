import { SharedBuffer, type Process } from '@veridian/core';

/**
 * Worker-CPU producer of a buffer over an async channel: waits for the SEND handle in `ctl[0]`,
 * then sends `count` Moves of `pages` pages each (page i of message j holds byte j + i) with
 * `sendSync` — the ring has one slot, so each send after the first blocks until the consumer
 * took the one before — and checks its own access to each moved range faults.
 */
export default function asyncMover(proc: Process, args: { ctl: SharedArrayBuffer; pages: number; count: number }): void {
  const ctl = new Int32Array(args.ctl);
  while (Atomics.load(ctl, 0) === 0) Atomics.wait(ctl, 0, 0, 10);
  const ch = proc.channel(Atomics.load(ctl, 0) >>> 0);
  for (let j = 0; j < args.count; j++) {
    const va = proc.memory.map(args.pages * 4096);
    for (let i = 0; i < args.pages; i++) proc.memory.write(va + i * 4096, Uint8Array.of((j + i) & 0xff));
    const frames = proc.memory.frames(va, Math.min(16, args.pages));
    ch.sendSync({ type: j, data: new Uint8Array(frames.buffer), buffer: new SharedBuffer(va, args.pages * 4096), transfer: 'move' });
    let faulted = false;
    try {
      proc.memory.read(va, 1);
    } catch (e) {
      faulted = (e as { code?: string }).code === 'AccessFault';
    }
    if (!faulted) throw new Error('the moved range stayed readable');
  }
}
