import { IpcError, MAX_SMALL_CAPS, MAX_SMALL_DATA, MessageInfo } from '@veridian/core';
import type { FastPathAbi, MessageBuffer, RegisterFrame, SmallMessage } from '@veridian/core';
import { AARCH64_FAST_PATH_LAYOUT, AARCH64_REGISTER_COUNT, AARCH64_REGISTER_NAMES } from './register-table.js';

// Frame word indices (register r, half h → word 2r + h). X0–X7 are words 0–15, so data
// byte i is byte (i & 3) of word (i >> 2).
const W_SYSCALL = 16;
const W_SYSCALL_HI = 17;
const W_ENDPOINT = 18;
const W_SENDER = 19;
const W_INFO = 20;
const W_TYPE = 21;
const W_CAP0 = 22;
const W_CAP1 = 23;
const W_CAP2 = 24;
const W_CAP3 = 25;
const DATA_WORDS = 16;
const FRAME_WORDS = AARCH64_REGISTER_COUNT * 2;
// Info-word bits 16–31 are reserved (zero).
const INFO_RESERVED = 0xffff_0000;

function isU32(x: number): boolean {
  return x >>> 0 === x;
}

/**
 * Writes a fast-path syscall into an AArch64 frame: X8 = syscall, X9 = endpoint (sender half
 * cleared: only the kernel sets it), X10 = info | type << 32, X11/X12 = capabilities,
 * X0–X7 = data. Unused data bytes and capability slots become zero; other registers are
 * left alone. Validates everything before the first write, so a throw leaves `frame`
 * untouched: `MessageTooLarge` for > 64 bytes or > 4 capabilities, `InvalidArgument` for a
 * syscall, endpoint, type or capability that is not a u32, or a frame shorter than 31
 * registers. Allocates nothing.
 */
export function encodeSmallMessage(syscall: number, endpoint: number, message: SmallMessage, frame: RegisterFrame): void {
  const data = message.data;
  const len = data.length;
  const caps = message.caps;
  const capCount = caps === undefined ? 0 : caps.length;
  if (len > MAX_SMALL_DATA || capCount > MAX_SMALL_CAPS) {
    throw new IpcError('MessageTooLarge', `fast path carries at most ${MAX_SMALL_DATA} bytes and ${MAX_SMALL_CAPS} capabilities (got ${len} bytes, ${capCount} capabilities)`);
  }
  const type = message.type;
  if (!isU32(type)) throw new IpcError('InvalidArgument', `message type must be a u32, got ${type}`);
  if (!isU32(syscall)) throw new IpcError('InvalidArgument', `syscall number must be a u32, got ${syscall}`);
  if (!isU32(endpoint)) throw new IpcError('InvalidArgument', `endpoint handle must be a u32, got ${endpoint}`);
  for (let i = 0; i < capCount; i++) {
    if (!isU32(caps![i]!)) throw new IpcError('InvalidArgument', `capability handle ${i} must be a u32, got ${caps![i]}`);
  }
  if (frame.length < FRAME_WORDS) throw new IpcError('InvalidArgument', `frame holds ${frame.length >> 1} registers, need ${AARCH64_REGISTER_COUNT}`);

  let w = 0;
  const whole = len >> 2;
  for (; w < whole; w++) {
    const b = w << 2;
    frame[w] = data[b]! | (data[b + 1]! << 8) | (data[b + 2]! << 16) | (data[b + 3]! << 24);
  }
  if (w < DATA_WORDS) {
    let v = 0;
    for (let b = w << 2; b < len; b++) v |= data[b]! << ((b & 3) << 3);
    frame[w++] = v;
    for (; w < DATA_WORDS; w++) frame[w] = 0;
  }
  frame[W_SYSCALL] = syscall;
  frame[W_SYSCALL_HI] = 0;
  frame[W_ENDPOINT] = endpoint;
  frame[W_SENDER] = 0;
  frame[W_INFO] = MessageInfo.pack(len, capCount, 0);
  frame[W_TYPE] = type;
  frame[W_CAP0] = capCount > 0 ? caps![0]! : 0;
  frame[W_CAP1] = capCount > 1 ? caps![1]! : 0;
  frame[W_CAP2] = capCount > 2 ? caps![2]! : 0;
  frame[W_CAP3] = capCount > 3 ? caps![3]! : 0;
}

/**
 * Reads the small message in an AArch64 frame into `out`: type and info from X10, sender
 * from X9 bits 32–63, capabilities from X11/X12 (entries past the count zeroed), data from
 * X0–X7 (bytes past the length zeroed, whatever the frame holds there). An info word
 * claiming > 64 bytes or > 4 capabilities throws `MessageTooLarge`, one with reserved bits
 * 16–31 set `InvalidArgument`, both with `out` untouched. Allocates nothing.
 */
export function decodeSmallMessage(frame: RegisterFrame, out: MessageBuffer): void {
  if (frame.length < FRAME_WORDS) throw new IpcError('InvalidArgument', `frame holds ${frame.length >> 1} registers, need ${AARCH64_REGISTER_COUNT}`);
  const info = frame[W_INFO]!;
  const len = MessageInfo.length(info);
  const capCount = MessageInfo.capCount(info);
  if (len > MAX_SMALL_DATA || capCount > MAX_SMALL_CAPS) {
    throw new IpcError('MessageTooLarge', `info word claims ${len} bytes and ${capCount} capabilities`);
  }
  if (info & INFO_RESERVED) throw new IpcError('InvalidArgument', `info word has reserved bits set: 0x${info.toString(16)}`);
  out.type = frame[W_TYPE]!;
  out.length = len;
  out.sender = frame[W_SENDER]!;
  out.flags = MessageInfo.flags(info);
  out.capCount = capCount;
  const bytes = out.bytes;
  const whole = len >> 2;
  let w = 0;
  for (; w < whole; w++) {
    const v = frame[w]!;
    const b = w << 2;
    bytes[b] = v;
    bytes[b + 1] = v >>> 8;
    bytes[b + 2] = v >>> 16;
    bytes[b + 3] = v >>> 24;
  }
  if (w < DATA_WORDS) {
    const v = frame[w]!;
    for (let b = w << 2; b < len; b++) bytes[b] = v >>> ((b & 3) << 3);
    bytes.fill(0, len);
  }
  const caps = out.caps;
  caps[0] = capCount > 0 ? frame[W_CAP0]! : 0;
  caps[1] = capCount > 1 ? frame[W_CAP1]! : 0;
  caps[2] = capCount > 2 ? frame[W_CAP2]! : 0;
  caps[3] = capCount > 3 ? frame[W_CAP3]! : 0;
}

/** The AArch64 register fast path (`svc #0` ABI for small messages); see the package README for the register table. */
export const aarch64FastPath: FastPathAbi = Object.freeze({
  arch: 'aarch64',
  registerNames: AARCH64_REGISTER_NAMES,
  registerCount: AARCH64_REGISTER_COUNT,
  layout: AARCH64_FAST_PATH_LAYOUT,
  encode: encodeSmallMessage,
  decode: decodeSmallMessage,
});
