/**
 * The registry word of an endpoint (one u32 per endpoint in the dense registry table): the
 * endpoint's generation while it is open, 0 while it is not. Generations start at 1, so a
 * word names an open endpoint of generation `g` exactly when it equals `g`. The one codec of
 * that word: everything that reads or writes it goes through here.
 */
export const RegistryWord = {
  /** The word of a closed (free or retired) endpoint. */
  CLOSED: 0,
  /** The word of an open endpoint of generation `gen`. */
  open(gen: number): number {
    return gen >>> 0;
  },
  /** True when `word` is an open endpoint's. */
  isOpen(word: number): boolean {
    return word !== 0;
  },
  /** True when `word` is the open endpoint of generation `gen`. */
  matches(word: number, gen: number): boolean {
    return word !== 0 && word === gen;
  },
} as const;
