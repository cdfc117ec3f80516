import { AccessKind, PagePerm, PhysicalMemory, type Arch } from '@veridian/core';
import { measureSync, type Measurement, type SamplerOptions } from './sampler.js';

const BASE = 0x40_0000;
const RW_USER = PagePerm.READ | PagePerm.WRITE | PagePerm.USER;

/** `mmu-translate-hit`: translating an address whose translation is in the TLB. */
export function translateHit(arch: Arch, opts: SamplerOptions): Measurement {
  const phys = PhysicalMemory.create({ frames: 256 });
  const mmu = arch.createMmu(phys, { cpus: 1 });
  const space = mmu.createAddressSpace();
  space.map(BASE, 16 * 4096, 4096, RW_USER);
  let sink = 0;
  const m = measureSync((n) => {
    for (let i = 0; i < n; i++) sink += space.translate(BASE + 0x123, AccessKind.Read, 0, true);
  }, opts);
  if (sink === 0) throw new Error('translate returned nothing');
  return m;
}

/**
 * `mmu-translate-miss`: translating addresses that are never in the TLB, so every one walks the
 * four levels: a working set of 2048 pages, far beyond the TLB, visited in a scattered order.
 * Also returns the measured miss ratio so the report can show the walk was really taken.
 */
export function translateMiss(arch: Arch, opts: SamplerOptions): Measurement & { miss_ratio: number } {
  const pages = 2048;
  const phys = PhysicalMemory.create({ frames: 256 });
  const mmu = arch.createMmu(phys, { cpus: 1 });
  const space = mmu.createAddressSpace();
  space.map(BASE, 32 * 4096, pages * 4096, RW_USER);
  const order = Uint32Array.from({ length: pages }, (_, i) => BASE + ((i * 997) % pages) * 4096 + 8);
  let sink = 0;
  // The cursor persists across batches, so warm-up and short batches also sweep all the pages.
  let cursor = 0;
  const before = { ...mmu.tlbStats };
  const m = measureSync((n) => {
    for (let i = 0; i < n; i++) {
      sink += space.translate(order[cursor]!, AccessKind.Read, 0, true);
      cursor = (cursor + 1) & (pages - 1);
    }
  }, opts);
  const misses = mmu.tlbStats.misses - before.misses;
  const hits = mmu.tlbStats.hits - before.hits;
  if (sink === 0) throw new Error('translate returned nothing');
  return { ...m, miss_ratio: Math.round((misses / Math.max(1, misses + hits)) * 1000) / 1000 };
}

/** `mmu-map-unmap-256`: map 256 pages, then unmap them (one operation = both). */
export function mapUnmap256(arch: Arch, opts: SamplerOptions): Measurement {
  const phys = PhysicalMemory.create({ frames: 256 });
  const mmu = arch.createMmu(phys, { cpus: 2 });
  const space = mmu.createAddressSpace();
  const baseline = phys.freeFrames;
  const m = measureSync((n) => {
    for (let i = 0; i < n; i++) {
      space.map(BASE, 64 * 4096, 256 * 4096, RW_USER);
      space.unmap(BASE, 256 * 4096);
    }
  }, opts);
  if (phys.freeFrames !== baseline) throw new Error('map/unmap leaked table frames');
  return m;
}
