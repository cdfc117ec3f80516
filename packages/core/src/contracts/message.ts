import type { CapHandle } from './capability.js';
import type { SharedBuffer, TransferMode } from './shared-buffer.js';
import { byteCount } from './user-bytes.js';

/** Largest payload of a small (register) message, in bytes. */
export const MAX_SMALL_DATA = 64;
/** Most capabilities a small message carries. */
export const MAX_SMALL_CAPS = 4;
/** Largest payload of a large message, in bytes (1 MiB). */
export const MAX_LARGE_DATA = 1 << 20;
/** Most capabilities a large message carries (batch transfer). */
export const MAX_LARGE_CAPS = 64;

/**
 * A message as user code hands it to the kernel. A small one — ≤ 64 data bytes and ≤ 4
 * capabilities, as the VeridianOS design defines it — travels in registers; a larger one
 * (up to {@link MAX_LARGE_DATA} bytes and {@link MAX_LARGE_CAPS} capabilities) travels as a
 * large message in machine-memory frames. The sender is filled in by the kernel.
 */
export interface SmallMessage {
  /** Application-defined message type (u32). */
  type: number;
  /** Payload, at most {@link MAX_SMALL_DATA} bytes. */
  data: Uint8Array;
  /** Capability handles in the holder's capability space (at most {@link MAX_SMALL_CAPS}). */
  caps?: readonly CapHandle[];
  /** Process id of the true sender, set by the kernel on delivery (ignored on send). */
  sender?: number;
  /**
   * A range of the sender's process memory to carry without copying (see {@link SharedBuffer});
   * makes the message a large message.
   */
  buffer?: SharedBuffer;
  /** How `buffer` travels (default `'move'`; see {@link TransferMode}). */
  transfer?: TransferMode;
}

/**
 * A reusable, mutable message buffer the kernel decodes into, so receiving allocates
 * nothing. `data` is a view of `length` bytes into a fixed 64-byte buffer and is only valid
 * until the next receive into the same buffer.
 */
export interface MessageBuffer {
  type: number;
  length: number;
  sender: number;
  flags: number;
  capCount: number;
  /** Capability handles (only the first `capCount` entries are meaningful). */
  readonly caps: Uint32Array;
  /** The full 64-byte backing store; bytes past `length` are zero. */
  readonly bytes: Uint8Array;
  /**
   * The payload of a large message (flag {@link MessageFlags.LARGE}): a fresh array of `length`
   * bytes owned by the receiver; `null` for a small message.
   */
  large: Uint8Array | null;
  /** The capability handles of a large message (`capCount` of them); `null` for a small message. */
  largeCaps: Uint32Array | null;
  /** The buffer the message carried, now in the receiver's memory; `null` when it carried none. */
  buffer: SharedBuffer | null;
}

/** Creates an empty {@link MessageBuffer}. */
export function createMessageBuffer(): MessageBuffer {
  return { type: 0, length: 0, sender: 0, flags: 0, capCount: 0, caps: new Uint32Array(MAX_SMALL_CAPS), bytes: new Uint8Array(MAX_SMALL_DATA), large: null, largeCaps: null, buffer: null };
}

/** The payload of a received message, small or large (a view for a small one: read it before the next receive). */
export function messagePayload(buf: MessageBuffer): Uint8Array {
  return buf.large ?? buf.bytes.subarray(0, buf.length);
}

/** The capability handles of a received message, small or large. */
export function messageCaps(buf: MessageBuffer): Uint32Array {
  return buf.largeCaps ?? buf.caps.subarray(0, buf.capCount);
}

/** True when a message must travel as a large message (more than 64 bytes or 4 capabilities, or a buffer). */
export function isLargeMessage(message: SmallMessage): boolean {
  // The array's real length: an own `length` getter on it is never consulted.
  return byteCount(message.data) > MAX_SMALL_DATA || (message.caps !== undefined && message.caps.length > MAX_SMALL_CAPS) || message.buffer !== undefined;
}

/**
 * The arch-neutral message-info word that travels in one 64-bit register:
 *
 * | bits | field |
 * | --- | --- |
 * | 0–6 | payload length in bytes (0–64) |
 * | 7–9 | capability count (0–4) |
 * | 10–15 | flags |
 * | 16–31 | reserved, zero |
 * | 32–63 | message type (u32) |
 *
 * In the frame the low 32 bits and the high 32 bits are stored separately (`infoLo`, `type`).
 */
export const MessageInfo = {
  LENGTH_MASK: 0x7f,
  CAPS_SHIFT: 7,
  CAPS_MASK: 0x7,
  FLAGS_SHIFT: 10,
  FLAGS_MASK: 0x3f,
  /** Packs the low 32 bits of the info word. */
  pack(length: number, capCount: number, flags: number): number {
    return (length & 0x7f) | ((capCount & 0x7) << 7) | ((flags & 0x3f) << 10);
  },
  length(lo: number): number {
    return lo & 0x7f;
  },
  capCount(lo: number): number {
    return (lo >>> 7) & 0x7;
  },
  flags(lo: number): number {
    return (lo >>> 10) & 0x3f;
  },
} as const;

/** Message-info flags. */
export const MessageFlags = {
  /** The message is a reply (set by the kernel on delivery). */
  REPLY: 0x01,
  /** The sender used the non-blocking variant. */
  NONBLOCKING: 0x02,
  /** The message is a call: the sender waits for a reply (set by the kernel on delivery). */
  CALL: 0x04,
  /**
   * A large message: the payload and capabilities travel in machine-memory frames described in
   * the IPC buffer, not in registers (set by the kernel when the message is staged).
   */
  LARGE: 0x08,
} as const;

/** Mask of the flags only the kernel may set; a sender's own values for them are overwritten. */
export const KERNEL_MESSAGE_FLAGS = 0x05;
