import { readGolden } from '@veridian/testkit';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { IpcError, createMessageBuffer, createRegisterFrame, readRegister, readSlot, writeSlot } from '@veridian/core';
import type { SmallMessage } from '@veridian/core';
import { AARCH64_REGISTER_TABLE, aarch64FastPath, decodeSmallMessage, encodeSmallMessage } from '../src/index.ts';

const golden = readGolden('fast-path', new URL('../golden/fast-path.json', import.meta.url));

function hexBytes(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

function expectError(fn: () => void, code: string): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(IpcError);
    expect((e as IpcError).code).toBe(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe('register table', () => {
  it('names x0..x30 in frame order', () => {
    expect(aarch64FastPath.registerCount).toBe(31);
    expect(aarch64FastPath.registerNames).toEqual(Array.from({ length: 31 }, (_, i) => `x${i}`));
    expect(AARCH64_REGISTER_TABLE.map((r) => r.name)).toEqual(aarch64FastPath.registerNames);
  });

  it('puts the syscall number in X8, data in X0-X7 and never touches X16-X18, X29, X30', () => {
    const { layout } = aarch64FastPath;
    expect(layout.syscall).toEqual({ reg: 8, half: 0 });
    expect(layout.data).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const used = [layout.syscall, layout.endpoint, layout.sender, layout.info, layout.type, ...layout.caps].map((s) => s.reg);
    for (const reserved of [16, 17, 18, 29, 30]) expect(used).not.toContain(reserved);
    // Every 32-bit slot is distinct.
    const slots = [layout.syscall, layout.endpoint, layout.sender, layout.info, layout.type, ...layout.caps].map((s) => s.reg * 2 + s.half);
    expect(new Set(slots).size).toBe(slots.length);
    expect(Math.min(...used)).toBeGreaterThanOrEqual(8);
  });
});

describe('golden frames', () => {
  it('has at least 8 vectors covering the required shapes', () => {
    expect(golden.arch).toBe('aarch64');
    expect(golden.vectors.length).toBeGreaterThanOrEqual(8);
    const lengths = new Set(golden.vectors.map((v) => v.message.data.length / 2));
    for (const n of [0, 1, 8, 13, 63, 64]) expect(lengths).toContain(n);
    const caps = new Set(golden.vectors.map((v) => v.message.caps.length));
    for (const n of [0, 1, 2, 3, 4]) expect(caps).toContain(n);
    expect(golden.vectors.some((v) => v.message.type === 0xffffffff)).toBe(true);
  });

  for (const v of golden.vectors) {
    it(`encodes "${v.name}" register for register`, () => {
      const frame = createRegisterFrame(31);
      const message: SmallMessage = { type: v.message.type, data: hexBytes(v.message.data), caps: v.message.caps };
      aarch64FastPath.encode(v.syscall, v.endpoint, message, frame);
      expect(Object.keys(v.registers)).toEqual(Array.from({ length: 31 }, (_, i) => `x${i}`));
      for (let r = 0; r < 31; r++) {
        expect(`0x${readRegister(frame, r).toString(16).padStart(16, '0')}`, `x${r}`).toBe(v.registers[`x${r}`]);
      }
    });

    it(`decodes "${v.name}" from the golden registers`, () => {
      const frame = createRegisterFrame(31);
      for (let r = 0; r < 31; r++) {
        const value = BigInt(v.registers[`x${r}`]!);
        frame[r * 2] = Number(value & 0xffffffffn);
        frame[r * 2 + 1] = Number(value >> 32n);
      }
      const out = createMessageBuffer();
      out.bytes.fill(0xee);
      out.caps.fill(0xeeeeeeee);
      aarch64FastPath.decode(frame, out);
      const data = hexBytes(v.message.data);
      expect(out.type).toBe(v.message.type);
      expect(out.length).toBe(data.length);
      expect(out.capCount).toBe(v.message.caps.length);
      expect(out.sender).toBe(0);
      expect(out.flags).toBe(0);
      expect(Array.from(out.bytes.subarray(0, data.length))).toEqual(Array.from(data));
      expect(out.bytes.subarray(data.length).every((b) => b === 0)).toBe(true);
      expect(Array.from(out.caps)).toEqual([...v.message.caps, 0, 0, 0, 0].slice(0, 4));
    });
  }
});

describe('encode/decode', () => {
  it('round-trips every length 0-64 with every capability count 0-4', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 0, maxLength: 64 }),
        fc.array(fc.integer({ min: 0, max: 0xffffffff }), { minLength: 0, maxLength: 4 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.uint32Array({ minLength: 62, maxLength: 62 }),
        (data, caps, type, syscall, endpoint, junk) => {
          const frame = Uint32Array.from(junk); // stale register contents must not leak
          aarch64FastPath.encode(syscall, endpoint, { type, data, caps }, frame);
          expect(readSlot(frame, aarch64FastPath.layout.syscall)).toBe(syscall);
          expect(readSlot(frame, aarch64FastPath.layout.endpoint)).toBe(endpoint);
          expect(readSlot(frame, aarch64FastPath.layout.sender)).toBe(0);
          const out = createMessageBuffer();
          out.bytes.fill(0xaa);
          aarch64FastPath.decode(frame, out);
          expect(out.type).toBe(type);
          expect(out.length).toBe(data.length);
          expect(out.capCount).toBe(caps.length);
          expect(Array.from(out.bytes.subarray(0, data.length))).toEqual(Array.from(data));
          expect(out.bytes.subarray(data.length).every((b) => b === 0)).toBe(true);
          expect(Array.from(out.caps.subarray(0, caps.length))).toEqual(caps);
          expect(out.caps.subarray(caps.length).every((c) => c === 0)).toBe(true);
          // Unused data bytes and cap slots are zero in the frame itself.
          for (let i = data.length; i < 64; i++) expect((frame[i >> 2]! >>> ((i & 3) * 8)) & 0xff).toBe(0);
          for (let i = caps.length; i < 4; i++) expect(readSlot(frame, aarch64FastPath.layout.caps[i]!)).toBe(0);
          // Registers outside the layout are left alone.
          for (let r = 13; r < 31; r++) {
            expect(frame[r * 2]).toBe(junk[r * 2]);
            expect(frame[r * 2 + 1]).toBe(junk[r * 2 + 1]);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('covers the exhaustive length x capability-count grid', () => {
    const frame = createRegisterFrame(31);
    const out = createMessageBuffer();
    for (let len = 0; len <= 64; len++) {
      for (let caps = 0; caps <= 4; caps++) {
        const data = Uint8Array.from({ length: len }, (_, i) => (i * 37 + len) & 0xff);
        const handles = Array.from({ length: caps }, (_, i) => 100 + i + len);
        encodeSmallMessage(2, 9, { type: len * 5 + caps, data, caps: handles }, frame);
        decodeSmallMessage(frame, out);
        expect(out.length).toBe(len);
        expect(out.capCount).toBe(caps);
        expect(out.type).toBe(len * 5 + caps);
        expect(Array.from(out.bytes.subarray(0, len))).toEqual(Array.from(data));
        expect(Array.from(out.caps.subarray(0, caps))).toEqual(handles);
      }
    }
  });

  it('reports the kernel-written sender and flags on decode', () => {
    const frame = createRegisterFrame(31);
    encodeSmallMessage(1, 4, { type: 9, data: new Uint8Array([1, 2, 3]) }, frame);
    writeSlot(frame, aarch64FastPath.layout.sender, 4242);
    frame[20] = (frame[20]! | (0x01 << 10)) >>> 0; // REPLY flag in the info word
    const out = createMessageBuffer();
    decodeSmallMessage(frame, out);
    expect(out.sender).toBe(4242);
    expect(out.flags).toBe(1);
    expect(out.length).toBe(3);
  });

  it('ignores a sender chosen by the caller', () => {
    const frame = createRegisterFrame(31);
    encodeSmallMessage(0, 1, { type: 0, data: new Uint8Array(0), sender: 77 }, frame);
    expect(readSlot(frame, aarch64FastPath.layout.sender)).toBe(0);
  });

  it('zeroes garbage past the length when decoding', () => {
    const frame = createRegisterFrame(31);
    frame.fill(0xffffffff, 0, 16);
    frame[20] = 5; // 5 bytes, no caps
    frame[21] = 0;
    const out = createMessageBuffer();
    decodeSmallMessage(frame, out);
    expect(Array.from(out.bytes.subarray(0, 6))).toEqual([255, 255, 255, 255, 255, 0]);
    expect(out.bytes.subarray(5).every((b) => b === 0)).toBe(true);
  });

  it('throws MessageTooLarge for 65 bytes or 5 caps and leaves the frame untouched', () => {
    fc.assert(
      fc.property(fc.uint32Array({ minLength: 62, maxLength: 62 }), fc.integer({ min: 65, max: 200 }), fc.integer({ min: 5, max: 9 }), (junk, len, caps) => {
        const frame = Uint32Array.from(junk);
        expectError(() => encodeSmallMessage(0, 1, { type: 1, data: new Uint8Array(len) }, frame), 'MessageTooLarge');
        expectError(() => encodeSmallMessage(0, 1, { type: 1, data: new Uint8Array(4), caps: Array.from({ length: caps }, (_, i) => i) }, frame), 'MessageTooLarge');
        expect(Array.from(frame)).toEqual(Array.from(junk));
      }),
      { numRuns: 50 },
    );
  });

  it('throws InvalidArgument for a bad type, handle or syscall and leaves the frame untouched', () => {
    const frame = createRegisterFrame(31).fill(0x12345678);
    const before = Array.from(frame);
    const data = new Uint8Array(8);
    for (const type of [-1, 2 ** 32, 1.5, Number.NaN]) expectError(() => encodeSmallMessage(0, 1, { type, data }, frame), 'InvalidArgument');
    expectError(() => encodeSmallMessage(0, 1, { type: 0, data, caps: [1, -2] }, frame), 'InvalidArgument');
    expectError(() => encodeSmallMessage(0, 2 ** 32, { type: 0, data }, frame), 'InvalidArgument');
    expectError(() => encodeSmallMessage(-1, 1, { type: 0, data }, frame), 'InvalidArgument');
    expect(Array.from(frame)).toEqual(before);
  });

  it('rejects a decoded info word that claims more than 64 bytes or 4 caps', () => {
    const frame = createRegisterFrame(31);
    const out = createMessageBuffer();
    out.length = 3;
    frame[20] = 65;
    expectError(() => decodeSmallMessage(frame, out), 'MessageTooLarge');
    frame[20] = 5 << 7;
    expectError(() => decodeSmallMessage(frame, out), 'MessageTooLarge');
    expect(out.length).toBe(3);
  });

  it('rejects a decoded info word with reserved bits 16-31 set, leaving out untouched', () => {
    const frame = createRegisterFrame(31);
    encodeSmallMessage(0, 1, { type: 3, data: new Uint8Array([9]) }, frame);
    frame[20] = (frame[20]! | (1 << 16)) >>> 0;
    const out = createMessageBuffer();
    out.type = 77;
    expectError(() => decodeSmallMessage(frame, out), 'InvalidArgument');
    expect(out.type).toBe(77);
    expect(out.bytes[0]).toBe(0);
  });

  it('rejects a frame with too few registers', () => {
    expectError(() => encodeSmallMessage(0, 0, { type: 0, data: new Uint8Array(0) }, createRegisterFrame(16)), 'InvalidArgument');
    expectError(() => decodeSmallMessage(createRegisterFrame(16), createMessageBuffer()), 'InvalidArgument');
  });
});
