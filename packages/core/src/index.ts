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
export { lockWord, unlockWord } from './memory/spinlock.js';
export * from './wire/index.js';
export { createKernel, Kernel, type KernelOptions, type SpawnOptions, type WorkerSpawnOptions, type ProcessExit, type ProcessHandle, type KernelStats, type WorkerMain } from './kernel/kernel.js';
export { Process, type EndpointOptions, type BlockingOptions } from './kernel/process.js';
export { MachineMemory, type MachineSizes } from './kernel/machine-memory.js';
export { IPC_BUFFER_VA, MIN_PRIORITY, MAX_PRIORITY } from './kernel/kernel-core.js';
