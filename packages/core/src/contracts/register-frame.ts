/**
 * A CPU register frame: `n` 64-bit registers stored little-endian as 32-bit halves, so
 * register `r` is `frame[2r]` (bits 0–31) and `frame[2r + 1]` (bits 32–63). Frames live in
 * machine memory (one per CPU) so another CPU's kernel entry can read and write them; the
 * representation avoids BigInt so the fast path allocates nothing.
 */
export type RegisterFrame = Uint32Array;

/**
 * Where a 32-bit field lives in a frame: register index and half (0 = bits 0–31,
 * 1 = bits 32–63).
 */
export interface RegisterSlot {
  readonly reg: number;
  readonly half: 0 | 1;
}

/** Creates a zeroed frame of `registerCount` registers (outside machine memory, e.g. for tests). */
export function createRegisterFrame(registerCount: number): RegisterFrame {
  return new Uint32Array(registerCount * 2);
}

/**
 * Index of a 32-bit slot in a register frame (two words per register, low half first), for
 * code that reads a slot many times and computes its index once.
 *
 * @example
 * ```ts
 * const wInfo = slotWord(arch.fastPath.layout.info);
 * const info = frame[wInfo]!;
 * ```
 */
export function slotWord(slot: RegisterSlot): number {
  return slot.reg * 2 + slot.half;
}

/** Reads a 32-bit slot. */
export function readSlot(frame: RegisterFrame, slot: RegisterSlot): number {
  return frame[slotWord(slot)]!;
}

/** Writes a 32-bit slot. */
export function writeSlot(frame: RegisterFrame, slot: RegisterSlot, value: number): void {
  frame[slotWord(slot)] = value >>> 0;
}

/** Reads a whole register as a bigint (for dumps and golden tests, not the hot path). */
export function readRegister(frame: RegisterFrame, reg: number): bigint {
  return (BigInt(frame[reg * 2 + 1]!) << 32n) | BigInt(frame[reg * 2]!);
}

/** Writes a whole register from a bigint (for tests and tools, not the hot path). */
export function writeRegister(frame: RegisterFrame, reg: number, value: bigint): void {
  frame[reg * 2] = Number(value & 0xffffffffn);
  frame[reg * 2 + 1] = Number((value >> 32n) & 0xffffffffn);
}
