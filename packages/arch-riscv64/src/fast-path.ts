import { defineFastPath } from '@veridian/core';
import type { FastPathAbi } from '@veridian/core';
import { RISCV64_FAST_PATH_LAYOUT, RISCV64_REGISTER_NAMES } from './register-table.js';

/**
 * The RV64 register fast path (`ecall` ABI for small messages), built by core's layout-driven
 * codec from {@link RISCV64_FAST_PATH_LAYOUT}: a7 = syscall number, a0 = endpoint in and
 * status out, a1 = info | type << 32, a2/a3 = capabilities, a4 = sender (kernel-written),
 * a5, a6, t0–t5 = the 64 data bytes. Allocates nothing.
 */
export const riscv64FastPath: FastPathAbi = defineFastPath({
  arch: 'riscv64',
  registerNames: RISCV64_REGISTER_NAMES,
  layout: RISCV64_FAST_PATH_LAYOUT,
});

/**
 * Writes a fast-path syscall into an RV64 frame (the `encode` of {@link riscv64FastPath}).
 * Validates everything before the first write: `MessageTooLarge` for > 64 bytes or > 4
 * capabilities, `InvalidArgument` for a non-u32 syscall, endpoint, type or capability or a
 * frame shorter than 32 registers. Writes a7 (high half zeroed), a0 bits 0–31, a1–a3, a4
 * bits 0–31 (zero: only the kernel writes the sender) and the eight data registers.
 */
export const encodeSmallMessage: FastPathAbi['encode'] = (syscall, endpoint, message, frame) => riscv64FastPath.encode(syscall, endpoint, message, frame);

/** Reads the small message in an RV64 frame into `out` (the `decode` of {@link riscv64FastPath}). */
export const decodeSmallMessage: FastPathAbi['decode'] = (frame, out) => riscv64FastPath.decode(frame, out);
