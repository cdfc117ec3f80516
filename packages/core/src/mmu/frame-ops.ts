import { IpcError } from '../contracts/errors.js';
import { FrameInfo, type AddressSpace, type PagePerms, type VirtualAddress } from '../contracts/mmu.js';
import { FRAME_SIZE, PhysicalMemory } from '../memory/physical-memory.js';

/**
 * The range operations of the `AddressSpace` contract, for every backend: a backend's own
 * `mapFrames` / `unmapFrames` / `readFrames` when it has them (one descent per table), else
 * the same result built from the required `map` / `unmap` / `lookup`, one page at a time —
 * slower, but exact, all-or-nothing, and enough for a backend written before the range
 * operations existed.
 *
 * @example
 * ```ts
 * const frames = new Int32Array(256);
 * frameOps.unmapFrames(sender, va, 256, frames);
 * frameOps.mapFrames(receiver, to, frames, 0, 256, PagePerm.READ | PagePerm.WRITE | PagePerm.USER, PageMarker.LAZY);
 * ```
 */
export const frameOps = {
  /** See `AddressSpace.mapFrames`. */
  mapFrames(space: AddressSpace, va: VirtualAddress, frames: ArrayLike<number>, from: number, count: number, perms: PagePerms, markers = 0): void {
    if (space.mapFrames) return space.mapFrames(va, frames, from, count, perms, markers);
    const base = Number(va);
    let done = 0;
    try {
      for (; done < count; done++) space.map(base + done * FRAME_SIZE, PhysicalMemory.addressOf(frames[from + done]!), FRAME_SIZE, perms, markers ? { markers } : undefined);
    } catch (e) {
      if (done > 0) space.unmap(base, done * FRAME_SIZE);
      throw e;
    }
  },

  /** See `AddressSpace.unmapFrames`. */
  unmapFrames(space: AddressSpace, va: VirtualAddress, count: number, out: Int32Array, at = 0): number {
    if (space.unmapFrames) return space.unmapFrames(va, count, out, at);
    const base = Number(va);
    let mapped = 0;
    for (let i = 0; i < count; i++) {
      const m = space.lookup(base + i * FRAME_SIZE);
      out[at + i] = m ? PhysicalMemory.frameOf(m.pa + (base + i * FRAME_SIZE - Number(m.va))) : -1;
      if (m) mapped++;
    }
    space.unmap(base, count * FRAME_SIZE);
    return mapped;
  },

  /** See `AddressSpace.readFrames`. */
  readFrames(space: AddressSpace, va: VirtualAddress, count: number, frames: Int32Array, info: Int32Array, at = 0): number {
    if (space.readFrames) return space.readFrames(va, count, frames, info, at);
    const base = Number(va);
    let mapped = 0;
    for (let i = 0; i < count; i++) {
      const page = base + i * FRAME_SIZE;
      const m = space.lookup(page);
      if (!m) {
        frames[at + i] = -1;
        info[at + i] = 0;
        continue;
      }
      mapped++;
      frames[at + i] = PhysicalMemory.frameOf(m.pa + (page - Number(m.va)));
      info[at + i] = (m.perms & FrameInfo.PERMS) | (m.markers << FrameInfo.MARKER_SHIFT) | FrameInfo.MAPPED | (m.present ? FrameInfo.PRESENT : 0);
    }
    return mapped;
  },
} as const;

/** `InvalidArgument` unless `count` pages from `va` form a page-aligned range of safe integers. */
export function checkPageRange(va: number, count: number): void {
  if (!Number.isSafeInteger(va) || va < 0 || va % FRAME_SIZE !== 0) throw new IpcError('InvalidArgument', `address ${String(va)} is not a page-aligned address`);
  if (!Number.isSafeInteger(count) || count <= 0) throw new IpcError('InvalidArgument', `page count ${String(count)} is not a positive integer`);
}
