/**
 * Hostile buffers: byte arrays whose own properties lie (a `length` getter, a `set` or
 * `subarray` of their own) and objects that only look like byte arrays. The POSIX layer
 * measures and copies a buffer through the typed-array intrinsics, so such a buffer reads and
 * writes exactly its real bytes, an explicit count beyond them is `EFAULT`, and a refused call
 * consumes and sends nothing.
 */
import { describe, expect, it } from 'vitest';
import { x86_64 } from '@veridian/arch-x86_64';
import { AF_UNIX, O_CREAT, O_RDWR, SOCK_STREAM } from '@veridian/posix';
import { pattern, rejectsWith, world } from './support/setup.ts';

const arch = x86_64;
const T = 10_000;

/** A real `n`-byte array whose own `length` property claims `claims`. */
function lyingLength(n: number, claims: number, fill = 0): Uint8Array {
  const b = new Uint8Array(n).fill(fill);
  Object.defineProperty(b, 'length', { get: () => claims });
  return b;
}

/** A byte array whose own `set` and `subarray` do nothing useful. */
function lyingMethods(bytes: Uint8Array): Uint8Array {
  const b = Uint8Array.from(bytes);
  Object.defineProperty(b, 'set', { value: () => undefined });
  Object.defineProperty(b, 'subarray', { value: () => new Uint8Array(0) });
  return b;
}

describe('hostile buffers: pipes', () => {
  it('a read buffer whose length getter claims more reads its real size; nothing is lost', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      expect(await px.write(wr, pattern(10))).toBe(10);
      const small = lyingLength(4, 100);
      expect(await px.read(r, small)).toBe(4);
      expect([...new Uint8Array(small.buffer)]).toEqual([...pattern(10).subarray(0, 4)]);
      // An explicit count beyond the real bytes is EFAULT, with nothing taken from the pipe.
      await rejectsWith(px.read(r, lyingLength(4, 100), 50), 'EFAULT', 'read');
      const rest = new Uint8Array(16);
      expect(await px.read(r, rest)).toBe(6);
      expect([...rest.subarray(0, 6)]).toEqual([...pattern(10).subarray(4)]);
    });
  }, T);

  it('a write buffer whose length getter claims more writes only its real bytes; an explicit overlong count writes nothing', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      const src = lyingLength(3, 1000, 7);
      expect(await px.write(wr, src)).toBe(3);
      await rejectsWith(px.write(wr, lyingLength(3, 1000, 9), 500), 'EFAULT', 'write');
      const out = new Uint8Array(16);
      expect(await px.read(r, out)).toBe(3);
      expect([...out.subarray(0, 3)]).toEqual([7, 7, 7]);
    });
  }, T);

  it('own set/subarray methods do not change what is written or read', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      expect(await px.write(wr, lyingMethods(pattern(8, 3)))).toBe(8);
      const into = lyingMethods(new Uint8Array(8));
      expect(await px.read(r, into)).toBe(8);
      expect([...new Uint8Array(into.buffer)]).toEqual([...pattern(8, 3)]);
    });
  }, T);

  it('an object that only inherits from Uint8Array.prototype is EFAULT and changes nothing', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [r, wr] = await px.pipe();
      const fake = Object.create(Uint8Array.prototype) as Uint8Array;
      await rejectsWith(px.write(wr, fake), 'EFAULT', 'write');
      await rejectsWith(px.write(wr, fake, 4), 'EFAULT', 'write');
      await px.write(wr, pattern(2));
      await rejectsWith(px.read(r, fake), 'EFAULT', 'read');
      await rejectsWith(px.read(r, fake, 2), 'EFAULT', 'read');
      const out = new Uint8Array(4);
      expect(await px.read(r, out)).toBe(2);
    });
  }, T);
});

describe('hostile buffers: message queues and sockets', () => {
  it('mq_send / mq_receive measure the real bytes; a refused receive keeps the message', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const q = await px.mq_open('/hb', O_CREAT | O_RDWR, 0o600, { mq_maxmsg: 4, mq_msgsize: 64 });
      await px.mq_send(q, lyingLength(5, 60, 4));
      await rejectsWith(px.mq_send(q, lyingLength(5, 60), 60), 'EFAULT', 'mq_send');
      expect((await px.mq_getattr(q)).mq_curmsgs).toBe(1);
      // A 10-byte buffer claiming 64 is too small for mq_msgsize: refused, message kept.
      await rejectsWith(px.mq_receive(q, lyingLength(10, 64)), 'EMSGSIZE', 'mq_receive');
      await rejectsWith(px.mq_receive(q, lyingLength(10, 64), 64), 'EFAULT', 'mq_receive');
      expect((await px.mq_getattr(q)).mq_curmsgs).toBe(1);
      const out = new Uint8Array(64);
      expect(await px.mq_receive(q, out)).toBe(5);
      expect([...out.subarray(0, 5)]).toEqual([4, 4, 4, 4, 4]);
    });
  }, T);

  it('send / recv on a stream socket pair measure the real bytes', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      expect(await px.send(a, lyingLength(6, 600, 1))).toBe(6);
      await rejectsWith(px.send(a, lyingLength(6, 600), 100), 'EFAULT', 'send');
      const into = lyingLength(4, 400);
      expect(await px.recv(b, into)).toBe(4);
      const rest = new Uint8Array(8);
      expect(await px.recv(b, rest)).toBe(2);
    });
  }, T);

  it('sendmsg / recvmsg scatter and gather the real bytes of each iovec; a bad element is EFAULT before anything moves', async () => {
    await using w = await world(arch);
    await w.run(async (px) => {
      const [a, b] = await px.socketpair(AF_UNIX, SOCK_STREAM, 0);
      expect(await px.sendmsg(a, { msg_iov: [lyingLength(2, 50, 1), lyingMethods(Uint8Array.of(2, 3))] }, 0)).toBe(4);
      await rejectsWith(px.sendmsg(a, { msg_iov: [pattern(2), 'xy' as never] }, 0), 'EFAULT', 'sendmsg');
      const first = lyingLength(3, 30);
      const second = new Uint8Array(3);
      const m = { msg_iov: [first, 5 as never, second] };
      await rejectsWith(px.recvmsg(b, m, 0), 'EFAULT', 'recvmsg');
      const ok = { msg_iov: [first, second] };
      expect(await px.recvmsg(b, ok, 0)).toBe(4);
      expect([...new Uint8Array(first.buffer)]).toEqual([1, 1, 2]);
      expect([...second]).toEqual([3, 0, 0]);
    });
  }, T);
});
