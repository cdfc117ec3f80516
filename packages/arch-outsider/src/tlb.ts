import {
  type ShootdownTarget,
  type TlbStats,
} from '@veridian/core';
import { G } from './pte.js';

/** Per-CPU direct-mapped TLBs of one MMU instance. */
export class Tlb implements ShootdownTarget {
  readonly n: number;
  readonly mask: number;
  readonly vpn: Int32Array;
  readonly asid: Int32Array;
  readonly shift: Int8Array;
  readonly ppn: Int32Array;
  readonly bits: Int32Array;
  readonly stats: TlbStats = { hits: 0, misses: 0, invalidations: 0, shootdowns: 0, flushes: 0 };

  constructor(cpus: number, entries: number) {
    this.n = entries;
    this.mask = entries - 1;
    this.vpn = new Int32Array(cpus * entries).fill(-1);
    this.asid = new Int32Array(cpus * entries);
    this.shift = new Int8Array(cpus * entries);
    this.ppn = new Int32Array(cpus * entries);
    this.bits = new Int32Array(cpus * entries);
  }

  /** Slot index of a hit for `vpn` in `asid` on `cpu`, or -1. */
  probe(cpu: number, asid: number, vpn: number): number {
    const base = cpu * this.n;
    let s = base + (vpn & this.mask);
    if (this.vpn[s] === vpn && this.shift[s] === 12 && (this.asid[s] === asid || this.bits[s]! & G)) return s;
    const hv = vpn - (vpn & 1023);
    s = base + ((hv >>> 10) & this.mask);
    if (this.vpn[s] === hv && this.shift[s] === 22 && (this.asid[s] === asid || this.bits[s]! & G)) return s;
    return -1;
  }

  fill(cpu: number, asid: number, vpn: number, shift: number, ppn: number, bits: number): void {
    const s = cpu * this.n + ((shift === 12 ? vpn : vpn >>> 10) & this.mask);
    this.vpn[s] = vpn;
    this.asid[s] = asid;
    this.shift[s] = shift;
    this.ppn[s] = ppn;
    this.bits[s] = bits;
  }

  invalidateRange(cpu: number, asid: number, vpn: number, count: number): void {
    this.stats.invalidations++;
    const base = cpu * this.n;
    for (let s = base; s < base + this.n; s++) {
      const v = this.vpn[s]!;
      if (v < 0 || (this.asid[s] !== asid && !(this.bits[s]! & G))) continue;
      const pages = this.shift[s] === 12 ? 1 : 1024;
      if (v < vpn + count && vpn < v + pages) this.vpn[s] = -1;
    }
  }

  flushAsid(cpu: number, asid: number): void {
    this.stats.flushes++;
    const base = cpu * this.n;
    for (let s = base; s < base + this.n; s++) if (this.asid[s] === asid && !(this.bits[s]! & G)) this.vpn[s] = -1;
  }

  flushAll(cpu: number): void {
    this.stats.flushes++;
    this.vpn.fill(-1, cpu * this.n, (cpu + 1) * this.n);
  }
}
