/**
 * `@veridian/core`: the contracts of the VeridianOS IPC system and its portable kernel.
 * @packageDocumentation
 */
export * from './contracts/errors.js';
export * from './contracts/rights.js';
export * from './contracts/capability.js';
export * from './contracts/message.js';
export * from './contracts/syscall.js';
export * from './contracts/register-frame.js';
export * from './contracts/fast-path.js';
export * from './contracts/clock.js';
export * from './contracts/mmu.js';
export * from './contracts/arch.js';
export { PhysicalMemory, FRAME_SIZE, type PhysicalMemoryOptions } from './memory/physical-memory.js';
