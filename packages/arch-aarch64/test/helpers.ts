import { expect } from 'vitest';
import { IpcError, PageFault, PhysicalMemory } from '@veridian/core';
import type { AddressSpace, Mmu, MmuOptions } from '@veridian/core';
import { aarch64 } from '../src/index.ts';

/** A fresh machine with one MMU and one address space. */
export function setup(frames = 256, options: MmuOptions = {}): { phys: PhysicalMemory; mmu: Mmu; space: AddressSpace } {
  const phys = PhysicalMemory.create({ frames });
  const mmu = aarch64.createMmu(phys, options);
  const space = mmu.createAddressSpace();
  return { phys, mmu, space };
}

/** The PageFault `fn` throws (fails the test if it throws anything else or nothing). */
export function faultOf(fn: () => unknown): PageFault {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PageFault);
    expect((e as PageFault).code).toBe('AccessFault');
    return e as PageFault;
  }
  return expect.fail('expected a PageFault');
}

/** The IpcError code `fn` throws. */
export function errorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IpcError);
    return (e as IpcError).code;
  }
  return expect.fail('expected an IpcError');
}

/** Raw descriptor words of the leaf for `va` (last entry of the walk). */
export function leafOf(space: AddressSpace, va: number | bigint): bigint {
  const walk = space.walk(va);
  return walk[walk.length - 1]!;
}

export const BIT = (n: number): bigint => 1n << BigInt(n);
