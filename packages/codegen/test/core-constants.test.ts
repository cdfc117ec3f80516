import { describe, expect, it } from 'vitest';
import { FrameworkMessageType, MAX_LARGE_CAPS, MAX_LARGE_DATA, MAX_SMALL_CAPS, MAX_SMALL_DATA, RESERVED_MESSAGE_TYPE_MIN, WIRE_MAX_LENGTH } from '@veridian/core';
import { aarch64 } from '@veridian/arch-aarch64';
import { riscv64 } from '@veridian/arch-riscv64';
import { x86_64 } from '@veridian/arch-x86_64';
import { archLimits, KERNEL_LIMITS } from '../src/arch.ts';
import { RESERVED_MESSAGE_TYPE_MIN as CHECKER_RESERVED_MIN } from '../src/check-protocols.ts';
import { MAX_BOUND } from '../src/resolve-types.ts';

// The compiler imports core for types only, so the numbers it shares with core's runtime are copies; these must agree.
describe('numbers the compiler shares with the core runtime', () => {
  it('the reserved message types start where the runtime says', () => {
    expect(CHECKER_RESERVED_MIN).toBe(RESERVED_MESSAGE_TYPE_MIN);
    for (const type of Object.values(FrameworkMessageType)) expect(type).toBeGreaterThanOrEqual(CHECKER_RESERVED_MIN);
  });

  it('the largest bound is the largest length prefix', () => {
    expect(MAX_BOUND).toBe(WIRE_MAX_LENGTH);
  });

  it('every arch carries the kernel contract’s register message', () => {
    for (const arch of [x86_64, aarch64, riscv64].map(archLimits)) expect([arch.maxSmallData, arch.maxSmallCaps]).toEqual([MAX_SMALL_DATA, MAX_SMALL_CAPS]);
  });

  it('the large-message limits VIDL0406 checks are the kernel’s', () => {
    expect(KERNEL_LIMITS).toEqual({ maxLargeData: MAX_LARGE_DATA, maxLargeCaps: MAX_LARGE_CAPS });
  });
});
