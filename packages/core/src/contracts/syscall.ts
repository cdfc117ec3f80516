/**
 * VeridianOS system call numbers (as in the VeridianOS kernel's `Syscall` enum). The number
 * goes in the arch's syscall register (RAX on x86_64, X8 on AArch64); on return that
 * register holds 0 for success or an {@link IPC_ERROR_NUMBERS} status.
 */
export const Syscall = {
  IpcSend: 0,
  IpcReceive: 1,
  IpcCall: 2,
  IpcReply: 3,
  IpcCreateEndpoint: 4,
  IpcBindEndpoint: 5,
  IpcShareMemory: 6,
  IpcMapMemory: 7,
  ProcessYield: 10,
  ProcessExit: 11,
} as const;

/** One of the {@link Syscall} numbers. */
export type Syscall = (typeof Syscall)[keyof typeof Syscall];
