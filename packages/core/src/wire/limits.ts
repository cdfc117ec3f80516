/**
 * Limits shared by the VIDL wire encoder and decoder.
 *
 * Lengths travel as u32, so no bound can exceed {@link WIRE_MAX_LENGTH}. Nesting is capped
 * because a recursive type (a struct holding an optional of itself) lets a hostile payload
 * ask for unbounded recursion; the cap turns that into an `InvalidArgument` error instead of
 * a stack overflow.
 */

/** Largest length prefix (string, bytes, vector) the wire format can carry: the u32 maximum. */
export const WIRE_MAX_LENGTH = 0xffff_ffff;

/** Deepest nesting of structs and unions the encoder and decoder accept. */
export const WIRE_MAX_DEPTH = 64;
