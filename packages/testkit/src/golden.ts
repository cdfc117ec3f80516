import { existsSync, readFileSync } from 'node:fs';

/**
 * Golden register-frame vectors of one arch (`golden/<arch>/fast-path.json`): for each
 * message, the exact register values the arch's `FastPathAbi.encode` must produce.
 */
export interface FastPathGolden {
  arch: string;
  vectors: Array<{
    name: string;
    /** Syscall number. */
    syscall: number;
    /** Endpoint capability handle. */
    endpoint: number;
    message: {
      type: number;
      /** Payload as lowercase hex, 0–128 digits. */
      data: string;
      caps: number[];
    };
    /** Every register of the frame by name → value as `0x` + 16 hex digits. */
    registers: Record<string, string>;
  }>;
}

/**
 * Golden page-table vectors of one arch (`golden/<arch>/page-table.json`): leaf entry values
 * for known mappings and the index split of sample addresses.
 */
export interface PageTableGolden {
  arch: string;
  entries: Array<{
    name: string;
    /** Virtual address mapped (hex string). */
    va: string;
    /** Physical address (hex string). */
    pa: string;
    pageSize: number;
    /** `PagePerm` names, e.g. `["READ","WRITE","USER"]`. */
    perms: string[];
    /** `PageMarker` names. */
    markers: string[];
    global: boolean;
    /** Expected raw leaf entry right after `map` (hex string). */
    leaf: string;
    /** Expected raw entries of the whole walk with table addresses masked to zero, top level first (hex strings), if the arch checks them. */
    tableFlags?: string[];
  }>;
  indices: Array<{ va: string; indices: number[]; offset: number }>;
  /** Addresses that must fault as invalid (non-canonical / outside TTBR0). */
  invalid: string[];
}

/**
 * Golden attribute vectors of one arch (`golden/<arch>/attributes.json`): entries and fault
 * information written from primary sources (the architecture manuals, Linux's page-table
 * headers), each naming its `source`. Only the envelope is common; the fields inside each
 * vector are the arch's own, read by that arch's tests.
 */
export interface AttributeGolden {
  arch: string;
  /** Entry values: each names its source and the exact 64-bit entry (`0x` + 16 hex digits). */
  vectors: Array<{ name: string; source: string; entry: string } & Record<string, unknown>>;
  /** Fault-information vectors (error codes / syndromes), each with its source. */
  faults: Array<{ name: string; source: string } & Record<string, unknown>>;
  /** Any further arch-specific groups (e.g. register values), each vector with its source. */
  [group: string]: unknown;
}

/** Kinds of golden file. */
export type GoldenKind = 'fast-path' | 'page-table' | 'attributes';

/** Reads a golden vector file shipped with this package. */
export function goldenVectors(arch: string, kind: 'fast-path'): FastPathGolden;
export function goldenVectors(arch: string, kind: 'page-table'): PageTableGolden;
export function goldenVectors(arch: string, kind: 'attributes'): AttributeGolden;
export function goldenVectors(arch: string, kind: GoldenKind): FastPathGolden | PageTableGolden | AttributeGolden {
  if (!/^[a-z0-9_]+$/.test(arch)) throw new Error(`bad arch name: ${arch}`);
  const url = new URL(`../golden/${arch}/${kind}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as FastPathGolden | PageTableGolden | AttributeGolden;
}

/** Whether this package ships a golden file of `kind` for `arch`. */
export function hasGoldenVectors(arch: string, kind: GoldenKind): boolean {
  return /^[a-z0-9_]+$/.test(arch) && existsSync(new URL(`../golden/${arch}/${kind}.json`, import.meta.url));
}
