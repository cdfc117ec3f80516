import { IpcError } from '../../contracts/errors.js';
import type { KernelContext } from '../context.js';
import { idGeneration, idIndex } from '../records/ids.js';
import { E, H, MAX_GEN, NONE, P, PState } from '../records/layout.js';
import { NAME_WORDS, encodeName, hashName, nameEquals } from '../records/names.js';
import { RegistryWord } from '../records/registry-word.js';

/**
 * The registry: allocation of process and endpoint records (least recently freed first, so
 * churn rotates over the pool instead of wearing out one record), O(1) resolution of pids and
 * endpoint ids (index plus generation compare, no hashing), and the name table (a hash table
 * in machine memory, chained through the endpoint records) so a name lookup is O(1) too.
 */
export class Registry {
  readonly #k: KernelContext;
  readonly #i32: Int32Array;
  readonly #nameBase: number;
  readonly #nameMask: number;
  readonly #key = new Int32Array(NAME_WORDS);

  constructor(k: KernelContext) {
    this.#k = k;
    this.#i32 = k.mm.i32;
    this.#nameBase = k.mm.nameBase;
    this.#nameMask = k.mm.nameMask;
  }

  // ---------------------------------------------------------------- processes

  /** Record index of a live process id, or -1. O(1); never throws, whatever `pid` is. */
  resolvePid(pid: number): number {
    const gen = idGeneration(pid);
    if (gen < 0) return -1;
    const p = idIndex(pid);
    const procs = this.#k.procs;
    if (p >= procs.count || !procs.live(p)) return -1;
    return procs.gen(p) === gen ? p : -1;
  }

  /** True when a free process record exists. */
  hasFreeProcess(): boolean {
    return this.#i32[H.PFREE_HEAD] !== NONE;
  }

  /** Takes the least recently freed process record (check {@link Registry.hasFreeProcess} first). */
  takeProcess(): number {
    const p = this.#i32[H.PFREE_HEAD]!;
    if (p === NONE) throw new IpcError('OutOfMemory', 'no free process record');
    const next = this.#k.procs.get(p, P.NEXT);
    this.#i32[H.PFREE_HEAD] = next;
    if (next === NONE) this.#i32[H.PFREE_TAIL] = NONE;
    this.#k.procs.set(p, P.NEXT, NONE);
    return p;
  }

  /** Gives record `p` back with the next generation (or retires it when its generation is spent). */
  releaseProcess(p: number): void {
    const procs = this.#k.procs;
    const gen = procs.gen(p);
    if (gen >= MAX_GEN) {
      procs.setState(p, PState.RETIRED);
      return;
    }
    procs.setGen(p, gen + 1);
    procs.setState(p, PState.FREE);
    procs.set(p, P.NEXT, NONE);
    const tail = this.#i32[H.PFREE_TAIL]!;
    if (tail === NONE) this.#i32[H.PFREE_HEAD] = p;
    else procs.set(tail, P.NEXT, p);
    this.#i32[H.PFREE_TAIL] = p;
  }

  // ---------------------------------------------------------------- endpoints

  /** Record index of an open endpoint id, or -1. O(1); never throws. */
  resolveEndpoint(id: number): number {
    const gen = idGeneration(id);
    if (gen < 0) return -1;
    const e = idIndex(id);
    if (e >= this.#k.eps.count) return -1;
    return RegistryWord.matches(this.#k.eps.registry(e), gen) ? e : -1;
  }

  hasFreeEndpoint(): boolean {
    return this.#i32[H.EFREE_HEAD] !== NONE;
  }

  /** Takes the least recently freed endpoint record. */
  takeEndpoint(): number {
    const e = this.#i32[H.EFREE_HEAD]!;
    if (e === NONE) throw new IpcError('OutOfMemory', 'no free endpoint record');
    const next = this.#k.eps.get(e, E.FREE_NEXT);
    this.#i32[H.EFREE_HEAD] = next;
    if (next === NONE) this.#i32[H.EFREE_TAIL] = NONE;
    this.#k.eps.set(e, E.FREE_NEXT, NONE);
    return e;
  }

  /** Gives endpoint record `e` back, or retires it when its generations are spent. */
  releaseEndpoint(e: number): void {
    const eps = this.#k.eps;
    if (eps.gen(e) > MAX_GEN) return; // retired: never reused
    eps.set(e, E.FREE_NEXT, NONE);
    const tail = this.#i32[H.EFREE_TAIL]!;
    if (tail === NONE) this.#i32[H.EFREE_HEAD] = e;
    else eps.set(tail, E.FREE_NEXT, e);
    this.#i32[H.EFREE_TAIL] = e;
  }

  // ---------------------------------------------------------------- names

  /** Record index of the open endpoint named `name` (already checked), or -1. O(1) expected. */
  findNamed(name: string): number {
    const key = this.#key;
    encodeName(name, key);
    const eps = this.#k.eps;
    for (let e = this.#i32[this.#bucket(key)]! - 1; e !== NONE; e = eps.get(e, E.NNEXT)) {
      if (nameEquals(this.#i32, eps.word(e, E.NAME), key)) return e;
    }
    return -1;
  }

  /** Links endpoint `e`, whose name field is already written, into its bucket. */
  addName(e: number): void {
    const eps = this.#k.eps;
    const at = this.#bucketOfRecord(e);
    eps.set(e, E.NNEXT, this.#i32[at]! - 1);
    this.#i32[at] = e + 1;
  }

  /** Unlinks endpoint `e` from its bucket (if it has a name). */
  removeName(e: number): void {
    const eps = this.#k.eps;
    if (eps.get(e, E.NAME) === 0) return;
    const at = this.#bucketOfRecord(e);
    let prev = NONE;
    for (let c = this.#i32[at]! - 1; c !== NONE; prev = c, c = eps.get(c, E.NNEXT)) {
      if (c !== e) continue;
      const next = eps.get(e, E.NNEXT);
      if (prev === NONE) this.#i32[at] = next + 1;
      else eps.set(prev, E.NNEXT, next);
      break;
    }
    eps.set(e, E.NNEXT, NONE);
  }

  #bucket(key: Int32Array): number {
    return this.#nameBase + (hashName(key) & this.#nameMask);
  }

  #bucketOfRecord(e: number): number {
    const key = this.#key;
    const w = this.#k.eps.word(e, E.NAME);
    for (let i = 0; i < NAME_WORDS; i++) key[i] = this.#i32[w + i]!;
    return this.#bucket(key);
  }
}
