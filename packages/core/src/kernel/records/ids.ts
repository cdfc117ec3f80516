/**
 * Process ids and endpoint ids: `generation × 65536 + index`. Generations are u32, so ids are
 * safe integers below 2^48; resolving one is an index plus a generation compare, no hashing.
 * This file is the one codec for them.
 */
export const ID_INDEX_SPAN = 0x10000;

/** The id of record `index` at `generation`. */
export function makeId(generation: number, index: number): number {
  return generation * ID_INDEX_SPAN + index;
}

/** The record index an id names (meaningful only for a valid id). */
export function idIndex(id: number): number {
  // `&` keeps the low 32 bits of a safe integer, whose low 16 bits are the index.
  return id & 0xffff;
}

/**
 * The generation an id carries, or -1 when `id` is no id at all (negative, fractional, NaN,
 * beyond 2^48). Division by a power of two is exact, so a valid id gives a whole number.
 */
export function idGeneration(id: number): number {
  const gen = (id - (id & 0xffff)) / ID_INDEX_SPAN;
  return gen >= 1 && gen <= 0xffffffff && Number.isInteger(gen) ? gen : -1;
}
