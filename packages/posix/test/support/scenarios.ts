import type { Process } from '@veridian/core';
import { AF_UNIX, F_GETFL, F_SETFL, MAP_SHARED, O_CREAT, O_NONBLOCK, O_RDWR, PAGE_SIZE, POLLIN, PROT_READ, PROT_WRITE, PosixError, SCM_RIGHTS, SOCK_SEQPACKET, SOL_SOCKET, createPosix, timespecIn, type MsgHdr, type Posix } from '@veridian/posix';

function fails(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (e) {
    if (e instanceof PosixError && e.code === code) return;
    throw new Error(`expected ${code}, got ${String(e)}`);
  }
  throw new Error(`expected ${code}, got success`);
}

function eq(a: unknown, b: unknown, what: string): void {
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error(`${what}: ${JSON.stringify(a)} !== ${JSON.stringify(b)}`);
}

const SCENARIOS: Record<string, (px: Posix, args: Record<string, number>) => void> = {
  /** Pipes with the …Sync calls on a worker CPU. */
  pipe(px) {
    const [r, w] = px.pipe2Sync(O_NONBLOCK);
    fails(() => px.readSync(r, new Uint8Array(4)), 'EAGAIN');
    eq(px.writeSync(w, new Uint8Array([1, 2, 3])), 3, 'write');
    const buf = new Uint8Array(8);
    eq(px.readSync(r, buf), 3, 'read');
    px.closeSync(w);
    eq(px.readSync(r, buf), 0, 'eof');
    const [r2, w2] = px.pipeSync();
    px.closeSync(r2);
    fails(() => px.writeSync(w2, buf), 'EPIPE');
    fails(() => px.closeSync(r2), 'EBADF');
    eq(px.dup2Sync(w2, 9), 9, 'dup2');
    px.closeSync(w2);
    px.closeSync(9);
    px.closeSync(r);
  },
  /** Message queues with the …Sync calls. */
  mq(px) {
    const q = px.mq_openSync('/wq', O_CREAT | O_RDWR, 0o600, { mq_maxmsg: 4, mq_msgsize: 16 });
    px.mq_sendSync(q, new Uint8Array([1]), 1, 1);
    px.mq_sendSync(q, new Uint8Array([2]), 1, 9);
    const buf = new Uint8Array(16);
    const prio = { value: 0 };
    eq([px.mq_receiveSync(q, buf, 16, prio), buf[0], prio.value], [1, 2, 9], 'highest first');
    eq([px.mq_receiveSync(q, buf, 16, prio), buf[0], prio.value], [1, 1, 1], 'then lower');
    fails(() => px.mq_timedreceiveSync(q, buf, 16, null, timespecIn(5)), 'ETIMEDOUT');
    fails(() => px.mq_receiveSync(q, buf, 8), 'EMSGSIZE');
    px.mq_setattrSync(q, { mq_flags: O_NONBLOCK });
    fails(() => px.mq_receiveSync(q, buf), 'EAGAIN');
    eq(px.mq_getattrSync(q).mq_curmsgs, 0, 'empty');
    px.mq_notifySync(q, null);
    px.mq_closeSync(q);
    px.mq_unlinkSync('/wq');
  },
  /** Two workers: the sender passes a pipe's write end through an inherited socket; the receiver writes through it. */
  'rights-send'(px, a) {
    const [r, w] = px.pipeSync();
    px.sendmsgSync(a.sock!, { msg_iov: [new Uint8Array([7])], msg_control: [{ cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS, cmsg_data: [w] }] });
    px.closeSync(w);
    const buf = new Uint8Array(8);
    eq(px.readSync(r, buf), 5, 'bytes written by the receiver');
    eq(Array.from(buf.subarray(0, 5)), [5, 4, 3, 2, 1], 'data');
    eq(px.readSync(r, buf), 0, 'eof once the receiver closed it');
  },
  'rights-recv'(px, a) {
    const m: MsgHdr = { msg_iov: [new Uint8Array(4)] };
    eq(px.recvmsgSync(a.sock!, m), 1, 'one byte');
    const fd = m.msg_control![0]!.cmsg_data[0]!;
    eq(px.writeSync(fd, new Uint8Array([5, 4, 3, 2, 1])), 5, 'write through the passed descriptor');
    px.closeSync(fd);
  },
  /** SCM_RIGHTS of a shared memory descriptor between worker CPUs: the receiver maps the object the sender unlinked and closed. */
  'shm-send'(px, a) {
    const fd = px.shm_openSync('/wshm', O_CREAT | O_RDWR);
    px.ftruncateSync(fd, 2 * PAGE_SIZE);
    const va = px.mmapSync(null, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
    px.proc.memory.write(va + PAGE_SIZE, new Uint8Array([11, 12]));
    px.sendmsgSync(a.sock!, { msg_iov: [new Uint8Array([1])], msg_control: [{ cmsg_level: SOL_SOCKET, cmsg_type: SCM_RIGHTS, cmsg_data: [fd] }] });
    px.shm_unlinkSync('/wshm');
    px.closeSync(fd);
    eq(px.recvSync(a.sock!, new Uint8Array(1), 1, 0), 1, 'the receiver wrote');
    eq(Array.from(px.proc.memory.read(va, 2)), [21, 22], 'the receiver wrote through its mapping');
    px.munmap(va, 2 * PAGE_SIZE);
  },
  'shm-recv'(px, a) {
    const m: MsgHdr = { msg_iov: [new Uint8Array(4)] };
    eq(px.recvmsgSync(a.sock!, m), 1, 'one byte');
    const fd = m.msg_control![0]!.cmsg_data[0]!;
    eq(px.fstatSync(fd).st_size, 2 * PAGE_SIZE, 'fstat of the passed descriptor');
    const va = px.mmapSync(null, 2 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
    eq(Array.from(px.proc.memory.read(va + PAGE_SIZE, 2)), [11, 12], 'the sender\'s bytes');
    px.proc.memory.write(va, new Uint8Array([21, 22]));
    px.closeSync(fd);
    px.sendSync(a.sock!, new Uint8Array([1]), 1, 0);
    px.munmap(va, 2 * PAGE_SIZE);
  },
  /** A worker's mapping follows ftruncate made on CPU 0 (the parent drives: test/shm-resize.test.ts). */
  'shm-resize'(px, a) {
    const fd = px.shm_openSync('/wrz', O_RDWR);
    const va = px.mmapSync(null, 3 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd);
    const step = () => {
      px.sendSync(a.sock!, new Uint8Array([1]), 1, 0);
      eq(px.recvSync(a.sock!, new Uint8Array(1), 1, 0), 1, 'the parent went on');
    };
    const faults = (fn: () => unknown, what: string) => {
      try {
        fn();
      } catch (e) {
        if ((e as { code?: string }).code === 'AccessFault') return;
        throw e;
      }
      throw new Error(`${what}: no fault`);
    };
    eq(px.proc.memory.read(va, 1)[0], 1, 'the first page');
    faults(() => px.proc.memory.read(va + PAGE_SIZE, 1), 'past the end');
    step(); // grown to 3 pages, page 2 written
    eq(px.proc.memory.read(va + 2 * PAGE_SIZE, 1)[0], 2, 'the page grown into');
    px.proc.memory.write(va + PAGE_SIZE, new Uint8Array([3]));
    step(); // shrunk to 1 page
    faults(() => px.proc.memory.read(va + PAGE_SIZE, 1), 'past the new end');
    faults(() => px.proc.memory.write(va + 2 * PAGE_SIZE, new Uint8Array([4])), 'past the new end');
    px.munmap(va, 3 * PAGE_SIZE);
    px.closeSync(fd);
    px.sendSync(a.sock!, new Uint8Array([1]), 1, 0);
  },
  /** fcntl F_SETFL on a worker CPU, on a descriptor inherited from CPU 0 (test/status-flags.test.ts). */
  flags(px, a) {
    eq(px.fcntl(a.fd!, F_GETFL) & O_NONBLOCK, 0, 'blocking at first');
    px.fcntl(a.fd!, F_SETFL, O_NONBLOCK);
    fails(() => px.readSync(a.fd!, new Uint8Array(1)), 'EAGAIN');
    px.sendSync(a.sock!, new Uint8Array([1]), 1, 0);
    eq(px.recvSync(a.sock!, new Uint8Array(1), 1, 0), 1, 'the parent went on');
    eq(px.fcntl(a.fd!, F_GETFL) & O_NONBLOCK, 0, 'cleared by the parent');
  },
  /** poll on a worker CPU. */
  poll(px) {
    const [a, b] = px.socketpairSync(AF_UNIX, SOCK_SEQPACKET, 0);
    const fds = [{ fd: b, events: POLLIN, revents: 0 }];
    eq(px.pollSync(fds, 1, 10), 0, 'timeout');
    px.sendSync(a, new Uint8Array(3), 3, 0);
    eq(px.pollSync(fds, 1, -1), 1, 'ready');
    eq(fds[0]!.revents, POLLIN, 'POLLIN');
  },
  /** Writes three bytes to its inherited descriptor `w` and exits without closing anything. */
  'write-exit'(px, args) {
    eq(px.writeSync(args.w!, Uint8Array.of(7, 8, 9)), 3, 'write');
  },
};

/** Worker CPU: runs the named scenario; throws (the process crashes) on the first failed check. */
export default function main(proc: Process, args: { scenario: string } & Record<string, number>): void {
  SCENARIOS[args.scenario]!(createPosix(proc), args);
}
