/**
 * VeridianOS system call numbers. The number goes in the arch's syscall slot
 * (`FastPathLayout.syscall`) and the kernel dispatches on what it reads there; on return the
 * status slot (`statusSlotOf(layout)`) holds 0 for success or an {@link IPC_ERROR_NUMBERS} status.
 *
 * | number | syscall | registers carry |
 * | --- | --- | --- |
 * | 0 | `IpcSend` | endpoint handle, message |
 * | 1 | `IpcReceive` | endpoint handle |
 * | 2 | `IpcCall` | endpoint handle, message |
 * | 3 | `IpcReply` | message (the caller is named by the reply) |
 * | 8 | `IpcReplyReceive` | reply message; the endpoint slot names the endpoint to receive on next (seL4's ReplyRecv) |
 * | 9 | `IpcReplyError` | the caller's call fails with the error number the reply names |
 */
export const Syscall = {
  IpcSend: 0,
  IpcReceive: 1,
  IpcCall: 2,
  IpcReply: 3,
  IpcReplyReceive: 8,
  IpcReplyError: 9,
} as const;

/** One of the {@link Syscall} numbers. */
export type Syscall = (typeof Syscall)[keyof typeof Syscall];
