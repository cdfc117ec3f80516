import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  checkFastPathLayout,
  createMessageBuffer,
  createRegisterFrame,
  defineFastPath,
  readRegister,
  readSlot,
  statusSlotOf,
  type FastPathLayout,
} from '@veridian/core';

// A deliberately scattered layout: fields in high halves, data registers out of order.
const layout: FastPathLayout = {
  syscall: { reg: 17, half: 0 },
  status: { reg: 10, half: 0 },
  endpoint: { reg: 10, half: 0 },
  sender: { reg: 14, half: 0 },
  info: { reg: 11, half: 0 },
  type: { reg: 11, half: 1 },
  caps: [
    { reg: 12, half: 0 },
    { reg: 12, half: 1 },
    { reg: 13, half: 0 },
    { reg: 13, half: 1 },
  ],
  data: [25, 18, 19, 20, 21, 22, 23, 24],
};
const abi = defineFastPath({ arch: 'scatter', registerNames: Array.from({ length: 32 }, (_, i) => `x${i}`), layout });

const message = fc.record({
  type: fc.nat({ max: 0xffffffff }),
  data: fc.uint8Array({ maxLength: 64 }),
  caps: fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 4 }),
});

describe('layout-driven fast-path codec', () => {
  it('round-trips every small message through any frame contents, touching only message registers', () => {
    fc.assert(
      fc.property(message, fc.nat({ max: 0xffffffff }), fc.nat({ max: 0xffffffff }), fc.uint32Array({ minLength: 64, maxLength: 64 }), (m, sys, ep, junk) => {
        const frame = createRegisterFrame(32);
        frame.set(junk);
        abi.encode(sys, ep, m, frame);
        expect(readSlot(frame, layout.syscall)).toBe(sys);
        expect(frame[17 * 2 + 1], 'the other half of the syscall register is zeroed').toBe(0);
        expect(readSlot(frame, layout.endpoint)).toBe(ep);
        expect(readSlot(frame, layout.sender)).toBe(0);
        const touched = new Set([17, 10, 11, 12, 13, 14, ...layout.data]);
        for (let r = 0; r < 32; r++) {
          if (touched.has(r)) continue;
          expect(frame[2 * r], `x${r} lo untouched`).toBe(junk[2 * r]);
          expect(frame[2 * r + 1], `x${r} hi untouched`).toBe(junk[2 * r + 1]);
        }
        // byte i of the payload is byte i%8 of register data[i>>3]
        for (let i = 0; i < 64; i++) {
          const reg = readRegister(frame, layout.data[i >> 3]!);
          expect(Number((reg >> BigInt(8 * (i % 8))) & 0xffn)).toBe(i < m.data.length ? m.data[i] : 0);
        }
        const out = createMessageBuffer();
        out.bytes.fill(0xee);
        abi.decode(frame, out);
        expect(out.type).toBe(m.type);
        expect(out.length).toBe(m.data.length);
        expect([...out.bytes.subarray(0, out.length)]).toEqual([...m.data]);
        expect(out.bytes.subarray(out.length).every((b) => b === 0)).toBe(true);
        expect(out.capCount).toBe(m.caps.length);
        expect([...out.caps]).toEqual([...m.caps, 0, 0, 0, 0].slice(0, 4));
      }),
    );
  });

  it('rejects bad input before the first write (MessageTooLarge / InvalidArgument as before)', () => {
    const frame = createRegisterFrame(32).fill(0xabcdef01);
    const before = frame.slice();
    const cases: Array<[string, () => void]> = [
      ['MessageTooLarge', () => abi.encode(1, 1, { type: 0, data: new Uint8Array(65) }, frame)],
      ['MessageTooLarge', () => abi.encode(1, 1, { type: 0, data: new Uint8Array(1), caps: [1, 2, 3, 4, 5] }, frame)],
      ['InvalidArgument', () => abi.encode(-1, 1, { type: 0, data: new Uint8Array(1) }, frame)],
      ['InvalidArgument', () => abi.encode(1, 2 ** 32, { type: 0, data: new Uint8Array(1) }, frame)],
      ['InvalidArgument', () => abi.encode(1, 1, { type: 1.5, data: new Uint8Array(1) }, frame)],
      ['InvalidArgument', () => abi.encode(1, 1, { type: 0, data: new Uint8Array(1), caps: [1, -3] }, frame)],
    ];
    for (const [code, fn] of cases) {
      expect(fn).toThrow(expect.objectContaining({ code }));
      expect(frame).toEqual(before);
    }
    expect(() => abi.encode(1, 1, { type: 0, data: new Uint8Array(1) }, createRegisterFrame(31))).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });

  it('decode refuses impossible info words with the buffer untouched', () => {
    const frame = createRegisterFrame(32);
    const out = createMessageBuffer();
    out.type = 77;
    frame[11 * 2] = 65; // length 65
    expect(() => abi.decode(frame, out)).toThrow(expect.objectContaining({ code: 'MessageTooLarge' }));
    frame[11 * 2] = 0x10000; // reserved bit 16
    expect(() => abi.decode(frame, out)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(out.type).toBe(77);
  });

  it('the status slot defaults to the syscall slot and may be another register', () => {
    expect(statusSlotOf(layout)).toEqual({ reg: 10, half: 0 });
    const { status: _status, ...noStatus } = layout;
    expect(statusSlotOf(noStatus)).toBe(layout.syscall);
  });

  it('checks layouts: overlapping fields, out-of-frame slots and wrong counts are InvalidArgument', () => {
    const bad: FastPathLayout[] = [
      { ...layout, info: layout.type },
      { ...layout, data: [10, 18, 19, 20, 21, 22, 23, 24] },
      { ...layout, syscall: { reg: 32, half: 0 } },
      { ...layout, caps: layout.caps.slice(0, 3) as unknown as FastPathLayout['caps'] },
      { ...layout, data: [18, 18, 19, 20, 21, 22, 23, 24] },
    ];
    for (const l of bad) expect(() => checkFastPathLayout(l, 32)).toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
    expect(() => checkFastPathLayout(layout, 32)).not.toThrow();
    expect(() => checkFastPathLayout(layout, 20), 'register 25 is outside a 20-register frame').toThrow(expect.objectContaining({ code: 'InvalidArgument' }));
  });
});
