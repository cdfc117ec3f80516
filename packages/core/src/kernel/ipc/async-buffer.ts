import { IpcError } from '../../contracts/errors.js';
import type { SharedBuffer } from '../../contracts/shared-buffer.js';
import type { KernelContext } from '../context.js';
import { H } from '../records/layout.js';
import { transferMode } from '../args.js';
import { Mode } from './transfer.js';

/**
 * Zero-copy buffers of async channel messages (`message.buffer` with `transfer`), kernel side,
 * lock held. A message in a ring outlives its sender's kernel entry, so its buffer is staged and
 * carried in one step when the message enters the ring: the descriptor (a kernel-owned frame,
 * the layout of `transfer-layout.ts`) then holds the frames — a Move's pages already left the
 * sender, a Share's are copy-on-write with a reference each, a Copy's are fresh — and the ring
 * slot holds the descriptor's frame number. The receiver maps the frames lazily when it takes
 * the message; a message discarded unread (overflow policy, the ring released) lets them go.
 *
 * Slots with a descriptor are only claimed under the kernel lock (ipc/async.ts), so staging,
 * pushing and carrying are one step to every receiver.
 */
export class AsyncBuffers {
  readonly #k: KernelContext;

  constructor(k: KernelContext) {
    this.#k = k;
  }

  /** Checks `p`'s buffer for a send (writes nothing): the range, the mode's rules, the frames it needs. Returns the mode code. */
  check(p: number, buffer: SharedBuffer, transfer: unknown): number {
    const k = this.#k;
    const mode = transferMode(transfer);
    const need = 1 + k.transfers.check(p, buffer.va, buffer.length, mode, k.i32[H.MAX_TRANSFER]!);
    if (k.mm.phys.freeFrames < need) throw new IpcError('OutOfMemory', `need ${need} frames, ${k.mm.phys.freeFrames} free`);
    return mode;
  }

  /**
   * Stages the buffer checked just before (nothing else may run between: the check leaves the
   * pages in the VM scratch) into a fresh descriptor; returns its frame. Undone exactly by
   * {@link AsyncBuffers.cancel}. Cannot fail.
   */
  stage(p: number, buffer: SharedBuffer, mode: number): number {
    const k = this.#k;
    // A received buffer moved on whole keeps its pending range's descriptor frame (see `Transfers.handedFrame`).
    const reuse = mode === Mode.MOVE ? k.transfers.handedFrame() : 0;
    const f = reuse !== 0 ? reuse : k.mm.phys.allocFrame(undefined, false);
    const d = this.#desc(f);
    if (reuse === 0) k.transfers.clear(d);
    k.transfers.stage(p, d, buffer.va, buffer.length, mode);
    return f;
  }

  /** The message of descriptor `f` is in the ring: the frames leave `p` (a Move's pages are unmapped now). */
  carry(p: number, f: number): void {
    this.#k.transfers.carry(p, this.#desc(f));
  }

  /** The message was not taken (full, or dropped as the newest): `p`'s pages as before, the descriptor freed. */
  cancel(p: number, f: number): void {
    const d = this.#desc(f);
    this.#k.transfers.cancel(p, d);
    // A handed-over Move's frame went back to the pending range it came from.
    if (!this.#k.transfers.adopted(d)) this.#k.mm.phys.freeFrame(f);
  }

  /** Checks that process `dst` can map the buffer of descriptor `f` (writes nothing; `OutOfMemory` otherwise). */
  checkReceiver(f: number, dst: number): void {
    this.#k.transfers.checkReceiver(this.#desc(f), dst);
  }

  /** Maps the buffer of descriptor `f` into `dst` (checked by {@link AsyncBuffers.checkReceiver}); returns it in `dst`'s space. */
  deliver(dst: number, f: number): SharedBuffer {
    const k = this.#k;
    const d = this.#desc(f);
    const b = k.transfers.deliver(dst, d, f)!;
    // A descriptor whose list became the receiver's pending range belongs to that range now.
    if (!k.transfers.adopted(d)) k.mm.phys.freeFrame(f);
    return b;
  }

  /** A carried message discarded unread: its frames' references go, then the descriptor. */
  discard(f: number): void {
    const k = this.#k;
    k.transfers.cancel(-1, this.#desc(f));
    k.mm.phys.freeFrame(f);
  }

  #desc(frame: number): number {
    return this.#k.mm.phys.frameOffset(frame) >> 2;
  }
}
