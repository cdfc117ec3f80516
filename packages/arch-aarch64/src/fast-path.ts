import { defineFastPath } from '@veridian/core';
import type { FastPathAbi } from '@veridian/core';
import { AARCH64_FAST_PATH_LAYOUT, AARCH64_REGISTER_NAMES } from './register-table.js';

/** The AArch64 register fast path (`svc #0` ABI for small messages), built by core's layout-driven codec from {@link AARCH64_FAST_PATH_LAYOUT}; see the package README for the register table. */
export const aarch64FastPath: FastPathAbi = defineFastPath({
  arch: 'aarch64',
  registerNames: AARCH64_REGISTER_NAMES,
  layout: AARCH64_FAST_PATH_LAYOUT,
});

/**
 * Writes a fast-path syscall into an AArch64 frame: X8 = syscall, X9 = endpoint (sender half
 * cleared: only the kernel sets it), X10 = info | type << 32, X11/X12 = capabilities,
 * X0–X7 = data. Unused data bytes and capability slots become zero; other registers are
 * left alone. Validates everything before the first write, so a throw leaves `frame`
 * untouched: `MessageTooLarge` for > 64 bytes or > 4 capabilities, `InvalidArgument` for a
 * syscall, endpoint, type or capability that is not a u32, or a frame shorter than 31
 * registers. Allocates nothing.
 */
export const encodeSmallMessage: FastPathAbi['encode'] = (syscall, endpoint, message, frame) => aarch64FastPath.encode(syscall, endpoint, message, frame);

/**
 * Reads the small message in an AArch64 frame into `out`: type and info from X10, sender
 * from X9 bits 32–63, capabilities from X11/X12 (entries past the count zeroed), data from
 * X0–X7 (bytes past the length zeroed, whatever the frame holds there). An info word
 * claiming > 64 bytes or > 4 capabilities throws `MessageTooLarge`, one with reserved bits
 * 16–31 set `InvalidArgument`, both with `out` untouched. Allocates nothing.
 */
export const decodeSmallMessage: FastPathAbi['decode'] = (frame, out) => aarch64FastPath.decode(frame, out);
