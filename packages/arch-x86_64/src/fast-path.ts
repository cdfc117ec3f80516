import { defineFastPath } from '@veridian/core';
import type { FastPathAbi, FastPathLayout } from '@veridian/core';
import { Reg, X86_64_REGISTER_NAMES } from './register-table.js';

/**
 * Where each small-message field lives in an x86_64 frame. Arguments follow the Linux/seL4
 * order (RDI, RSI, RDX, R10, R8, R9, …); RCX and R11 are never used because `SYSCALL`
 * overwrites them, and RSP is the caller's stack.
 *
 * | field | slot |
 * | --- | --- |
 * | syscall number / status | RAX bits 0–31 |
 * | endpoint handle | RDI bits 0–31 |
 * | sender pid (kernel-written) | RDI bits 32–63 |
 * | info (length, caps, flags) | RSI bits 0–31 |
 * | message type | RSI bits 32–63 |
 * | caps 0, 1 | RDX bits 0–31, 32–63 |
 * | caps 2, 3 | R10 bits 0–31, 32–63 |
 * | data bytes 0–63 | R8, R9, R12, R13, R14, R15, RBX, RBP (8 bytes each, little-endian) |
 */
export const X86_64_FAST_PATH_LAYOUT: FastPathLayout = Object.freeze({
  syscall: Object.freeze({ reg: Reg.rax, half: 0 as const }),
  endpoint: Object.freeze({ reg: Reg.rdi, half: 0 as const }),
  // The sender gets its own half so a receiver still sees which endpoint it received on.
  sender: Object.freeze({ reg: Reg.rdi, half: 1 as const }),
  info: Object.freeze({ reg: Reg.rsi, half: 0 as const }),
  type: Object.freeze({ reg: Reg.rsi, half: 1 as const }),
  caps: Object.freeze([
    Object.freeze({ reg: Reg.rdx, half: 0 as const }),
    Object.freeze({ reg: Reg.rdx, half: 1 as const }),
    Object.freeze({ reg: Reg.r10, half: 0 as const }),
    Object.freeze({ reg: Reg.r10, half: 1 as const }),
  ] as const),
  data: Object.freeze([Reg.r8, Reg.r9, Reg.r12, Reg.r13, Reg.r14, Reg.r15, Reg.rbx, Reg.rbp] as const),
});

/**
 * The x86_64 register fast path: a small message (≤ 64 bytes, ≤ 4 capabilities) travels in
 * the 12 payload registers per {@link X86_64_FAST_PATH_LAYOUT}. `encode` writes exactly the
 * message registers (RAX, RDI, RSI, RDX, R10 and the eight data registers) and leaves RCX,
 * R11 and RSP alone; neither `encode` nor `decode` allocates.
 */
export const x86_64FastPath: FastPathAbi = defineFastPath({
  arch: 'x86_64',
  registerNames: X86_64_REGISTER_NAMES,
  layout: X86_64_FAST_PATH_LAYOUT,
});

/**
 * Writes a fast-path syscall into an x86_64 frame (the `encode` of {@link x86_64FastPath}:
 * core's layout-driven codec). Validates everything before the first write.
 */
export const encodeSmallMessage: FastPathAbi['encode'] = (syscall, endpoint, message, frame) => x86_64FastPath.encode(syscall, endpoint, message, frame);

/** Reads the small message in an x86_64 frame into `out` (the `decode` of {@link x86_64FastPath}). */
export const decodeSmallMessage: FastPathAbi['decode'] = (frame, out) => x86_64FastPath.decode(frame, out);
