import { ipcErrorCodeOf } from '../../contracts/errors.js';
import { R, RING } from '../records/obs-region.js';
import { KIND_OF, type KernelEvent } from './events.js';

const TWO32 = 0x100000000;
/** Latency word of a record that carries none. */
export const NO_LATENCY = 0xffffffff;

/**
 * A bounded ring of kernel-event records in machine memory (the audit trail and the message
 * trace). Writers hold the big kernel lock (or are CPU 0 alone), so records from several CPUs
 * never interleave; the oldest record is overwritten once the ring is full, and counted.
 * Writing allocates nothing.
 */
export class EventRing {
  readonly #u32: Uint32Array;
  readonly #base: number;
  readonly capacity: number;

  constructor(i32: Int32Array, base: number) {
    this.#u32 = new Uint32Array(i32.buffer);
    this.#base = base;
    this.capacity = i32[base + RING.CAP]!;
  }

  /** Records written since the kernel started. */
  get written(): number {
    return this.#u32[this.#base + RING.WRITTEN_HI]! * TWO32 + this.#u32[this.#base + RING.WRITTEN_LO]!;
  }

  /** Records overwritten before anyone could read them. */
  get overwritten(): number {
    return Math.max(0, this.written - this.capacity);
  }

  /**
   * Appends one record (lock held). `src`, `dst` and `ep` are ids below 2^48; `ts` integer ns.
   */
  write(kind: number, cpu: number, result: number, ts: number, src: number, dst: number, ep: number, type: number, size: number, caps: number, flow: number, flow2: number, latency: number): void {
    if (this.capacity === 0) return;
    const u = this.#u32;
    const b = this.#base;
    const n = this.written;
    const r = b + RING.SIZE + (n % this.capacity) * R.WORDS;
    u[r + R.TS_HI] = Math.floor(ts / TWO32);
    u[r + R.TS_LO] = ts >>> 0;
    u[r + R.META] = kind | (cpu << 8) | (result << 16);
    u[r + R.SRC_LO] = src >>> 0;
    u[r + R.HI] = Math.floor(src / TWO32) | (Math.floor(dst / TWO32) << 16);
    u[r + R.DST_LO] = dst >>> 0;
    u[r + R.EP_LO] = ep >>> 0;
    u[r + R.EP_HI] = Math.floor(ep / TWO32);
    u[r + R.TYPE] = type;
    u[r + R.SIZE] = size;
    u[r + R.CAPS] = caps;
    u[r + R.FLOW] = flow;
    u[r + R.FLOW2] = flow2;
    u[r + R.LATENCY] = latency;
    const lo = (n + 1) >>> 0;
    u[b + RING.WRITTEN_LO] = lo;
    if (lo === 0) u[b + RING.WRITTEN_HI]++;
  }

  /** The record numbered `n` (0 = the first ever written), if still in the ring. */
  read(n: number): KernelEvent | undefined {
    if (n < this.written - this.capacity || n >= this.written || this.capacity === 0) return undefined;
    const u = this.#u32;
    const r = this.#base + RING.SIZE + (n % this.capacity) * R.WORDS;
    const meta = u[r + R.META]!;
    const hi = u[r + R.HI]!;
    const status = meta >>> 16;
    return {
      kind: KIND_OF[meta & 0xff] ?? 'send',
      ts: u[r + R.TS_HI]! * TWO32 + u[r + R.TS_LO]!,
      cpu: (meta >>> 8) & 0xff,
      src: (hi & 0xffff) * TWO32 + u[r + R.SRC_LO]!,
      dst: (hi >>> 16) * TWO32 + u[r + R.DST_LO]!,
      endpoint: u[r + R.EP_HI]! * TWO32 + u[r + R.EP_LO]!,
      type: u[r + R.TYPE]!,
      size: u[r + R.SIZE]!,
      caps: u[r + R.CAPS]!,
      result: status === 0 ? 'ok' : (ipcErrorCodeOf(status) ?? 'InvalidState'),
      flow: u[r + R.FLOW]!,
      callFlow: u[r + R.FLOW2]!,
      latency: u[r + R.LATENCY] === NO_LATENCY ? null : u[r + R.LATENCY]!,
    };
  }

  /** The latency (ns) carried by record `n`, or -1 (allocation-free, for the histograms). */
  latencyOf(n: number): number {
    if (n < this.written - this.capacity || n >= this.written || this.capacity === 0) return -1;
    const v = this.#u32[this.#base + RING.SIZE + (n % this.capacity) * R.WORDS + R.LATENCY]!;
    return v === NO_LATENCY ? -1 : v;
  }

  /** The kind code of record `n` (or -1). */
  kindOf(n: number): number {
    if (n < this.written - this.capacity || n >= this.written || this.capacity === 0) return -1;
    return this.#u32[this.#base + RING.SIZE + (n % this.capacity) * R.WORDS + R.META]! & 0xff;
  }

  /** The endpoint id of record `n` (or -1). */
  endpointOf(n: number): number {
    if (n < this.written - this.capacity || n >= this.written || this.capacity === 0) return -1;
    const r = this.#base + RING.SIZE + (n % this.capacity) * R.WORDS;
    return this.#u32[r + R.EP_HI]! * TWO32 + this.#u32[r + R.EP_LO]!;
  }

  /** Every record still in the ring, oldest first (allocates: not for the hot path). */
  events(): KernelEvent[] {
    const out: KernelEvent[] = [];
    const end = this.written;
    for (let n = Math.max(0, end - this.capacity); n < end; n++) out.push(this.read(n)!);
    return out;
  }
}
