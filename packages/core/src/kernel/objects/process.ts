import { IPC_ERROR_NUMBERS, IpcError } from '../../contracts/errors.js';
import { PagePerm, type AddressSpace } from '../../contracts/mmu.js';
import { FRAME_SIZE } from '../../memory/physical-memory.js';
import type { KernelContext } from '../context.js';
import { E, H, NONE, Op, P, PState } from '../records/layout.js';
import { readName, writeName } from '../records/names.js';
import { wakeFutex } from '../sched/futex.js';

const ERR = IPC_ERROR_NUMBERS;

/** Virtual address of each process's IPC buffer page. */
export const IPC_BUFFER_VA = 0x10_0000;
/** Lowest and highest process priority; higher runs first. */
export const MIN_PRIORITY = 0;
export const MAX_PRIORITY = 31;

/**
 * Process objects: creation (a record, an address space with its IPC buffer page), teardown
 * (cancel what it waits on, wake its callers with `ChannelClosed`, close its endpoints, empty
 * its capability space, free its memory — O(what it owns)), and cancellation of a wait.
 */
export class Processes {
  readonly #k: KernelContext;

  constructor(k: KernelContext) {
    this.#k = k;
  }

  /**
   * Creates a process (name and priority already checked). Everything that can fail — a free
   * record, the address space, the IPC buffer frame — is taken before the record is written,
   * and given back on failure. Lock held.
   */
  create(name: string, priority: number, cpu: number): number {
    const k = this.#k;
    if (!k.registry.hasFreeProcess()) throw new IpcError('OutOfMemory', 'no free process record');
    let space: AddressSpace | undefined;
    let frame = 0;
    try {
      space = k.mmu.createAddressSpace();
      frame = k.mm.phys.allocFrame();
      space.map(IPC_BUFFER_VA, frame * FRAME_SIZE, FRAME_SIZE, PagePerm.READ | PagePerm.WRITE | PagePerm.USER);
    } catch (e) {
      if (frame) k.mm.phys.freeFrame(frame);
      space?.destroy();
      throw e;
    }
    const p = k.registry.takeProcess();
    const procs = k.procs;
    const fields: Array<[number, number]> = [
      [P.STATE, PState.READY],
      [P.PRIO, priority],
      [P.EFF, priority],
      [P.CPU, cpu],
      [P.WAIT_EP, NONE],
      [P.NEXT, NONE],
      [P.PREV, NONE],
      [P.REPLY_SERVER, NONE],
      [P.RESULT, 0],
      [P.OP, Op.NONE],
      [P.KILL, 0],
      [P.CALL_EP, NONE],
      [P.SENDER_HI, 0],
      [P.FUTEX, 0],
      [P.PARKED, 0],
      [P.ASID, space.asid],
      [P.IPCBUF, frame],
      [P.RNEXT, NONE],
      [P.RPREV, NONE],
      [P.RHEAD, NONE],
      [P.EHEAD, NONE],
      [P.LARGE_OUT, 0],
      [P.LARGE_IN, 0],
      [P.VM, 0],
      [P.VM_PAGES, 0],
    ];
    for (const [f, v] of fields) procs.set(p, f, v);
    k.mm.u32[procs.word(p, P.ROOT)] = space.root;
    writeName(k.i32, procs.word(p, P.NAME), name);
    k.mm.frame(p).fill(0);
    k.mm.shadow(p).fill(0);
    return p;
  }

  /** Name of process record `p`. */
  name(p: number): string {
    return readName(this.#k.i32, this.#k.procs.word(p, P.NAME));
  }

  /**
   * Tears a process down. Lock held. O(its waiters + its endpoints + its capabilities).
   */
  destroy(p: number): void {
    const k = this.#k;
    const procs = k.procs;
    if (!procs.live(p)) return;
    const observed = k.i32[H.OBS_FLAGS] !== 0;
    if (observed && procs.blocked(p)) k.obs.ended(p, ERR.ProcessNotFound);
    this.cancelWait(p);
    // Callers waiting for this process's reply learn that the server is gone.
    for (let c = procs.get(p, P.RHEAD); c !== NONE; c = procs.get(p, P.RHEAD)) {
      if (observed) k.obs.ended(c, ERR.ChannelClosed);
      k.queues.removeReplyWaiter(c);
      k.wake.wake(c, ERR.ChannelClosed);
    }
    for (let e = procs.get(p, P.EHEAD); e !== NONE; e = procs.get(p, P.EHEAD)) k.endpoints.close(e);
    k.rings.releaseOwnedBy(p);
    k.large.dropOutgoing(p);
    k.large.dropIncoming(p);
    k.caps.clear(p);
    const space = k.spaces.of(p);
    k.vm.teardown(p, space);
    space.unmap(IPC_BUFFER_VA, FRAME_SIZE);
    k.mm.phys.freeFrame(procs.get(p, P.IPCBUF));
    space.destroy();
    k.spaces.forget(p);
    procs.set(p, P.IPCBUF, 0);
    k.registry.releaseProcess(p);
    // Wake its own CPU if it is parked in the kernel (a killed worker).
    wakeFutex(k.i32, procs.word(p, P.FUTEX), procs.word(p, P.PARKED));
  }

  /**
   * The check every kernel entry of process `p` (pid `pid`) makes first: it is this live
   * process and has not been killed; `ProcessNotFound` otherwise. Lock held.
   */
  checkCaller(p: number, pid: number): void {
    const k = this.#k;
    if (!k.procs.live(p) || k.procs.pid(p) !== pid) throw new IpcError('ProcessNotFound', `process ${pid} has exited`);
    if (Atomics.load(k.i32, k.procs.word(p, P.KILL)) !== 0) throw new IpcError('ProcessNotFound', 'process was killed');
  }

  /**
   * Removes process `p` from whatever it waits in (lock held). The process stops counting as a
   * waiter before its server's inherited priority is recomputed, so a caller that times out or
   * dies leaves no priority behind.
   */
  cancelWait(p: number): void {
    const k = this.#k;
    const procs = k.procs;
    const st = procs.state(p);
    const e = procs.get(p, P.WAIT_EP);
    let server = NONE;
    if (st === PState.BLOCKED_SEND && e !== NONE) {
      k.queues.removeSender(e, p);
      server = k.eps.get(e, E.OWNER);
      k.large.dropOutgoing(p);
    } else if (st === PState.BLOCKED_RECV && e !== NONE) {
      k.queues.removeReceiver(e, p);
    } else if (st === PState.BLOCKED_REPLY) {
      server = procs.get(p, P.REPLY_SERVER);
      k.queues.removeReplyWaiter(p);
    } else if (st === PState.PASSIVE && e !== NONE && k.eps.get(e, E.PASSIVE) === p) {
      k.eps.set(e, E.PASSIVE, NONE);
    }
    procs.set(p, P.WAIT_EP, NONE);
    procs.set(p, P.OP, Op.NONE);
    if (procs.blocked(p) || st === PState.PASSIVE) procs.setState(p, PState.READY);
    if (server !== NONE) k.priority.recompute(server);
  }

  /**
   * Cancels process `p`'s blocking operation if it is still blocked in the operation numbered
   * `seq` (timeout path), waking it with `status`. Returns true when it cancelled. Lock held.
   */
  cancelIfBlocked(p: number, seq: number, status: number): boolean {
    const procs = this.#k.procs;
    if (!procs.live(p) || procs.get(p, P.SEQ) !== seq || !procs.blocked(p)) return false;
    // Recorded with its result; a kill (a negative status, not an error number) as ProcessNotFound.
    if (this.#k.i32[H.OBS_FLAGS] !== 0) this.#k.obs.ended(p, status < 0 ? ERR.ProcessNotFound : status);
    this.cancelWait(p);
    this.#k.wake.wake(p, status);
    return true;
  }
}
