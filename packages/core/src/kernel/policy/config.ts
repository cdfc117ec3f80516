import { IpcError } from '../../contracts/errors.js';
import type { CapHandle } from '../../contracts/capability.js';
import { checkHandle, checkOptions, checkRights, show } from '../args.js';
import { MAX_FILTER_LIST } from '../records/obs-region.js';

/** Largest rate or burst (tokens are u32). */
export const MAX_RATE = 0xffffffff;

/**
 * A token-bucket rate limit per (sender process, endpoint): each message costs one message
 * token and its payload size in byte tokens; buckets refill continuously from the kernel's
 * monotonic clock at `messagesPerSecond` / `bytesPerSecond` up to their burst. A message the
 * bucket cannot pay for fails with `RateLimited` and debits nothing.
 */
export interface RatePolicy {
  /** Messages per second (an integer in [1, 2^32 − 1]). */
  messagesPerSecond?: number;
  /** Payload bytes per second (an integer in [1, 2^32 − 1]). */
  bytesPerSecond?: number;
  /** Message tokens a full bucket holds (default: one second's worth). */
  burstMessages?: number;
  /** Byte tokens a full bucket holds (default: one second's worth). A message larger than this is always `RateLimited`. */
  burstBytes?: number;
}

/** Rules a message must pass to enter the endpoint; a message that breaks one fails with `Filtered`. */
export interface FilterPolicy {
  /** Largest payload in bytes. */
  maxSize?: number;
  /** Message types allowed (at most 8 u32 values). */
  types?: readonly number[];
  /** Sender pids allowed (at most 8). */
  sources?: readonly number[];
  /**
   * A capability (a handle in the space of the process setting the policy) the sender must
   * also hold: a live capability to the same object, with at least `requiredRights`.
   */
  requiredCapability?: CapHandle;
  /** Rights the sender's capability must carry (default 0: any). */
  requiredRights?: number;
}

/** An endpoint's security policy ({@link Process.setPolicy}). */
export interface EndpointPolicy {
  rate?: RatePolicy;
  filter?: FilterPolicy;
}

/** A policy checked and normalized (every field present; 0 / empty = rule off). */
export interface PolicySpec {
  msgRate: number;
  byteRate: number;
  msgBurst: number;
  byteBurst: number;
  maxSize: number;
  types: number[] | null;
  sources: number[] | null;
  requiredCapability: number;
  requiredRights: number;
}

function intIn(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new IpcError('InvalidArgument', `${what} must be an integer in [${min}, ${max}], got ${show(v)}`);
  return v;
}

function list(v: unknown, what: string, max: number): number[] {
  if (!Array.isArray(v)) throw new IpcError('InvalidArgument', `${what} must be an array`);
  if (v.length < 1 || v.length > MAX_FILTER_LIST) throw new IpcError('InvalidArgument', `${what} must list 1–${MAX_FILTER_LIST} values, got ${v.length}`);
  return v.map((x, i) => intIn(x, `${what}[${i}]`, 0, max));
}

/** Checks a policy from user code (`null` clears); `InvalidArgument` for anything malformed. */
export function checkPolicy(policy: unknown): PolicySpec | null {
  if (policy === null) return null;
  const o = checkOptions<EndpointPolicy>(policy, 'policy');
  if (policy === undefined) throw new IpcError('InvalidArgument', 'policy must be an object { rate?, filter? } or null');
  for (const k of Object.keys(o)) if (k !== 'rate' && k !== 'filter') throw new IpcError('InvalidArgument', `unknown policy field ${show(k)}`);
  const r = checkOptions<RatePolicy>(o.rate, 'policy.rate');
  const f = checkOptions<FilterPolicy>(o.filter, 'policy.filter');
  const msgRate = r.messagesPerSecond === undefined ? 0 : intIn(r.messagesPerSecond, 'rate.messagesPerSecond', 1, MAX_RATE);
  const byteRate = r.bytesPerSecond === undefined ? 0 : intIn(r.bytesPerSecond, 'rate.bytesPerSecond', 1, MAX_RATE);
  if (r.burstMessages !== undefined && msgRate === 0) throw new IpcError('InvalidArgument', 'rate.burstMessages needs rate.messagesPerSecond');
  if (r.burstBytes !== undefined && byteRate === 0) throw new IpcError('InvalidArgument', 'rate.burstBytes needs rate.bytesPerSecond');
  if (f.requiredRights !== undefined && f.requiredCapability === undefined) throw new IpcError('InvalidArgument', 'filter.requiredRights needs filter.requiredCapability');
  return {
    msgRate,
    byteRate,
    msgBurst: r.burstMessages === undefined ? msgRate : intIn(r.burstMessages, 'rate.burstMessages', 1, MAX_RATE),
    byteBurst: r.burstBytes === undefined ? byteRate : intIn(r.burstBytes, 'rate.burstBytes', 1, MAX_RATE),
    maxSize: f.maxSize === undefined ? -1 : intIn(f.maxSize, 'filter.maxSize', 0, MAX_RATE),
    types: f.types === undefined ? null : list(f.types, 'filter.types', 0xffffffff),
    sources: f.sources === undefined ? null : list(f.sources, 'filter.sources', Number.MAX_SAFE_INTEGER),
    requiredCapability: f.requiredCapability === undefined ? -1 : checkHandle(f.requiredCapability, 'filter.requiredCapability'),
    requiredRights: f.requiredRights === undefined ? 0 : checkRights(f.requiredRights),
  };
}
