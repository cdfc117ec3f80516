import { IpcError } from '../../contracts/errors.js';
import type { KernelContext } from '../context.js';
import { E, H, NONE, ObsFlag, P, R, S } from '../records/layout.js';
import { RegistryWord } from '../records/registry-word.js';
import { B, O, PR, PolicyBit } from '../records/obs-region.js';
import type { PolicySpec } from './config.js';

const NS = 1e9;
const TWO32 = 0x100000000;

/**
 * Endpoint security policies, in machine memory so every CPU enforces them: a policy record
 * per endpoint that has one (a pool of `policies` records), each with a token bucket per
 * process record — exactly `policies × processes` buckets, no eviction, so no sender can
 * escape its bucket by crowding others out. Token arithmetic is exact integer arithmetic in
 * doubles (tokens, and a sub-token remainder in token·ns), refilled from the kernel's
 * monotonic clock.
 *
 * {@link Policies.check} runs before the commit and writes nothing; {@link Policies.commit}
 * debits the bucket of the message just checked, after the commit (it cannot fail).
 */
export class Policies {
  readonly #k: KernelContext;
  readonly #i32: Int32Array;
  readonly #u32: Uint32Array;
  readonly #map: number;
  readonly #base: number;
  readonly #words: number;
  readonly #n: number;
  readonly #obs: number;
  // The debit the last check computed (committed by commit()).
  #bucket = -1;
  #msgs = 0;
  #bytes = 0;
  #msgRem = 0;
  #byteRem = 0;
  #now = 0;
  #gen = 0;
  // refill() results.
  #t = 0;
  #rem = 0;

  constructor(k: KernelContext) {
    this.#k = k;
    this.#i32 = k.i32;
    this.#u32 = k.mm.u32;
    const o = k.mm.obsBase;
    this.#obs = o;
    this.#map = k.i32[o + O.POLMAP]!;
    this.#base = k.i32[o + O.POLBASE]!;
    this.#words = k.i32[o + O.POL_WORDS]!;
    this.#n = k.i32[o + O.NPOL]!;
  }

  /**
   * Word index of the live policy record of key `e`, or -1. A policy key is an endpoint
   * record index, or `endpoints + r` for ring record `r` (an async channel or topic).
   */
  recordOf(e: number): number {
    const i = this.#i32[this.#map + e]! - 1;
    if (i < 0) return -1;
    const r = this.#base + i * this.#words;
    return this.#i32[r + PR.EP] === e && this.#i32[r + PR.START] === this.#start(e) ? r : -1;
  }

  /** The policy key of ring record `r`. */
  ringKey(r: number): number {
    return this.#k.mm.nep + r;
  }

  /** First generation of the current incarnation of the object of key `e` (as an int32). */
  #start(e: number): number {
    const k = this.#k;
    const nep = k.mm.nep;
    return e < nep ? k.eps.get(e, E.START) : k.rings.t.get(e - nep, R.START);
  }

  /** True while the object of key `e` is open. */
  #open(e: number): boolean {
    const k = this.#k;
    const nep = k.mm.nep;
    return e < nep ? k.eps.open(e) : k.rings.t.registry(e - nep) !== RegistryWord.CLOSED;
  }

  /** Messages the policy of `e` refused. */
  refused(e: number): number {
    const r = this.recordOf(e);
    return r < 0 ? 0 : this.#u32[r + PR.REFUSED]!;
  }

  /**
   * Sets (or with `null` clears) the policy of endpoint `e`; `setter` is the process whose
   * handle `requiredCapability` is. Checks first (`OutOfMemory` when the pool is used up,
   * `InvalidCapability` for the handle), then writes. Lock held. O(policies + processes).
   */
  set(e: number, setter: number, spec: PolicySpec | null): void {
    const k = this.#k;
    const i32 = this.#i32;
    let r = this.recordOf(e);
    if (spec === null) {
      if (r >= 0) this.#free(r, e);
      return;
    }
    let req = -1;
    if (spec.requiredCapability >= 0) {
      req = k.caps.find(setter, spec.requiredCapability);
      if (req < 0) throw new IpcError('InvalidCapability', 'filter.requiredCapability names no capability');
      k.messages.checkObjectLive(k.slots.get(req, S.KIND), k.slots.get(req, S.OBJ), k.slots.gen(req));
    }
    const fresh = r < 0;
    if (fresh) {
      for (let i = 0; i < this.#n && r < 0; i++) {
        const c = this.#base + i * this.#words;
        const owner = i32[c + PR.EP]!;
        if (owner === NONE || i32[c + PR.START] !== this.#start(owner) || !this.#open(owner)) r = c;
      }
      if (r < 0) throw new IpcError('OutOfMemory', `all ${this.#n} policy records are in use (KernelOptions.policies)`);
    }
    // Commit.
    if (fresh && i32[r + PR.EP] === NONE) i32[this.#obs + O.POL_USED]!++;
    const old = i32[r + PR.EP]!;
    if (fresh && old !== NONE && i32[this.#map + old] === (r - this.#base) / this.#words + 1) i32[this.#map + old] = 0;
    i32.fill(0, r, r + this.#words);
    i32[r + PR.EP] = e;
    i32[r + PR.START] = this.#start(e);
    let flags = 0;
    if (spec.msgRate > 0) flags |= PolicyBit.RATE_MSGS;
    if (spec.byteRate > 0) flags |= PolicyBit.RATE_BYTES;
    if (spec.maxSize >= 0) flags |= PolicyBit.MAX_SIZE;
    if (spec.types) flags |= PolicyBit.TYPES;
    if (spec.sources) flags |= PolicyBit.SOURCES;
    if (req >= 0) flags |= PolicyBit.REQ_CAP;
    i32[r + PR.FLAGS] = flags;
    const u = this.#u32;
    u[r + PR.MSG_RATE] = spec.msgRate;
    u[r + PR.BYTE_RATE] = spec.byteRate;
    u[r + PR.MSG_BURST] = spec.msgBurst;
    u[r + PR.BYTE_BURST] = spec.byteBurst;
    u[r + PR.MAX_SIZE] = Math.max(0, spec.maxSize);
    if (spec.types) {
      i32[r + PR.NTYPES] = spec.types.length;
      spec.types.forEach((t, j) => (u[r + PR.TYPES + j] = t));
    }
    if (spec.sources) {
      i32[r + PR.NSRC] = spec.sources.length;
      spec.sources.forEach((pid, j) => {
        u[r + PR.SRC + 2 * j] = pid % 0x10000;
        u[r + PR.SRC + 2 * j + 1] = Math.floor(pid / 0x10000);
      });
    }
    if (req >= 0) {
      i32[r + PR.REQ_KIND] = k.slots.get(req, S.KIND);
      i32[r + PR.REQ_OBJ] = k.slots.get(req, S.OBJ);
      u[r + PR.REQ_GEN] = k.slots.gen(req);
      i32[r + PR.REQ_RIGHTS] = spec.requiredRights;
    }
    i32[this.#map + e] = (r - this.#base) / this.#words + 1;
    Atomics.or(i32, H.OBS_FLAGS, ObsFlag.POLICY);
  }

  #free(r: number, e: number): void {
    const i32 = this.#i32;
    i32[r + PR.EP] = NONE;
    i32[this.#map + e] = 0;
    if (--i32[this.#obs + O.POL_USED]! === 0) Atomics.and(i32, H.OBS_FLAGS, ~ObsFlag.POLICY);
  }

  /**
   * Checks a message from sender `p` (pid `pid`) into endpoint `e`: filter rules, then the
   * rate limit at time `now` (integer ns). Throws `Filtered` or `RateLimited`; writes nothing
   * but the refused counter. Lock held. Allocation-free.
   */
  check(p: number, pid: number, e: number, type: number, size: number, now: number): void {
    this.#bucket = -1;
    const r = this.recordOf(e);
    if (r < 0) return;
    const i32 = this.#i32;
    const u = this.#u32;
    const flags = i32[r + PR.FLAGS]!;
    try {
      if (flags & PolicyBit.MAX_SIZE && size > u[r + PR.MAX_SIZE]!) throw new IpcError('Filtered', `message of ${size} bytes exceeds the endpoint's filter limit of ${u[r + PR.MAX_SIZE]!}`);
      if (flags & PolicyBit.TYPES && !this.#listed(u, r + PR.TYPES, i32[r + PR.NTYPES]!, type)) throw new IpcError('Filtered', `message type ${type} is not allowed on this endpoint`);
      if (flags & PolicyBit.SOURCES && !this.#source(u, r, pid)) throw new IpcError('Filtered', `process ${pid} may not send to this endpoint`);
      if (flags & PolicyBit.REQ_CAP && !this.#holds(p, r)) throw new IpcError('Filtered', 'the sender lacks the capability this endpoint requires');
      if (!(flags & (PolicyBit.RATE_MSGS | PolicyBit.RATE_BYTES))) return;
      const b = r + PR.BUCKETS + p * B.SIZE;
      const gen = this.#k.procs.gen(p);
      const own = u[b + B.GEN] === gen;
      const last = own ? u[b + B.LAST_HI]! * TWO32 + u[b + B.LAST_LO]! : now;
      const elapsed = now > last ? now - last : 0;
      this.#msgs = 0;
      this.#bytes = 0;
      if (flags & PolicyBit.RATE_MSGS) {
        this.#refill(own ? u[b + B.MSGS]! : u[r + PR.MSG_BURST]!, own ? u[b + B.MSG_REM]! : 0, elapsed, u[r + PR.MSG_RATE]!, u[r + PR.MSG_BURST]!);
        if (this.#t < 1) throw new IpcError('RateLimited', 'message rate limit reached on this endpoint');
        this.#msgs = this.#t - 1;
        this.#msgRem = this.#rem;
      }
      if (flags & PolicyBit.RATE_BYTES) {
        this.#refill(own ? u[b + B.BYTES]! : u[r + PR.BYTE_BURST]!, own ? u[b + B.BYTE_REM]! : 0, elapsed, u[r + PR.BYTE_RATE]!, u[r + PR.BYTE_BURST]!);
        if (this.#t < size) throw new IpcError('RateLimited', `byte rate limit reached on this endpoint (${size} bytes, ${this.#t} available)`);
        this.#bytes = this.#t - size;
        this.#byteRem = this.#rem;
      }
      this.#bucket = b;
      this.#gen = gen;
      this.#now = now > last ? now : last;
    } catch (err) {
      u[r + PR.REFUSED]!++;
      throw err;
    }
  }

  /** Debits the bucket of the message the last {@link Policies.check} passed (its send committed). */
  commit(): void {
    const b = this.#bucket;
    if (b < 0) return;
    this.#bucket = -1;
    const u = this.#u32;
    u[b + B.GEN] = this.#gen;
    u[b + B.MSGS] = this.#msgs;
    u[b + B.BYTES] = this.#bytes;
    u[b + B.MSG_REM] = this.#msgRem;
    u[b + B.BYTE_REM] = this.#byteRem;
    u[b + B.LAST_HI] = Math.floor(this.#now / TWO32);
    u[b + B.LAST_LO] = this.#now >>> 0;
  }

  /** Forgets the pending debit (the send failed after its check). */
  cancel(): void {
    this.#bucket = -1;
  }

  /**
   * Refills `tokens` (with `rem` token·ns left over) for `elapsed` ns at `rate` tokens/s, up to
   * `burst`, exactly: every product below stays under 2^53. Sets #t and #rem.
   */
  #refill(tokens: number, rem: number, elapsed: number, rate: number, burst: number): void {
    const need = burst - tokens;
    this.#t = burst;
    this.#rem = 0;
    if (need <= 0) return;
    const s = Math.floor(elapsed / NS);
    if (s * rate >= need) return;
    const r = elapsed - s * NS;
    const rA = Math.floor(r / 1e5);
    const rB = r - rA * 1e5;
    const x = rA * rate;
    const q1 = Math.floor(x / 1e4);
    const num = (x - q1 * 1e4) * 1e5 + rB * rate + rem;
    const q2 = Math.floor(num / NS);
    const gain = s * rate + q1 + q2;
    if (gain >= need) return;
    this.#t = tokens + gain;
    this.#rem = num - q2 * NS;
  }

  #listed(u: Uint32Array, at: number, n: number, v: number): boolean {
    for (let i = 0; i < n; i++) if (u[at + i] === v) return true;
    return false;
  }

  #source(u: Uint32Array, r: number, pid: number): boolean {
    const n = this.#i32[r + PR.NSRC]!;
    for (let i = 0; i < n; i++) if (u[r + PR.SRC + 2 * i + 1]! * 0x10000 + u[r + PR.SRC + 2 * i]! === pid) return true;
    return false;
  }

  /** True when `p` holds a capability to the required object with the required rights. O(p's capabilities). */
  #holds(p: number, r: number): boolean {
    const k = this.#k;
    const i32 = this.#i32;
    const kind = i32[r + PR.REQ_KIND]!;
    const obj = i32[r + PR.REQ_OBJ]!;
    const gen = this.#u32[r + PR.REQ_GEN]!;
    const rights = i32[r + PR.REQ_RIGHTS]!;
    // The used list, walked by hand: no generator object per message.
    for (let i = k.procs.get(p, P.CS_USED_HEAD); i !== NONE; ) {
      const s = k.slots.ref(p, i);
      if (k.slots.get(s, S.KIND) === kind && k.slots.get(s, S.OBJ) === obj && k.slots.gen(s) === gen && (k.slots.get(s, S.RIGHTS) & rights) === rights) return true;
      i = k.slots.get(s, S.NEXT);
    }
    return false;
  }
}
