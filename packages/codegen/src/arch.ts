/**
 * What an architecture's register fast path can carry. Both backends carry 64 data bytes and
 * 4 capabilities today (the kernel contract's `MAX_SMALL_DATA`/`MAX_SMALL_CAPS`); the arch is
 * still a parameter of layout so a backend with other limits only needs an entry here.
 */
export interface ArchLimits {
  /** Arch name as the arch packages spell it. */
  readonly name: string;
  /** Most payload bytes a register message carries. */
  readonly maxSmallData: number;
  /** Most capabilities a register message carries. */
  readonly maxSmallCaps: number;
}

/** The architectures `vidl layout` knows. */
export const ARCHES: Readonly<Record<string, ArchLimits>> = {
  x86_64: { name: 'x86_64', maxSmallData: 64, maxSmallCaps: 4 },
  aarch64: { name: 'aarch64', maxSmallData: 64, maxSmallCaps: 4 },
};

/** Names of {@link ARCHES}, in a stable order. */
export const ARCH_NAMES: readonly string[] = Object.keys(ARCHES);

/**
 * What the kernel's large-message path carries on every arch (core's `MAX_LARGE_DATA` and
 * `MAX_LARGE_CAPS`; a test checks the copies agree). A message whose declared bounds allow
 * more cannot always be sent: `vidl` warns (VIDL0406) and `vidl layout` says `too-large`.
 */
export const KERNEL_LIMITS = { maxLargeData: 1 << 20, maxLargeCaps: 64 } as const;
