import { IpcError } from '../contracts/errors.js';
import type { FastPathAbi, FastPathLayout } from '../contracts/fast-path.js';
import { MAX_SMALL_CAPS, MAX_SMALL_DATA, MessageInfo, type MessageBuffer, type SmallMessage } from '../contracts/message.js';
import { slotWord, type RegisterFrame, type RegisterSlot } from '../contracts/register-frame.js';
import { byteCount } from '../contracts/user-bytes.js';

/** What {@link defineFastPath} builds an ABI from: the arch's register table and its layout. */
export interface FastPathSpec {
  /** Arch name, e.g. the package's `Arch.name`. */
  readonly arch: string;
  /** Register names in frame order (index = register number in the frame). */
  readonly registerNames: readonly string[];
  /** Which register (and half) carries which message field. */
  readonly layout: FastPathLayout;
}

/** True on a little-endian host, where a staged payload can be read as 32-bit words directly. */
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** The 32-bit payload word at byte `s` of `b`, byte `s` in the low bits. */
const word = (b: Uint8Array, s: number): number => b[s]! | (b[s + 1]! << 8) | (b[s + 2]! << 16) | (b[s + 3]! << 24);

/** Info-word bits 16–31 are reserved (zero). */
const INFO_RESERVED = 0xffff0000;


/** Frame word of the low half of each data register of `layout`, in payload byte order. @internal */
export function dataRegisterWords(layout: FastPathLayout): Int32Array {
  return new Int32Array(layout.data.map((r) => r * 2));
}

/**
 * Writes the first `len` (≤ 64) payload bytes held in the data registers (`regWords`, from
 * {@link dataRegisterWords}) of `frame` into `bytes`, zero past `len`. Reads each register
 * word once. @internal
 */
export function unpackData(frame: RegisterFrame, regWords: Int32Array, len: number, bytes: Uint8Array): void {
  for (let r = 0; r < 8; r++) {
    const s = r << 3;
    if (s >= len) {
      bytes.fill(0, s, MAX_SMALL_DATA);
      return;
    }
    const w = regWords[r]!;
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


function isU32(x: unknown): x is number {
  return typeof x === 'number' && x >>> 0 === x;
}

/**
 * Checks a layout against a frame of `registerCount` registers: every slot inside the frame,
 * halves 0 or 1, eight distinct data registers, and no two fields sharing a word — except
 * that `sender` may share the endpoint's word (the kernel overwrites it on delivery) and
 * `status` may share any word (it is written on return, when the entry values are dead).
 * Throws `InvalidArgument` naming the first problem.
 */
export function checkFastPathLayout(layout: FastPathLayout, registerCount: number): void {
  const bad = (why: string): never => {
    throw new IpcError('InvalidArgument', `fast-path layout: ${why}`);
  };
  if (!Number.isInteger(registerCount) || registerCount < 1 || registerCount > 32) bad(`registerCount ${registerCount} is not in [1, 32]`);
  const slot = (name: string, s: RegisterSlot | undefined): number => {
    if (s === undefined || !Number.isInteger(s.reg) || s.reg < 0 || s.reg >= registerCount || (s.half !== 0 && s.half !== 1)) bad(`${name} is not a slot of a ${registerCount}-register frame`);
    return slotWord(s!);
  };
  const owner = new Map<number, string>();
  const claim = (name: string, w: number): void => {
    const other = owner.get(w);
    if (other !== undefined) bad(`${name} and ${other} share frame word ${w}`);
    owner.set(w, name);
  };
  claim('syscall', slot('syscall', layout.syscall));
  const endpoint = slot('endpoint', layout.endpoint);
  claim('endpoint', endpoint);
  const sender = slot('sender', layout.sender);
  if (sender !== endpoint) claim('sender', sender);
  claim('info', slot('info', layout.info));
  claim('type', slot('type', layout.type));
  if (!Array.isArray(layout.caps) || layout.caps.length !== MAX_SMALL_CAPS) bad(`caps must list ${MAX_SMALL_CAPS} slots`);
  layout.caps.forEach((c, i) => claim(`caps[${i}]`, slot(`caps[${i}]`, c)));
  if (!Array.isArray(layout.data) || layout.data.length !== MAX_SMALL_DATA / 8) bad(`data must list ${MAX_SMALL_DATA / 8} registers`);
  layout.data.forEach((r, i) => {
    claim(`data[${i}]`, slot(`data[${i}]`, { reg: r, half: 0 }));
    claim(`data[${i}]`, slot(`data[${i}]`, { reg: r, half: 1 }));
  });
  if (layout.status !== undefined) slot('status', layout.status);
}

/**
 * The encode/decode pair of a fast-path layout, with every frame word index resolved once so
 * neither call allocates or looks anything up.
 *
 * - `encode` validates everything before its first write, so a throw leaves the frame as it
 *   was: `MessageTooLarge` for more than 64 data bytes or 4 capabilities, `InvalidArgument`
 *   for a syscall number, endpoint, type or capability handle that is not a u32, or a frame
 *   shorter than the register count. It writes the syscall slot (and zeroes the other half of
 *   its register when no field lives there), the endpoint, a zero sender (only the kernel
 *   writes it), the info word, the type, the capabilities (unused ones zero) and all 64 data
 *   bytes (zero past the length); no other register is touched.
 * - `decode` rejects an info word claiming more than 64 bytes or 4 capabilities
 *   (`MessageTooLarge`) or with reserved bits 16–31 set (`InvalidArgument`), and a short
 *   frame (`InvalidArgument`), all before writing `out`; then fills type, length, flags,
 *   sender, capabilities (zero past the count) and bytes (zero past the length).
 *
 * @example
 * ```ts
 * const { encode, decode } = fastPathCodec(layout, 16);
 * encode(1, 7, { type: 3, data: new Uint8Array([1, 2]) }, frame);
 * ```
 */
export function fastPathCodec(layout: FastPathLayout, registerCount: number): Pick<FastPathAbi, 'encode' | 'decode'> {
  checkFastPathLayout(layout, registerCount);
  const frameWords = registerCount * 2;
  const wSyscall = slotWord(layout.syscall);
  const wEndpoint = slotWord(layout.endpoint);
  const wSender = slotWord(layout.sender);
  const wInfo = slotWord(layout.info);
  const wType = slotWord(layout.type);
  const wCap0 = slotWord(layout.caps[0]);
  const wCap1 = slotWord(layout.caps[1]);
  const wCap2 = slotWord(layout.caps[2]);
  const wCap3 = slotWord(layout.caps[3]);
  const used = new Set([wEndpoint, wSender, wInfo, wType, wCap0, wCap1, wCap2, wCap3, ...layout.data.flatMap((r) => [r * 2, r * 2 + 1])]);
  // The other half of the syscall register, zeroed on entry unless a field lives there (-1).
  const wSyscallOther = wSyscall ^ 1;
  const zeroSyscallOther = !used.has(wSyscallOther);
  /** Frame word of each data register's low half, in byte order. */
  const dataRegWords = dataRegisterWords(layout);
  /** Frame word of each 4-byte group of the payload (low then high half of each data register). */
  const dataWords = new Int32Array(16).map((_, k) => dataRegWords[k >> 1]! + (k & 1));
  const stage32 = new Uint32Array(MAX_SMALL_DATA / 4);
  const stage = new Uint8Array(stage32.buffer);

  function encode(syscall: number, endpoint: number, message: SmallMessage, frame: RegisterFrame): void {
    const data = message.data;
    // The array's real length (an own `length` getter is user code and may lie: -1 would pack
    // as 127 bytes); -1 for anything that is not a Uint8Array.
    const len = byteCount(data);
    if (len < 0) throw new IpcError('InvalidArgument', 'message.data must be a Uint8Array');
    const caps = message.caps;
    const capCount = caps === undefined ? 0 : caps.length;
    if (len > MAX_SMALL_DATA) throw new IpcError('MessageTooLarge', `${len} data bytes exceed the ${MAX_SMALL_DATA}-byte register path`);
    if (capCount > MAX_SMALL_CAPS) throw new IpcError('MessageTooLarge', `${capCount} capabilities exceed the ${MAX_SMALL_CAPS}-capability register path`);
    if (!isU32(syscall)) throw new IpcError('InvalidArgument', `syscall number must be a u32, got ${String(syscall)}`);
    if (!isU32(endpoint)) throw new IpcError('InvalidArgument', `endpoint handle must be a u32, got ${String(endpoint)}`);
    // Each field read once (a getter may answer differently on each read).
    const type = message.type;
    if (!isU32(type)) throw new IpcError('InvalidArgument', `message type must be a u32, got ${String(type)}`);
    for (let i = 0; i < capCount; i++) {
      if (!isU32(caps![i])) throw new IpcError('InvalidArgument', `capability handle ${i} must be a u32, got ${String(caps![i])}`);
    }
    if (frame.length < frameWords) throw new IpcError('InvalidArgument', `frame has ${frame.length} words, need ${frameWords}`);

    frame[wSyscall] = syscall;
    if (zeroSyscallOther) frame[wSyscallOther] = 0;
    frame[wEndpoint] = endpoint;
    if (wSender !== wEndpoint) frame[wSender] = 0; // only the kernel writes the sender
    frame[wInfo] = MessageInfo.pack(len, capCount, 0);
    frame[wType] = type;
    frame[wCap0] = capCount > 0 ? caps![0]! : 0;
    frame[wCap1] = capCount > 1 ? caps![1]! : 0;
    frame[wCap2] = capCount > 2 ? caps![2]! : 0;
    frame[wCap3] = capCount > 3 ? caps![3]! : 0;
    // One bulk copy into a staging buffer, then whole 32-bit words (the frame is little-endian,
    // byte 0 in the low bits): about half the cost of assembling each word from four bytes.
    // Resized or detached by user code that ran since its length was read (a capability
    // array's element getter): refuse rather than copy something else than what was checked.
    if (byteCount(data) !== len) throw new IpcError('InvalidArgument', 'message.data changed size while the message was read');
    stage.set(data);
    const whole = len >>> 2;
    const rest = len & 3;
    for (let k = 0; k < 16; k++) {
      let v = 0;
      if (k < whole) v = LITTLE_ENDIAN ? stage32[k]! : word(stage, k << 2);
      else if (k === whole && rest !== 0) v = (LITTLE_ENDIAN ? stage32[k]! : word(stage, k << 2)) & ((1 << (rest << 3)) - 1);
      frame[dataWords[k]!] = v;
    }
  }

  function decode(frame: RegisterFrame, out: MessageBuffer): void {
    if (frame.length < frameWords) throw new IpcError('InvalidArgument', `frame has ${frame.length} words, need ${frameWords}`);
    const info = frame[wInfo]!;
    const len = MessageInfo.length(info);
    const capCount = MessageInfo.capCount(info);
    // A frame is user-written: reject impossible counts before touching `out`.
    if (len > MAX_SMALL_DATA || capCount > MAX_SMALL_CAPS) throw new IpcError('MessageTooLarge', `info word claims ${len} bytes and ${capCount} capabilities`);
    if ((info & INFO_RESERVED) !== 0) throw new IpcError('InvalidArgument', 'reserved bits 16-31 of the info word are set');
    out.type = frame[wType]!;
    out.length = len;
    out.capCount = capCount;
    out.flags = MessageInfo.flags(info);
    out.sender = frame[wSender]!;
    const c = out.caps;
    c[0] = capCount > 0 ? frame[wCap0]! : 0;
    c[1] = capCount > 1 ? frame[wCap1]! : 0;
    c[2] = capCount > 2 ? frame[wCap2]! : 0;
    c[3] = capCount > 3 ? frame[wCap3]! : 0;
    unpackData(frame, dataRegWords, len, out.bytes);
  }

  return { encode, decode };
}

/**
 * Builds a complete, frozen {@link FastPathAbi} from a register table and a layout: the one
 * codec every backend shares (see {@link fastPathCodec} for the exact encode/decode
 * semantics). A backend keeps only what is its own — register names and which register
 * carries which field.
 *
 * @example
 * ```ts
 * import { defineFastPath } from '@veridian/core';
 *
 * export const myFastPath = defineFastPath({
 *   arch: 'my-cpu',
 *   registerNames: ['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'],
 *   layout: {
 *     syscall: { reg: 0, half: 0 },
 *     status: { reg: 1, half: 0 },
 *     endpoint: { reg: 1, half: 0 },
 *     sender: { reg: 1, half: 1 },
 *     info: { reg: 2, half: 0 },
 *     type: { reg: 2, half: 1 },
 *     caps: [{ reg: 3, half: 0 }, { reg: 3, half: 1 }, { reg: 4, half: 0 }, { reg: 4, half: 1 }],
 *     data: [5, 6, 7, 8, 9, 10, 11, 12],
 *   },
 * });
 * ```
 */
export function defineFastPath(spec: FastPathSpec): FastPathAbi {
  const registerCount = spec.registerNames.length;
  const { encode, decode } = fastPathCodec(spec.layout, registerCount);
  return Object.freeze({
    arch: spec.arch,
    registerNames: Object.freeze([...spec.registerNames]),
    registerCount,
    layout: spec.layout,
    encode,
    decode,
  });
}
