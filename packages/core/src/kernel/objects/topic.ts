import { IpcError } from '../../contracts/errors.js';
import type { KernelContext } from '../context.js';
import { H, MAX_GEN, P, R, SB } from '../records/layout.js';
import { SubscriberTable } from '../records/tables.js';

/**
 * Topic subscriptions (the subscriber records): subscribe, unsubscribe, and the ends of a
 * subscription — its process exits, or its topic is released. All under the kernel lock; the
 * data path is `ipc/multicast.ts`. A subscription is named by its record and generation; a
 * record that ended has a new generation, so a stale subscription never reads another's cursor.
 * Each topic lists its subscribers in its ring record (up to {@link R.MAX_SUBS}), so a blocking
 * publisher can find the slowest one without the lock.
 */
export class Topics {
  readonly #k: KernelContext;
  readonly subs: SubscriberTable;

  constructor(k: KernelContext) {
    this.#k = k;
    this.subs = new SubscriberTable(k.mm);
  }

  /** Checks what {@link Topics.subscribe} needs, writing nothing. */
  checkSubscribe(r: number): void {
    if (this.#k.i32[H.SUBFREE_HEAD] === 0) throw new IpcError('OutOfMemory', 'no free subscriber record (KernelOptions.subscribers)');
    if (this.#k.rings.t.get(r, R.NSUBS) >= R.MAX_SUBS) throw new IpcError('OutOfMemory', `a topic has at most ${R.MAX_SUBS} subscribers`);
  }

  /** Subscribes process `p` to topic ring `r` (checked): it sees what is published from now on. Returns the subscriber record. */
  subscribe(p: number, r: number): number {
    const k = this.#k;
    const subs = this.subs;
    const t = k.rings.t;
    const i32 = k.i32;
    const s = i32[H.SUBFREE_HEAD]! - 1;
    const next = subs.get(s, SB.NEXT);
    i32[H.SUBFREE_HEAD] = next;
    if (next === 0) i32[H.SUBFREE_TAIL] = 0;
    subs.set(s, SB.CURSOR, Atomics.load(i32, t.word(r, R.HEAD)));
    subs.set(s, SB.TOPIC, r + 1);
    subs.set(s, SB.OWNER, p);
    subs.set(s, SB.MISSED, 0);
    subs.set(s, SB.PENDING, 0);
    const head = k.procs.get(p, P.SUB_HEAD);
    subs.set(s, SB.NEXT, head);
    subs.set(s, SB.PREV, 0);
    if (head !== 0) subs.set(head - 1, SB.PREV, s + 1);
    k.procs.set(p, P.SUB_HEAD, s + 1);
    for (let i = 0; i < R.MAX_SUBS; i++) {
      if (t.get(r, R.SUBS + i) !== 0) continue;
      Atomics.store(i32, t.word(r, R.SUBS + i), s + 1);
      break;
    }
    t.set(r, R.NSUBS, t.get(r, R.NSUBS) + 1);
    return s;
  }

  /** True when subscriber record `s` is subscription generation `gen` (lock-free check). */
  live(s: number, gen: number): boolean {
    return this.subs.gen(s) === gen && this.subs.get(s, SB.TOPIC) !== 0;
  }

  /** Ends subscription `s`: its topic forgets it, its record gets a new generation. Lock held. */
  unsubscribe(s: number): void {
    const k = this.#k;
    const subs = this.subs;
    const t = k.rings.t;
    const r = subs.get(s, SB.TOPIC) - 1;
    if (r < 0) return;
    for (let i = 0; i < R.MAX_SUBS; i++) {
      if (t.get(r, R.SUBS + i) === s + 1) {
        Atomics.store(k.i32, t.word(r, R.SUBS + i), 0);
        break;
      }
    }
    t.set(r, R.NSUBS, t.get(r, R.NSUBS) - 1);
    const owner = subs.get(s, SB.OWNER);
    const prev = subs.get(s, SB.PREV);
    const next = subs.get(s, SB.NEXT);
    if (prev !== 0) subs.set(prev - 1, SB.NEXT, next);
    else k.procs.set(owner, P.SUB_HEAD, next);
    if (next !== 0) subs.set(next - 1, SB.PREV, prev);
    subs.set(s, SB.TOPIC, 0);
    subs.set(s, SB.PREV, 0);
    const gen = subs.gen(s);
    // A blocked publisher may have waited for this subscriber only; a waiter on it must notice.
    k.rings.close0Wake(r);
    if (gen >= MAX_GEN) return; // retired
    subs.setGen(s, gen + 1);
    subs.set(s, SB.NEXT, 0);
    const i32 = k.i32;
    const tail = i32[H.SUBFREE_TAIL]!;
    if (tail === 0) i32[H.SUBFREE_HEAD] = s + 1;
    else subs.set(tail - 1, SB.NEXT, s + 1);
    i32[H.SUBFREE_TAIL] = s + 1;
  }

  /** Ends every subscription of topic ring `r`. O(its subscribers). Lock held. */
  releaseAllOf(r: number): void {
    const t = this.#k.rings.t;
    for (let i = 0; i < R.MAX_SUBS; i++) {
      const s = t.get(r, R.SUBS + i);
      if (s !== 0) this.unsubscribe(s - 1);
    }
  }

  /** Ends every subscription of process `p`. O(its subscriptions). Lock held. */
  releaseSubscriptionsOf(p: number): void {
    const procs = this.#k.procs;
    for (let s = procs.get(p, P.SUB_HEAD); s !== 0; s = procs.get(p, P.SUB_HEAD)) this.unsubscribe(s - 1);
  }

  /** Subscriptions open now (stats). */
  openCount(): number {
    let n = 0;
    for (let s = 0; s < this.subs.count; s++) if (this.subs.get(s, SB.TOPIC) !== 0) n++;
    return n;
  }
}
