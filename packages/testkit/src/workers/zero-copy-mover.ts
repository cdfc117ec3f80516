import { SharedBuffer, type Process } from '@veridian/core';

/** Arguments of the zero-copy mover worker. */
export interface ZeroCopyMoverArgs {
  /** Name of the CPU-0 server's endpoint (registered before the worker starts). */
  name: string;
  /** Pages to map, fill and move. */
  pages: number;
  /** Page i holds bytes `(i * 31 + j + salt) & 0xff`. */
  salt: number;
}

const PAGE = 4096;

/**
 * Worker-CPU sender of `large.move-zero-copy`: maps and fills `pages` pages, moves them to the
 * server with their frame numbers (u32 each) as the message data, then checks that its own
 * range faults and is no longer its memory, then calls again: the buffer moved back in that reply is the very same
 * frames with the same bytes. Throws on the first difference.
 */
export default function zeroCopyMover(proc: Process, args: ZeroCopyMoverArgs): void {
  const { pages, salt } = args;
  const length = pages * PAGE;
  const ch = proc.connect(args.name);
  const va = proc.memory.map(length);
  const bytes = new Uint8Array(length);
  for (let i = 0; i < pages; i++) for (let j = 0; j < PAGE; j++) bytes[i * PAGE + j] = (i * 31 + j + salt) & 0xff;
  proc.memory.write(va, bytes);
  const frames = proc.memory.frames(va, pages);
  proc.callSync(ch, { type: 1, data: new Uint8Array(frames.slice().buffer), buffer: new SharedBuffer(va, length), transfer: 'move' });
  let code = 'ok';
  try {
    proc.memory.read(va, 1);
  } catch (e) {
    code = (e as { code?: string }).code ?? String(e);
  }
  if (code !== 'AccessFault') throw new Error(`the moved range read as ${code}, want AccessFault`);
  if (proc.memory.pages(va, pages).some((s) => s.mapped)) throw new Error('a moved page is still mapped in the sender');
  // The moved range's addresses went back to the free ranges: it is not this process's memory any more.
  let unmapped = 'ok';
  try {
    proc.memory.unmap(va, length);
  } catch (e) {
    unmapped = (e as { code?: string }).code ?? String(e);
  }
  if (unmapped !== 'InvalidArgument') throw new Error(`unmap of the moved range gave ${unmapped}, want InvalidArgument`);
  const back = proc.callSync(ch, { type: 2, data: new Uint8Array(0) }).buffer;
  if (back === null || back.length !== length) throw new Error(`the reply carries ${back === null ? 'no buffer' : `${back.length} bytes`}, want ${length}`);
  const home = proc.memory.frames(back.va, pages);
  for (let i = 0; i < pages; i++) if (home[i] !== frames[i]) throw new Error(`page ${i} came back in frame ${home[i]}, it left in frame ${frames[i]}`);
  const got = proc.memory.read(back.va, length);
  for (let i = 0; i < length; i++) if (got[i] !== bytes[i]) throw new Error(`byte ${i} came back as ${got[i]}, want ${bytes[i]}`);
  proc.memory.unmap(back.va, length);
}
