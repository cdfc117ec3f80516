import { ObjectKind } from '../../contracts/capability.js';
import { IpcError } from '../../contracts/errors.js';
import { KERNEL_MESSAGE_FLAGS, MAX_SMALL_CAPS, MAX_SMALL_DATA, MessageFlags, MessageInfo } from '../../contracts/message.js';
import { readSlot, writeSlot, type RegisterSlot } from '../../contracts/register-frame.js';
import { Rights } from '../../contracts/rights.js';
import type { KernelContext } from '../context.js';
import { M, P, REG_WORDS, S } from '../records/layout.js';

/** Info-word bits no sender may set (16–31 are reserved). */
const INFO_RESERVED = 0xffff0000;
/** Flags a sender may set; the kernel-owned ones are overwritten on delivery. */
const USER_FLAGS = MessageFlags.NONBLOCKING | MessageFlags.LARGE;

/**
 * The message path of a syscall: the kernel never reads a message from user-writable memory
 * after checking it. At entry the message words are copied from the caller's register frame
 * into this CPU's scratch (a frame-shaped array only this CPU's kernel touches), the info word
 * is validated, and every capability it names is resolved into a snapshot (kind, object,
 * generation, rights) — SHARE checked there, once. A send that has to wait parks the scratch
 * in its process's kernel-owned shadow in machine memory; delivery copies from scratch or
 * shadow into the receiver's frame and mints the snapshots, never looking at the sender's
 * frame or handles again.
 */
export class IpcMessages {
  readonly #k: KernelContext;
  /** This CPU's kernel scratch: a message in frame layout. */
  readonly scratch = new Uint32Array(REG_WORDS);
  /** Capability snapshots of the scratch message (kind, object, generation, rights) × 4. */
  readonly scratchCaps = new Int32Array(MAX_SMALL_CAPS * M.CAP_WORDS);
  /** Length, capability count and flags of the scratch message. */
  length = 0;
  capCount = 0;
  flags = 0;
  /** The contiguous run of frame words that holds every message register: [lo, hi). */
  readonly lo: number;
  readonly hi: number;
  readonly #info: RegisterSlot;
  readonly #sender: RegisterSlot;
  readonly #caps: readonly RegisterSlot[];
  readonly #endpoint: RegisterSlot;
  readonly #syscall: RegisterSlot;

  constructor(k: KernelContext) {
    this.#k = k;
    const L = k.arch.fastPath.layout;
    this.#info = L.info;
    this.#sender = L.sender;
    this.#caps = L.caps;
    this.#endpoint = L.endpoint;
    this.#syscall = L.syscall;
    const regs = new Set<number>([L.syscall.reg, L.endpoint.reg, L.sender.reg, L.info.reg, L.type.reg, ...L.caps.map((c) => c.reg), ...L.data]);
    // Copying one contiguous run (a few words more than the message registers) is about twice
    // as fast as copying the registers one by one through an index table.
    this.lo = Math.min(...regs) * 2;
    this.hi = Math.max(...regs) * 2 + 2;
  }

  /** The syscall number in process `p`'s frame (the register the arch ABI names). */
  syscallOf(p: number): number {
    return readSlot(this.#k.mm.frame(p), this.#syscall);
  }

  /** The endpoint handle in process `p`'s frame (a receive names its endpoint there). */
  endpointHandleOf(p: number): number {
    return readSlot(this.#k.mm.frame(p), this.#endpoint);
  }

  /** The endpoint handle in the scratch message. */
  get endpointHandle(): number {
    return readSlot(this.scratch, this.#endpoint);
  }

  /**
   * Copies process `p`'s message words into the scratch and checks them: the info word's
   * counts and reserved bits (`InvalidArgument`), each capability live and carrying SHARE
   * (`InvalidCapability`, `ChannelClosed`, `PermissionDenied`), and the LARGE flag against a
   * staged large message. Writes nothing outside the scratch.
   */
  snapshot(p: number): void {
    this.copy(p);
    this.check(p);
  }

  /** Copies process `p`'s message words into the scratch, unchecked (each frame word read once). */
  copy(p: number): void {
    const frame = this.#k.mm.frame(p);
    const s = this.scratch;
    for (let w = this.lo; w < this.hi; w++) s[w] = frame[w]!;
  }

  /**
   * Checks the message in the scratch as {@link IpcMessages.snapshot} describes (for a message
   * the kernel itself encoded into the scratch on a process's behalf, e.g. a passive reply).
   */
  check(p: number): void {
    const k = this.#k;
    const s = this.scratch;
    const info = readSlot(s, this.#info);
    const length = MessageInfo.length(info);
    const capCount = MessageInfo.capCount(info);
    const flags = MessageInfo.flags(info) & ~KERNEL_MESSAGE_FLAGS;
    if ((info & INFO_RESERVED) !== 0) throw new IpcError('InvalidArgument', 'reserved bits 16–31 of the info word are set');
    if (length > MAX_SMALL_DATA || capCount > MAX_SMALL_CAPS) throw new IpcError('InvalidArgument', `info word claims ${length} bytes and ${capCount} capabilities`);
    if ((flags & ~USER_FLAGS) !== 0) throw new IpcError('InvalidArgument', `unknown message flags 0x${flags.toString(16)}`);
    const large = (flags & MessageFlags.LARGE) !== 0;
    if (large !== (k.procs.get(p, P.LARGE_OUT) !== 0)) throw new IpcError('InvalidArgument', large ? 'LARGE flag without a staged large message' : 'a staged large message without the LARGE flag');
    if (large && (length !== 0 || capCount !== 0)) throw new IpcError('InvalidArgument', 'a large message carries its data and capabilities in its frames');
    for (let i = 0; i < capCount; i++) this.snapshotCap(p, readSlot(s, this.#caps[i]!), this.scratchCaps, i * M.CAP_WORDS);
    this.length = length;
    this.capCount = capCount;
    this.flags = flags;
  }

  /**
   * Resolves capability `handle` of process `p` for transfer: live, with SHARE. Writes its
   * snapshot (kind, object, generation, rights) into `out[at…]`.
   */
  snapshotCap(p: number, handle: number, out: Int32Array, at: number): void {
    const k = this.#k;
    const s = k.caps.find(p, handle);
    if (s < 0) throw new IpcError('InvalidCapability', 'a transferred capability names nothing');
    const kind = k.slots.get(s, S.KIND);
    const obj = k.slots.get(s, S.OBJ);
    const gen = k.slots.gen(s);
    this.checkObjectLive(kind, obj, gen);
    const rights = k.slots.get(s, S.RIGHTS);
    if (!(rights & Rights.SHARE)) throw new IpcError('PermissionDenied', 'a transferred capability lacks SHARE');
    out[at] = kind;
    out[at + 1] = obj;
    out[at + 2] = gen | 0;
    out[at + 3] = rights;
  }

  /** Throws unless the object a capability names (kind, record, generation) is live. */
  checkObjectLive(kind: number, obj: number, gen: number): void {
    const k = this.#k;
    if (kind === ObjectKind.Endpoint) k.endpoints.checkLive(obj, gen);
    else if (kind === ObjectKind.Ring || kind === ObjectKind.Topic) k.rings.checkLive(obj, gen);
    else if (kind === ObjectKind.Region) k.regions.checkLive(obj, gen);
    else if (kind === ObjectKind.Process) {
      if (!k.procs.live(obj) || k.procs.gen(obj) !== gen) throw new IpcError('InvalidCapability', 'the process is gone');
    }
  }

  /** Checks that `dst` can take a message with `capCount` capabilities (and a large one). Writes nothing. */
  checkRoom(dst: number, capCount: number, large: boolean, largeCaps: number, src = -1): void {
    const k = this.#k;
    if (capCount + largeCaps > 0 && k.caps.freeSlots(dst) < capCount + largeCaps) throw new IpcError('OutOfMemory', "receiver's capability space is full");
    if (large && k.procs.get(dst, P.LARGE_IN) !== 0) throw new IpcError('InvalidState', 'the receiver still holds a large message');
    // A buffer must find room in the receiver's memory, or the message would arrive and be lost.
    if (large && src >= 0) k.large.checkReceiver(src, dst);
  }

  /** Parks the scratch message in process `p`'s kernel-owned shadow (its send has to wait). */
  park(p: number): void {
    const sh = this.#k.mm.shadow(p);
    const s = this.scratch;
    for (let w = this.lo; w < this.hi; w++) sh[w] = s[w]!;
    this.#k.mm.shadowCaps(p).set(this.scratchCaps);
  }

  /** Capability count of the message parked in `p`'s shadow. */
  parkedCapCount(p: number): number {
    return MessageInfo.capCount(readSlot(this.#k.mm.shadow(p), this.#info));
  }

  /** True when the message parked in `p`'s shadow is large. */
  parkedLarge(p: number): boolean {
    return (MessageInfo.flags(readSlot(this.#k.mm.shadow(p), this.#info)) & MessageFlags.LARGE) !== 0;
  }

  /**
   * Delivers a checked message from `src` (the scratch, or a shadow with its caps) sent by
   * process `from` into `dst`'s frame: message words, the true sender, the kernel-owned
   * `flags`, capabilities minted from their snapshots, and a large message's frames. Room
   * was checked; cannot fail. Lock held.
   */
  deliver(src: Uint32Array, srcCaps: Int32Array, from: number, dst: number, flags: number): void {
    const k = this.#k;
    const df = k.mm.frame(dst);
    for (let w = this.lo; w < this.hi; w++) df[w] = src[w]!;
    const pid = k.procs.pid(from);
    writeSlot(df, this.#sender, pid >>> 0);
    k.procs.set(dst, P.SENDER_HI, Math.floor(pid / 0x100000000));
    const info = readSlot(df, this.#info);
    writeSlot(df, this.#info, (info & ~(KERNEL_MESSAGE_FLAGS << MessageInfo.FLAGS_SHIFT)) | (flags << MessageInfo.FLAGS_SHIFT));
    const n = MessageInfo.capCount(info);
    for (let i = 0; i < n; i++) writeSlot(df, this.#caps[i]!, this.mint(dst, srcCaps, i * M.CAP_WORDS));
    if (MessageInfo.flags(info) & MessageFlags.LARGE) k.large.move(from, dst);
  }

  /** Mints the capability snapshot at `snap[at…]` into `dst`'s space; returns the handle. */
  mint(dst: number, snap: Int32Array, at: number): number {
    return this.#k.caps.insert(dst, snap[at]!, snap[at + 1]!, snap[at + 2]! >>> 0, snap[at + 3]!);
  }
}
