import { IpcError } from '../contracts/errors.js';
import { FRAME_SIZE, PhysicalMemory } from '../memory/physical-memory.js';
import { E, EState, H, LINE_WORDS, MAGIC, P, PState, REG_WORDS, Registry, S } from './layout.js';

/** Sizes of the record pools carved out of machine memory. */
export interface MachineSizes {
  /** Physical frames (4 KiB each) for page tables, IPC buffers and messages. */
  frames: number;
  /** Process records. */
  processes: number;
  /** Endpoint records. */
  endpoints: number;
  /** Capability slots per process (at most 4096). */
  capSlots: number;
}

/**
 * Machine memory: one `SharedArrayBuffer` holding the kernel header, process, endpoint and
 * capability records, per-process register frames, the wake ring of the main CPU, and the
 * physical frames. Every CPU builds the same views over it.
 */
export class MachineMemory {
  readonly buffer: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly phys: PhysicalMemory;
  readonly nproc: number;
  readonly nep: number;
  readonly nslots: number;
  readonly procBase: number;
  readonly epBase: number;
  readonly slotBase: number;
  readonly frameBase: number;
  readonly wakeBase: number;
  readonly wakeCap: number;
  /** Int32 index of the endpoint registry table (one word per endpoint). */
  readonly regBase: number;
  /** Int32 range of the records (for state snapshots). */
  readonly recordsStart: number;
  readonly recordsEnd: number;
  readonly #frames: Uint32Array[] = [];

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.i32 = new Int32Array(buffer);
    this.u32 = new Uint32Array(buffer);
    if (this.i32[H.MAGIC] !== MAGIC) throw new IpcError('InvalidArgument', 'not VeridianOS machine memory');
    this.nproc = this.i32[H.NPROC]!;
    this.nep = this.i32[H.NEP]!;
    this.nslots = this.i32[H.NSLOTS]!;
    this.procBase = this.i32[H.PROC_BASE]!;
    this.epBase = this.i32[H.EP_BASE]!;
    this.slotBase = this.i32[H.SLOT_BASE]!;
    this.frameBase = this.i32[H.FRAME_BASE]!;
    this.wakeBase = this.i32[H.WAKE_BASE]!;
    this.wakeCap = this.i32[H.WAKE_CAP]!;
    this.regBase = this.i32[H.REG_BASE]!;
    this.recordsStart = this.procBase;
    this.recordsEnd = this.frameBase;
    this.phys = PhysicalMemory.attach(buffer, this.i32[H.PHYS_CTL]!);
    for (let p = 0; p < this.nproc; p++) this.#frames.push(this.u32.subarray(this.frameBase + p * REG_WORDS, this.frameBase + (p + 1) * REG_WORDS));
  }

  /** Creates and formats machine memory. */
  static create(sizes: MachineSizes): MachineMemory {
    const { frames, processes, endpoints, capSlots } = sizes;
    for (const [k, v, max] of [
      ['processes', processes, 32767],
      ['endpoints', endpoints, 65535],
      ['capSlots', capSlots, 4096],
    ] as const) {
      if (!Number.isInteger(v) || v < 1 || v > max) throw new IpcError('InvalidArgument', `${k} must be an integer in [1, ${max}]`);
    }
    const line = (x: number) => Math.ceil(x / LINE_WORDS) * LINE_WORDS;
    let w: number = H.SIZE;
    const procBase = w;
    w = line(w + processes * P.SIZE);
    const regBase = w;
    w = line(w + endpoints);
    const epBase = w;
    w = line(w + endpoints * E.SIZE);
    const slotBase = w;
    w = line(w + processes * capSlots * S.SIZE);
    const frameBase = w;
    w = line(w + processes * REG_WORDS);
    const wakeBase = w;
    const wakeCap = processes * 2;
    w += wakeCap;
    const physOffset = Math.ceil((w * 4) / FRAME_SIZE) * FRAME_SIZE;
    const total = physOffset + PhysicalMemory.bytesNeeded(frames);
    let buffer: SharedArrayBuffer;
    try {
      buffer = new SharedArrayBuffer(total);
    } catch (e) {
      throw new IpcError('OutOfMemory', `cannot allocate ${total} bytes of machine memory`, { cause: e });
    }
    const i32 = new Int32Array(buffer);
    i32[H.MAGIC] = MAGIC;
    i32[H.NPROC] = processes;
    i32[H.NEP] = endpoints;
    i32[H.NSLOTS] = capSlots;
    i32[H.PROC_BASE] = procBase;
    i32[H.EP_BASE] = epBase;
    i32[H.SLOT_BASE] = slotBase;
    i32[H.FRAME_BASE] = frameBase;
    i32[H.WAKE_BASE] = wakeBase;
    i32[H.WAKE_CAP] = wakeCap;
    i32[H.REG_BASE] = regBase;
    i32[H.REG_WORDS] = REG_WORDS;
    i32[H.PHYS_CTL] = physOffset;
    i32[H.NEXT_CPU] = 1;
    i32[H.MEMORY_BYTES] = total;
    for (let p = 0; p < processes; p++) {
      const b = procBase + p * P.SIZE;
      i32[b + P.GEN] = 1;
      i32[b + P.STATE] = PState.FREE;
    }
    for (let e = 0; e < endpoints; e++) i32[regBase + e] = (1 << Registry.GEN_SHIFT) | EState.FREE;
    for (let s = 0; s < processes * capSlots; s++) i32[slotBase + s * S.SIZE + S.NEXTTAG] = 1;
    PhysicalMemory.create({ frames, buffer, offset: physOffset });
    return new MachineMemory(buffer);
  }

  /** Attaches to machine memory created by another thread. */
  static attach(buffer: SharedArrayBuffer): MachineMemory {
    return new MachineMemory(buffer);
  }

  /** Int32 index of process record `p`. */
  proc(p: number): number {
    return this.procBase + p * P.SIZE;
  }

  /** Generation of endpoint `e`. */
  epGen(e: number): number {
    return this.i32[this.regBase + e]! >>> 2;
  }

  /** State of endpoint `e`: 0 free, 1 open, 2 retired. */
  epState(e: number): number {
    return this.i32[this.regBase + e]! & 3;
  }

  /** Sets endpoint `e`'s registry word. */
  setEp(e: number, gen: number, state: number): void {
    this.i32[this.regBase + e] = (gen << 2) | state;
  }

  /** Int32 index of endpoint record `e`. */
  ep(e: number): number {
    return this.epBase + e * E.SIZE;
  }

  /** Int32 index of capability slot `s` of process `p`. */
  slot(p: number, s: number): number {
    return this.slotBase + (p * this.nslots + s) * S.SIZE;
  }

  /** Register frame of process `p` (a view into machine memory, made once so the hot path allocates nothing). */
  frame(p: number): Uint32Array {
    return this.#frames[p]!;
  }

  /** Copy of every record word (processes, endpoints, capability slots, frames) for state comparison. */
  snapshotRecords(): Int32Array {
    return this.i32.slice(this.recordsStart, this.recordsEnd);
  }
}
