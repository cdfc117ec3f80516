import { IpcError } from '../../contracts/errors.js';
import { FRAME_SIZE, PhysicalMemory } from '../../memory/physical-memory.js';
import { E, H, LINE_WORDS, M, MAGIC, NONE, ObsFlag, P, PS, PState, R, REG_WORDS, RG, RS, RSC, RST, S, SB } from './layout.js';

/** Rounds a word index up to a 128-byte boundary (a pair of cache lines: where ring slots start). */
const slotPair = (w: number): number => Math.ceil(w / (2 * LINE_WORDS)) * 2 * LINE_WORDS;
import { RegistryWord } from './registry-word.js';
import { formatObs, obsWords, type ObsSizes } from './obs-region.js';

/** Sizes of the record pools carved out of machine memory. */
export interface MachineSizes {
  /** Physical frames (4 KiB each) for page tables, IPC buffers and messages. */
  frames: number;
  /** Process records (at most 32767). */
  processes: number;
  /** Endpoint records (at most 65535). */
  endpoints: number;
  /** Capability slots per process (at most 4096). */
  capSlots: number;
  /** CPUs, including CPU 0 (at most 64; default 64). */
  cpus?: number;
  /** Ring records for async channels and topics (default 64, at most 4096). */
  rings?: number;
  /** Slots per ring, a power of two (default 256, at most 65536): the largest `bufferSize`. */
  ringSlots?: number;
  /** Topic subscriber records (default 128, at most 65535). */
  subscribers?: number;
  /** Endpoint security policies that can be set at once (default 16, at most 1024). */
  policies?: number;
  /** Records of the audit ring (default 0: no audit trail). */
  auditRecords?: number;
  /** Records of the message-trace ring (default 1024). */
  traceRecords?: number;
  /** Frames of each NUMA node (adding up to `frames − 1`); default one node. */
  numaNodes?: readonly number[];
  /** Shared-region records (default 64, at most 4096). */
  regions?: number;
}

/** Bits needed to index `n` things (at least 1). */
function indexBits(n: number): number {
  let b = 1;
  while (1 << b < n) b++;
  return b;
}

/**
 * Machine memory: one `SharedArrayBuffer` holding the kernel header, per-CPU lines, process,
 * endpoint and capability records, the registry and name tables, kernel-owned message
 * shadows, per-process register frames, the wake ring of the main CPU, and the physical
 * frames. Every CPU builds the same views over it.
 */
export class MachineMemory {
  readonly buffer: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly u32: Uint32Array;
  readonly phys: PhysicalMemory;
  readonly nproc: number;
  readonly nep: number;
  readonly nslots: number;
  readonly ncpu: number;
  readonly cpuBase: number;
  readonly procBase: number;
  readonly epBase: number;
  readonly slotBase: number;
  readonly frameBase: number;
  readonly wakeBase: number;
  readonly wakeCap: number;
  /** Int32 index of the endpoint registry table (one word per endpoint). */
  readonly regBase: number;
  /** Int32 index of the name hash buckets. */
  readonly nameBase: number;
  readonly nameMask: number;
  /** Bits of a capability handle that index the slot; the rest are the tag. */
  readonly slotIndexBits: number;
  /** Int32 index of the observability region (policies, audit and trace rings). */
  readonly obsBase: number;
  /** Int32 range of the kernel records (for state snapshots; register frames excluded). */
  readonly recordsStart: number;
  readonly recordsEnd: number;
  /** Int32 index of the ring records (`R` in layout.ts); 0 when the memory has no rings. */
  readonly ringBase: number;
  readonly nring: number;
  /** Slots per ring (a power of two). */
  readonly ringSlots: number;
  /** Int32 index of the ring registry table (one word per ring, a registry word). */
  readonly ringRegBase: number;
  /** Int32 index of the subscriber records (`SB`). */
  readonly subBase: number;
  readonly nsub: number;
  /** Int32 index of the ring slots (`RS`; `ringSlots` per ring), on a 128-byte boundary. */
  readonly ringSlotBase: number;
  /** Int32 index of the slots' capability records (`RSC`; one per slot, same order). */
  readonly ringCapBase: number;
  /** Int32 index of the frame reference counts (one word per physical frame). */
  readonly frefBase: number;
  /** Int32 index of the per-process statistics (`PS`). */
  readonly statsBase: number;
  /** Int32 index of the per-ring statistics (`RST`), after the per-process ones. */
  readonly ringStatsBase: number;
  readonly #frames: Uint32Array[] = [];
  readonly #shadows: Uint32Array[] = [];
  readonly #shadowCaps: Int32Array[] = [];

  private constructor(buffer: SharedArrayBuffer) {
    this.buffer = buffer;
    this.i32 = new Int32Array(buffer);
    this.u32 = new Uint32Array(buffer);
    if (this.i32[H.MAGIC] !== MAGIC) throw new IpcError('InvalidArgument', 'not VeridianOS machine memory');
    const h = (w: number) => this.i32[w]!;
    this.nproc = h(H.NPROC);
    this.nep = h(H.NEP);
    this.nslots = h(H.NSLOTS);
    this.ncpu = h(H.NCPU);
    this.cpuBase = h(H.CPU_BASE);
    this.procBase = h(H.PROC_BASE);
    this.epBase = h(H.EP_BASE);
    this.slotBase = h(H.SLOT_BASE);
    this.frameBase = h(H.FRAME_BASE);
    this.wakeBase = h(H.WAKE_BASE);
    this.wakeCap = h(H.WAKE_CAP);
    this.regBase = h(H.REG_BASE);
    this.nameBase = h(H.NAME_BASE);
    this.nameMask = h(H.NAME_MASK);
    this.slotIndexBits = h(H.SLOT_INDEX_BITS);
    this.obsBase = h(H.OBS_BASE);
    this.recordsStart = this.procBase;
    this.recordsEnd = this.frameBase;
    this.phys = PhysicalMemory.attach(buffer, h(H.PHYS_CTL));
    // The kernel counts its worker CPUs in H.SHARED: with none, no other thread allocates.
    this.phys.lockWhileShared(H.SHARED);
    this.ringBase = h(H.RING_BASE);
    this.nring = h(H.NRING);
    this.ringSlots = h(H.RING_SLOTS);
    this.nsub = h(H.NSUB);
    this.ringRegBase = this.ringBase + this.nring * R.SIZE;
    this.subBase = this.ringRegBase + Math.ceil(this.nring / LINE_WORDS) * LINE_WORDS;
    this.ringSlotBase = slotPair(this.subBase + this.nsub * SB.SIZE);
    this.ringCapBase = this.ringSlotBase + this.nring * this.ringSlots * RS.SIZE;
    this.frefBase = h(H.FREF_BASE);
    this.statsBase = h(H.STATS_BASE);
    this.ringStatsBase = this.statsBase + this.nproc * PS.SIZE;
    for (let p = 0; p < this.nproc; p++) {
      this.#frames.push(this.u32.subarray(this.frameBase + p * REG_WORDS, this.frameBase + (p + 1) * REG_WORDS));
      const m = this.procBase + p * P.SIZE + P.MSG;
      this.#shadows.push(this.u32.subarray(m + M.FRAME, m + M.FRAME + REG_WORDS));
      this.#shadowCaps.push(this.i32.subarray(m + M.CAPS, m + M.CAPS + 4 * M.CAP_WORDS));
    }
  }

  /** Creates and formats machine memory. */
  static create(sizes: MachineSizes): MachineMemory {
    const { frames, processes, endpoints, capSlots } = sizes;
    const cpus = sizes.cpus ?? 64;
    const rings = sizes.rings ?? 64;
    const ringSlots = sizes.ringSlots ?? 256;
    const subscribers = sizes.subscribers ?? 128;
    for (const [k, v, max] of [
      ['processes', processes, 32767],
      ['endpoints', endpoints, 65535],
      ['capSlots', capSlots, 4096],
      ['cpus', cpus, 64],
      ['rings', rings, 4096],
      ['ringSlots', ringSlots, 65536],
      ['subscribers', subscribers, 65535],
      ['policies', sizes.policies ?? 16, 1024],
      ['traceRecords', sizes.traceRecords ?? 1, 1 << 20],
    ] as const) {
      if (!Number.isInteger(v) || v < 1 || v > max) throw new IpcError('InvalidArgument', `${k} must be an integer in [1, ${max}]`);
    }
    if ((ringSlots & (ringSlots - 1)) !== 0) throw new IpcError('InvalidArgument', `ringSlots must be a power of two, got ${ringSlots}`);
    const audit = sizes.auditRecords ?? 0;
    if (!Number.isInteger(audit) || audit < 0 || audit > 1 << 20) throw new IpcError('InvalidArgument', `audit records must be an integer in [0, ${1 << 20}]`);
    const line = (x: number) => Math.ceil(x / LINE_WORDS) * LINE_WORDS;
    let nameBuckets = 1;
    while (nameBuckets < endpoints) nameBuckets <<= 1;
    let w: number = H.SIZE;
    const cpuBase = w;
    w = line(w + cpus * LINE_WORDS);
    const procBase = w;
    w = line(w + processes * P.SIZE);
    const regBase = w;
    w = line(w + endpoints);
    const nameBase = w;
    w = line(w + nameBuckets);
    const epBase = w;
    w = line(w + endpoints * E.SIZE);
    const slotBase = w;
    w = line(w + processes * capSlots * S.SIZE);
    const frameBase = w;
    w = line(w + processes * REG_WORDS);
    const wakeBase = w;
    const wakeCap = processes * 4;
    w += wakeCap * 2;
    // The observability region comes last (additive), 8-byte aligned for its float64 word.
    w = line(w);
    const obsBase = w;
    const obs: ObsSizes = { processes, endpoints, rings, policies: sizes.policies ?? 16, auditRecords: audit, traceRecords: sizes.traceRecords ?? 1024 };
    w += obsWords(obs);
    const physOffset = Math.ceil((w * 4) / FRAME_SIZE) * FRAME_SIZE;
    // The ring region comes after everything else, so no earlier offset moves.
    const ringBase = line(Math.ceil((physOffset + PhysicalMemory.bytesNeeded(frames)) / 4));
    const ringRegBase = ringBase + rings * R.SIZE;
    const subBase = line(ringRegBase + rings);
    const ringSlotBase = slotPair(subBase + subscribers * SB.SIZE);
    // Each slot's capability record, in a table of its own after the slots.
    const ringCapBase = ringSlotBase + rings * ringSlots * RS.SIZE;
    // Frame reference counts (one word per frame) come last of all, so no earlier offset moves.
    const frefBase = ringCapBase + rings * ringSlots * RSC.SIZE;
    const regions = sizes.regions ?? 64;
    if (!Number.isInteger(regions) || regions < 1 || regions > 4096) throw new IpcError('InvalidArgument', 'regions must be an integer in [1, 4096]');
    const regionBase = line(frefBase + frames);
    // Per-process statistics last: not part of any state snapshot.
    const statsBase = line(regionBase + regions * RG.SIZE);
    const total = (statsBase + processes * PS.SIZE + rings * RST.SIZE) * 4;
    let buffer: SharedArrayBuffer;
    try {
      buffer = new SharedArrayBuffer(total);
    } catch (e) {
      throw new IpcError('OutOfMemory', `cannot allocate ${total} bytes of machine memory`, { cause: e });
    }
    const i32 = new Int32Array(buffer);
    const header: Array<[number, number]> = [
      [H.MAGIC, MAGIC],
      [H.NPROC, processes],
      [H.NEP, endpoints],
      [H.NSLOTS, capSlots],
      [H.NCPU, cpus],
      [H.CPU_BASE, cpuBase],
      [H.PROC_BASE, procBase],
      [H.EP_BASE, epBase],
      [H.SLOT_BASE, slotBase],
      [H.FRAME_BASE, frameBase],
      [H.WAKE_BASE, wakeBase],
      [H.WAKE_CAP, wakeCap],
      [H.REG_BASE, regBase],
      [H.NAME_BASE, nameBase],
      [H.NAME_MASK, nameBuckets - 1],
      [H.SLOT_INDEX_BITS, indexBits(capSlots)],
      [H.PHYS_CTL, physOffset],
      [H.MEMORY_BYTES, total],
      [H.RING_BASE, ringBase],
      [H.NRING, rings],
      [H.RING_SLOTS, ringSlots],
      [H.NSUB, subscribers],
      [H.RFREE_HEAD, 1],
      [H.RFREE_TAIL, rings],
      [H.SUBFREE_HEAD, 1],
      [H.SUBFREE_TAIL, subscribers],
      [H.OBS_BASE, obsBase],
      [H.FREF_BASE, frefBase],
      [H.REGION_BASE, regionBase],
      [H.NREGION, regions],
      [H.STATS_BASE, statsBase],
      [H.GFREE_HEAD, 1],
      [H.GFREE_TAIL, regions],
      [H.OBS_FLAGS, obs.auditRecords > 0 ? ObsFlag.AUDIT : 0],
    ];
    for (const [k, v] of header) i32[k] = v;
    formatObs(i32, obsBase, obs);
    // Free records in index order; each freed record goes to the back, so churn rotates.
    for (let p = 0; p < processes; p++) {
      const b = procBase + p * P.SIZE;
      i32[b + P.GEN] = 1;
      i32[b + P.STATE] = PState.FREE;
      i32[b + P.NEXT] = p + 1 < processes ? p + 1 : NONE;
      i32[b + P.WAIT_EP] = NONE;
      i32[b + P.REPLY_SERVER] = NONE;
      i32[b + P.RHEAD] = NONE;
      i32[b + P.EHEAD] = NONE;
      i32[b + P.CS_FREE_HEAD] = 0;
      i32[b + P.CS_FREE_TAIL] = capSlots - 1;
      i32[b + P.CS_FREE] = capSlots;
      i32[b + P.CS_USED_HEAD] = NONE;
      for (let s = 0; s < capSlots; s++) {
        const sb = slotBase + (p * capSlots + s) * S.SIZE;
        i32[sb + S.NEXTTAG] = 1;
        i32[sb + S.NEXT] = s + 1 < capSlots ? s + 1 : NONE;
        i32[sb + S.PREV] = NONE;
      }
    }
    i32[H.PFREE_HEAD] = 0;
    i32[H.PFREE_TAIL] = processes - 1;
    for (let e = 0; e < endpoints; e++) {
      const b = epBase + e * E.SIZE;
      i32[regBase + e] = RegistryWord.CLOSED;
      i32[b + E.GEN] = 1;
      i32[b + E.START] = 1;
      i32[b + E.OWNER] = NONE;
      i32[b + E.PASSIVE] = NONE;
      i32[b + E.NNEXT] = NONE;
      i32[b + E.FREE_NEXT] = e + 1 < endpoints ? e + 1 : NONE;
    }
    i32[H.EFREE_HEAD] = 0;
    i32[H.EFREE_TAIL] = endpoints - 1;
    // Rings and subscribers: free lists in index order (links are index + 1, 0 = none).
    for (let r = 0; r < rings; r++) {
      const b = ringBase + r * R.SIZE;
      i32[b + R.GEN] = 1;
      i32[b + R.START] = 1;
      i32[b + R.FREE_NEXT] = r + 1 < rings ? r + 2 : 0;
    }
    for (let s = 0; s < subscribers; s++) {
      const b = subBase + s * SB.SIZE;
      i32[b + SB.GEN] = 1;
      i32[b + SB.NEXT] = s + 1 < subscribers ? s + 2 : 0;
    }
    for (let g = 0; g < regions; g++) {
      const b = regionBase + g * RG.SIZE;
      i32[b + RG.GEN] = 1;
      i32[b + RG.FREE_NEXT] = g + 1 < regions ? g + 2 : 0;
    }
    PhysicalMemory.create({ frames, buffer, offset: physOffset, nodes: sizes.numaNodes });
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

  /** Int32 index of endpoint record `e`. */
  ep(e: number): number {
    return this.epBase + e * E.SIZE;
  }

  /** Int32 index of capability slot `s` of process `p`. */
  slot(p: number, s: number): number {
    return this.slotBase + (p * this.nslots + s) * S.SIZE;
  }

  /** Int32 index of CPU `cpu`'s kernel-entry state word. */
  cpuState(cpu: number): number {
    return this.cpuBase + cpu * 16;
  }

  /** Register frame of process `p` (a view into machine memory, made once so the hot path allocates nothing). */
  frame(p: number): Uint32Array {
    return this.#frames[p]!;
  }

  /** Kernel-owned message shadow of process `p` (frame layout). */
  shadow(p: number): Uint32Array {
    return this.#shadows[p]!;
  }

  /** Capability snapshots of process `p`'s shadow (4 × kind, object, generation, rights). */
  shadowCaps(p: number): Int32Array {
    return this.#shadowCaps[p]!;
  }

  /** Int32 index of ring record `r`. */
  ring(r: number): number {
    return this.ringBase + r * R.SIZE;
  }

  /**
   * Copy of every kernel record word (processes with their message shadows, registry, names,
   * endpoints, slots; then the ring records, their registry words and the subscriber records;
   * then the frame reference counts) for state comparison. The ring slots (message payloads)
   * are left out, and so are the statistics (`PS`, `RST`).
   */
  snapshotRecords(): Int32Array {
    const a = this.recordsEnd - this.recordsStart;
    const b = a + (this.ringSlotBase - this.ringBase);
    const regionBase = this.i32[H.REGION_BASE]!;
    const regionWords = this.i32[H.NREGION]! * RG.SIZE;
    const out = new Int32Array(b + this.phys.frameCount + regionWords);
    out.set(this.i32.subarray(this.recordsStart, this.recordsEnd));
    out.set(this.i32.subarray(this.ringBase, this.ringSlotBase), a);
    out.set(this.i32.subarray(this.frefBase, this.frefBase + this.phys.frameCount), b);
    out.set(this.i32.subarray(regionBase, regionBase + regionWords), b + this.phys.frameCount);
    return out;
  }
}
