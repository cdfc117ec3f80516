import type { Arch } from '../contracts/arch.js';
import { ObjectKind } from '../contracts/capability.js';
import type { Clock } from '../contracts/clock.js';
import { IpcError, IPC_ERROR_NUMBERS } from '../contracts/errors.js';
import { KERNEL_MESSAGE_FLAGS, MAX_LARGE_CAPS, MAX_LARGE_DATA, MessageFlags, MessageInfo, type MessageBuffer } from '../contracts/message.js';
import { PagePerm, type AddressSpace, type Mmu } from '../contracts/mmu.js';
import { readSlot, writeSlot } from '../contracts/register-frame.js';
import { Rights, isSubsetOf } from '../contracts/rights.js';
import { FRAME_SIZE } from '../memory/physical-memory.js';
import { lockWord, unlockWord } from '../memory/spinlock.js';
import { CLOSED_GEN, CapabilitySpace } from './capability-space.js';
import { FutexWaiter, wakeFutex } from './futex.js';
import { E, EState, EndpointFlag, H, MAX_GEN, NONE, Op, P, PState, Registry, S } from './layout.js';
import type { MachineMemory } from './machine-memory.js';
import { TokenSource } from './token-source.js';

/** Returned by a syscall entry when the caller must block. */
export const BLOCKED = -1;
/** Status a killed process sees. */
export const KILLED = -2;

const ERR = IPC_ERROR_NUMBERS;
/** Virtual address of each process's IPC buffer page. */
export const IPC_BUFFER_VA = 0x10_0000;
/**
 * Descriptor of a staged large message in its holder's IPC buffer page (Int32 words): magic,
 * payload length, frame count, capability count, then the frame numbers, then the capability
 * handles (in the holder's space).
 */
const D = { MAGIC: 0, LENGTH: 1, FRAMES: 2, CAPS: 3, LIST: 4 } as const;
const LARGE_MAGIC = 0x4c524745; // 'LRGE'

/** Lowest and highest process priority; higher runs first. */
export const MIN_PRIORITY = 0;
export const MAX_PRIORITY = 31;
const NAME_WORDS = 8;

/**
 * Callbacks from the shared kernel logic to the CPU it runs on: how to make a process of
 * this CPU runnable, and how to reach another CPU.
 */
export interface CpuPort {
  /**
   * A process owned by this CPU became ready (called with the kernel lock held). `switchTo`
   * says how soon it should run: {@link Switch.NONE} in priority order, {@link Switch.DIRECT}
   * next (a call to a waiting server), {@link Switch.BACK} next unless a higher-priority
   * process is ready (a reply to a caller).
   */
  readyLocal(p: number, switchTo: number): void;
}

/** How a wake-up affects who runs next on the woken process's CPU. */
export const Switch = { NONE: 0, DIRECT: 1, BACK: 2 } as const;

/**
 * The arch-neutral kernel logic over machine memory: registry, capabilities, synchronous IPC,
 * process cleanup. One instance per CPU (thread), all over the same memory; every mutation
 * happens under the big kernel lock when more than one CPU is attached.
 */
export class KernelCore {
  readonly mm: MachineMemory;
  readonly i32: Int32Array;
  readonly arch: Arch;
  readonly mmu: Mmu;
  readonly caps: CapabilitySpace;
  readonly clock: Clock;
  readonly cpu: number;
  readonly futex = new FutexWaiter();
  port: CpuPort | undefined;
  readonly #layout;
  /** Frame words that carry a message (syscall, endpoint/sender, info/type, caps, data registers). */
  readonly #messageWords: Int32Array;
  readonly #undoWords = new Int32Array(4 * S.SIZE);
  readonly #undoSlots = new Int32Array(4);
  /** Endpoint of the last blocking send (for the caller's timeout). */
  lastEndpoint = -1;

  constructor(mm: MachineMemory, arch: Arch, mmu: Mmu, clock: Clock, cpu: number, seed?: number) {
    this.mm = mm;
    this.i32 = mm.i32;
    this.arch = arch;
    this.mmu = mmu;
    this.clock = clock;
    this.cpu = cpu;
    this.caps = new CapabilitySpace(mm, new TokenSource(seed === undefined ? undefined : seed + cpu * 7919));
    this.#layout = arch.fastPath.layout;
    const L = this.#layout;
    const regs = new Set<number>([L.syscall.reg, L.endpoint.reg, L.sender.reg, L.info.reg, L.type.reg, ...L.caps.map((c) => c.reg), ...L.data]);
    this.#messageWords = Int32Array.from([...regs].sort((a, b) => a - b).flatMap((r) => [r * 2, r * 2 + 1]));
  }

  // ---------------------------------------------------------------- locking

  /** Takes the big kernel lock (a no-op while only one CPU exists). */
  lock(): void {
    if (this.i32[H.SHARED] !== 0) lockWord(this.i32, H.LOCK);
  }

  unlock(): void {
    if (this.i32[H.SHARED] !== 0 || this.i32[H.LOCK] !== 0) unlockWord(this.i32, H.LOCK);
  }

  // ---------------------------------------------------------------- registry

  /** Process id of record `p`: generation in the high half, index in the low half. */
  pidOf(p: number): number {
    return this.i32[this.mm.proc(p) + P.GEN]! * 0x10000 + p;
  }

  /** Record index of a live process id, or -1. O(1). */
  resolvePid(pid: number): number {
    // Ids are below 2^31 and whole; anything else fails the generation compare below.
    const p = pid & 0xffff;
    if (p >= this.mm.nproc) return -1;
    const b = this.mm.procBase + p * P.SIZE;
    const st = this.i32[b + P.STATE]!;
    if (st === PState.FREE || st === PState.RETIRED) return -1;
    return this.i32[b + P.GEN]! * 0x10000 + p === pid ? p : -1;
  }

  /** Endpoint id of record `e`. */
  endpointId(e: number): number {
    return this.mm.epGen(e) * 0x10000 + e;
  }

  /** Record index of an open endpoint id, or -1. O(1): index plus generation, no hashing. */
  resolveEndpoint(id: number): number {
    const e = id & 0xffff;
    if (e >= this.mm.nep) return -1;
    return id >>> 0 === id && this.i32[this.mm.regBase + e] === Registry.open(id >>> 16) ? e : -1;
  }

  /**
   * Validates an endpoint capability of process `p` and returns the endpoint record index.
   * Throws `InvalidCapability` (forged, stale, revoked, wrong type), `PermissionDenied`, or
   * `ChannelClosed` (the endpoint was closed).
   */
  endpointOf(p: number, handle: number, rights: number): number {
    const s = this.caps.resolve(p, handle, ObjectKind.Endpoint, rights);
    const e = this.i32[s + S.OBJ]!;
    const gen = this.i32[s + S.GEN]!;
    if (gen === CLOSED_GEN) throw new IpcError('ChannelClosed', 'endpoint closed');
    if (this.i32[this.mm.regBase + e] !== Registry.open(gen)) throw new IpcError('InvalidCapability', 'capability revoked');
    return e;
  }

  // ---------------------------------------------------------------- processes

  /** Allocates and initialises a process record with an address space and IPC buffer. */
  createProcess(name: string, priority: number, cpu: number): number {
    if (!Number.isInteger(priority) || priority < MIN_PRIORITY || priority > MAX_PRIORITY) {
      throw new IpcError('InvalidArgument', `priority must be an integer in [${MIN_PRIORITY}, ${MAX_PRIORITY}]`);
    }
    const i32 = this.i32;
    let p = -1;
    for (let i = 0; i < this.mm.nproc; i++) {
      if (i32[this.mm.proc(i) + P.STATE] === PState.FREE) {
        p = i;
        break;
      }
    }
    if (p < 0) throw new IpcError('OutOfMemory', 'no free process record');
    let space: AddressSpace | undefined;
    let frame = 0;
    try {
      space = this.mmu.createAddressSpace();
      frame = this.mm.phys.allocFrame();
      space.map(IPC_BUFFER_VA, frame * FRAME_SIZE, FRAME_SIZE, PagePerm.READ | PagePerm.WRITE | PagePerm.USER);
    } catch (e) {
      if (frame) this.mm.phys.freeFrame(frame);
      space?.destroy();
      throw e;
    }
    const b = this.mm.proc(p);
    i32[b + P.STATE] = PState.READY;
    i32[b + P.PRIO] = priority;
    i32[b + P.EFF] = priority;
    i32[b + P.CPU] = cpu;
    i32[b + P.FUTEX] = 0;
    i32[b + P.PARKED] = 0;
    i32[b + P.WAIT_EP] = NONE;
    i32[b + P.NEXT] = NONE;
    i32[b + P.PREV] = NONE;
    i32[b + P.REPLY_SERVER] = NONE;
    i32[b + P.RESULT] = 0;
    i32[b + P.OP] = Op.NONE;
    i32[b + P.KILL] = 0;
    i32[b + P.ASID] = space.asid;
    this.mm.u32[b + P.ROOT] = space.root;
    i32[b + P.IPCBUF] = frame;
    i32[b + P.SERVING] = 0;
    i32[b + P.EXIT] = 0;
    writeName(i32, b + P.NAME, name);
    this.mm.frame(p).fill(0);
    return p;
  }

  /** Name of process record `p`. */
  processName(p: number): string {
    return readName(this.i32, this.mm.proc(p) + P.NAME);
  }

  /**
   * Tears a process down: cancels what it waits on, wakes peers blocked on it with
   * `ChannelClosed`, closes its endpoints, empties its capability space, frees its address
   * space and IPC buffer, and frees the record. Lock held by the caller.
   */
  destroyProcess(p: number): void {
    const i32 = this.i32;
    const b = this.mm.proc(p);
    const st = i32[b + P.STATE]!;
    if (st === PState.FREE || st === PState.RETIRED) return;
    this.#cancelWait(p);
    // Clients waiting for this process's reply learn that the server is gone.
    for (let c = 0; c < this.mm.nproc; c++) {
      const cb = this.mm.proc(c);
      if (i32[cb + P.STATE] === PState.BLOCKED_REPLY && i32[cb + P.REPLY_SERVER] === p) {
        i32[cb + P.REPLY_SERVER] = NONE;
        this.wake(c, ERR.ChannelClosed);
      }
    }
    for (let e = 0; e < this.mm.nep; e++) {
      const eb = this.mm.ep(e);
      if (this.mm.epState(e) === EState.OPEN && i32[eb + E.OWNER] === p) this.closeEndpoint(e);
    }
    this.dropLarge(p);
    this.caps.clear(p);
    const space = this.mmu.attachAddressSpace(this.mm.u32[b + P.ROOT]!, i32[b + P.ASID]!);
    space.unmap(IPC_BUFFER_VA, FRAME_SIZE);
    this.mm.phys.freeFrame(i32[b + P.IPCBUF]!);
    space.destroy();
    i32[b + P.IPCBUF] = 0;
    const gen = i32[b + P.GEN]!;
    // A pid generation never wraps: the record is retired instead, so an old pid never names a new process.
    if (gen >= 0x7fff) {
      i32[b + P.STATE] = PState.RETIRED;
    } else {
      i32[b + P.GEN] = gen + 1;
      i32[b + P.STATE] = PState.FREE;
    }
    i32[b + P.SERVING] = 0;
    // Wake its own CPU if it is parked in the kernel (a killed worker).
    wakeFutex(i32, b + P.FUTEX, b + P.PARKED);
  }

  /**
   * Removes process `p` from whatever it waits in (lock held). The process stops counting as a
   * waiter before its server's inherited priority is recomputed, so a caller that times out or
   * dies leaves no priority behind.
   */
  #cancelWait(p: number): void {
    const i32 = this.i32;
    const b = this.mm.proc(p);
    const st = i32[b + P.STATE]!;
    const e = i32[b + P.WAIT_EP]!;
    let server = NONE;
    if (st === PState.BLOCKED_SEND && e !== NONE) {
      this.#unlink(e, p, E.QHEAD, E.QTAIL);
      i32[this.mm.ep(e) + E.QLEN]--;
      server = i32[this.mm.ep(e) + E.OWNER]!;
      this.dropLarge(p);
    } else if (st === PState.BLOCKED_RECV && e !== NONE) {
      this.#unlink(e, p, E.RHEAD, E.RTAIL);
    } else if (st === PState.BLOCKED_REPLY) {
      server = i32[b + P.REPLY_SERVER]!;
      if (server !== NONE) i32[this.mm.proc(server) + P.SERVING]--;
    }
    i32[b + P.WAIT_EP] = NONE;
    i32[b + P.REPLY_SERVER] = NONE;
    i32[b + P.OP] = Op.NONE;
    if (st === PState.BLOCKED_SEND || st === PState.BLOCKED_RECV || st === PState.BLOCKED_REPLY || st === PState.SLEEPING) i32[b + P.STATE] = PState.READY;
    if (server !== NONE) this.#recomputePriority(server);
  }

  /**
   * Cancels process `p`'s blocking operation if it is still blocked in the operation numbered
   * `seq` (timeout path). Returns true when it cancelled. Lock held.
   */
  cancelIfBlocked(p: number, seq: number, status: number): boolean {
    const b = this.mm.proc(p);
    const st = this.i32[b + P.STATE]!;
    if (this.i32[b + P.SEQ] !== seq) return false;
    if (st !== PState.BLOCKED_SEND && st !== PState.BLOCKED_RECV && st !== PState.BLOCKED_REPLY && st !== PState.SLEEPING) return false;
    this.#cancelWait(p);
    this.wake(p, status);
    return true;
  }

  // ---------------------------------------------------------------- endpoints

  /** Creates an endpoint owned by `p` and returns a handle with all rights. */
  createEndpoint(p: number, name: string | undefined, capacity: number, timeoutNs: number, registerOnly = false): number {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > 0xffff) throw new IpcError('InvalidArgument', 'capacity must be an integer in [1, 65535]');
    if (!Number.isSafeInteger(timeoutNs) || timeoutNs < 0) throw new IpcError('InvalidArgument', 'timeout must be a whole number of nanoseconds >= 0');
    if (name !== undefined && (name.length === 0 || new TextEncoder().encode(name).length > NAME_WORDS * 4)) {
      throw new IpcError('InvalidArgument', 'name must be 1–32 bytes of UTF-8');
    }
    if (name !== undefined && this.findNamed(name) >= 0) throw new IpcError('AlreadyExists', `name "${name}" is taken`);
    const i32 = this.i32;
    let e = -1;
    for (let i = 0; i < this.mm.nep; i++) {
      if (this.mm.epState(i) === EState.FREE) {
        e = i;
        break;
      }
    }
    if (e < 0) throw new IpcError('OutOfMemory', 'no free endpoint record');
    const b = this.mm.ep(e);
    // Insert the capability first: if the space is full nothing else has changed.
    const gen = this.mm.epGen(e);
    const handle = this.caps.insert(p, ObjectKind.Endpoint, e, gen, Rights.SEND | Rights.RECEIVE | Rights.SHARE | Rights.GRANT | Rights.REVOKE);
    this.mm.setEp(e, gen, EState.OPEN);
    i32[b + E.OWNER] = p;
    i32[b + E.FLAGS] = registerOnly ? EndpointFlag.REGISTER_ONLY : 0;
    i32[b + E.CAPACITY] = capacity;
    i32[b + E.QHEAD] = NONE;
    i32[b + E.QTAIL] = NONE;
    i32[b + E.QLEN] = 0;
    i32[b + E.RHEAD] = NONE;
    i32[b + E.RTAIL] = NONE;
    i32[b + E.TIMEOUT_LO] = timeoutNs % 0x100000000 | 0;
    i32[b + E.TIMEOUT_HI] = Math.floor(timeoutNs / 0x100000000);
    i32[b + E.MSGS] = 0;
    writeName(i32, b + E.NAME, name ?? '');
    return handle;
  }

  /** Default call timeout of endpoint `e` in nanoseconds (0 = none). */
  endpointTimeout(e: number): number {
    const b = this.mm.ep(e);
    return (this.i32[b + E.TIMEOUT_HI]! >>> 0) * 0x100000000 + (this.i32[b + E.TIMEOUT_LO]! >>> 0);
  }

  /** Record index of the open endpoint named `name`, or -1. */
  findNamed(name: string): number {
    for (let e = 0; e < this.mm.nep; e++) {
      const b = this.mm.ep(e);
      if (this.mm.epState(e) === EState.OPEN && this.i32[b + E.NAME] !== 0 && readName(this.i32, b + E.NAME) === name) return e;
    }
    return -1;
  }

  /** Name of endpoint `e` ('' when unnamed). */
  endpointName(e: number): string {
    return readName(this.i32, this.mm.ep(e) + E.NAME);
  }

  /** Closes endpoint `e`: every waiter wakes with `ChannelClosed`, every capability to it reports closed. */
  closeEndpoint(e: number): void {
    const i32 = this.i32;
    const b = this.mm.ep(e);
    for (let c = i32[b + E.QHEAD]!; c !== NONE; c = i32[b + E.QHEAD]!) {
      this.#unlink(e, c, E.QHEAD, E.QTAIL);
      this.dropLarge(c);
      i32[this.mm.proc(c) + P.WAIT_EP] = NONE;
      i32[this.mm.proc(c) + P.OP] = Op.NONE;
      this.wake(c, ERR.ChannelClosed);
    }
    for (let r = i32[b + E.RHEAD]!; r !== NONE; r = i32[b + E.RHEAD]!) {
      this.#unlink(e, r, E.RHEAD, E.RTAIL);
      i32[this.mm.proc(r) + P.WAIT_EP] = NONE;
      this.wake(r, ERR.ChannelClosed);
    }
    i32[b + E.QLEN] = 0;
    const gen = this.mm.epGen(e);
    this.caps.markClosed(ObjectKind.Endpoint, e, gen);
    const owner = i32[b + E.OWNER]!;
    i32[b + E.OWNER] = NONE;
    writeName(i32, b + E.NAME, '');
    this.#retireOrFree(e, gen + 1);
    if (owner !== NONE) this.#recomputePriority(owner);
  }

  /** Frees endpoint `e` with a new generation, or retires it when the generation would wrap. */
  #retireOrFree(e: number, gen: number): void {
    if (gen > MAX_GEN) this.mm.setEp(e, MAX_GEN, EState.RETIRED);
    else this.mm.setEp(e, gen, EState.FREE);
  }

  /**
   * Revokes every capability to the endpoint `handle` names (needs REVOKE): bumps the
   * generation so all of them die at once, then re-mints the revoker's own capability. When
   * the generation would wrap, the endpoint is closed and its record retired instead.
   */
  revoke(p: number, handle: number): void {
    const e = this.endpointOf(p, handle, Rights.REVOKE);
    const i32 = this.i32;
    const gen = this.mm.epGen(e);
    if (gen >= MAX_GEN) {
      this.closeEndpoint(e);
      return;
    }
    this.mm.setEp(e, gen + 1, EState.OPEN);
    const s = this.caps.find(p, handle);
    i32[s + S.GEN] = gen + 1;
  }

  // ---------------------------------------------------------------- capabilities

  /** Derives a capability with a subset of rights into `p`'s own space. */
  derive(p: number, handle: number, rights: number): number {
    const s = this.#liveSlot(p, handle);
    if (!isSubsetOf(rights, this.i32[s + S.RIGHTS]!)) throw new IpcError('PermissionDenied', 'derived rights must be a subset');
    return this.caps.insert(p, this.i32[s + S.KIND]!, this.i32[s + S.OBJ]!, this.i32[s + S.GEN]!, rights);
  }

  /** Mints a capability (rights ⊆ own) into another process's space; needs GRANT. */
  grant(p: number, handle: number, toPid: number, rights: number): number {
    const s = this.#liveSlot(p, handle);
    if (!(this.i32[s + S.RIGHTS]! & Rights.GRANT)) throw new IpcError('PermissionDenied', 'capability lacks GRANT');
    if (!isSubsetOf(rights, this.i32[s + S.RIGHTS]!)) throw new IpcError('PermissionDenied', 'granted rights must be a subset');
    const q = this.resolvePid(toPid);
    if (q < 0) throw new IpcError('ProcessNotFound', `no process ${toPid}`);
    return this.caps.insert(q, this.i32[s + S.KIND]!, this.i32[s + S.OBJ]!, this.i32[s + S.GEN]!, rights);
  }

  /** Drops a capability from `p`'s space. */
  closeHandle(p: number, handle: number): void {
    const s = this.caps.find(p, handle);
    if (s < 0) throw new IpcError('InvalidCapability', 'no such handle');
    this.caps.remove(s);
  }

  /** Slot of a handle whose object is still live (revoked/closed capabilities are rejected). */
  #liveSlot(p: number, handle: number): number {
    const s = this.caps.find(p, handle);
    if (s < 0) throw new IpcError('InvalidCapability', 'no such handle');
    if (this.i32[s + S.KIND] === ObjectKind.Endpoint) this.endpointOf(p, handle, 0);
    return s;
  }

  // ---------------------------------------------------------------- synchronous IPC

  /**
   * IpcCall / IpcSend with the message already encoded in `p`'s register frame. Returns 0 when
   * the operation completed (send delivered to a waiting receiver), {@link BLOCKED} when `p`
   * must wait, or throws an `IpcError` with nothing changed. Lock held.
   */
  sysSend(p: number, op: number): number {
    const i32 = this.i32;
    const frame = this.mm.frame(p);
    const L = this.#layout;
    const e = this.endpointOf(p, readSlot(frame, L.endpoint), Rights.SEND);
    this.#checkOutgoingCaps(p, frame);
    const eb = this.mm.ep(e);
    const b = this.mm.proc(p);
    const r = i32[eb + E.RHEAD]!;
    this.lastEndpoint = e;
    if (r !== NONE) {
      this.#transfer(p, r, op === Op.CALL ? MessageFlags.CALL : 0);
      this.#unlink(e, r, E.RHEAD, E.RTAIL);
      i32[this.mm.proc(r) + P.WAIT_EP] = NONE;
      i32[eb + E.MSGS]++;
      if (op === Op.CALL) {
        i32[b + P.STATE] = PState.BLOCKED_REPLY;
        i32[b + P.REPLY_SERVER] = r;
        i32[b + P.CALL_EP] = e;
        i32[this.mm.proc(r) + P.SERVING]++;
        this.#boost(r, i32[b + P.EFF]!);
        i32[b + P.SEQ]++;
        this.wake(r, 0, Switch.DIRECT);
        return BLOCKED;
      }
      this.wake(r, 0);
      return 0;
    }
    this.lastEndpoint = e;
    if (i32[eb + E.QLEN]! >= i32[eb + E.CAPACITY]!) throw new IpcError('ChannelFull', `channel capacity ${i32[eb + E.CAPACITY]} reached`);
    i32[b + P.OP] = op;
    i32[b + P.STATE] = PState.BLOCKED_SEND;
    i32[b + P.WAIT_EP] = e;
    i32[b + P.TICKET] = ++i32[H.TICKET]!;
    i32[b + P.SEQ]++;
    this.#enqueueByPriority(e, p);
    i32[eb + E.QLEN]++;
    this.#boost(i32[eb + E.OWNER]!, i32[b + P.EFF]!);
    return BLOCKED;
  }

  /**
   * Passive-server fast path, step 1: the receiver waiting on the endpoint `ch` names (SEND
   * checked) if `isPassive(r, e)` approves it, after checking the capabilities in `p`'s frame
   * (SHARE); else -1 with nothing checked beyond the endpoint. Nothing changes. Lock held.
   */
  passiveTarget(p: number, ch: number, isPassive: (r: number, e: number) => boolean): number {
    const e = this.endpointOf(p, ch, Rights.SEND);
    const r = this.i32[this.mm.epBase + e * E.SIZE + E.RHEAD]!;
    if (r === NONE || this.i32[this.mm.procBase + r * P.SIZE + P.CPU] !== this.cpu || !isPassive(r, e)) return -1;
    // A large request takes the ordinary path (the server's loop receives it).
    if (MessageInfo.flags(readSlot(this.mm.frame(p), this.#layout.info)) & MessageFlags.LARGE) return -1;
    this.#checkOutgoingCaps(p, this.mm.frame(p));
    return r;
  }

  /**
   * Passive-server fast path, step 2: the request, already decoded from caller `p`'s registers
   * into `buf`, is delivered to server `r` — true sender, kernel flags, capabilities re-minted
   * into `r`'s space (room checked first). The registers are read in place rather than copied
   * to the server's frame and back, as seL4's fastpath hands message registers over. Lock held.
   */
  passiveDeliver(p: number, r: number, buf: MessageBuffer): void {
    const n = buf.capCount;
    if (n > 0) {
      if (this.caps.freeSlots(r) < n) throw new IpcError('OutOfMemory', "receiver's capability space is full");
      for (let i = 0; i < n; i++) {
        // Keep the words of the slot about to be filled so passiveUndo can restore it exactly.
        const s = this.caps.nextFree(r);
        this.#undoSlots[i] = s;
        for (let w = 0; w < S.SIZE; w++) this.#undoWords[i * S.SIZE + w] = this.i32[s + w]!;
        buf.caps[i] = this.#remint(p, buf.caps[i]!, r);
      }
    }
    buf.sender = this.pidOf(p);
    buf.flags = (buf.flags & ~KERNEL_MESSAGE_FLAGS) | MessageFlags.CALL;
    this.i32[this.mm.epBase + this.i32[this.mm.procBase + r * P.SIZE + P.WAIT_EP]! * E.SIZE + E.MSGS]++;
  }

  /**
   * Undoes {@link KernelCore.passiveDeliver} when the server's reply cannot be delivered, so
   * the failed call leaves nothing behind: the capabilities minted into `r` are dropped (those
   * the handler already closed are gone anyway) and the message count is restored. Lock held.
   */
  passiveUndo(r: number, buf: MessageBuffer): void {
    for (let i = 0; i < buf.capCount; i++) {
      const s = this.#undoSlots[i]!;
      for (let w = 0; w < S.SIZE; w++) this.i32[s + w] = this.#undoWords[i * S.SIZE + w]!;
    }
    this.i32[this.mm.epBase + this.i32[this.mm.procBase + r * P.SIZE + P.WAIT_EP]! * E.SIZE + E.MSGS]--;
  }

  /**
   * Passive-server fast path, step 3: server `r`'s reply, encoded straight into caller `p`'s
   * registers, gets the true sender, the REPLY flag and its capabilities re-minted into `p`'s
   * space (checked against `r`'s space, SHARE required, room checked first). Lock held.
   */
  passiveReturn(r: number, p: number): void {
    const L = this.#layout;
    const f = this.mm.frame(p);
    const info = readSlot(f, L.info);
    const n = MessageInfo.capCount(info);
    if (MessageInfo.flags(info) & MessageFlags.LARGE) this.#moveLarge(r, p);
    if (n > 0) {
      this.#checkOutgoingCaps(r, f);
      if (this.caps.freeSlots(p) < n) throw new IpcError('OutOfMemory', "caller's capability space is full");
      for (let i = 0; i < n; i++) writeSlot(f, L.caps[i]!, this.#remint(r, readSlot(f, L.caps[i]!), p));
    }
    writeSlot(f, L.sender, this.pidOf(r));
    writeSlot(f, L.info, (info & ~(KERNEL_MESSAGE_FLAGS << MessageInfo.FLAGS_SHIFT)) | (MessageFlags.REPLY << MessageInfo.FLAGS_SHIFT));
  }

  // ---------------------------------------------------------------- large messages

  /** Int32 index of process `p`'s IPC buffer page in machine memory. */
  #ipcBuffer(p: number): number {
    return this.mm.phys.frameOffset(this.i32[this.mm.proc(p) + P.IPCBUF]!) >> 2;
  }

  /** True when process `p` holds a staged or received large message. */
  hasLarge(p: number): boolean {
    return this.i32[this.#ipcBuffer(p) + D.MAGIC] === LARGE_MAGIC;
  }

  /**
   * Stages a large message for process `p`: checks the size limits and the capabilities (live,
   * SHARE), takes the frames it needs (all or none: `OutOfMemory` with nothing changed), copies
   * the payload in once, and writes the descriptor into `p`'s IPC buffer. Lock held.
   */
  stageLarge(p: number, data: Uint8Array, caps: readonly number[] | undefined): void {
    const capCount = caps === undefined ? 0 : caps.length;
    if (data.length > MAX_LARGE_DATA) throw new IpcError('MessageTooLarge', `${data.length} bytes exceed the ${MAX_LARGE_DATA}-byte large-message limit`);
    if (capCount > MAX_LARGE_CAPS) throw new IpcError('MessageTooLarge', `${capCount} capabilities exceed the ${MAX_LARGE_CAPS}-capability limit`);
    if (this.hasLarge(p)) throw new IpcError('InvalidState', 'a large message is already staged');
    for (let i = 0; i < capCount; i++) {
      const s = this.#liveSlot(p, caps![i]!);
      if (!(this.i32[s + S.RIGHTS]! & Rights.SHARE)) throw new IpcError('PermissionDenied', 'a transferred capability lacks SHARE');
    }
    const frameCount = Math.ceil(data.length / FRAME_SIZE);
    const frames = this.mm.phys.allocFrames(frameCount);
    const bytes = this.mm.phys.bytes;
    for (let f = 0; f < frameCount; f++) {
      const from = f * FRAME_SIZE;
      bytes.set(data.subarray(from, Math.min(data.length, from + FRAME_SIZE)), this.mm.phys.frameOffset(frames[f]!));
    }
    const d = this.#ipcBuffer(p);
    const i32 = this.i32;
    i32[d + D.LENGTH] = data.length;
    i32[d + D.FRAMES] = frameCount;
    i32[d + D.CAPS] = capCount;
    for (let f = 0; f < frameCount; f++) i32[d + D.LIST + f] = frames[f]!;
    for (let i = 0; i < capCount; i++) i32[d + D.LIST + frameCount + i] = caps![i]!;
    i32[d + D.MAGIC] = LARGE_MAGIC;
  }

  /**
   * Refuses a large message where the endpoint allows only register messages: a call or send on
   * `target` (a channel handle), or for a reply the endpoint the caller `target` (a pid) called
   * through. Nothing changes. Lock held.
   */
  checkLargeAllowed(p: number, isReply: boolean, target: number): void {
    let e = -1;
    if (!isReply) e = this.endpointOf(p, target, Rights.SEND);
    else {
      const c = this.resolvePid(target);
      const cb = c < 0 ? -1 : this.mm.proc(c);
      if (cb >= 0 && this.i32[cb + P.STATE] === PState.BLOCKED_REPLY && this.i32[cb + P.REPLY_SERVER] === p) e = this.i32[cb + P.CALL_EP]!;
    }
    if (e >= 0 && this.i32[this.mm.ep(e) + E.FLAGS]! & EndpointFlag.REGISTER_ONLY) {
      throw new IpcError('MessageTooLarge', 'the endpoint carries register messages only (≤ 64 bytes, ≤ 4 capabilities)');
    }
  }

  /** Frees the large message process `p` holds, if any (a failed or cancelled send, an exit). Lock held. */
  dropLarge(p: number): void {
    const d = this.#ipcBuffer(p);
    const i32 = this.i32;
    if (i32[d + D.MAGIC] !== LARGE_MAGIC) return;
    const frameCount = i32[d + D.FRAMES]!;
    for (let f = 0; f < frameCount; f++) this.mm.phys.freeFrame(i32[d + D.LIST + f]!);
    i32[d + D.MAGIC] = 0;
  }

  /**
   * Moves a large message from `src` to `dst`: the descriptor changes IPC buffer, so its frames
   * change owner and no payload byte is copied; its capabilities are re-minted into `dst` as a
   * batch. Checks room (and that `src` really staged one) before changing anything. Lock held.
   */
  #moveLarge(src: number, dst: number): void {
    const i32 = this.i32;
    const sd = this.#ipcBuffer(src);
    if (i32[sd + D.MAGIC] !== LARGE_MAGIC) throw new IpcError('InvalidArgument', 'large-message flag without a staged message');
    const dd = this.#ipcBuffer(dst);
    if (i32[dd + D.MAGIC] === LARGE_MAGIC) throw new IpcError('InvalidState', 'the receiver still holds a large message');
    const frameCount = i32[sd + D.FRAMES]!;
    const capCount = i32[sd + D.CAPS]!;
    if (capCount > 0 && this.caps.freeSlots(dst) < capCount) throw new IpcError('OutOfMemory', "receiver's capability space is full");
    const words = D.LIST + frameCount + capCount;
    for (let w = 1; w < words; w++) i32[dd + w] = i32[sd + w]!;
    for (let i = 0; i < capCount; i++) i32[dd + D.LIST + frameCount + i] = this.#remint(src, i32[sd + D.LIST + frameCount + i]!, dst);
    i32[sd + D.MAGIC] = 0;
    i32[dd + D.MAGIC] = LARGE_MAGIC;
  }

  /**
   * Reads process `p`'s message into `buf`: the registers through the arch's fast path, and for
   * a large message the payload and capabilities out of its frames (which are freed). Called by
   * the process itself, with or without the lock: while it runs, only it touches its IPC buffer
   * (the kernel delivers into it only while it is blocked).
   */
  receiveInto(p: number, buf: MessageBuffer): void {
    this.arch.fastPath.decode(this.mm.frame(p), buf);
    if (!(buf.flags & MessageFlags.LARGE)) {
      buf.large = null;
      buf.largeCaps = null;
      return;
    }
    const d = this.#ipcBuffer(p);
    const i32 = this.i32;
    if (i32[d + D.MAGIC] !== LARGE_MAGIC) throw new IpcError('InvalidState', 'no large message to receive');
    const length = i32[d + D.LENGTH]!;
    const frameCount = i32[d + D.FRAMES]!;
    const capCount = i32[d + D.CAPS]!;
    const payload = new Uint8Array(length);
    const bytes = this.mm.phys.bytes;
    for (let f = 0; f < frameCount; f++) {
      const at = this.mm.phys.frameOffset(i32[d + D.LIST + f]!);
      payload.set(bytes.subarray(at, at + Math.min(FRAME_SIZE, length - f * FRAME_SIZE)), f * FRAME_SIZE);
    }
    buf.large = payload;
    buf.largeCaps = Uint32Array.from({ length: capCount }, (_, i) => i32[d + D.LIST + frameCount + i]! >>> 0);
    buf.length = length;
    buf.capCount = capCount;
    this.dropLarge(p);
  }

  /** Mints a copy of `src`'s capability `handle` into `dst`'s space; returns the new handle. */
  #remint(src: number, handle: number, dst: number): number {
    const i32 = this.i32;
    const s = this.caps.find(src, handle);
    return this.caps.insert(dst, i32[s + S.KIND]!, i32[s + S.OBJ]!, i32[s + S.GEN]!, i32[s + S.RIGHTS]!);
  }

  /** IpcReceive on the endpoint `handle`. Returns 0 with the message in `p`'s frame, or {@link BLOCKED}. Lock held. */
  sysReceive(p: number, handle: number): number {
    const i32 = this.i32;
    const e = this.endpointOf(p, handle, Rights.RECEIVE);
    const eb = this.mm.ep(e);
    const b = this.mm.proc(p);
    const c = i32[eb + E.QHEAD]!;
    if (c !== NONE) {
      this.#transfer(c, p, i32[this.mm.proc(c) + P.OP] === Op.CALL ? MessageFlags.CALL : 0);
      this.#unlink(e, c, E.QHEAD, E.QTAIL);
      i32[eb + E.QLEN]--;
      i32[eb + E.MSGS]++;
      const cb = this.mm.proc(c);
      i32[cb + P.WAIT_EP] = NONE;
      if (i32[cb + P.OP] === Op.CALL) {
        i32[cb + P.STATE] = PState.BLOCKED_REPLY;
        i32[cb + P.REPLY_SERVER] = p;
        i32[cb + P.CALL_EP] = e;
        i32[b + P.SERVING]++;
      } else {
        this.wake(c, 0);
      }
      i32[cb + P.OP] = Op.NONE;
      return 0;
    }
    i32[b + P.STATE] = PState.BLOCKED_RECV;
    i32[b + P.WAIT_EP] = e;
    i32[b + P.SEQ]++;
    this.#append(e, p, E.RHEAD, E.RTAIL);
    return BLOCKED;
  }

  /** IpcReply to the caller `toPid` with the message encoded in `p`'s frame. Lock held. */
  sysReply(p: number, toPid: number): void {
    const i32 = this.i32;
    const c = this.#replyTarget(p, toPid);
    const cb = this.mm.proc(c);
    const frame = this.mm.frame(p);
    this.#checkOutgoingCaps(p, frame);
    this.#transfer(p, c, MessageFlags.REPLY);
    i32[cb + P.REPLY_SERVER] = NONE;
    i32[this.mm.proc(p) + P.SERVING]--;
    this.#recomputePriority(p);
    // Back on reply: the caller runs next when its priority allows.
    this.wake(c, 0, Switch.BACK);
  }

  /** IpcReply carrying a failure: the caller's call rejects with error number `status`. Lock held. */
  sysReplyError(p: number, toPid: number, status: number): void {
    const c = this.#replyTarget(p, toPid);
    this.i32[this.mm.proc(c) + P.REPLY_SERVER] = NONE;
    this.i32[this.mm.proc(p) + P.SERVING]--;
    this.#recomputePriority(p);
    this.wake(c, status);
  }

  /** The record of caller `toPid` if it waits for `p`'s reply; else throws. */
  #replyTarget(p: number, toPid: number): number {
    const c = this.resolvePid(toPid);
    if (c < 0) throw new IpcError('ProcessNotFound', `caller ${toPid} is gone`);
    const cb = this.mm.proc(c);
    if (this.i32[cb + P.STATE] !== PState.BLOCKED_REPLY || this.i32[cb + P.REPLY_SERVER] !== p) {
      throw new IpcError('InvalidState', `process ${toPid} is not waiting for a reply from this process`);
    }
    return c;
  }

  /** Checks the capabilities named in `p`'s outgoing frame: live and carrying SHARE. */
  #checkOutgoingCaps(p: number, frame: Uint32Array): void {
    const L = this.#layout;
    const n = MessageInfo.capCount(readSlot(frame, L.info));
    for (let i = 0; i < n; i++) {
      const h = readSlot(frame, L.caps[i]!);
      const s = this.#liveSlot(p, h);
      if (!(this.i32[s + S.RIGHTS]! & Rights.SHARE)) throw new IpcError('PermissionDenied', 'a transferred capability lacks SHARE');
    }
  }

  /**
   * Moves the message in `src`'s frame into `dst`'s frame: copies the registers, stamps the
   * true sender, and re-mints each capability into `dst`'s space. Checks room first, so it
   * fails (OutOfMemory) before changing anything.
   */
  #transfer(src: number, dst: number, flags: number): void {
    const L = this.#layout;
    const sf = this.mm.frame(src);
    const df = this.mm.frame(dst);
    const n = MessageInfo.capCount(readSlot(sf, L.info));
    if (n > 0 && this.caps.freeSlots(dst) < n) throw new IpcError('OutOfMemory', "receiver's capability space is full");
    // A large message's frames change owner (its descriptor moves); checked before any change.
    if (MessageInfo.flags(readSlot(sf, L.info)) & MessageFlags.LARGE) this.#moveLarge(src, dst);
    // Only the message registers move, as a kernel copies message registers, not whole contexts.
    const words = this.#messageWords;
    for (let i = 0; i < words.length; i++) {
      const w = words[i]!;
      df[w] = sf[w]!;
    }
    writeSlot(df, L.sender, this.pidOf(src));
    // Kernel-owned flags say what the message is; a sender cannot forge them.
    const info = readSlot(df, L.info);
    writeSlot(df, L.info, (info & ~(KERNEL_MESSAGE_FLAGS << MessageInfo.FLAGS_SHIFT)) | (flags << MessageInfo.FLAGS_SHIFT));
    for (let i = 0; i < n; i++) writeSlot(df, L.caps[i]!, this.#remint(src, readSlot(sf, L.caps[i]!), dst));
  }

  // ---------------------------------------------------------------- wake-ups

  /**
   * Makes process `p` ready with `status` and tells its CPU: directly if it is ours, through
   * the main CPU's wake ring and doorbell, or through the worker's futex word. Lock held.
   */
  wake(p: number, status: number, switchTo: number = Switch.NONE): void {
    const i32 = this.i32;
    const b = this.mm.proc(p);
    i32[b + P.RESULT] = status;
    i32[b + P.STATE] = PState.READY;
    const cpu = i32[b + P.CPU]!;
    if (cpu === this.cpu && this.port) {
      this.port.readyLocal(p, switchTo);
    } else if (cpu === 0) {
      const cap = this.mm.wakeCap;
      const tail = i32[H.WAKE_TAIL]!;
      i32[this.mm.wakeBase + (tail % cap)] = p;
      i32[H.WAKE_TAIL] = (tail + 1) % 0x40000000;
      Atomics.add(i32, H.DOORBELL, 1);
      Atomics.notify(i32, H.DOORBELL);
    } else {
      wakeFutex(i32, b + P.FUTEX, b + P.PARKED);
    }
  }

  /** Takes the next process index from the main CPU's wake ring, or -1. Lock held. */
  takeWake(): number {
    const i32 = this.i32;
    const head = i32[H.WAKE_HEAD]!;
    if (head === i32[H.WAKE_TAIL]) return -1;
    const p = i32[this.mm.wakeBase + (head % this.mm.wakeCap)]!;
    i32[H.WAKE_HEAD] = (head + 1) % 0x40000000;
    return p;
  }

  // ---------------------------------------------------------------- priority inheritance

  /** Raises `p`'s effective priority to at least `prio`, following the chain of servers it waits on. */
  #boost(p: number, prio: number): void {
    for (let hops = 0; p !== NONE && hops < this.mm.nproc; hops++) {
      const b = this.mm.proc(p);
      if (this.i32[b + P.EFF]! >= prio) return;
      this.i32[b + P.EFF] = prio;
      p = this.#serverOf(p);
    }
  }

  /** The process `p` is blocked on (owner of the endpoint it is queued on, or its replier). */
  #serverOf(p: number): number {
    const b = this.mm.proc(p);
    const st = this.i32[b + P.STATE];
    if (st === PState.BLOCKED_REPLY) return this.i32[b + P.REPLY_SERVER]!;
    if (st === PState.BLOCKED_SEND) return this.i32[this.mm.ep(this.i32[b + P.WAIT_EP]!) + E.OWNER]!;
    return NONE;
  }

  /**
   * Recomputes `p`'s effective priority from its base and every client that waits on it
   * (queued on its endpoints or awaiting its reply). Only runs when `p` is boosted.
   */
  #recomputePriority(p: number): void {
    if (p === NONE) return;
    const i32 = this.i32;
    const b = this.mm.proc(p);
    if (i32[b + P.EFF] === i32[b + P.PRIO]) return;
    let eff = i32[b + P.PRIO]!;
    for (let c = 0; c < this.mm.nproc; c++) {
      if (c === p) continue;
      const cb = this.mm.proc(c);
      const st = i32[cb + P.STATE];
      if ((st === PState.BLOCKED_REPLY || st === PState.BLOCKED_SEND) && this.#serverOf(c) === p && i32[cb + P.EFF]! > eff) eff = i32[cb + P.EFF]!;
    }
    i32[b + P.EFF] = eff;
  }

  // ---------------------------------------------------------------- queues (intrusive lists through process records)

  #enqueueByPriority(e: number, p: number): void {
    const i32 = this.i32;
    const eb = this.mm.ep(e);
    const prio = i32[this.mm.proc(p) + P.EFF]!;
    // Walk back from the tail past lower-priority callers: FIFO within a priority.
    let after = i32[eb + E.QTAIL]!;
    while (after !== NONE && i32[this.mm.proc(after) + P.EFF]! < prio) after = i32[this.mm.proc(after) + P.PREV]!;
    const pb = this.mm.proc(p);
    if (after === NONE) {
      const head = i32[eb + E.QHEAD]!;
      i32[pb + P.PREV] = NONE;
      i32[pb + P.NEXT] = head;
      if (head !== NONE) i32[this.mm.proc(head) + P.PREV] = p;
      else i32[eb + E.QTAIL] = p;
      i32[eb + E.QHEAD] = p;
    } else {
      const next = i32[this.mm.proc(after) + P.NEXT]!;
      i32[pb + P.PREV] = after;
      i32[pb + P.NEXT] = next;
      i32[this.mm.proc(after) + P.NEXT] = p;
      if (next !== NONE) i32[this.mm.proc(next) + P.PREV] = p;
      else i32[eb + E.QTAIL] = p;
    }
  }

  #append(e: number, p: number, headW: number, tailW: number): void {
    const i32 = this.i32;
    const eb = this.mm.ep(e);
    const pb = this.mm.proc(p);
    const tail = i32[eb + tailW]!;
    i32[pb + P.NEXT] = NONE;
    i32[pb + P.PREV] = tail;
    if (tail !== NONE) i32[this.mm.proc(tail) + P.NEXT] = p;
    else i32[eb + headW] = p;
    i32[eb + tailW] = p;
  }

  #unlink(e: number, p: number, headW: number, tailW: number): void {
    const i32 = this.i32;
    const eb = this.mm.ep(e);
    const pb = this.mm.proc(p);
    const prev = i32[pb + P.PREV]!;
    const next = i32[pb + P.NEXT]!;
    if (prev !== NONE) i32[this.mm.proc(prev) + P.NEXT] = next;
    else i32[eb + headW] = next;
    if (next !== NONE) i32[this.mm.proc(next) + P.PREV] = prev;
    else i32[eb + tailW] = prev;
    i32[pb + P.NEXT] = NONE;
    i32[pb + P.PREV] = NONE;
  }
}

function writeName(i32: Int32Array, at: number, name: string): void {
  const bytes = new Uint8Array(NAME_WORDS * 4);
  new TextEncoder().encodeInto(name, bytes);
  const words = new Int32Array(bytes.buffer);
  for (let i = 0; i < NAME_WORDS; i++) i32[at + i] = words[i]!;
}

function readName(i32: Int32Array, at: number): string {
  const words = new Int32Array(NAME_WORDS);
  for (let i = 0; i < NAME_WORDS; i++) words[i] = i32[at + i]!;
  const bytes = new Uint8Array(words.buffer);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}
