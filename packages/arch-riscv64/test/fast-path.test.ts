import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createMessageBuffer, createRegisterFrame, readRegister, readSlot, statusSlotOf, writeRegister, writeSlot } from '@veridian/core';
import { readGolden } from '@veridian/testkit';
import { RISCV64_FAST_PATH_LAYOUT, RISCV64_REGISTER_NAMES, RISCV64_REGISTER_TABLE, Reg, decodeSmallMessage, encodeSmallMessage, riscv64, riscv64FastPath } from '../src/index.ts';

const golden = readGolden('fast-path', new URL('../golden/fast-path.json', import.meta.url));
const hexBytes = (hex: string) => Uint8Array.from(hex.match(/../g) ?? [], (b) => parseInt(b, 16));

describe('RV64 ecall fast path', () => {
  it('names x0–x31 by their psABI names and documents a role for every register', () => {
    expect(RISCV64_REGISTER_NAMES).toHaveLength(32);
    expect(RISCV64_REGISTER_NAMES[10]).toBe('a0');
    expect(RISCV64_REGISTER_NAMES[17]).toBe('a7');
    expect(RISCV64_REGISTER_NAMES[5]).toBe('t0');
    expect(RISCV64_REGISTER_NAMES[28]).toBe('t3');
    expect(RISCV64_REGISTER_TABLE.map((r) => r.name)).toEqual([...RISCV64_REGISTER_NAMES]);
    expect(RISCV64_REGISTER_TABLE.find((r) => r.name === 'a7')!.role).toMatch(/syscall/);
    expect(riscv64.fastPath).toBe(riscv64FastPath);
  });

  it('takes the syscall number in a7 and returns the status in a0, as RISC-V Linux does', () => {
    expect(RISCV64_FAST_PATH_LAYOUT.syscall).toEqual({ reg: Reg.a7, half: 0 });
    expect(statusSlotOf(RISCV64_FAST_PATH_LAYOUT)).toEqual({ reg: Reg.a0, half: 0 });
    const frame = createRegisterFrame(32);
    encodeSmallMessage(9, 4, { type: 1, data: new Uint8Array(3) }, frame);
    writeSlot(frame, statusSlotOf(RISCV64_FAST_PATH_LAYOUT), 0);
    expect(readSlot(frame, RISCV64_FAST_PATH_LAYOUT.syscall), 'a status write leaves a7 alone').toBe(9);
  });

  it('encodes every golden vector register for register and decodes it back', () => {
    expect(golden.vectors.length).toBeGreaterThanOrEqual(8);
    for (const v of golden.vectors) {
      const frame = createRegisterFrame(32).fill(0);
      encodeSmallMessage(v.syscall, v.endpoint, { type: v.message.type, data: hexBytes(v.message.data), caps: v.message.caps }, frame);
      const regs = Object.fromEntries(RISCV64_REGISTER_NAMES.map((n, r) => [n, `0x${readRegister(frame, r).toString(16).padStart(16, '0')}`]));
      expect(regs, v.name).toEqual(v.registers);
      const back = createRegisterFrame(32);
      RISCV64_REGISTER_NAMES.forEach((n, r) => writeRegister(back, r, BigInt(v.registers[n]!)));
      const out = createMessageBuffer();
      decodeSmallMessage(back, out);
      expect(out.type).toBe(v.message.type);
      expect(Buffer.from(out.bytes.subarray(0, out.length)).toString('hex')).toBe(v.message.data);
    }
  });

  it('never touches zero, ra, sp, gp, tp, s0–s11, t6 or the upper half of a0 and a4', () => {
    const keep = ['zero', 'ra', 'sp', 'gp', 'tp', 's0', 's1', 's2', 's3', 's4', 's5', 's6', 's7', 's8', 's9', 's10', 's11', 't6'].map((n) => Reg[n as keyof typeof Reg]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 4 }), fc.uint32Array({ minLength: 64, maxLength: 64 }), (data, caps, junk) => {
        const frame = Uint32Array.from(junk);
        encodeSmallMessage(3, 8, { type: 2, data, caps }, frame);
        for (const r of keep) expect([frame[2 * r], frame[2 * r + 1]]).toEqual([junk[2 * r], junk[2 * r + 1]]);
        expect(frame[2 * Reg.a0 + 1]).toBe(junk[2 * Reg.a0 + 1]);
        expect(frame[2 * Reg.a4 + 1]).toBe(junk[2 * Reg.a4 + 1]);
        expect(frame[2 * Reg.a4], 'the sender is zero until the kernel writes it').toBe(0);
      }),
    );
  });
});
