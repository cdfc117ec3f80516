import { IpcError } from '../contracts/errors.js';
import type { FastPathAbi } from '../contracts/fast-path.js';
import { MessageFlags, MessageInfo, type MessageBuffer, type SmallMessage } from '../contracts/message.js';
import { writeSlot } from '../contracts/register-frame.js';
import { Syscall } from '../contracts/syscall.js';
import { checkMessage, readSmallMessage, type MessageFields } from './args.js';
import type { KernelContext } from './context.js';
import type { MainCpu } from './sched/main-cpu.js';
import type { Syscalls } from './syscall.js';
import { byteCount } from '../contracts/user-bytes.js';

const EMPTY = new Uint8Array(0);
/** The registers of a large response (its type; the rest travels in the descriptor), reused: CPU 0 runs one handler at a time. */
const REGS: SmallMessage = { type: 0, data: EMPTY };
/**
 * A small response as read once ({@link readMessage}: a getter may answer differently on each
 * read, and the kernel reads the response again when it delivers it and mints its
 * capabilities), then handed on in a message shape of the kernel's own, which has no getters.
 */
const FIELDS: MessageFields = { type: 0, data: EMPTY, size: 0, handles: new Uint32Array(4), capCount: 0, buffer: null, transfer: undefined };
const CAP_VIEWS = [0, 1, 2, 3, 4].map((n) => FIELDS.handles.subarray(0, n));
const SMALL: { type: number; data: Uint8Array; caps: readonly number[] | undefined } = { type: 0, data: EMPTY, caps: undefined };

/**
 * The user-side half of a passive call (see `ipc/passive.ts`): runs the handler of the server
 * that took the call — with no kernel lock held — and hands its response back to the kernel,
 * which delivers it into `reply` or undoes the call. A small response is passed as a value; a
 * large one is staged for the server and its registers encoded straight into the kernel's
 * scratch (nothing user-writable in between). @internal
 */
export function runPassiveHandler(k: KernelContext, sys: Syscalls, cpu: MainCpu, fp: FastPathAbi, reply: MessageBuffer): void {
  const r = k.sync.passiveServer;
  const entry = cpu.passiveEntry(r);
  let failure: IpcError | undefined;
  let small: SmallMessage | null = null;
  let large: SmallMessage | null = null;
  try {
    const req = entry.buf;
    if (req.flags & MessageFlags.LARGE) k.large.readInto(r, req);
    const value = entry.handler(req);
    if (readSmallMessage(value, FIELDS, 'response')) {
      SMALL.type = FIELDS.type;
      SMALL.data = FIELDS.data;
      SMALL.caps = FIELDS.capCount === 0 ? undefined : (CAP_VIEWS[FIELDS.capCount] as unknown as readonly number[]);
      small = SMALL;
    } else {
      const response = checkMessage(value, 'response');
      const scratch = k.messages.scratch;
      // No payload to copy in: staged by passiveFinish, in its own entry (one lock).
      if (byteCount(response.data) === 0) large = response;
      else {
        sys.stageLarge(r, k.procs.pid(r), response, -1, NaN);
        k.large.fill(r, response.data);
      }
      REGS.type = response.type;
      fp.encode(Syscall.IpcReply, 0, REGS, scratch);
      writeSlot(scratch, fp.layout.info, MessageInfo.pack(0, 0, MessageFlags.LARGE));
    }
  } catch (e) {
    failure = e instanceof IpcError ? e : new IpcError('InvalidState', 'passive server handler threw', { cause: e });
  }
  sys.passiveFinish(failure, reply, small, large);
}

