import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createMessageBuffer, createRegisterFrame, isIpcError, readRegister, MessageFlags } from '@veridian/core';
import type { MessageBuffer } from '@veridian/core';
import { X86_64_FAST_PATH_LAYOUT, X86_64_REGISTER_NAMES, Reg, x86_64, x86_64FastPath } from '../src/index.js';
import { hexBytes, readGolden } from './golden.js';

const golden = readGolden('fast-path');
const abi = x86_64FastPath;

function hex64(v: bigint): string {
  return `0x${v.toString(16).padStart(16, '0')}`;
}

describe('register table', () => {
  it('lists the 16 GPRs in frame order', () => {
    expect(abi.registerCount).toBe(16);
    expect([...abi.registerNames]).toEqual(['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15']);
    X86_64_REGISTER_NAMES.forEach((name, i) => expect(Reg[name]).toBe(i));
  });

  it('never puts payload in RCX, R11 (clobbered by SYSCALL) or RSP', () => {
    const L = X86_64_FAST_PATH_LAYOUT;
    const used = [L.syscall, L.endpoint, L.sender, L.info, L.type, ...L.caps].map((s) => s.reg).concat(L.data);
    for (const reg of [Reg.rcx, Reg.r11, Reg.rsp]) expect(used).not.toContain(reg);
    expect(L.syscall).toEqual({ reg: Reg.rax, half: 0 });
    expect(L.endpoint).toEqual({ reg: Reg.rdi, half: 0 });
    expect(L.sender).toEqual({ reg: Reg.rdi, half: 1 });
    expect([...L.data]).toEqual([Reg.r8, Reg.r9, Reg.r12, Reg.r13, Reg.r14, Reg.r15, Reg.rbx, Reg.rbp]);
    // Every 32-bit slot is distinct.
    const slots = [L.syscall, L.endpoint, L.sender, L.info, L.type, ...L.caps].map((s) => s.reg * 2 + s.half);
    expect(new Set(slots).size).toBe(slots.length);
  });

  it('is the fast path of the arch object', () => {
    expect(x86_64.fastPath).toBe(abi);
    expect(abi.arch).toBe('x86_64');
  });
});

describe('golden frames', () => {
  it('has at least 8 vectors covering 0..4 caps and 0, 1, 8, 13, 63, 64 bytes', () => {
    expect(golden.arch).toBe('x86_64');
    expect(golden.vectors.length).toBeGreaterThanOrEqual(8);
    const lengths = new Set(golden.vectors.map((v) => v.message.data.length / 2));
    for (const n of [0, 1, 8, 13, 63, 64]) expect(lengths).toContain(n);
    const caps = new Set(golden.vectors.map((v) => v.message.caps.length));
    for (const n of [0, 1, 2, 3, 4]) expect(caps).toContain(n);
    expect(golden.vectors.some((v) => v.message.type === 0xffffffff)).toBe(true);
  });

  for (const v of golden.vectors) {
    it(`encodes "${v.name}" register for register`, () => {
      const frame = createRegisterFrame(16);
      abi.encode(v.syscall, v.endpoint, { type: v.message.type, data: hexBytes(v.message.data), caps: v.message.caps }, frame);
      expect(Object.keys(v.registers)).toEqual([...X86_64_REGISTER_NAMES]);
      const actual = Object.fromEntries(X86_64_REGISTER_NAMES.map((name, r) => [name, hex64(readRegister(frame, r))]));
      expect(actual).toEqual(v.registers);
    });

    it(`decodes "${v.name}" back exactly`, () => {
      const frame = createRegisterFrame(16);
      abi.encode(v.syscall, v.endpoint, { type: v.message.type, data: hexBytes(v.message.data), caps: v.message.caps }, frame);
      const out = createMessageBuffer();
      out.bytes.fill(0xee);
      out.caps.fill(0xeeeeeeee);
      abi.decode(frame, out);
      const data = hexBytes(v.message.data);
      expect(out.type).toBe(v.message.type);
      expect(out.length).toBe(data.length);
      expect(out.capCount).toBe(v.message.caps.length);
      expect(out.flags).toBe(0);
      expect(out.sender).toBe(0);
      expect([...out.caps.subarray(0, out.capCount)]).toEqual(v.message.caps);
      expect([...out.caps.subarray(out.capCount)].every((c) => c === 0)).toBe(true);
      expect([...out.bytes.subarray(0, out.length)]).toEqual([...data]);
      expect([...out.bytes.subarray(out.length)].every((b) => b === 0)).toBe(true);
    });
  }
});

describe('encode', () => {
  it('zeroes unused data bytes and cap slots but leaves RCX, R11 and RSP alone', () => {
    const frame = createRegisterFrame(16).fill(0xdeadbeef);
    abi.encode(2, 9, { type: 1, data: new Uint8Array([1, 2, 3]), caps: [7] }, frame);
    expect(readRegister(frame, Reg.r8)).toBe(0x030201n);
    for (const r of [Reg.r9, Reg.r12, Reg.r13, Reg.r14, Reg.r15, Reg.rbx, Reg.rbp, Reg.r10]) expect(readRegister(frame, r)).toBe(0n);
    expect(readRegister(frame, Reg.rdx)).toBe(7n);
    expect(readRegister(frame, Reg.rax)).toBe(2n);
    expect(readRegister(frame, Reg.rdi)).toBe(9n); // sender half zeroed: user code cannot forge it
    for (const r of [Reg.rcx, Reg.r11, Reg.rsp]) expect(readRegister(frame, r)).toBe(0xdeadbeefdeadbeefn);
  });

  it('ignores a sender chosen by the caller', () => {
    const frame = createRegisterFrame(16);
    abi.encode(0, 1, { type: 0, data: new Uint8Array(0), sender: 1234 }, frame);
    expect(frame[Reg.rdi * 2 + 1]).toBe(0);
  });

  it.each([
    ['65 data bytes', { type: 0, data: new Uint8Array(65) }],
    ['5 capabilities', { type: 0, data: new Uint8Array(1), caps: [1, 2, 3, 4, 5] }],
  ])('throws MessageTooLarge for %s and leaves the frame untouched', (_name, message) => {
    const frame = createRegisterFrame(16);
    for (let i = 0; i < frame.length; i++) frame[i] = (i * 0x01010101 + 0x0badf00d) >>> 0;
    const before = frame.slice();
    let error: unknown;
    try {
      abi.encode(0, 1, message, frame);
    } catch (e) {
      error = e;
    }
    expect(isIpcError(error, 'MessageTooLarge')).toBe(true);
    expect(frame).toEqual(before);
  });

  it.each([
    ['negative type', 0, 1, { type: -1, data: new Uint8Array(1) }],
    ['fractional type', 0, 1, { type: 1.5, data: new Uint8Array(1) }],
    ['type above u32', 0, 1, { type: 2 ** 32, data: new Uint8Array(1) }],
    ['NaN syscall', Number.NaN, 1, { type: 0, data: new Uint8Array(1) }],
    ['negative endpoint', 0, -3, { type: 0, data: new Uint8Array(1) }],
    ['fractional capability', 0, 1, { type: 0, data: new Uint8Array(1), caps: [1, 0.5] }],
  ])('throws InvalidArgument for a %s with the frame untouched', (_name, syscall, endpoint, message) => {
    const frame = createRegisterFrame(16).fill(0x5a5a5a5a);
    const before = frame.slice();
    expect(() => abi.encode(syscall, endpoint, message, frame)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(frame).toEqual(before);
  });
});

describe('decode', () => {
  it('reads the kernel-written sender and flags', () => {
    const frame = createRegisterFrame(16);
    abi.encode(1, 3, { type: 5, data: new Uint8Array([9]) }, frame);
    frame[Reg.rdi * 2 + 1] = 4242;
    frame[Reg.rsi * 2] |= MessageFlags.REPLY << 10;
    const out = createMessageBuffer();
    abi.decode(frame, out);
    expect(out.sender).toBe(4242);
    expect(out.flags).toBe(MessageFlags.REPLY);
    expect(out.length).toBe(1);
    expect(out.bytes[0]).toBe(9);
  });

  it('zeroes bytes past the length even when the registers hold garbage', () => {
    const frame = createRegisterFrame(16).fill(0xffffffff);
    frame[Reg.rsi * 2] = 5 | (1 << 7);
    const out = createMessageBuffer();
    abi.decode(frame, out);
    expect([...out.bytes.subarray(0, 5)]).toEqual([0xff, 0xff, 0xff, 0xff, 0xff]);
    expect([...out.bytes.subarray(5)].every((b) => b === 0)).toBe(true);
    expect([...out.caps]).toEqual([0xffffffff, 0, 0, 0]);
  });

  it.each([
    ['length 65', 65, 'MessageTooLarge'],
    ['5 capabilities', 5 << 7, 'MessageTooLarge'],
    ['reserved bits', 1 << 16, 'InvalidArgument'],
  ])('rejects an info word with %s and leaves the buffer alone', (_name, info, code) => {
    const frame = createRegisterFrame(16);
    frame[Reg.rsi * 2] = info;
    const out = createMessageBuffer();
    out.type = 77;
    expect(() => abi.decode(frame, out)).toThrow(expect.objectContaining({ code }));
    expect(out.type).toBe(77);
  });
});

describe('round trip (property)', () => {
  const u32 = fc.integer({ min: 0, max: 0xffffffff });

  it('is exact for every length 0..64 and capability count 0..4', () => {
    const frame = createRegisterFrame(16);
    const out: MessageBuffer = createMessageBuffer();
    // Every (length, caps) pair explicitly, with random contents.
    for (let len = 0; len <= 64; len++) {
      for (let caps = 0; caps <= 4; caps++) {
        fc.assert(
          fc.property(fc.uint8Array({ minLength: len, maxLength: len }), fc.array(u32, { minLength: caps, maxLength: caps }), u32, u32, u32, (data, capList, type, sys, ep) => {
            frame.fill(0xa5a5a5a5);
            out.bytes.fill(0x5a);
            abi.encode(sys, ep, { type, data, caps: capList }, frame);
            abi.decode(frame, out);
            expect(readRegister(frame, Reg.rax)).toBe(BigInt(sys));
            expect(frame[Reg.rdi * 2]).toBe(ep);
            expect(out.type).toBe(type);
            expect(out.length).toBe(len);
            expect(out.capCount).toBe(caps);
            expect([...out.caps.subarray(0, caps)]).toEqual(capList);
            expect(out.bytes.subarray(0, len)).toEqual(data);
            expect(out.bytes.subarray(len).every((b) => b === 0)).toBe(true);
          }),
          { numRuns: 6 },
        );
      }
    }
  });

  it('places byte i in bits 8*(i%8) of data register i>>3', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), (data) => {
        const frame = createRegisterFrame(16);
        abi.encode(0, 0, { type: 0, data }, frame);
        for (let i = 0; i < 64; i++) {
          const reg = X86_64_FAST_PATH_LAYOUT.data[i >> 3]!;
          const byte = Number((readRegister(frame, reg) >> BigInt(8 * (i % 8))) & 0xffn);
          expect(byte).toBe(i < data.length ? data[i] : 0);
        }
      }),
    );
  });
});
