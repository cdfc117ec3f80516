/**
 * The wire format between a process's POSIX layer and the object server (`posixd`).
 *
 * A request is one call on the server's endpoint. Its `type` word is
 * `op | flags << 8 | arg << 16` (op: {@link Op}; flags: {@link ReqFlag}; arg: a u16, e.g. an
 * `mq_send` priority); its capabilities start with the descriptor's capability (the proof that
 * the caller holds the descriptor), followed by descriptors being passed (`SCM_RIGHTS`).
 * Payload bytes (a `write`, an `mq_send`) are the data, as-is; small numeric arguments are
 * little-endian words before them where an op needs them.
 *
 * A reply's `type` is `status | arg << 16`: status 0 or a Linux errno number; arg a u16
 * result (an `mq_receive` priority, `recvmsg` flags). Data up to 64 bytes rides in registers,
 * more travels as a large message (≤ 1 MiB).
 * @internal
 * @module
 */

/** Name of the object server's endpoint (one per kernel). */
export const DAEMON_ENDPOINT = 'posix.d';

export const Op = {
  PIPE: 1,
  CLOSE: 2,
  READ: 3,
  WRITE: 4,
  SOCKETPAIR: 5,
  SENDMSG: 6,
  RECVMSG: 7,
  MQ_OPEN: 8,
  MQ_UNLINK: 9,
  MQ_SEND: 10,
  MQ_RECEIVE: 11,
  MQ_GETATTR: 12,
  MQ_NOTIFY: 13,
  POLL: 14,
  ATTACH: 15,
  RELEASE: 16,
  FSTAT: 17,
  /** Shared memory (shm-server.ts): open, unlink, size, state (a description closes with CLOSE). */
  SHM_OPEN: 18,
  SHM_UNLINK: 19,
  SHM_TRUNCATE: 20,
  SHM_STAT: 21,
  /** `fcntl` `F_GETFL` / `F_SETFL` from a worker CPU (flags 1: set to arg); CPU 0 asks the passive flag server (flags-server.ts). */
  FCNTL_FL: 22,
} as const;

export const ReqFlag = {
  NONBLOCK: 0x1,
  PEEK: 0x2,
  /** The request carries a timeout (f64 ns, relative) as its first 8 data bytes. */
  TIMED: 0x4,
} as const;

/** Kinds of object a descriptor names (the low byte of `FSTAT`'s answer). */
export const Kind = { PIPE: 1, MQ: 2, SOCKET: 3, SHM: 4 } as const;
export type Kind = (typeof Kind)[keyof typeof Kind];

/** A relative timeout meaning "forever". */
export const FOREVER = -1;
/** A timeout that was an invalid timespec (EINVAL only if the call would block). */
export const BAD_TIMESPEC = -2;

export function reqType(op: number, flags = 0, arg = 0): number {
  return (((arg & 0xffff) * 65536) + ((flags & 0xff) << 8) + (op & 0xff)) >>> 0;
}

export function replyType(status: number, arg = 0): number {
  return (((arg & 0xffff) * 65536) + (status & 0xffff)) >>> 0;
}

/** Little-endian u32 words as bytes. */
export function words(...v: number[]): Uint8Array {
  const b = new Uint8Array(v.length * 4);
  const dv = new DataView(b.buffer);
  v.forEach((x, i) => dv.setUint32(i * 4, x >>> 0, true));
  return b;
}

export function readWord(b: Uint8Array, i: number): number {
  return (b[i * 4]! | (b[i * 4 + 1]! << 8) | (b[i * 4 + 2]! << 16) | (b[i * 4 + 3]! << 24)) >>> 0;
}

/** Prefixes `payload` with a f64 relative timeout. */
export function timed(ns: number, payload: Uint8Array): Uint8Array {
  const b = new Uint8Array(8 + payload.length);
  new DataView(b.buffer).setFloat64(0, ns, true);
  b.set(payload, 8);
  return b;
}

export function readTimeout(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, 8).getFloat64(0, true);
}
