/**
 * The command mailbox between the model runner (on CPU 0) and a step-executor worker: one
 * small `SharedArrayBuffer` outside machine memory, so handing a worker a step and reading
 * its outcome changes no kernel state. The runner writes a command and bumps `CMD`; the
 * worker marks it `TAKEN`, performs the syscall with the public `Process` API, writes the
 * outcome and sets `DONE` to the command's sequence number.
 */

/** Word offsets in the mailbox (Int32 / Uint32 views of the same buffer). */
export const MB = {
  /** Set to 1 by the worker once it runs (its pid in `PID`). */
  READY: 0,
  PID: 1,
  /** Sequence number of the last command the runner posted. */
  CMD: 2,
  /** Sequence number of the command the worker has started. */
  TAKEN: 3,
  /** Sequence number of the last command whose outcome is written. */
  DONE: 4,
  KIND: 5,
  /** Capability handle the syscall names (or the pid a reply goes to). */
  HANDLE: 6,
  /** Rights (derive, grant), capacity (create), error number (replyError). */
  ARG: 7,
  /** Message type (call, send, reply), or the target pid of a grant. */
  TYPE: 8,
  LENGTH: 9,
  /** Payload salt (the message id): the bytes are `pattern(LENGTH, SALT)`. */
  SALT: 10,
  NCAPS: 11,
  /** Up to five capability handles to transfer. */
  CAPS: 12,
  /** 0 = success, > 0 = IpcError register number, -1 = some other exception (text in `TEXT`). */
  STATUS: 17,
  /** Returned handle (create, derive, grant). */
  VALUE: 18,
  /** `inspect` of the returned handle (create, derive, grant) or of the revoked one: rights and resource. */
  VPERMS: 19,
  VRES: 20,
  /** Received message (call's reply, receive's message): type, true sender, flags, length, capability count. */
  RTYPE: 21,
  RSENDER: 22,
  RFLAGS: 23,
  RLENGTH: 24,
  RCAPS: 25,
  /** Received handles, and `inspect` of each in the worker's space (rights, resource). */
  RCAP: 26,
  RCAP_PERMS: 30,
  RCAP_RES: 34,
  /** Received payload bytes (64, as 16 words). */
  BYTES: 40,
  TEXT_LEN: 56,
  /** UTF-8 text of a non-IpcError exception (256 bytes). */
  TEXT: 57,
  SIZE: 128,
} as const;

/** Command kinds. */
export const MbKind = {
  CREATE: 1,
  DERIVE: 2,
  GRANT: 3,
  REVOKE: 4,
  CLOSE: 5,
  CALL: 6,
  SEND: 7,
  RECEIVE: 8,
  REPLY: 9,
  REPLY_ERROR: 10,
  /** Return from the worker's main function (a normal exit). */
  EXIT: 11,
} as const;

/** Arguments of the step-executor worker module. */
export interface StepExecutorArgs {
  /** A `SharedArrayBuffer` of `MB.SIZE * 4` bytes. */
  mailbox: SharedArrayBuffer;
}

/** A fresh, zeroed mailbox. */
export function createMailbox(): SharedArrayBuffer {
  return new SharedArrayBuffer(MB.SIZE * 4);
}
