import { createHash } from 'node:crypto';

/**
 * The 64-bit ordinal of a method, by FIDL's rule (RFC-0029): the first 8 bytes of the
 * SHA-256 of the selector, read little-endian, with the top bit cleared (ordinals with the
 * top bit set are left for the system).
 */
export function methodOrdinal(selector: string): bigint {
  const digest = createHash('sha256').update(selector, 'utf8').digest();
  return digest.readBigUInt64LE(0) & 0x7fff_ffff_ffff_ffffn;
}

/** The message type that travels on the wire: the ordinal's low 32 bits. */
export function messageTypeOf(ordinal: bigint): number {
  return Number(ordinal & 0xffff_ffffn);
}

/** The default selector of a method: `library/Protocol.method`. */
export function defaultSelector(library: string, protocol: string, method: string): string {
  return `${library}/${protocol}.${method}`;
}

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
const FULL_SELECTOR = new RegExp(`^${IDENT}(\\.${IDENT})*/${IDENT}\\.${IDENT}$`);
const SHORT_SELECTOR = new RegExp(`^${IDENT}$`);

/**
 * The selector an `@selector("…")` argument stands for: a full `library/Protocol.method`
 * is used as is; a bare name replaces the method name. `undefined` for a malformed argument.
 */
export function resolveSelector(argument: string, library: string, protocol: string): string | undefined {
  if (FULL_SELECTOR.test(argument)) return argument;
  if (SHORT_SELECTOR.test(argument)) return defaultSelector(library, protocol, argument);
  return undefined;
}
