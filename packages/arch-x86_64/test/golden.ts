import { readGolden as read, type AttributeGolden, type FastPathGolden, type PageTableGolden } from '@veridian/testkit';

/** This arch's golden vectors (`golden/<kind>.json` of this package), envelope-checked by testkit. */
export function readGolden(kind: 'fast-path'): FastPathGolden;
export function readGolden(kind: 'page-table'): PageTableGolden;
export function readGolden(kind: 'attributes'): AttributeGolden;
export function readGolden(kind: 'fast-path' | 'page-table' | 'attributes'): FastPathGolden | PageTableGolden | AttributeGolden {
  const url = new URL(`../golden/${kind}.json`, import.meta.url);
  return kind === 'fast-path' ? read(kind, url) : kind === 'page-table' ? read(kind, url) : read(kind, url);
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
