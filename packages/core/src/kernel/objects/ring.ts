import { ObjectKind } from '../../contracts/capability.js';
import { IpcError } from '../../contracts/errors.js';
import { Rights } from '../../contracts/rights.js';
import type { KernelContext } from '../context.js';
import { CPU_RING_EPOCH, H, MAX_GEN, P, R, RS, RingKind, S } from '../records/layout.js';
import { RegistryWord } from '../records/registry-word.js';
import { RingTable } from '../records/tables.js';
import { wakeAllFutex } from '../sched/futex.js';

/** Rights of the handle a ring's creator gets. */
const CREATOR_RIGHTS = Rights.SEND | Rights.RECEIVE | Rights.SHARE | Rights.GRANT | Rights.REVOKE;

/** How long a new incarnation waits for lock-free operations on the old one to finish (ms). */
const GRACE_MS = 50;

/** Checked arguments of {@link Rings.create}. */
export interface RingSpec {
  /** {@link RingKind.CHANNEL} or {@link RingKind.TOPIC}. */
  kind: number;
  /** Capacity in slots (a power of two ≤ the ring slots). */
  capacity: number;
  /** {@link Overflow} policy. */
  policy: number;
}

/**
 * Ring objects (the records behind async channels and topics): create, close, revoke, release,
 * and validation of their capabilities — all under the kernel lock. The lock-free data paths
 * are in `ipc/async.ts` and `ipc/multicast.ts`.
 *
 * Generations work as for endpoints: the registry word holds the open generation; a revoke
 * bumps it (other capabilities then report `InvalidCapability`); a release (the owner exited)
 * bumps it and clears the word (capabilities minted before report `ChannelClosed`).
 *
 * Reuse of a released record is an RCU grace period: lock-free operations bracket themselves
 * with their CPU's ring epoch (odd while inside), and a record is only re-initialised once every
 * other CPU that was inside an operation has left it, so a stale producer can never write into
 * the next incarnation.
 */
export class Rings {
  readonly #k: KernelContext;
  readonly t: RingTable;

  constructor(k: KernelContext) {
    this.#k = k;
    this.t = new RingTable(k.mm);
  }

  /** Capability kind of a ring of `kind`. */
  static objectKind(kind: number): number {
    return kind === RingKind.TOPIC ? ObjectKind.Topic : ObjectKind.Ring;
  }

  /** Checks what {@link Rings.create} needs, writing nothing. */
  checkCreate(p: number, spec: RingSpec): void {
    const k = this.#k;
    if (spec.capacity > this.t.slotsPerRing) throw new IpcError('InvalidArgument', `bufferSize must be at most ${this.t.slotsPerRing} (KernelOptions.ringSlots), got ${spec.capacity}`);
    if (k.i32[H.RFREE_HEAD] === 0) throw new IpcError('OutOfMemory', 'no free ring record (KernelOptions.rings)');
    if (k.caps.freeSlots(p) === 0) throw new IpcError('OutOfMemory', 'capability space full');
  }

  /** Creates a ring owned by `p` (checked by {@link Rings.checkCreate}); returns a handle with every right. Lock held. */
  create(p: number, spec: RingSpec): number {
    const k = this.#k;
    const t = this.t;
    const i32 = k.i32;
    const r = i32[H.RFREE_HEAD]! - 1;
    const next = t.get(r, R.FREE_NEXT);
    i32[H.RFREE_HEAD] = next;
    if (next === 0) i32[H.RFREE_TAIL] = 0;
    this.#grace();
    // Every word but the generations goes back to zero.
    const gen = t.getU(r, R.GEN);
    const closedAt = t.getU(r, R.CLOSED_AT);
    t.clear(r);
    t.setU(r, R.GEN, gen);
    t.setU(r, R.START, gen);
    t.setU(r, R.CLOSED_AT, closedAt);
    t.set(r, R.KIND, spec.kind);
    t.set(r, R.POLICY, spec.policy);
    t.set(r, R.CAP, spec.capacity);
    t.set(r, R.OWNER, p);
    // Channel slots start free for their position (ipc/async.ts); topic slots at 0 (nothing published).
    for (let i = 0; i < spec.capacity; i++) t.setSlot(t.slot(r, i), RS.SEQ, spec.kind === RingKind.CHANNEL ? i << 1 : 0);
    const head = k.procs.get(p, P.RING_HEAD);
    t.set(r, R.ONEXT, head);
    if (head !== 0) t.set(head - 1, R.OPREV, r + 1);
    k.procs.set(p, P.RING_HEAD, r + 1);
    t.setRegistry(r, RegistryWord.open(gen));
    return k.caps.insert(p, Rings.objectKind(spec.kind), r, gen, CREATOR_RIGHTS);
  }

  /** Waits until no other CPU is inside a lock-free ring operation it started before now. */
  #grace(): void {
    const k = this.#k;
    const i32 = k.i32;
    const n = k.mm.ncpu;
    for (let c = 0; c < n; c++) {
      if (c === k.cpu) continue;
      const w = k.mm.cpuState(c) + CPU_RING_EPOCH;
      const e = Atomics.load(i32, w);
      if ((e & 1) === 0) continue;
      const until = performance.now() + GRACE_MS;
      // A CPU terminated inside an operation never leaves it: give up after the bound.
      while (Atomics.load(i32, w) === e && performance.now() < until);
    }
  }

  /**
   * Ring behind capability `handle` of `p` of capability kind `kind` with `rights`; throws
   * `InvalidCapability`, `PermissionDenied` or `ChannelClosed`. Writes nothing. Returns the
   * slot reference in {@link Rings.lastSlot}.
   */
  resolve(p: number, handle: number, kind: number, rights: number): number {
    const k = this.#k;
    const s = k.caps.resolve(p, handle, kind as ObjectKind, rights);
    const r = k.slots.get(s, S.OBJ);
    this.checkLive(r, k.slots.gen(s));
    this.lastSlot = s;
    return r;
  }

  /** Slot reference of the last {@link Rings.resolve}. */
  lastSlot = -1;

  /** Throws unless generation `gen` of ring `r` is open (the codes of endpoints). */
  checkLive(r: number, gen: number): void {
    const t = this.t;
    if (RegistryWord.matches(t.registry(r), gen)) return;
    if (gen < t.getU(r, R.START) || gen === t.getU(r, R.CLOSED_AT) || t.registry(r) === RegistryWord.CLOSED) throw new IpcError('ChannelClosed', 'channel closed');
    throw new IpcError('InvalidCapability', 'capability revoked');
  }

  /**
   * Closes ring `r`: further sends fail with `ChannelClosed`, receivers drain what was sent and
   * then see `ChannelClosed`; every waiter wakes to notice. Idempotent. Lock held.
   */
  close(r: number): void {
    const t = this.t;
    const i32 = this.#k.i32;
    Atomics.store(i32, t.word(r, R.CLOSED), 1);
    wakeAllFutex(i32, t.word(r, R.NOTIFY), t.word(r, R.PARKED));
    wakeAllFutex(i32, t.word(r, R.SPACE), t.word(r, R.SPACE_PARKED));
    this.#k.hub.wakeRing(r);
  }

  /** Revokes every capability to the ring `handle` names (needs REVOKE) but the revoker's, which is re-minted. */
  revoke(p: number, handle: number, kind: number): void {
    const k = this.#k;
    const r = this.resolve(p, handle, kind, Rights.REVOKE);
    const gen = this.t.getU(r, R.GEN);
    if (gen >= MAX_GEN) {
      this.release(r);
      return;
    }
    this.t.setU(r, R.GEN, gen + 1);
    this.t.setRegistry(r, RegistryWord.open(gen + 1));
    k.slots.setGen(k.caps.find(p, handle), gen + 1);
    // Waiters holding revoked capabilities notice at once.
    this.close0Wake(r);
  }

  /** Wakes every waiter of ring `r` without closing it (they re-check their capability). */
  close0Wake(r: number): void {
    const t = this.t;
    const i32 = this.#k.i32;
    wakeAllFutex(i32, t.word(r, R.NOTIFY), t.word(r, R.PARKED));
    wakeAllFutex(i32, t.word(r, R.SPACE), t.word(r, R.SPACE_PARKED));
    this.#k.hub.wakeRing(r);
  }

  /**
   * Releases ring `r` (its owner exited): every capability to it reports `ChannelClosed` from
   * now on, waiters wake, a topic's subscriptions end, and the record goes to the back of the
   * free list. Lock held.
   */
  release(r: number): void {
    const k = this.#k;
    const t = this.t;
    const i32 = k.i32;
    if (t.get(r, R.KIND) === RingKind.TOPIC) k.topics.releaseAllOf(r);
    else k.async.discardAll(r);
    const gen = t.getU(r, R.GEN);
    t.setU(r, R.CLOSED_AT, gen);
    t.setRegistry(r, RegistryWord.CLOSED);
    this.close(r);
    const owner = t.get(r, R.OWNER);
    const prev = t.get(r, R.OPREV);
    const next = t.get(r, R.ONEXT);
    if (prev !== 0) t.set(prev - 1, R.ONEXT, next);
    else k.procs.set(owner, P.RING_HEAD, next);
    if (next !== 0) t.set(next - 1, R.OPREV, prev);
    t.set(r, R.ONEXT, 0);
    t.set(r, R.OPREV, 0);
    t.set(r, R.KIND, RingKind.FREE);
    if (gen >= MAX_GEN) return; // retired: never reused
    t.setU(r, R.GEN, gen + 1);
    t.set(r, R.FREE_NEXT, 0);
    const tail = i32[H.RFREE_TAIL]!;
    if (tail === 0) i32[H.RFREE_HEAD] = r + 1;
    else t.set(tail - 1, R.FREE_NEXT, r + 1);
    i32[H.RFREE_TAIL] = r + 1;
  }

  /** Ends everything process `p` owns here: its rings and topics, and its subscriptions. O(what it owns). Lock held. */
  releaseOwnedBy(p: number): void {
    const k = this.#k;
    for (let r = k.procs.get(p, P.RING_HEAD); r !== 0; r = k.procs.get(p, P.RING_HEAD)) this.release(r - 1);
    k.topics.releaseSubscriptionsOf(p);
  }

  /** Number of open rings (stats). */
  openCount(): number {
    let n = 0;
    for (let r = 0; r < this.t.count; r++) if (this.t.registry(r) !== RegistryWord.CLOSED) n++;
    return n;
  }
}
