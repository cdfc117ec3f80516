import { IPC_ERROR_NUMBERS, IpcError, ipcErrorCodeOf, type MessageBuffer, type Process } from '@veridian/core';
import { pattern } from '../support/bytes.js';
import { MB, MbKind, type StepExecutorArgs } from '../model/mailbox.js';

const BLOCKING: ReadonlySet<number> = new Set([MbKind.CALL, MbKind.SEND, MbKind.RECEIVE]);

/**
 * Worker-CPU process of the multi-CPU model property: a generic step executor. It waits for
 * commands in its mailbox (`args.mailbox`, outside machine memory), performs each with the
 * public `Process` API — `createEndpoint`, `derive`, `grant`, `revoke`, `close`, `callSync`,
 * `send`, `receiveSync`, `reply`, `replyError` — and writes back the outcome: the result, or
 * the `IpcError` register number. Blocking syscalls block this CPU for real until another
 * step resolves them. Killed while blocked (the syscall fails with ProcessNotFound), it returns.
 */
export default async function stepExecutor(proc: Process, args: StepExecutorArgs): Promise<void> {
  const i32 = new Int32Array(args.mailbox);
  const u32 = new Uint32Array(args.mailbox);
  const text = new Uint8Array(args.mailbox, MB.TEXT * 4, 256);
  const bytes = new Uint8Array(args.mailbox, MB.BYTES * 4, 64);
  Atomics.store(i32, MB.PID, proc.pid);
  Atomics.store(i32, MB.READY, 1);
  Atomics.notify(i32, MB.READY);
  let last = 0;
  for (;;) {
    while (Atomics.load(i32, MB.CMD) === last) Atomics.wait(i32, MB.CMD, last, 100);
    last = Atomics.load(i32, MB.CMD);
    const kind = i32[MB.KIND]!;
    Atomics.store(i32, MB.TAKEN, last);
    if (kind === MbKind.EXIT) {
      Atomics.store(i32, MB.DONE, last);
      return;
    }
    const handle = u32[MB.HANDLE]!;
    const arg = u32[MB.ARG]!;
    const caps = Array.from(u32.subarray(MB.CAPS, MB.CAPS + i32[MB.NCAPS]!));
    const message = () => ({ type: u32[MB.TYPE]!, data: pattern(i32[MB.LENGTH]!, i32[MB.SALT]!), caps });
    const received = (m: MessageBuffer) => {
      u32[MB.RTYPE] = m.type;
      u32[MB.RSENDER] = m.sender;
      u32[MB.RFLAGS] = m.flags;
      i32[MB.RLENGTH] = m.length;
      i32[MB.RCAPS] = m.capCount;
      bytes.fill(0);
      bytes.set(m.bytes.subarray(0, Math.min(64, m.length)));
      const got = Array.from(m.caps.subarray(0, m.capCount));
      got.forEach((h, n) => {
        u32[MB.RCAP + n] = h;
        const c = proc.inspect(h);
        u32[MB.RCAP_PERMS + n] = c.permissions;
        u32[MB.RCAP_RES + n] = c.resource;
      });
    };
    const minted = (h: number) => {
      u32[MB.VALUE] = h;
      const c = proc.inspect(h);
      u32[MB.VPERMS] = c.permissions;
      u32[MB.VRES] = c.resource;
    };
    let status = 0;
    try {
      switch (kind) {
        case MbKind.CREATE:
          minted(proc.createEndpoint({ capacity: arg, registerOnly: true }));
          break;
        case MbKind.DERIVE:
          minted(proc.derive(handle, arg));
          break;
        case MbKind.GRANT:
          u32[MB.VALUE] = proc.grant(handle, u32[MB.TYPE]!, arg);
          break;
        case MbKind.REVOKE:
          proc.revoke(handle);
          minted(handle);
          break;
        case MbKind.CLOSE:
          proc.close(handle);
          break;
        case MbKind.CALL:
          received(proc.callSync(handle, message()));
          break;
        case MbKind.SEND:
          // On a worker CPU send blocks inside the kernel entry and returns a settled promise.
          await proc.send(handle, message());
          break;
        case MbKind.RECEIVE:
          received(proc.receiveSync(handle));
          break;
        case MbKind.REPLY:
          proc.reply(handle, message());
          break;
        case MbKind.REPLY_ERROR: {
          const code = ipcErrorCodeOf(arg);
          if (!code) throw new Error(`no IpcError numbered ${arg}`);
          proc.replyError(handle, code);
          break;
        }
        default:
          throw new Error(`unknown command kind ${kind}`);
      }
    } catch (e) {
      if (e instanceof IpcError) status = IPC_ERROR_NUMBERS[e.code];
      else {
        status = -1;
        const t = new TextEncoder().encode(String(e instanceof Error ? `${e.name}: ${e.message}` : e)).subarray(0, 256);
        text.set(t);
        i32[MB.TEXT_LEN] = t.length;
      }
    }
    i32[MB.STATUS] = status;
    Atomics.store(i32, MB.DONE, last);
    Atomics.notify(i32, MB.DONE);
    if (BLOCKING.has(kind) && status === IPC_ERROR_NUMBERS.ProcessNotFound) return;
  }
}

