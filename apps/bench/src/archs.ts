import type { Arch } from '@veridian/core';
import { aarch64 } from '@veridian/arch-aarch64';
import { riscv64 } from '@veridian/arch-riscv64';
import { x86_64 } from '@veridian/arch-x86_64';

/**
 * Every arch backend the bench measures, in one place: adding a backend is one line here
 * (and its package in package.json). Every per-arch path runs once per entry.
 */
export const ARCHS: readonly Arch[] = [x86_64, aarch64, riscv64];
