import type { FastPathLayout } from '@veridian/core';

/** Number of integer registers in an RV64 frame (x0–x31; x0 reads as zero). */
export const RISCV64_REGISTER_COUNT = 32;

/** Register ABI names in frame order: index `n` is `xn` (RISC-V psABI names). */
export const RISCV64_REGISTER_NAMES = Object.freeze([
  'zero', 'ra', 'sp', 'gp', 'tp', 't0', 't1', 't2',
  's0', 's1', 'a0', 'a1', 'a2', 'a3', 'a4', 'a5',
  'a6', 'a7', 's2', 's3', 's4', 's5', 's6', 's7',
  's8', 's9', 's10', 's11', 't3', 't4', 't5', 't6',
] as const);

/** ABI name of one RV64 integer register. */
export type Riscv64RegisterName = (typeof RISCV64_REGISTER_NAMES)[number];

/** Frame index of each register by ABI name (e.g. `Reg.a7 === 17`). */
export const Reg: Readonly<Record<Riscv64RegisterName, number>> = Object.freeze(
  Object.fromEntries(RISCV64_REGISTER_NAMES.map((n, i) => [n, i])) as Record<Riscv64RegisterName, number>,
);

/**
 * Registers the small-message fast path uses, by role (frame index = `xn`).
 */
export const FastPathReg = Object.freeze({
  /** a7 (x17): syscall number on entry, as in the RISC-V Linux syscall ABI. */
  SYSCALL: Reg.a7,
  /** a0 (x10): endpoint handle on entry (bits 0–31); the status on return, as Linux returns in a0. */
  STATUS: Reg.a0,
  /** a0 (x10): endpoint handle on entry. */
  ENDPOINT: Reg.a0,
  /** a1 (x11): message-info word (bits 0–31) and message type (bits 32–63). */
  INFO: Reg.a1,
  /** a2 (x12): capability 0 (bits 0–31) and 1 (bits 32–63). */
  CAPS01: Reg.a2,
  /** a3 (x13): capability 2 (bits 0–31) and 3 (bits 32–63). */
  CAPS23: Reg.a3,
  /** a4 (x14): sender pid, written by the kernel on delivery (bits 0–31). */
  SENDER: Reg.a4,
});

/** The eight data registers in byte order: a5, a6, t0, t1, t2, t3, t4, t5 (8 bytes each, little-endian). */
export const DATA_REGISTERS = Object.freeze([Reg.a5, Reg.a6, Reg.t0, Reg.t1, Reg.t2, Reg.t3, Reg.t4, Reg.t5] as const);

/** One row of {@link RISCV64_REGISTER_TABLE}. */
export interface RegisterRole {
  /** Frame index (register number `xn`). */
  readonly reg: number;
  /** ABI name, e.g. `a7`. */
  readonly name: string;
  /** What the register carries in a fast-path syscall, or why it is left alone. */
  readonly role: string;
}

function roleOf(reg: number): string {
  const d = DATA_REGISTERS.indexOf(reg as (typeof DATA_REGISTERS)[number]);
  if (d >= 0) return `data bytes ${d * 8}–${d * 8 + 7}`;
  switch (reg) {
    case Reg.a7:
      return 'syscall number in';
    case Reg.a0:
      return 'lo: endpoint handle in; status out';
    case Reg.a1:
      return 'lo: info (length, caps, flags); hi: message type';
    case Reg.a2:
      return 'lo: cap 0; hi: cap 1';
    case Reg.a3:
      return 'lo: cap 2; hi: cap 3';
    case Reg.a4:
      return 'lo: sender pid (kernel-written)';
    case 0:
      return 'unused: hard-wired zero';
    case Reg.ra:
      return 'unused: return address';
    case Reg.sp:
      return 'unused: stack pointer';
    case Reg.gp:
      return 'unused: global pointer';
    case Reg.tp:
      return 'unused: thread pointer';
    default:
      return 'unused (preserved)';
  }
}

/** The fast-path register table: every register x0–x31 with its role. */
export const RISCV64_REGISTER_TABLE: readonly RegisterRole[] = Object.freeze(
  RISCV64_REGISTER_NAMES.map((name, reg) => Object.freeze({ reg, name, role: roleOf(reg) })),
);

/**
 * Where each small-message field lives in the RV64 frame. The syscall number goes in a7 and the
 * status comes back in a0, as in the RISC-V Linux syscall ABI (`ecall`: a7 = number,
 * a0–a5 = arguments, a0 = return value); `ecall` itself clobbers no register.
 *
 * | field | slot |
 * | --- | --- |
 * | syscall number | a7 bits 0–31 |
 * | status (return) | a0 bits 0–31 |
 * | endpoint handle | a0 bits 0–31 |
 * | info (length, caps, flags) | a1 bits 0–31 |
 * | message type | a1 bits 32–63 |
 * | caps 0, 1 | a2 bits 0–31, 32–63 |
 * | caps 2, 3 | a3 bits 0–31, 32–63 |
 * | sender pid (kernel-written) | a4 bits 0–31 |
 * | data bytes 0–63 | a5, a6, t0, t1, t2, t3, t4, t5 (8 bytes each, little-endian) |
 */
export const RISCV64_FAST_PATH_LAYOUT: FastPathLayout = Object.freeze({
  syscall: Object.freeze({ reg: FastPathReg.SYSCALL, half: 0 as const }),
  status: Object.freeze({ reg: FastPathReg.STATUS, half: 0 as const }),
  endpoint: Object.freeze({ reg: FastPathReg.ENDPOINT, half: 0 as const }),
  sender: Object.freeze({ reg: FastPathReg.SENDER, half: 0 as const }),
  info: Object.freeze({ reg: FastPathReg.INFO, half: 0 as const }),
  type: Object.freeze({ reg: FastPathReg.INFO, half: 1 as const }),
  caps: Object.freeze([
    Object.freeze({ reg: FastPathReg.CAPS01, half: 0 as const }),
    Object.freeze({ reg: FastPathReg.CAPS01, half: 1 as const }),
    Object.freeze({ reg: FastPathReg.CAPS23, half: 0 as const }),
    Object.freeze({ reg: FastPathReg.CAPS23, half: 1 as const }),
  ] as const),
  data: DATA_REGISTERS,
});
