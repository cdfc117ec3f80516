/**
 * `@veridian/core`: the contracts of the VeridianOS IPC system and its portable kernel.
 * @packageDocumentation
 */
export * from './contracts/errors.js';
export * from './contracts/rights.js';
export * from './contracts/capability.js';
export * from './contracts/message.js';
export { byteCount, isBytes, bytesView, copyInto } from './contracts/user-bytes.js';
export * from './contracts/shared-buffer.js';
export * from './contracts/syscall.js';
export * from './contracts/register-frame.js';
export * from './contracts/fast-path.js';
export * from './contracts/clock.js';
export * from './contracts/mmu.js';
export * from './contracts/arch.js';
export * from './mmu/index.js';
export { defineFastPath, fastPathCodec, checkFastPathLayout, type FastPathSpec } from './fast-path/codec.js';
export { PhysicalMemory, FRAME_SIZE, type PhysicalMemoryOptions } from './memory/physical-memory.js';
export { lockWord, unlockWord, isLocked } from './memory/spinlock.js';
export * from './wire/index.js';
export { createKernel, Kernel, type KernelErrorEvent, type KernelEventMap } from './kernel/kernel.js';
export type { KernelOptions, EndpointOptions, BlockingOptions, SpawnOptions, WorkerSpawnOptions, ProcessExit, ProcessHandle, KernelStats, KernelSnapshot, LockStats, WorkerMain } from './kernel/kernel-types.js';
export { Process } from './kernel/process.js';
export { ProcessMemory, type PageState, type SharedRegion, type RegionOptions, type MapRegionOptions } from './kernel/memory-handle.js';
export { AsyncChannel, type ChannelOptions, type OverflowPolicy } from './kernel/async-channel.js';
export { Topic, Subscription, type TopicOptions } from './kernel/topic-handle.js';
export type { AsyncWaitOptions } from './kernel/async-handle.js';
export type { RingStats } from './kernel/syscall-async.js';
export type { EndpointPolicy, RatePolicy, FilterPolicy } from './kernel/policy/config.js';
export type { KernelEvent, KernelEventKind } from './kernel/debug/events.js';
export { AuditTrail, MessageTrace, type AuditStats, type ChannelStats } from './kernel/debug/api.js';
export { DebugFs, DebugFsError, DEBUGFS_ROOT } from './kernel/debug/debugfs.js';
export { toChromeTrace, type ChromeTrace, type ChromeTraceEvent } from './kernel/debug/chrome-trace.js';
export { MachineMemory, type MachineSizes } from './kernel/records/machine-memory.js';
export { IPC_BUFFER_VA, MIN_PRIORITY, MAX_PRIORITY } from './kernel/objects/process.js';
export { MAX_TIMEOUT_NS } from './kernel/args.js';
export { nodePlatform } from './kernel/platform/node.js';
export type { Platform, CpuThread, CpuThreadData, CpuThreadEvents } from './kernel/platform/platform.js';
