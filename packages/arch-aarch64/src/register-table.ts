import type { FastPathLayout } from '@veridian/core';

/** Number of general-purpose registers in an AArch64 frame (X0–X30). */
export const AARCH64_REGISTER_COUNT = 31;

/** Register names in frame order: index `n` is `xn`. */
export const AARCH64_REGISTER_NAMES: readonly string[] = Object.freeze(
  Array.from({ length: AARCH64_REGISTER_COUNT }, (_, i) => `x${i}`),
);

/** Frame index of each register by name (`Reg.x8 === 8`), as every arch package exports it. */
export const Reg: Readonly<Record<string, number>> = Object.freeze(Object.fromEntries(AARCH64_REGISTER_NAMES.map((n, i) => [n, i])));

/**
 * Registers the small-message fast path uses, by role. The frame index of register `Xn`
 * is `n`.
 */
export const FastPathReg = {
  /** First of the eight data registers X0–X7 (bytes 0–63, little-endian). */
  DATA: 0,
  /** X8: syscall number on entry, status on return (AAPCS64 indirect-result register, Linux's syscall-number register). */
  SYSCALL: 8,
  /** X9: endpoint handle (bits 0–31); sender pid written by the kernel on delivery (bits 32–63). */
  ENDPOINT: 9,
  /** X10: message-info word (bits 0–31: length, capability count, flags; bits 32–63: message type). */
  INFO: 10,
  /** X11: capability 0 (bits 0–31) and capability 1 (bits 32–63). */
  CAPS01: 11,
  /** X12: capability 2 (bits 0–31) and capability 3 (bits 32–63). */
  CAPS23: 12,
} as const;

/** One row of {@link AARCH64_REGISTER_TABLE}. */
export interface RegisterRole {
  /** Frame index (register number). */
  readonly reg: number;
  /** Lowercase register name, e.g. `x8`. */
  readonly name: string;
  /** What the register carries in a fast-path syscall, or why it is left alone. */
  readonly role: string;
}

function roleOf(reg: number): string {
  if (reg < 8) return `data bytes ${reg * 8}–${reg * 8 + 7}`;
  switch (reg) {
    case 8:
      return 'syscall number in; status out';
    case 9:
      return 'lo: endpoint handle; hi: sender pid (kernel-written)';
    case 10:
      return 'lo: info (length, caps, flags); hi: message type';
    case 11:
      return 'lo: cap 0; hi: cap 1';
    case 12:
      return 'lo: cap 2; hi: cap 3';
    case 16:
    case 17:
      return 'unused: IP0/IP1, clobbered by linker veneers';
    case 18:
      return 'unused: platform register';
    case 29:
      return 'unused: frame pointer';
    case 30:
      return 'unused: link register';
    default:
      return 'unused (preserved)';
  }
}

/** The fast-path register table: every register X0–X30 with its role. */
export const AARCH64_REGISTER_TABLE: readonly RegisterRole[] = Object.freeze(
  Array.from({ length: AARCH64_REGISTER_COUNT }, (_, reg) => Object.freeze({ reg, name: `x${reg}`, role: roleOf(reg) })),
);

/** Where each small-message field lives in the AArch64 frame (see {@link FastPathReg}). */
export const AARCH64_FAST_PATH_LAYOUT: FastPathLayout = Object.freeze({
  syscall: Object.freeze({ reg: FastPathReg.SYSCALL, half: 0 as const }),
  endpoint: Object.freeze({ reg: FastPathReg.ENDPOINT, half: 0 as const }),
  sender: Object.freeze({ reg: FastPathReg.ENDPOINT, half: 1 as const }),
  info: Object.freeze({ reg: FastPathReg.INFO, half: 0 as const }),
  type: Object.freeze({ reg: FastPathReg.INFO, half: 1 as const }),
  caps: Object.freeze([
    Object.freeze({ reg: FastPathReg.CAPS01, half: 0 as const }),
    Object.freeze({ reg: FastPathReg.CAPS01, half: 1 as const }),
    Object.freeze({ reg: FastPathReg.CAPS23, half: 0 as const }),
    Object.freeze({ reg: FastPathReg.CAPS23, half: 1 as const }),
  ] as const),
  data: Object.freeze([0, 1, 2, 3, 4, 5, 6, 7] as const),
});
