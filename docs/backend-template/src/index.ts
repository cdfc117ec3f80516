/**
 * A VeridianOS backend, from the template in docs/backend-template of the SDK. Replace the
 * register table with your CPU's syscall ABI and `createMmu` with your page tables; keep the
 * names `moduleUrl` / `exportName` pointing at this export so worker CPUs can load it.
 */
import { defineFastPath, type Arch } from '@veridian/core';
import { testArch } from '@veridian/core/testing';

/** Register names in frame order (index = register number in the frame), at most 32. */
export const REGISTER_NAMES = Array.from({ length: 16 }, (_, i) => `r${i}`);

/** The syscall ABI: which register (and 32-bit half) carries what. */
export const myFastPath = defineFastPath({
  arch: 'toy',
  registerNames: REGISTER_NAMES,
  layout: {
    syscall: { reg: 0, half: 0 }, // syscall number in
    status: { reg: 1, half: 0 }, // status out (optional: defaults to the syscall slot)
    endpoint: { reg: 1, half: 0 },
    sender: { reg: 1, half: 1 }, // written by the kernel on delivery
    info: { reg: 2, half: 0 },
    type: { reg: 2, half: 1 },
    caps: [
      { reg: 3, half: 0 },
      { reg: 3, half: 1 },
      { reg: 4, half: 0 },
      { reg: 4, half: 1 },
    ],
    data: [8, 9, 10, 11, 12, 13, 14, 15], // 64 bytes, little-endian, 8 per register
  },
});

/** The backend. */
export const toy: Arch = Object.freeze({
  name: 'toy',
  pageSizes: [4096],
  // Your virtual-address width, user range and next-table address bits.
  addressSpace: { vaBits: 32, userTop: 1n << 31n, tableAddressMask: 0n },
  fastPath: myFastPath,
  // TODO: your page tables. Until then core's flat test MMU stands in and the suite runs with
  // the `mmu` area unsupported (see test/conformance.test.ts).
  createMmu: testArch.createMmu,
  moduleUrl: import.meta.url,
  exportName: 'toy',
});
