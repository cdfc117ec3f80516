import type { RightsMask } from './rights.js';

/** Kinds of kernel object a capability can name. */
export const ObjectKind = {
  Endpoint: 1,
  Channel: 2,
  Process: 3,
  Region: 4,
  Ring: 5,
  Topic: 6,
} as const;

/** One of the {@link ObjectKind} numbers. */
export type ObjectKind = (typeof ObjectKind)[keyof typeof ObjectKind];

/**
 * A capability as the VeridianOS design defines it. User code never holds this record
 * directly; it holds a {@link CapHandle} (a slot number in its capability space) and the
 * kernel validates the handle on every use.
 */
export interface Capability {
  /** Unforgeable 64-bit token (from a cryptographic RNG unless a test seeds one). */
  readonly token: bigint;
  /** Rights bit set (see {@link Rights}). */
  readonly permissions: RightsMask;
  /** Registry id of the object the capability names (index + generation). */
  readonly resource: number;
  /** The object's generation when the capability was minted (u16); revocation bumps it. */
  readonly generation: number;
  /** Kind of object named. */
  readonly kind: ObjectKind;
}

/** A process-local handle to a capability: an index into the process's capability space. */
export type CapHandle = number;
