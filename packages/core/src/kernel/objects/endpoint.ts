import { ObjectKind } from '../../contracts/capability.js';
import { IPC_ERROR_NUMBERS, IpcError } from '../../contracts/errors.js';
import { Rights } from '../../contracts/rights.js';
import type { KernelContext } from '../context.js';
import { E, EndpointFlag, H, MAX_GEN, NONE, P, S } from '../records/layout.js';
import { readName, writeName } from '../records/names.js';
import { RegistryWord } from '../records/registry-word.js';

const ERR = IPC_ERROR_NUMBERS;

/** Rights of the handle an endpoint's creator gets. */
const CREATOR_RIGHTS = Rights.SEND | Rights.RECEIVE | Rights.SHARE | Rights.GRANT | Rights.REVOKE;

/** Checked arguments of {@link Endpoints.create}. */
export interface EndpointSpec {
  name: string | undefined;
  capacity: number;
  timeoutNs: number;
  registerOnly: boolean;
  /** Largest buffer a message may carry (0: the machine's limit). */
  maxTransfer: number;
}

/**
 * Endpoint objects: create, close, revoke, and validation of endpoint capabilities.
 *
 * Generations: an endpoint record's generation (u32) is bumped by every revoke and every
 * close; its registry word holds it while open. A capability is live while its generation
 * equals the registry word. A dead one is told apart without scanning any capability space:
 * if the incarnation it was minted in has ended (the endpoint is closed, or the record serves a
 * later incarnation: its generation is below the current first one) it reports
 * `ChannelClosed` — revoked before or not; revoked within the open incarnation it reports
 * `InvalidCapability`.
 */
export class Endpoints {
  readonly #k: KernelContext;

  constructor(k: KernelContext) {
    this.#k = k;
  }

  /**
   * Validates an endpoint capability of process `p` and returns the endpoint record index.
   * Throws `InvalidCapability` (forged, stale, revoked, wrong type), `PermissionDenied`, or
   * `ChannelClosed`. Writes nothing.
   */
  endpointOf(p: number, handle: number, rights: number): number {
    const k = this.#k;
    const s = k.caps.resolve(p, handle, ObjectKind.Endpoint, rights);
    const e = k.slots.get(s, S.OBJ);
    this.checkLive(e, k.slots.gen(s));
    return e;
  }

  /** Throws unless generation `gen` of endpoint `e` is open (see the class doc for the codes). */
  checkLive(e: number, gen: number): void {
    const eps = this.#k.eps;
    if (RegistryWord.matches(eps.registry(e), gen)) return;
    if (!RegistryWord.isOpen(eps.registry(e)) || gen < eps.getU(e, E.START)) throw new IpcError('ChannelClosed', 'endpoint closed');
    throw new IpcError('InvalidCapability', 'capability revoked');
  }

  /** Checks what {@link Endpoints.create} needs, writing nothing. */
  checkCreate(p: number, spec: EndpointSpec): void {
    const k = this.#k;
    if (spec.name !== undefined && k.registry.findNamed(spec.name) >= 0) throw new IpcError('AlreadyExists', `name "${spec.name}" is taken`);
    if (!k.registry.hasFreeEndpoint()) throw new IpcError('OutOfMemory', 'no free endpoint record');
    if (k.caps.freeSlots(p) === 0) throw new IpcError('OutOfMemory', 'capability space full');
  }

  /** Creates an endpoint owned by `p` (checked by {@link Endpoints.checkCreate}); returns a handle with every right. */
  create(p: number, spec: EndpointSpec): number {
    const { registry, eps, procs, caps } = this.#k;
    const e = registry.takeEndpoint();
    const gen = eps.gen(e);
    eps.setU(e, E.START, gen);
    eps.setRegistry(e, RegistryWord.open(gen));
    eps.set(e, E.OWNER, p);
    eps.set(e, E.FLAGS, spec.registerOnly ? EndpointFlag.REGISTER_ONLY : 0);
    eps.set(e, E.CAPACITY, spec.capacity);
    eps.set(e, E.MAX_TRANSFER, spec.maxTransfer);
    eps.set(e, E.QHEAD, NONE);
    eps.set(e, E.QTAIL, NONE);
    eps.set(e, E.QLEN, 0);
    eps.set(e, E.RHEAD, NONE);
    eps.set(e, E.RTAIL, NONE);
    eps.set(e, E.TIMEOUT_LO, spec.timeoutNs % 0x100000000 | 0);
    eps.set(e, E.TIMEOUT_HI, Math.floor(spec.timeoutNs / 0x100000000));
    eps.set(e, E.MSGS, 0);
    eps.set(e, E.PASSIVE, NONE);
    writeName(this.#k.i32, eps.word(e, E.NAME), spec.name ?? '');
    if (spec.name !== undefined) registry.addName(e);
    // Into the owner's endpoint list.
    const head = procs.get(p, P.EHEAD);
    eps.set(e, E.OPREV, NONE);
    eps.set(e, E.ONEXT, head);
    if (head !== NONE) eps.set(head, E.OPREV, e);
    procs.set(p, P.EHEAD, e);
    return caps.insert(p, ObjectKind.Endpoint, e, gen, CREATOR_RIGHTS);
  }

  /** Default call timeout of endpoint `e` in nanoseconds (0 = none). */
  timeout(e: number): number {
    const eps = this.#k.eps;
    return (eps.get(e, E.TIMEOUT_HI) >>> 0) * 0x100000000 + (eps.get(e, E.TIMEOUT_LO) >>> 0);
  }

  /** Name of endpoint `e` ('' when unnamed). */
  name(e: number): string {
    return readName(this.#k.i32, this.#k.eps.word(e, E.NAME));
  }

  /** Largest buffer a message through `e` may carry, in bytes. */
  maxTransfer(e: number): number {
    const own = this.#k.eps.get(e, E.MAX_TRANSFER);
    const machine = this.#k.i32[H.MAX_TRANSFER]!;
    return own > 0 && own < machine ? own : machine;
  }

  /** True when endpoint `e` carries register messages only. */
  registerOnly(e: number): boolean {
    return (this.#k.eps.get(e, E.FLAGS) & EndpointFlag.REGISTER_ONLY) !== 0;
  }

  /**
   * Closes endpoint `e`: every waiter wakes with `ChannelClosed`, every capability to it
   * reports closed from now on (no capability space is scanned), its name is freed. O(its
   * waiters). Lock held.
   */
  close(e: number): void {
    const k = this.#k;
    const { eps, procs, queues, wake, large } = k;
    const observed = k.i32[H.OBS_FLAGS] !== 0;
    for (let c = eps.get(e, E.QHEAD); c !== NONE; c = eps.get(e, E.QHEAD)) {
      if (observed) k.obs.ended(c, ERR.ChannelClosed);
      queues.removeSender(e, c);
      large.dropOutgoing(c);
      procs.set(c, P.WAIT_EP, NONE);
      wake.wake(c, ERR.ChannelClosed);
    }
    for (let r = eps.get(e, E.RHEAD); r !== NONE; r = eps.get(e, E.RHEAD)) {
      if (observed) k.obs.ended(r, ERR.ChannelClosed);
      queues.removeReceiver(e, r);
      procs.set(r, P.WAIT_EP, NONE);
      wake.wake(r, ERR.ChannelClosed);
    }
    // A passive server in its handler learns it when it comes back (passive.ts).
    eps.set(e, E.PASSIVE, NONE);
    k.registry.removeName(e);
    writeName(k.i32, eps.word(e, E.NAME), '');
    const gen = eps.gen(e);
    eps.setRegistry(e, RegistryWord.CLOSED);
    eps.setU(e, E.GEN, gen + 1);
    const owner = eps.get(e, E.OWNER);
    if (owner !== NONE) {
      const prev = eps.get(e, E.OPREV);
      const next = eps.get(e, E.ONEXT);
      if (prev !== NONE) eps.set(prev, E.ONEXT, next);
      else procs.set(owner, P.EHEAD, next);
      if (next !== NONE) eps.set(next, E.OPREV, prev);
    }
    eps.set(e, E.OWNER, NONE);
    eps.set(e, E.ONEXT, NONE);
    eps.set(e, E.OPREV, NONE);
    k.registry.releaseEndpoint(e);
    if (owner !== NONE && procs.live(owner)) k.priority.recompute(owner);
  }

  /**
   * Revokes every capability to the endpoint `handle` names (needs REVOKE): bumps the
   * generation so all of them die at once, then re-mints the revoker's own capability. When
   * the generations of the record are spent (2^32 − 2 of them), the endpoint is closed.
   */
  revoke(p: number, handle: number): void {
    const k = this.#k;
    const e = this.endpointOf(p, handle, Rights.REVOKE);
    const gen = k.eps.gen(e);
    if (gen >= MAX_GEN) {
      this.close(e);
      return;
    }
    k.eps.setU(e, E.GEN, gen + 1);
    k.eps.setRegistry(e, RegistryWord.open(gen + 1));
    k.slots.setGen(k.caps.find(p, handle), gen + 1);
  }
}
