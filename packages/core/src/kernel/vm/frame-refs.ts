import type { MachineMemory } from '../records/machine-memory.js';

/** Set on the frames of a shared region: they are shared on purpose (no copy-on-write), and travel only by capability. */
const REGION = 1 << 29;
const COUNT = REGION - 1;

/**
 * Reference counts of the frames that back process memory and shared regions: one word per
 * physical frame in machine memory (so every CPU sees the same counts), the number of
 * address-space mappings, in-flight messages and region objects holding the frame. A frame
 * is freed when its count drops to 0. Kernel-internal frames (page tables, IPC buffers,
 * message descriptors) are not counted here: their owner frees them. Lock held.
 */
export class FrameRefs {
  readonly #i32: Int32Array;
  readonly #base: number;
  readonly #mm: MachineMemory;

  constructor(mm: MachineMemory) {
    this.#mm = mm;
    this.#i32 = mm.i32;
    this.#base = mm.frefBase;
  }

  /** References held on `frame`. */
  count(frame: number): number {
    return this.#i32[this.#base + frame]! & COUNT;
  }

  /** Sets a fresh frame's count to 1 (`region`: it backs a shared region). */
  own(frame: number, region = false): void {
    this.#i32[this.#base + frame] = region ? REGION | 1 : 1;
  }

  /** True when `frame` backs a shared region. */
  isRegion(frame: number): boolean {
    return (this.#i32[this.#base + frame]! & REGION) !== 0;
  }

  /** One more reference. */
  retain(frame: number): void {
    this.#i32[this.#base + frame]!++;
  }

  /** One reference fewer; frees the frame at 0. Returns the count left. */
  release(frame: number): number {
    const w = this.#base + frame;
    const left = (this.#i32[w]! & COUNT) - 1;
    if (left <= 0) {
      this.#i32[w] = 0;
      this.#mm.phys.freeFrame(frame);
      return 0;
    }
    this.#i32[w] = (this.#i32[w]! & REGION) | left;
    return left;
  }

  /**
   * For the first list frame of a descriptor's page lists (a kernel frame, counted nowhere
   * else): how many descriptors besides one share those lists (`vm/list-sets.ts`).
   */
  links(listFrame: number): number {
    return this.#i32[this.#base + listFrame]!;
  }

  /** Sets {@link FrameRefs.links} of a list frame (0 for lists one descriptor holds alone). */
  setLinks(listFrame: number, n: number): void {
    this.#i32[this.#base + listFrame] = n;
  }
}
