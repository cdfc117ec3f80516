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

/**
 * The length word of a `bytes` field that travels in the message's buffer (sent by Move)
 * instead of inline: the real length follows as a second u32. 2³² − 1 bytes never fit a
 * payload, so the word cannot be mistaken for an inline length.
 */
export const WIRE_IN_BUFFER = 0xffff_ffff;

/** Deepest nesting of structs and unions the encoder and decoder accept. */
export const WIRE_MAX_DEPTH = 64;
