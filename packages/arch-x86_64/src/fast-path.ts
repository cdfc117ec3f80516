import { IpcError, MAX_SMALL_CAPS, MAX_SMALL_DATA, MessageInfo } from '@veridian/core';
import type { FastPathAbi, FastPathLayout, MessageBuffer, RegisterFrame, SmallMessage } from '@veridian/core';
import { Reg, X86_64_REGISTER_COUNT, X86_64_REGISTER_NAMES } from './register-table.js';

/**
 * Where each small-message field lives in an x86_64 frame. Arguments follow the Linux/seL4
 * order (RDI, RSI, RDX, R10, R8, R9, …); RCX and R11 are never used because `SYSCALL`
 * overwrites them, and RSP is the caller's stack.
 *
 * | field | slot |
 * | --- | --- |
 * | syscall number / status | RAX bits 0–31 |
 * | endpoint handle | RDI bits 0–31 |
 * | sender pid (kernel-written) | RDI bits 32–63 |
 * | info (length, caps, flags) | RSI bits 0–31 |
 * | message type | RSI bits 32–63 |
 * | caps 0, 1 | RDX bits 0–31, 32–63 |
 * | caps 2, 3 | R10 bits 0–31, 32–63 |
 * | data bytes 0–63 | R8, R9, R12, R13, R14, R15, RBX, RBP (8 bytes each, little-endian) |
 */
export const X86_64_FAST_PATH_LAYOUT: FastPathLayout = Object.freeze({
  syscall: Object.freeze({ reg: Reg.rax, half: 0 as const }),
  endpoint: Object.freeze({ reg: Reg.rdi, half: 0 as const }),
  // The sender gets its own half so a receiver still sees which endpoint it received on.
  sender: Object.freeze({ reg: Reg.rdi, half: 1 as const }),
  info: Object.freeze({ reg: Reg.rsi, half: 0 as const }),
  type: Object.freeze({ reg: Reg.rsi, half: 1 as const }),
  caps: Object.freeze([
    Object.freeze({ reg: Reg.rdx, half: 0 as const }),
    Object.freeze({ reg: Reg.rdx, half: 1 as const }),
    Object.freeze({ reg: Reg.r10, half: 0 as const }),
    Object.freeze({ reg: Reg.r10, half: 1 as const }),
  ] as const),
  data: Object.freeze([Reg.r8, Reg.r9, Reg.r12, Reg.r13, Reg.r14, Reg.r15, Reg.rbx, Reg.rbp] as const),
});

// Word indices (register * 2 + half) resolved once, so the hot path does no lookups.
const W_SYSCALL = Reg.rax * 2;
const W_ENDPOINT = Reg.rdi * 2;
const W_SENDER = Reg.rdi * 2 + 1;
const W_INFO = Reg.rsi * 2;
const W_TYPE = Reg.rsi * 2 + 1;
const W_CAP0 = Reg.rdx * 2;
const W_CAP1 = Reg.rdx * 2 + 1;
const W_CAP2 = Reg.r10 * 2;
const W_CAP3 = Reg.r10 * 2 + 1;
/** Frame word of each data register's low half, in byte order. */
const DATA_REG_WORDS = new Int32Array(X86_64_FAST_PATH_LAYOUT.data.map((r) => r * 2));
/** Frame word of each 4-byte group of the payload (low then high half of each data register). */
const DATA_WORDS = new Int32Array(16).map((_, k) => DATA_REG_WORDS[k >> 1]! + (k & 1));
const FRAME_WORDS = X86_64_REGISTER_COUNT * 2;
const INFO_RESERVED = 0xffff0000;

function isU32(x: unknown): x is number {
  return typeof x === 'number' && x >>> 0 === x;
}

/** Writes `data` little-endian into the data registers, zero past its length. */
function packData(data: Uint8Array, len: number, frame: RegisterFrame): void {
  const whole = len >>> 2;
  for (let k = 0; k < 16; k++) {
    const s = k << 2;
    let v = 0;
    if (k < whole) v = data[s]! | (data[s + 1]! << 8) | (data[s + 2]! << 16) | (data[s + 3]! << 24);
    else if (k === whole) for (let i = s; i < len; i++) v |= data[i]! << ((i - s) << 3);
    frame[DATA_WORDS[k]!] = v;
  }
}

/** Reads `len` bytes from the data registers into `bytes`, zeroing the rest of its 64 bytes. */
function unpackData(frame: RegisterFrame, bytes: Uint8Array, len: number): void {
  for (let r = 0; r < 8; r++) {
    const s = r << 3;
    if (s >= len) {
      bytes.fill(0, s, 64);
      return;
    }
    const w = DATA_REG_WORDS[r]!;
    const lo = frame[w]!;
    const hi = frame[w + 1]!;
    if (s + 8 <= len) {
      bytes[s] = lo;
      bytes[s + 1] = lo >>> 8;
      bytes[s + 2] = lo >>> 16;
      bytes[s + 3] = lo >>> 24;
      bytes[s + 4] = hi;
      bytes[s + 5] = hi >>> 8;
      bytes[s + 6] = hi >>> 16;
      bytes[s + 7] = hi >>> 24;
    } else {
      for (let i = 0; i < 8; i++) bytes[s + i] = s + i < len ? (i < 4 ? lo >>> (i << 3) : hi >>> ((i - 4) << 3)) : 0;
    }
  }
}

function encode(syscall: number, endpoint: number, message: SmallMessage, frame: RegisterFrame): void {
  const data = message.data;
  const len = data.length;
  const caps = message.caps;
  const capCount = caps === undefined ? 0 : caps.length;
  // Validate everything before the first write so a rejected message leaves the frame as it was.
  if (len > MAX_SMALL_DATA) throw new IpcError('MessageTooLarge', `${len} data bytes exceed the ${MAX_SMALL_DATA}-byte register path`);
  if (capCount > MAX_SMALL_CAPS) throw new IpcError('MessageTooLarge', `${capCount} capabilities exceed the ${MAX_SMALL_CAPS}-capability register path`);
  if (!isU32(syscall)) throw new IpcError('InvalidArgument', `syscall number must be a u32, got ${String(syscall)}`);
  if (!isU32(endpoint)) throw new IpcError('InvalidArgument', `endpoint handle must be a u32, got ${String(endpoint)}`);
  if (!isU32(message.type)) throw new IpcError('InvalidArgument', `message type must be a u32, got ${String(message.type)}`);
  for (let i = 0; i < capCount; i++) {
    if (!isU32(caps![i])) throw new IpcError('InvalidArgument', `capability handle ${i} must be a u32, got ${String(caps![i])}`);
  }
  if (frame.length < FRAME_WORDS) throw new IpcError('InvalidArgument', `frame has ${frame.length} words, need ${FRAME_WORDS}`);

  frame[W_SYSCALL] = syscall;
  frame[W_SYSCALL + 1] = 0;
  frame[W_ENDPOINT] = endpoint;
  frame[W_SENDER] = 0; // only the kernel writes the sender
  frame[W_INFO] = MessageInfo.pack(len, capCount, 0);
  frame[W_TYPE] = message.type;
  frame[W_CAP0] = capCount > 0 ? caps![0]! : 0;
  frame[W_CAP1] = capCount > 1 ? caps![1]! : 0;
  frame[W_CAP2] = capCount > 2 ? caps![2]! : 0;
  frame[W_CAP3] = capCount > 3 ? caps![3]! : 0;
  packData(data, len, frame);
}

function decode(frame: RegisterFrame, out: MessageBuffer): void {
  const info = frame[W_INFO]!;
  const len = MessageInfo.length(info);
  const capCount = MessageInfo.capCount(info);
  // A frame is user-written: reject impossible counts before touching `out`.
  if (len > MAX_SMALL_DATA || capCount > MAX_SMALL_CAPS) {
    throw new IpcError('MessageTooLarge', `info word claims ${len} bytes and ${capCount} capabilities`);
  }
  if ((info & INFO_RESERVED) !== 0) throw new IpcError('InvalidArgument', 'reserved bits 16-31 of the info word are set');
  out.type = frame[W_TYPE]!;
  out.length = len;
  out.capCount = capCount;
  out.flags = MessageInfo.flags(info);
  out.sender = frame[W_SENDER]!;
  const caps = out.caps;
  caps[0] = capCount > 0 ? frame[W_CAP0]! : 0;
  caps[1] = capCount > 1 ? frame[W_CAP1]! : 0;
  caps[2] = capCount > 2 ? frame[W_CAP2]! : 0;
  caps[3] = capCount > 3 ? frame[W_CAP3]! : 0;
  unpackData(frame, out.bytes, len);
}

/**
 * The x86_64 register fast path: a small message (≤ 64 bytes, ≤ 4 capabilities) travels in
 * the 12 payload registers per {@link X86_64_FAST_PATH_LAYOUT}. `encode` writes exactly the
 * message registers (RAX, RDI, RSI, RDX, R10 and the eight data registers) and leaves RCX,
 * R11 and RSP alone; neither `encode` nor `decode` allocates.
 */
export const x86_64FastPath: FastPathAbi = Object.freeze({
  arch: 'x86_64',
  registerNames: X86_64_REGISTER_NAMES,
  registerCount: X86_64_REGISTER_COUNT,
  layout: X86_64_FAST_PATH_LAYOUT,
  encode,
  decode,
});
