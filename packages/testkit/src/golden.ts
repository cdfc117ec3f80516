import { readFileSync } from 'node:fs';

/**
 * Golden register-frame vectors of one arch (by convention `golden/fast-path.json` in the backend package): for each
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
 * Golden page-table vectors of one arch (by convention `golden/page-table.json` in the backend package): leaf entry values
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
    /** `PagePerm` names mapped, e.g. `["READ","WRITE","USER"]`. */
    perms: string[];
    /** `PagePerm` names `lookup` reads back, when the arch widens the request (default: `perms`). */
    lookupPerms?: string[];
    /** `PageMarker` names. */
    markers: string[];
    global: boolean;
    /** Expected raw leaf entry right after `map` (hex string). */
    leaf: string;
    /** Expected raw entries of the whole walk with table addresses masked to zero, top level first (hex strings), if the arch checks them. */
    tableFlags?: string[];
  }>;
  indices: Array<{ va: string; indices: number[]; offset: number }>;
  /** Addresses that must fault as invalid-address (outside what the arch translates). */
  invalid: string[];
}

/**
 * Golden attribute vectors of one arch (by convention `golden/attributes.json` in the backend package): entries and fault
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

/** A golden value as a backend supplies it: the parsed object, or a JSON file (path or `file:` URL). */
export type GoldenSource<T> = T | string | URL;

/** The golden vectors a backend hands to {@link conformance}; a case whose vectors are missing is skipped with a reason. */
export interface GoldenSet {
  /** Register frames for `fast.golden-frames`. */
  fastPath?: GoldenSource<FastPathGolden>;
  /** Leaf entries, splits and invalid addresses for `mmu.golden-entries` (and extra invalid addresses for `mmu.invalid-address-faults`). */
  pageTable?: GoldenSource<PageTableGolden>;
}

const HEX = /^0x[0-9a-f]+$/i;

function fail(kind: GoldenKind, why: string): never {
  throw new Error(`golden ${kind} vectors: ${why}`);
}

/**
 * Checks the envelope of golden vectors (the fields the suite reads, names unique, attribute
 * vectors naming their primary `source` and giving an exact 64-bit entry). Throws an `Error`
 * naming the first problem; returns the value typed.
 */
export function checkGolden(kind: 'fast-path', value: unknown): FastPathGolden;
export function checkGolden(kind: 'page-table', value: unknown): PageTableGolden;
export function checkGolden(kind: 'attributes', value: unknown): AttributeGolden;
export function checkGolden(kind: GoldenKind, value: unknown): FastPathGolden | PageTableGolden | AttributeGolden {
  const v = value as Record<string, unknown>;
  if (typeof v !== 'object' || v === null || typeof v.arch !== 'string' || v.arch === '') fail(kind, 'no "arch" name');
  const names = new Set<string>();
  const named = (list: unknown, what: string): Array<Record<string, unknown>> => {
    if (!Array.isArray(list)) fail(kind, `"${what}" is not a list`);
    for (const x of list as Array<Record<string, unknown>>) {
      if (typeof x?.name !== 'string' || x.name === '') fail(kind, `an entry of "${what}" has no name`);
      if (names.has(x.name as string)) fail(kind, `duplicate vector name "${x.name as string}"`);
      names.add(x.name as string);
    }
    return list as Array<Record<string, unknown>>;
  };
  if (kind === 'fast-path') {
    const vs = named(v.vectors, 'vectors');
    if (vs.length === 0) fail(kind, 'no vectors');
    for (const x of vs) if (typeof x.registers !== 'object' || typeof x.message !== 'object') fail(kind, `${x.name as string}: needs "message" and "registers"`);
  } else if (kind === 'page-table') {
    const es = named(v.entries, 'entries');
    if (es.length === 0) fail(kind, 'no entries');
    for (const e of es) for (const f of ['va', 'pa', 'leaf'] as const) if (typeof e[f] !== 'string' || !HEX.test(e[f] as string)) fail(kind, `${e.name as string}: "${f}" is not a hex string`);
    if (!Array.isArray(v.indices) || !Array.isArray(v.invalid)) fail(kind, 'needs "indices" and "invalid" lists');
  } else {
    const vs = named(v.vectors, 'vectors');
    const fs = named(v.faults, 'faults');
    if (vs.length === 0 || fs.length === 0) fail(kind, 'needs vectors and faults');
    for (const x of [...vs, ...fs]) if (typeof x.source !== 'string' || x.source.trim().length < 8) fail(kind, `${x.name as string}: names no primary source`);
    for (const x of vs) if (typeof x.entry !== 'string' || !/^0x[0-9a-f]{16}$/.test(x.entry)) fail(kind, `${x.name as string}: entry is not 0x + 16 hex digits`);
  }
  return value as FastPathGolden | PageTableGolden | AttributeGolden;
}

/**
 * Reads golden vectors of `kind` from a JSON file (a path, or a URL such as
 * `new URL('../golden/fast-path.json', import.meta.url)`) or takes an object as is, and
 * checks its envelope with {@link checkGolden}.
 *
 * @example
 * ```ts
 * import { readGolden } from '@veridian/testkit';
 *
 * const frames = readGolden('fast-path', new URL('../golden/fast-path.json', import.meta.url));
 * ```
 */
export function readGolden(kind: 'fast-path', source: GoldenSource<FastPathGolden>): FastPathGolden;
export function readGolden(kind: 'page-table', source: GoldenSource<PageTableGolden>): PageTableGolden;
export function readGolden(kind: 'attributes', source: GoldenSource<AttributeGolden>): AttributeGolden;
export function readGolden(kind: GoldenKind, source: GoldenSource<FastPathGolden | PageTableGolden | AttributeGolden>): FastPathGolden | PageTableGolden | AttributeGolden {
  const value: unknown = typeof source === 'string' || source instanceof URL ? JSON.parse(readFileSync(source, 'utf8')) : source;
  return checkGolden(kind as 'fast-path', value);
}
