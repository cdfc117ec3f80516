import type { MessageBuffer, SmallMessage } from './message.js';
import type { RegisterFrame, RegisterSlot } from './register-frame.js';

/**
 * Where each field of a small message lives in the arch's register frame. Every field is a
 * 32-bit slot except `data`, which is eight whole registers holding the 64 payload bytes
 * little-endian (byte `i` is bits `8*(i%8)` of register `data[i >> 3]`).
 */
export interface FastPathLayout {
  /**
   * Syscall number on entry; also the status on return unless {@link FastPathLayout.status}
   * names another slot.
   */
  readonly syscall: RegisterSlot;
  /**
   * Where the status (0 or an error number) is returned, when the ABI returns it somewhere
   * other than the syscall number (e.g. an ABI that takes the number in one register and
   * returns in another). Optional: omitted means the syscall slot carries the status too.
   * Read it with {@link statusSlotOf}.
   */
  readonly status?: RegisterSlot;
  /** Endpoint / channel capability handle on entry. */
  readonly endpoint: RegisterSlot;
  /** On delivery the kernel writes the true sender's process id here (user code cannot set it). */
  readonly sender: RegisterSlot;
  /** Low 32 bits of the message-info word (length, capability count, flags). */
  readonly info: RegisterSlot;
  /** High 32 bits of the message-info word: the message type. */
  readonly type: RegisterSlot;
  /** Up to four capability handles. */
  readonly caps: readonly [RegisterSlot, RegisterSlot, RegisterSlot, RegisterSlot];
  /** The eight registers that carry the 64 data bytes, in byte order. */
  readonly data: readonly [number, number, number, number, number, number, number, number];
}

/**
 * An architecture's register fast path: the syscall ABI by which a small message travels
 * entirely in registers. Implementations must not allocate in `encode`/`decode`.
 */
export interface FastPathAbi {
  /** Arch name (the `Arch.name` of the backend). */
  readonly arch: string;
  /** Register names in frame order (index = register number in the frame). */
  readonly registerNames: readonly string[];
  /** Number of 64-bit registers in the frame. */
  readonly registerCount: number;
  /** Where each message field lives. */
  readonly layout: FastPathLayout;
  /**
   * Writes a syscall with a small message into `frame`: syscall number, endpoint handle,
   * info word, capability handles and data. Unused data bytes and capability slots are
   * zeroed. Throws `MessageTooLarge` (frame untouched) for > 64 bytes or > 4 capabilities.
   */
  encode(syscall: number, endpoint: number, message: SmallMessage, frame: RegisterFrame): void;
  /** Reads the message in `frame` into `out` (type, length, bytes, sender, caps). */
  decode(frame: RegisterFrame, out: MessageBuffer): void;
}

/**
 * The slot a layout returns the status in: `layout.status`, or the syscall slot when the
 * layout does not name one.
 *
 * @example
 * ```ts
 * writeSlot(frame, statusSlotOf(arch.fastPath.layout), 0); // success
 * ```
 */
export function statusSlotOf(layout: FastPathLayout): RegisterSlot {
  return layout.status ?? layout.syscall;
}
