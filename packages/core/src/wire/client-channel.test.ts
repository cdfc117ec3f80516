import { describe, expect, it } from 'vitest';
import { createMessageBuffer, type SmallMessage } from '../contracts/message.js';
import { IpcError } from '../contracts/errors.js';
import { ClientChannel } from './client-channel.js';
import type { StubProcess } from './stub-process.js';
import type { WireWriter } from './writer.js';

/** A process that records what would reach the kernel and answers every call with an empty Ok reply. */
function recordingProcess(): StubProcess & { sent: SmallMessage[] } {
  const sent: SmallMessage[] = [];
  const reply = createMessageBuffer();
  return {
    sent,
    pid: 1,
    call: (_channel, request) => {
      sent.push(request);
      return Promise.resolve(reply);
    },
    send: (_channel, message) => {
      sent.push(message);
      return Promise.resolve();
    },
    receive: () => Promise.reject(new Error('not used')),
    reply: () => {},
    createEndpoint: () => 0,
    derive: (h) => h,
    close: () => {},
  };
}

/** One bad value per kind the writer encodes (what a generated encoder calls for each VIDL type). */
const BAD: Array<[kind: string, encode: (w: WireWriter) => void]> = [
  ['bool', (w) => w.bool(2 as unknown as boolean)],
  ['u8', (w) => w.u8(256)],
  ['i8', (w) => w.i8(-129)],
  ['u16', (w) => w.u16(0x1_0000)],
  ['i16', (w) => w.i16(0x8000)],
  ['u32', (w) => w.u32(-1)],
  ['i32', (w) => w.i32(2 ** 31)],
  ['u64', (w) => w.u64(2n ** 64n)],
  ['i64', (w) => w.i64(-(2n ** 63n) - 1n)],
  ['f32', (w) => w.f32('1' as unknown as number)],
  ['f64', (w) => w.f64(1n as unknown as number)],
  ['string<32> of 33 bytes', (w) => w.string('x'.repeat(33), 32)],
  ['bytes<65536> of 65 537 bytes', (w) => w.bytes(new Uint8Array(65_537), 65_536)],
  ['vector<u8, 2> of 3', (w) => w.vector([1, 2, 3], 2, 4, (e) => w.u8(e))],
  ['array<u8, 2> of 1', (w) => w.array([1], 2, (e) => w.u8(e))],
  ['optional holding a bad value', (w) => w.optional(300, 1, (v) => w.u8(v))],
  ['capability handle', (w) => w.cap(-1)],
  ['bits with an undefined bit (as generated encoders check)', (w) => {
    throw w.invalid('bits Access', 0x80);
  }],
  ['cyclic struct', (w) => {
    const deep = (): void => {
      w.enter(1);
      deep();
    };
    deep();
  }],
];

describe('ClientChannel: arguments that fail to encode', () => {
  it.each(BAD)('call rejects (never throws) and sends nothing: %s', async (_kind, encode) => {
    const proc = recordingProcess();
    const client = new ClientChannel(proc, 3, 'test/P');
    let promise: Promise<unknown> | undefined;
    expect(() => {
      promise = client.call(0x10, 'm', encode, (r) => r.end());
    }).not.toThrow();
    expect(promise).toBeInstanceOf(Promise);
    const error = await promise!.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(IpcError);
    expect((error as IpcError).code).toBe('InvalidArgument');
    expect(proc.sent).toEqual([]);
  });

  it.each(BAD)('send rejects (never throws) and sends nothing: %s', async (_kind, encode) => {
    const proc = recordingProcess();
    const client = new ClientChannel(proc, 3, 'test/P');
    let promise: Promise<void> | undefined;
    expect(() => {
      promise = client.send(0x11, encode);
    }).not.toThrow();
    await expect(promise).rejects.toMatchObject({ code: 'InvalidArgument' });
    expect(proc.sent).toEqual([]);
  });

  it('a failed encode does not block the calls queued after it', async () => {
    const proc = recordingProcess();
    const client = new ClientChannel(proc, 3, 'test/P');
    const bad = client.call(0x10, 'm', (w) => w.u8(999), (r) => r.end());
    const good = client.call(0x10, 'm', (w) => w.u8(9), (r) => r.end());
    await expect(bad).rejects.toBeInstanceOf(IpcError);
    await expect(good).resolves.toBeUndefined();
    expect(proc.sent).toHaveLength(1);
  });

  it('something thrown that is not an Error still rejects, as an Error', async () => {
    const client = new ClientChannel(recordingProcess(), 3, 'test/P');
    await expect(
      client.send(0x11, () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- what user code might do
        throw 'nope';
      }),
    ).rejects.toThrow('nope');
  });
});
