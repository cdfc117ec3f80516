import { IpcError } from '../contracts/errors.js';
import { lockWord, unlockWord } from './spinlock.js';

/** Size of a physical frame (and of the smallest page on every supported arch). */
export const FRAME_SIZE = 4096;
const FRAME_SHIFT = 12;

/**
 * Byte offset of `va` in its page, for a non-negative integer below 2^53: `&` keeps the low 32
 * bits exactly, where `%` of an address above 2^31 is a call to the C library's fmod.
 */
export function pageOffset(va: number): number {
  return va & (FRAME_SIZE - 1);
}

// Control block, in Int32 words from `controlOffset`.
const C_LOCK = 0;
/** Free frames on all nodes. */
const C_TOP = 1;
const C_COUNT = 2;
const C_BASE = 3;
/** Number of NUMA nodes (1 without NUMA). */
const C_NODES = 4;
/** Per node: its first frame, its free count (its stack starts at `C_STACK + first − 1`). */
const C_NODE = 5;
/** Most NUMA nodes a machine has. */
export const MAX_NUMA_NODES = 8;
const C_STACK = C_NODE + 2 * MAX_NUMA_NODES + 3;

/** Options for {@link PhysicalMemory.create}. */
export interface PhysicalMemoryOptions {
  /** Number of 4 KiB frames (frame 0 is reserved and never handed out). */
  frames: number;
  /** Existing shared buffer to carve from (default: a new one of exactly the needed size). */
  buffer?: SharedArrayBuffer;
  /** Byte offset in `buffer` where the control block starts (4-byte aligned). */
  offset?: number;
  /**
   * NUMA nodes: the number of frames each node has, in frame order (they must add up to
   * `frames − 1`: frame 0 is reserved, on node 0). Each node keeps its own free list; an
   * allocation names its node or takes from the lowest node with a free frame. Default: one node.
   */
  nodes?: readonly number[];
}

/**
 * Physical memory of the machine: 4 KiB frames in a `SharedArrayBuffer` with a frame
 * allocator whose state (a free stack guarded by a spinlock) lives in the same buffer, so
 * every CPU — every worker thread — allocates from one pool.
 *
 * Physical address `pa` is byte `framesOffset + pa` of the buffer; frame `n` starts at
 * physical address `n * 4096`. Frame 0 is reserved, so 0 can mean "no frame".
 */
export class PhysicalMemory {
  /** The machine memory. */
  readonly buffer: SharedArrayBuffer;
  /** Whole-buffer views. */
  readonly bytes: Uint8Array;
  readonly u32: Uint32Array;
  readonly i32: Int32Array;
  /** Number of frames, including reserved frame 0. */
  readonly frameCount: number;
  /** Byte offset in `buffer` of physical address 0. */
  readonly framesOffset: number;
  /** Byte offset of the control block (pass to {@link PhysicalMemory.attach}). */
  readonly controlOffset: number;
  readonly #ctl: number;
  /** Number of NUMA nodes. */
  readonly nodeCount: number;
  /** Index of the word that counts the other threads sharing this memory, or −1 (always lock). */
  #sharers = -1;

  private constructor(buffer: SharedArrayBuffer, controlOffset: number) {
    this.buffer = buffer;
    this.bytes = new Uint8Array(buffer);
    this.u32 = new Uint32Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.controlOffset = controlOffset;
    this.#ctl = controlOffset >> 2;
    this.frameCount = this.i32[this.#ctl + C_COUNT]!;
    this.framesOffset = this.i32[this.#ctl + C_BASE]!;
    this.nodeCount = this.i32[this.#ctl + C_NODES]!;
  }

  /**
   * Takes the allocator's lock only while `i32[index]` is non-zero: the word where the owner
   * counts the other threads that use this memory (the kernel's worker CPUs; it raises it on
   * the creating thread before one starts and lowers it once one has stopped). While it is 0 no
   * other thread can be allocating, and the four atomic operations of the lock are saved. Without
   * this call (or with −1) every allocation locks.
   */
  lockWhileShared(index: number): void {
    this.#sharers = index;
  }

  /** True when an allocation must take the lock (see {@link PhysicalMemory.lockWhileShared}). */
  #mustLock(): boolean {
    return this.#sharers < 0 || this.i32[this.#sharers] !== 0;
  }

  /** Bytes needed for the control block and frames of `frames` frames, starting at a 4 KiB boundary. */
  static bytesNeeded(frames: number): number {
    return PhysicalMemory.#controlBytes(frames) + frames * FRAME_SIZE;
  }

  static #controlBytes(frames: number): number {
    return Math.ceil(((C_STACK + frames) * 4) / FRAME_SIZE) * FRAME_SIZE;
  }

  /** Creates physical memory with a fresh allocator (all frames but frame 0 free). */
  static create(options: PhysicalMemoryOptions): PhysicalMemory {
    const frames = options.frames;
    if (!Number.isInteger(frames) || frames < 2 || frames > 0x100000) {
      throw new IpcError('InvalidArgument', `frames must be an integer in [2, 1048576], got ${frames}`);
    }
    const offset = options.offset ?? 0;
    if (offset % FRAME_SIZE !== 0) throw new IpcError('InvalidArgument', 'offset must be 4 KiB aligned');
    const need = offset + PhysicalMemory.bytesNeeded(frames);
    const buffer = options.buffer ?? new SharedArrayBuffer(need);
    if (buffer.byteLength < need) throw new IpcError('InvalidArgument', `buffer too small: ${buffer.byteLength} < ${need}`);
    const nodes: readonly number[] = options.nodes ?? [frames - 1];
    if (!Array.isArray(nodes as unknown) || nodes.length < 1 || nodes.length > MAX_NUMA_NODES || nodes.some((n) => !Number.isInteger(n) || n < 1)) {
      throw new IpcError('InvalidArgument', `nodes must list 1 to ${MAX_NUMA_NODES} positive frame counts`);
    }
    if (nodes.reduce((a, b) => a + b, 0) !== frames - 1) throw new IpcError('InvalidArgument', `the nodes' frames must add up to ${frames - 1} (frame 0 is reserved)`);
    const i32 = new Int32Array(buffer);
    const ctl = offset >> 2;
    i32[ctl + C_COUNT] = frames;
    i32[ctl + C_BASE] = offset + PhysicalMemory.#controlBytes(frames);
    i32[ctl + C_NODES] = nodes.length;
    // Each node's free stack: its highest frames at the bottom so low frames are handed out first.
    let first = 1;
    for (let n = 0; n < nodes.length; n++) {
      const base = ctl + C_STACK + first - 1;
      let top = 0;
      for (let f = first + nodes[n]! - 1; f >= first; f--) i32[base + top++] = f;
      i32[ctl + C_NODE + n * 2] = first;
      i32[ctl + C_NODE + n * 2 + 1] = top;
      first += nodes[n]!;
    }
    i32[ctl + C_TOP] = frames - 1;
    i32[ctl + C_LOCK] = 0;
    return new PhysicalMemory(buffer, offset);
  }

  /** Attaches to physical memory created elsewhere (e.g. by another worker thread). */
  static attach(buffer: SharedArrayBuffer, controlOffset: number): PhysicalMemory {
    return new PhysicalMemory(buffer, controlOffset);
  }

  /** Frames currently free. */
  get freeFrames(): number {
    return Atomics.load(this.i32, this.#ctl + C_TOP);
  }

  /** Frames in use (excluding reserved frame 0). */
  get usedFrames(): number {
    return this.frameCount - 1 - this.freeFrames;
  }

  /**
   * A copy of the allocator's state (the free stack, in order): two equal snapshots mean the
   * same frames are free and will be handed out in the same order.
   */
  snapshot(): Int32Array {
    const ctl = this.#ctl;
    const i32 = this.i32;
    // Under the allocator's lock: another thread may be taking or freeing frames meanwhile.
    const locks = this.#mustLock();
    if (locks) lockWord(i32, ctl + C_LOCK);
    try {
      const out = new Int32Array(Atomics.load(i32, ctl + C_TOP));
      let at = 0;
      for (let n = 0; n < this.nodeCount; n++) {
        const base = ctl + C_STACK + i32[ctl + C_NODE + n * 2]! - 1;
        const top = i32[ctl + C_NODE + n * 2 + 1]!;
        out.set(i32.subarray(base, base + top), at);
        at += top;
      }
      return out;
    } finally {
      if (locks) unlockWord(i32, ctl + C_LOCK);
    }
  }

  /** Free frames on NUMA node `node`. */
  freeFramesOn(node: number): number {
    this.#checkNode(node);
    return Atomics.load(this.i32, this.#ctl + C_NODE + node * 2 + 1);
  }

  /** The NUMA node frame `frame` belongs to. */
  nodeOf(frame: number): number {
    const i32 = this.i32;
    const ctl = this.#ctl;
    let n = this.nodeCount - 1;
    while (n > 0 && frame < i32[ctl + C_NODE + n * 2]!) n--;
    return n;
  }

  #checkNode(node: number): void {
    if (!Number.isInteger(node) || node < 0 || node >= this.nodeCount) throw new IpcError('InvalidArgument', `no NUMA node ${String(node)} (the machine has ${this.nodeCount})`);
  }

  /** Byte offset in {@link buffer} of frame `frame`. */
  frameOffset(frame: number): number {
    return this.framesOffset + frame * FRAME_SIZE;
  }

  /** Byte offset in {@link buffer} of physical address `pa` (which must lie in installed memory). */
  physOffset(pa: number): number {
    return this.framesOffset + pa;
  }

  /** True when `pa` lies in installed memory (outside frame 0). */
  isInstalled(pa: number): boolean {
    return pa >= FRAME_SIZE && pa < this.frameCount * FRAME_SIZE;
  }

  /**
   * Takes a free frame — from NUMA node `node`, or from the lowest node with one free — and
   * zeroes it (unless `zero` is false: the caller writes every word it reads). Throws
   * `OutOfMemory` (nothing changed) when none is free there.
   */
  allocFrame(node?: number, zero = true): number {
    const i32 = this.i32;
    const ctl = this.#ctl;
    if (node !== undefined) this.#checkNode(node);
    const locks = this.#mustLock();
    if (locks) lockWord(i32, ctl + C_LOCK);
    let n = node ?? 0;
    if (node === undefined) while (n < this.nodeCount - 1 && i32[ctl + C_NODE + n * 2 + 1] === 0) n++;
    const top = i32[ctl + C_NODE + n * 2 + 1]!;
    if (top === 0) {
      if (locks) unlockWord(i32, ctl + C_LOCK);
      throw new IpcError('OutOfMemory', node === undefined ? 'no free physical frame' : `no free physical frame on node ${node}`);
    }
    const frame = i32[ctl + C_STACK + i32[ctl + C_NODE + n * 2]! - 1 + top - 1]!;
    Atomics.store(i32, ctl + C_NODE + n * 2 + 1, top - 1);
    Atomics.store(i32, ctl + C_TOP, i32[ctl + C_TOP]! - 1);
    if (locks) unlockWord(i32, ctl + C_LOCK);
    if (zero) this.bytes.fill(0, this.frameOffset(frame), this.frameOffset(frame) + FRAME_SIZE);
    return frame;
  }

  /**
   * Takes `count` frames, or none at all (`OutOfMemory`) if fewer are free. Freeing them in
   * reverse order ({@link PhysicalMemory.freeFrameList}) leaves the allocator exactly as before.
   */
  allocFrames(count: number, out: number[] = [], node?: number, zero = true): number[] {
    const free = node === undefined ? this.freeFrames : this.freeFramesOn(node);
    if (count > free) throw new IpcError('OutOfMemory', `need ${count} frames, ${free} free${node === undefined ? '' : ` on node ${node}`}`);
    const start = out.length;
    try {
      for (let i = 0; i < count; i++) out.push(this.allocFrame(node, zero));
    } catch (e) {
      // Another CPU raced us to the last frames: give back what we took.
      while (out.length > start) this.freeFrame(out.pop()!);
      throw e;
    }
    return out;
  }

  /** Returns `frames[from..to)` to the pool, last first, undoing an {@link PhysicalMemory.allocFrames} exactly. */
  freeFrameList(frames: ArrayLike<number>, from = 0, to = frames.length): void {
    for (let i = to - 1; i >= from; i--) this.freeFrame(frames[i]!);
  }

  /** Returns a frame to the pool. Freeing frame 0, an out-of-range frame, or (detectably) a free frame throws. */
  freeFrame(frame: number): void {
    if (!Number.isInteger(frame) || frame < 1 || frame >= this.frameCount) {
      throw new IpcError('InvalidArgument', `not a frame number: ${frame}`);
    }
    const i32 = this.i32;
    const ctl = this.#ctl;
    const n = this.nodeOf(frame);
    const first = i32[ctl + C_NODE + n * 2]!;
    const size = (n + 1 < this.nodeCount ? i32[ctl + C_NODE + (n + 1) * 2]! : this.frameCount) - first;
    const locks = this.#mustLock();
    if (locks) lockWord(i32, ctl + C_LOCK);
    const top = i32[ctl + C_NODE + n * 2 + 1]!;
    if (top >= size) {
      if (locks) unlockWord(i32, ctl + C_LOCK);
      throw new IpcError('InvalidState', `double free of frame ${frame}`);
    }
    i32[ctl + C_STACK + first - 1 + top] = frame;
    Atomics.store(i32, ctl + C_NODE + n * 2 + 1, top + 1);
    Atomics.store(i32, ctl + C_TOP, i32[ctl + C_TOP]! + 1);
    if (locks) unlockWord(i32, ctl + C_LOCK);
  }

  /** Frame number of physical address `pa`. */
  static frameOf(pa: number): number {
    return Math.floor(pa / FRAME_SIZE);
  }

  /** Physical address of frame `frame`. */
  static addressOf(frame: number): number {
    return frame * FRAME_SIZE;
  }
}

export { FRAME_SHIFT };
