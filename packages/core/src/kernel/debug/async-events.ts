import { IPC_ERROR_NUMBERS, IpcError } from '../../contracts/errors.js';
import type { MessageBuffer, SmallMessage } from '../../contracts/message.js';
import type { KernelContext } from '../context.js';
import { bytesOf, type Outgoing } from '../ipc/ring-slot.js';
import { H, ObsFlag, R } from '../records/layout.js';
import { KIND_CODE } from './events.js';
import { NO_LATENCY } from './ring.js';
import { byteCount } from '../../contracts/user-bytes.js';

/** The event flags that make async operations write events (a policy alone does not). */
const EVENTS = ObsFlag.AUDIT | ObsFlag.TRACE;

/** Event kinds of the async paths. */
export const AsyncKind = {
  SEND: KIND_CODE['async-send'],
  RECEIVE: KIND_CODE['async-receive'],
  PUBLISH: KIND_CODE.publish,
  TOPIC_RECEIVE: KIND_CODE['topic-receive'],
} as const;

/**
 * The kernel events of async channels and topics for the audit trail and the message trace.
 * Their data paths are lock-free, so they are observed from outside: a handle that finds the
 * header's observation flags on stamps the message before it enters the ring (send time, and
 * a flow id when tracing — the slot carries both to the receiver) and, once the operation has
 * ended and left its ring epoch, writes the event under the kernel lock (the rings of
 * `debug/ring.ts` are written under the lock by every CPU). With the audit and the trace off,
 * the paths pay one header load and a branch.
 */
export class AsyncEvents {
  readonly #k: KernelContext;

  constructor(k: KernelContext) {
    this.#k = k;
  }

  /** True when async operations write events now. */
  get on(): boolean {
    return (this.#k.i32[H.OBS_FLAGS]! & EVENTS) !== 0;
  }

  /** Stamps `m` before it enters a ring: the send time, and a flow id when tracing and `flows` (channels; a topic message has many receivers). */
  stamp(m: Outgoing, flows: boolean): void {
    const k = this.#k;
    // Never 0: a receiver reads 0 as "not stamped" (a manual clock may stand at 0).
    m.ts = Math.max(1, k.obs.now());
    m.flow = flows && (Atomics.load(k.i32, H.OBS_FLAGS) & ObsFlag.TRACE) !== 0 ? k.obs.nextFlow() : 0;
  }

  /** Process `pid`'s send or publish (`kind`) of `m` into ring `r` ended: `error` its refusal (`undefined`: it entered the ring). */
  sent(kind: number, pid: number, r: number, m: Outgoing, error?: unknown): void {
    const status = error === undefined ? 0 : errno(error);
    // At the stamp, taken before the message entered the ring: its receive, maybe on another
    // CPU, may be written first, but is never earlier.
    this.#write(kind, status, pid, 0, r, m.type, bytesOf(m), m.capCount, status === 0 ? m.flow : 0, NO_LATENCY, m.ts);
  }

  /** Process `pid` took `buf` from ring `r` (`kind`): the slot's flow id and send time were just read into the ring slots' last fields. */
  taken(kind: number, pid: number, r: number, buf: MessageBuffer): void {
    const k = this.#k;
    const slots = k.async.slots;
    const size = buf.length + (buf.buffer === null ? 0 : buf.buffer.length);
    const lat = slots.lastSent === 0 ? NO_LATENCY : k.obs.ringLatency(slots.lastSent);
    this.#write(kind, 0, buf.sender, pid, r, buf.type, size, buf.capCount, slots.lastFlow, lat);
  }

  /** Process `pid`'s send or publish (`kind`) of `message` into ring `r` waited for room and timed out (`Timeout`): nothing entered the ring. */
  timedOut(kind: number, pid: number, r: number, message: SmallMessage): void {
    const size = Math.max(0, byteCount(message.data)) + (message.buffer === undefined ? 0 : message.buffer.length);
    this.#write(kind, IPC_ERROR_NUMBERS.Timeout, pid, 0, r, message.type, size, message.caps?.length ?? 0, 0, NO_LATENCY);
  }

  /** Process `pid`'s receive (`kind`) from ring `r` failed with `error`. */
  refused(kind: number, pid: number, r: number, error: unknown): void {
    this.#write(kind, errno(error), pid, 0, r, 0, 0, 0, 0, NO_LATENCY);
  }

  #write(kind: number, status: number, src: number, dst: number, r: number, type: number, size: number, caps: number, flow: number, lat: number, at = 0): void {
    const k = this.#k;
    const id = k.rings.t.getU(r, R.GEN) * 0x10000 + r;
    k.lock();
    try {
      k.obs.ringEvent(kind, status, src, dst, id, type, size, caps, flow, lat, at);
    } finally {
      k.unlock();
    }
  }
}

function errno(e: unknown): number {
  return e instanceof IpcError ? e.errno : IPC_ERROR_NUMBERS.InvalidState;
}
