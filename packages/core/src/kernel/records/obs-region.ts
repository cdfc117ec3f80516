/**
 * The observability region of machine memory, laid out after every other region (additive:
 * nothing before it moves). It holds what worker CPUs must see too:
 *
 * - a header ({@link O}) with the region's offsets;
 * - one word per endpoint: the index + 1 of its policy record (0 = none);
 * - `policies` policy records ({@link PR}), each with one token bucket per process record
 *   ({@link B}): the bucket table is exactly `policies × processes`, no eviction;
 * - per-endpoint counters ({@link EC}) and per-process trace words ({@link PT});
 * - the audit ring and the trace ring: fixed-size records ({@link R}) overwritten oldest first.
 */

/** Region header words (from the region's start). */
export const O = {
  NPOL: 0,
  POLMAP: 1,
  POLBASE: 2,
  POL_WORDS: 3,
  EPCOUNT: 4,
  PROCTRACE: 5,
  AUDIT: 6,
  TRACE: 7,
  /** Next flow id (u32, wraps; 0 is never used). */
  FLOW: 8,
  /** Policy records in use (the POLICY flag is on while non-zero). */
  POL_USED: 9,
  /** CPU 0's `performance.timeOrigin` (ms) as a float64 at word 10–11 (8-byte aligned region). */
  ORIGIN: 10,
  SIZE: 16,
} as const;

/** Policy record words. */
export const PR = {
  /** Endpoint index the record belongs to (NONE when free). */
  EP: 0,
  /** The endpoint's E.START when the policy was set (a new incarnation has none). */
  START: 1,
  /** {@link PolicyBit}s. */
  FLAGS: 2,
  MSG_RATE: 3,
  BYTE_RATE: 4,
  MSG_BURST: 5,
  BYTE_BURST: 6,
  MAX_SIZE: 7,
  NTYPES: 8,
  TYPES: 9,
  REQ_KIND: 17,
  REQ_OBJ: 18,
  REQ_GEN: 19,
  REQ_RIGHTS: 20,
  NSRC: 21,
  /** Allowed senders as (record index, generation) pairs. */
  SRC: 22,
  /** Messages refused by this policy. */
  REFUSED: 38,
  /** Bucket table start. */
  BUCKETS: 40,
} as const;

/** Most message types and source processes a filter lists. */
export const MAX_FILTER_LIST = 8;

export const PolicyBit = {
  RATE_MSGS: 0x1,
  RATE_BYTES: 0x2,
  MAX_SIZE: 0x4,
  TYPES: 0x8,
  REQ_CAP: 0x10,
  SOURCES: 0x20,
} as const;

/** Token bucket words (one per sender process record). */
export const B = {
  /** Generation of the sender process the bucket belongs to (0 = unused: full). */
  GEN: 0,
  MSGS: 1,
  BYTES: 2,
  /** Sub-token remainders, in token·ns (< 1e9). */
  MSG_REM: 3,
  BYTE_REM: 4,
  /** Last refill time, integer ns as hi × 2^32 + lo. */
  LAST_HI: 5,
  LAST_LO: 6,
  SIZE: 8,
} as const;

/** Per-endpoint counter words (counted while tracing is on). */
export const EC = {
  START: 0,
  BYTES_LO: 1,
  BYTES_HI: 2,
  /** Messages refused: rate limit, filter, full queue. */
  DROPS: 3,
  /** Sends and calls that found no receiver waiting and queued. */
  QUEUED: 4,
  SIZE: 8,
} as const;

/** Per-process trace words. */
export const PT = {
  /** Flow id of the process's outgoing message (until it is received). */
  FLOW: 0,
  /** Flow id linking its pending call to the reply. */
  CALL_FLOW: 1,
  /** Time its outgoing message or call was sent (ns, hi/lo). */
  TS_HI: 2,
  TS_LO: 3,
  SIZE: 4,
} as const;

/** Ring header words, then `capacity` records. */
export const RING = { CAP: 0, WRITTEN_LO: 1, WRITTEN_HI: 2, SIZE: 4 } as const;

/** Ring record words: one kernel event. */
export const R = {
  TS_HI: 0,
  TS_LO: 1,
  /** kind | cpu << 8 | result << 16. */
  META: 2,
  SRC_LO: 3,
  /** src hi (16 bits) | dst hi << 16. */
  HI: 4,
  DST_LO: 5,
  EP_LO: 6,
  EP_HI: 7,
  TYPE: 8,
  SIZE: 9,
  CAPS: 10,
  FLOW: 11,
  FLOW2: 12,
  /** Latency in ns (send → receive of a one-way message; call → reply), or 2^32 − 1. */
  LATENCY: 13,
  WORDS: 16,
} as const;

/** Sizes of the observability region. */
export interface ObsSizes {
  processes: number;
  endpoints: number;
  /** Ring records: the policy map has a word per endpoint, then one per ring (policy key `endpoints + ring`). */
  rings: number;
  policies: number;
  auditRecords: number;
  traceRecords: number;
}

/** Words the region needs. */
export function obsWords(s: ObsSizes): number {
  const polWords = PR.BUCKETS + s.processes * B.SIZE;
  return O.SIZE + s.endpoints + s.rings + s.policies * polWords + s.endpoints * EC.SIZE + s.processes * PT.SIZE + 2 * RING.SIZE + (s.auditRecords + s.traceRecords) * R.WORDS + 16;
}

/** Formats the region at word `base` (8-byte aligned) of `i32`. */
export function formatObs(i32: Int32Array, base: number, s: ObsSizes): void {
  const polWords = PR.BUCKETS + s.processes * B.SIZE;
  let w = base + O.SIZE;
  i32[base + O.NPOL] = s.policies;
  i32[base + O.POL_WORDS] = polWords;
  i32[base + O.POLMAP] = w;
  w += s.endpoints + s.rings;
  i32[base + O.POLBASE] = w;
  for (let i = 0; i < s.policies; i++) i32[w + i * polWords + PR.EP] = -1;
  w += s.policies * polWords;
  i32[base + O.EPCOUNT] = w;
  w += s.endpoints * EC.SIZE;
  i32[base + O.PROCTRACE] = w;
  w += s.processes * PT.SIZE;
  i32[base + O.AUDIT] = w;
  i32[w + RING.CAP] = s.auditRecords;
  w += RING.SIZE + s.auditRecords * R.WORDS;
  i32[base + O.TRACE] = w;
  i32[w + RING.CAP] = s.traceRecords;
  i32[base + O.FLOW] = 1;
  new Float64Array(i32.buffer, (base + O.ORIGIN) * 4, 1)[0] = globalThis.performance.timeOrigin;
}
