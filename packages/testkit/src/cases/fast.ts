/** Register fast-path cases: the arch's small-message ABI, its golden frames, and the size limits. */
import fc from 'fast-check';
import { expect } from 'vitest';
import {
  MAX_SMALL_CAPS,
  MAX_SMALL_DATA,
  MessageInfo,
  Rights,
  createMessageBuffer,
  createRegisterFrame,
  readRegister,
  readSlot,
  writeRegister,
  type FastPathAbi,
  type MessageBuffer,
  type RegisterFrame,
  type SmallMessage,
} from '@veridian/core';
import { hex64, hexToBytes } from '../support/bytes.js';
import { EMPTY, codeOf, expectSameState, pattern, rejection, returned } from '../support/harness.js';
import type { CaseTable } from './types.js';

/** Byte `i` of the payload as the layout places it: register `data[i >> 3]`, bits `8 * (i % 8)`. */
function dataByte(fp: FastPathAbi, frame: RegisterFrame, i: number): number {
  const reg = fp.layout.data[i >> 3]!;
  const word = frame[reg * 2 + ((i & 7) >= 4 ? 1 : 0)]!;
  return (word >>> (8 * (i & 3))) & 0xff;
}

/** A message buffer full of stale values, to prove decode overwrites every field. */
function dirtyBuffer(): MessageBuffer {
  const out = createMessageBuffer();
  out.type = 0xabad1dea;
  out.length = 99;
  out.flags = 0x3f;
  out.capCount = 7;
  out.bytes.fill(0xee);
  out.caps.fill(0xeeeeeeee);
  return out;
}

/** Asserts `out` holds exactly `message` as decoded from a frame. */
function expectDecoded(out: MessageBuffer, message: SmallMessage, what: string): void {
  const caps = message.caps ?? [];
  expect(out.type, `${what}: type`).toBe(message.type);
  expect(out.length, `${what}: length`).toBe(message.data.length);
  expect(out.flags, `${what}: flags`).toBe(0);
  expect(out.capCount, `${what}: capability count`).toBe(caps.length);
  expect(Array.from(out.caps.subarray(0, caps.length)), `${what}: capabilities`).toEqual([...caps]);
  expect(Array.from(out.caps.subarray(caps.length)).every((c) => c === 0), `${what}: unused capability slots are zero`).toBe(true);
  expect(Array.from(out.bytes.subarray(0, out.length)), `${what}: payload`).toEqual(Array.from(message.data));
  expect(out.bytes.subarray(message.data.length).every((b) => b === 0), `${what}: bytes past the length are zero`).toBe(true);
}

/** The `fast.*` cases. */
export const fastCases: CaseTable<'fast'> = {
  'fast.register-roundtrip': {
    checks:
      'encode puts every field where the arch layout says (syscall, endpoint, info word, type, four capability slots, 64 data bytes little-endian over eight registers), zeroes unused bytes and slots over a dirty frame, and decode gives the message back exactly',
    run(ctx) {
      const fp = ctx.arch.fastPath;
      const L = fp.layout;
      expect(fp.registerNames).toHaveLength(fp.registerCount);
      expect(L.data).toHaveLength(8);
      expect(new Set(L.data).size).toBe(8);
      for (const r of L.data) expect(r).toBeLessThan(fp.registerCount);
      for (const s of [L.syscall, L.endpoint, L.sender, L.info, L.type, ...L.caps]) expect(s.reg).toBeLessThan(fp.registerCount);
      fc.assert(
        fc.property(
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.uint8Array({ maxLength: MAX_SMALL_DATA }),
          fc.array(fc.integer({ min: 0, max: 0xffffffff }), { maxLength: MAX_SMALL_CAPS }),
          fc.integer({ min: 0, max: 0xffffffff }),
          fc.integer({ min: 0, max: 11 }),
          fc.uint32Array({ minLength: fp.registerCount * 2, maxLength: fp.registerCount * 2 }),
          (type, data, caps, endpoint, syscall, garbage) => {
            const frame: RegisterFrame = Uint32Array.from(garbage);
            const message: SmallMessage = { type, data, caps };
            fp.encode(syscall, endpoint, message, frame);
            expect(readSlot(frame, L.syscall)).toBe(syscall);
            expect(readSlot(frame, L.endpoint)).toBe(endpoint);
            expect(readSlot(frame, L.type)).toBe(type);
            expect(readSlot(frame, L.info)).toBe(MessageInfo.pack(data.length, caps.length, 0));
            for (let i = 0; i < MAX_SMALL_CAPS; i++) expect(readSlot(frame, L.caps[i]!), `capability slot ${i}`).toBe(i < caps.length ? caps[i] : 0);
            for (let i = 0; i < MAX_SMALL_DATA; i++) expect(dataByte(fp, frame, i), `data byte ${i}`).toBe(i < data.length ? data[i] : 0);
            const out = dirtyBuffer();
            fp.decode(frame, out);
            expectDecoded(out, message, 'decoded');
          },
        ),
        { numRuns: ctx.propertyRuns * 4 },
      );
    },
  },

  'fast.golden-frames': {
    checks: "the arch encodes every golden vector the backend supplies (`golden.fastPath`) register for register, and decodes the golden registers back to the message",
    needsGolden: 'fastPath',
    run(ctx) {
      const fp = ctx.arch.fastPath;
      const golden = ctx.golden.fastPath!;
      expect(golden.arch).toBe(ctx.arch.name);
      expect(golden.vectors.length).toBeGreaterThan(0);
      for (const v of golden.vectors) {
        expect(Object.keys(v.registers), `${v.name}: register names in frame order`).toEqual([...fp.registerNames]);
        const message: SmallMessage = { type: v.message.type, data: hexToBytes(v.message.data), caps: v.message.caps };
        const frame = createRegisterFrame(fp.registerCount);
        fp.encode(v.syscall, v.endpoint, message, frame);
        const actual = Object.fromEntries(fp.registerNames.map((name, r) => [name, hex64(readRegister(frame, r))]));
        expect(actual, `${v.name}: encoded registers`).toEqual(v.registers);
        const fromGolden = createRegisterFrame(fp.registerCount);
        fp.registerNames.forEach((name, r) => writeRegister(fromGolden, r, BigInt(v.registers[name]!)));
        const out = dirtyBuffer();
        fp.decode(fromGolden, out);
        expectDecoded(out, message, `${v.name}: decoded from the golden registers`);
        expect(readSlot(fromGolden, fp.layout.syscall)).toBe(v.syscall);
        expect(readSlot(fromGolden, fp.layout.endpoint)).toBe(v.endpoint);
      }
    },
  },

  'fast.register-only-rejects-large': {
    checks: '65 bytes or 5 capabilities are MessageTooLarge at the ABI (frame untouched) and, on a register-only endpoint, for call, send and reply (frame and kernel state unchanged); 64 bytes with 4 capabilities pass',
    async run(ctx) {
      const fp = ctx.arch.fastPath;
      const frame = createRegisterFrame(fp.registerCount);
      for (let i = 0; i < frame.length; i++) frame[i] = Math.imul(i + 1, 0x9e3779b1) >>> 0;
      const pristine = frame.slice();
      const tooLong: SmallMessage = { type: 1, data: new Uint8Array(MAX_SMALL_DATA + 1) };
      const tooManyCaps: SmallMessage = { type: 1, data: EMPTY, caps: [1, 2, 3, 4, 5] };
      for (const m of [tooLong, tooManyCaps, { type: 1, data: new Uint8Array(200) }]) {
        expect(codeOf(() => fp.encode(2, 1, m, frame))).toBe('MessageTooLarge');
        expect(Array.from(frame)).toEqual(Array.from(pristine));
      }
      expect(codeOf(() => fp.encode(2, 1, { type: 1, data: new Uint8Array(MAX_SMALL_DATA), caps: [1, 2, 3, 4] }, frame))).toBe('ok');

      const k = ctx.kernel();
      const server = k.spawn({ name: 'server', priority: 20 }, async (p) => {
        const ep = p.createEndpoint({ name: 'fast.large', registerOnly: true });
        const m = await p.receive(ep);
        expect(m.length).toBe(MAX_SMALL_DATA);
        expect(m.capCount).toBe(MAX_SMALL_CAPS);
        const frameBefore = p.frame.slice();
        const before = k.snapshot();
        for (const bad of [tooLong, { type: 1, data: EMPTY, caps: Array.from(m.caps.subarray(0, 4)).concat(m.caps[0]!) }]) {
          expect(codeOf(() => p.reply(m.sender, bad))).toBe('MessageTooLarge');
          expect(Array.from(p.frame), 'server frame after a refused reply').toEqual(Array.from(frameBefore));
          expectSameState(k.snapshot(), before, 'after a refused reply');
        }
        // The call is still pending: a valid reply reaches the caller.
        p.reply(m.sender, { type: 9, data: pattern(MAX_SMALL_DATA), caps: Array.from(m.caps.subarray(0, 4)) });
      });
      const client = k.spawn({ name: 'client', priority: 10 }, async (p) => {
        const ch = p.connect('fast.large');
        const own = p.createEndpoint();
        const caps = [0, 1, 2, 3].map(() => p.derive(own, Rights.SEND | Rights.SHARE));
        const five = [...caps, p.derive(own, Rights.SEND | Rights.SHARE)];
        const frameBefore = p.frame.slice();
        const before = k.snapshot();
        const attempts: Array<() => Promise<unknown>> = [
          () => p.call(ch, tooLong),
          () => p.call(ch, { type: 1, data: EMPTY, caps: five }),
          () => p.send(ch, tooLong),
          () => p.send(ch, { type: 1, data: pattern(3), caps: five }),
        ];
        for (const attempt of attempts) {
          const pending = attempt();
          expect(Array.from(p.frame), 'client frame after a refused message').toEqual(Array.from(frameBefore));
          expectSameState(k.snapshot(), before, 'after a refused message');
          expect(await rejection(pending)).toBe('MessageTooLarge');
        }
        const r = await p.call(ch, { type: 8, data: pattern(MAX_SMALL_DATA, 3), caps });
        expect(r.type).toBe(9);
        expect(r.length).toBe(MAX_SMALL_DATA);
        expect(r.capCount).toBe(MAX_SMALL_CAPS);
      });
      await returned(server, client);
    },
  },
};
