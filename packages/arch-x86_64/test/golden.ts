import { readFileSync } from 'node:fs';

/** Golden fast-path vectors (format of testkit's `FastPathGolden`). */
export interface FastPathGoldenFile {
  arch: string;
  vectors: Array<{
    name: string;
    syscall: number;
    endpoint: number;
    message: { type: number; data: string; caps: number[] };
    registers: Record<string, string>;
  }>;
}

/** Golden page-table vectors (format of testkit's `PageTableGolden`). */
export interface PageTableGoldenFile {
  arch: string;
  entries: Array<{
    name: string;
    va: string;
    pa: string;
    pageSize: number;
    perms: string[];
    markers: string[];
    global: boolean;
    leaf: string;
    tableFlags?: string[];
  }>;
  indices: Array<{ va: string; indices: number[]; offset: number }>;
  invalid: string[];
}

export function readGolden(kind: 'fast-path'): FastPathGoldenFile;
export function readGolden(kind: 'page-table'): PageTableGoldenFile;
export function readGolden(kind: 'fast-path' | 'page-table'): FastPathGoldenFile | PageTableGoldenFile {
  return JSON.parse(readFileSync(new URL(`../../testkit/golden/x86_64/${kind}.json`, import.meta.url), 'utf8'));
}

export function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A canonical address given as hex: a number in the lower half, a bigint above 2^53. */
export function vaOf(hex: string): number | bigint {
  const v = BigInt(hex);
  return v < 2n ** 47n ? Number(v) : v;
}
