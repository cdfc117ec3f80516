import { goldenVectors, type AttributeGolden, type FastPathGolden, type PageTableGolden } from '@veridian/testkit';

/** This arch's golden vectors, as shipped by `@veridian/testkit`. */
export function readGolden(kind: 'fast-path'): FastPathGolden;
export function readGolden(kind: 'page-table'): PageTableGolden;
export function readGolden(kind: 'attributes'): AttributeGolden;
export function readGolden(kind: 'fast-path' | 'page-table' | 'attributes'): FastPathGolden | PageTableGolden | AttributeGolden {
  return kind === 'fast-path' ? goldenVectors('x86_64', kind) : kind === 'page-table' ? goldenVectors('x86_64', kind) : goldenVectors('x86_64', kind);
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
