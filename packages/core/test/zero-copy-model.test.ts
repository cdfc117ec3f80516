/**
 * Model-based test of zero-copy buffers (Move / Share / Copy): random programs of map, unmap,
 * write, read and send-with-buffer over three main-CPU processes on a small kernel, checked
 * against a model of every process's pages (allocated or not, the entry moved away or not,
 * writable or not, the bytes, the frame). A transfer happens whole or not at all:
 *
 * - a failing op rejects with the code the model predicts (AccessFault, PermissionDenied,
 *   MessageTooLarge, OutOfMemory, InvalidArgument, InvalidState, Timeout) and leaves
 *   `kernel.snapshot()` (every record, every frame reference count, the frame allocator) and
 *   the touched pages exactly as before;
 * - after a successful op the bytes of every mapped page of every process equal the model,
 *   every frame's reference count equals the number of pages mapping it, Move left the
 *   sender's whole pages unmapped and gave the receiver those very frames, Share left both
 *   mapping the same frames copy-on-write, Copy (and every partial edge page) gave fresh frames;
 * - at the end every process exits and `kernel.stats()` is back to the baseline.
 *
 * Ops hold raw numbers (which allocated page, which offset) that the driver interprets against
 * the model when it runs them, so that every shrunk program still makes sense. The three
 * processes are {@link Actor}s: each runs the blocking calls the driver hands it, in its own
 * body, on the main CPU; memory accesses go straight through `proc.memory`. Time is a
 * `ManualClock`, so a queued send times out exactly when the driver says.
 *
 * Three kernel bugs this test found are fixed and kept as regressions (zero-copy-regressions.test.ts,
 * zero-copy.test.ts); the model does not predict whether a receiver has room for a buffer
 * (the kernel then refuses the send or the receive, the message staying queued), so it skips
 * those sends.
 *
 * `ZC_MODEL_RUNS` (default 300), `ZC_MODEL_SEED` (default fixed) tune the run;
 * `ZC_MODEL_STATS=1` prints how often each outcome was reached.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IPC_BUFFER_VA, ManualClock, PagePerm, SharedBuffer, type CapHandle, type Kernel, type PageState, type Process, type TransferMode } from '../src/index.js';
import { Actor, attempt, settle, type Outcome } from './support/actor.js';
import { testKernel } from './support/kernel.js';
import { P } from '../src/kernel/records/layout.js';

type Snapshot = ReturnType<Kernel['snapshot']>;

const PAGE = 4096;
const EMPTY = new Uint8Array(0);
const RW = PagePerm.READ | PagePerm.WRITE;
const PROCS = 3;
/** Timeout of a send or receive that may wait (ns of the manual clock). */
const WAIT = 1000;
/** Memory nobody maps (inside the process window, far above anything a program maps). */
const WILD = 0x7f00_0000;
/** First page of the process-memory window (256 MiB). */
const BASE_PAGE = 0x1000_0000 / PAGE;
/** Pages one leaf table of the test arch's MMU maps (a leaf is taken on first use and freed when empty). */
const LEAF_PAGES = 1024;
/** Frames a copy-on-write break wants free (the copy and its table slack, see vm/fault.ts). */
const COW_FREE = 5;

const RUNS = Number(process.env.ZC_MODEL_RUNS ?? 300);
const MAX_OPS = 30;
const SEED = process.env.ZC_MODEL_SEED === undefined ? 0x5eed_2c0 : Number(process.env.ZC_MODEL_SEED);

// ------------------------------------------------------------------------------------ ops

type SendTarget = 'mapped' | 'over' | 'wild' | 'ipc';
/** How a valid send meets its receiver: queued first, the receiver already waiting, or never (it times out). */
type SendHow = 'queued' | 'waiting' | 'timeout';

type Op =
  | { kind: 'map'; proc: number; pages: number; ro: boolean }
  | { kind: 'hog'; proc: number; leave: number }
  | { kind: 'unmap'; proc: number; at: number; pages: number; fit: boolean }
  /** `shared`: aim at a page whose frame another page maps too, when there is one (a copy-on-write break). */
  | { kind: 'write'; proc: number; at: number; off: number; len: number; byte: number; wild: boolean; shared: boolean }
  | { kind: 'read'; proc: number; at: number; off: number; len: number; wild: boolean }
  | {
      kind: 'send';
      proc: number;
      to: number;
      target: SendTarget;
      at: number;
      off: number;
      len: number;
      /** Cut the length to the allocated pages from the start (else it may run past them). */
      fit: boolean;
      mode: TransferMode;
      how: SendHow;
      touch: { off: number; byte: number } | null;
    };

const proc = fc.nat(PROCS - 1);
/** True once in sixteen. */
const rarely = fc.integer({ min: 0, max: 15 }).map((n) => n === 0);
/** True three times in four. */
const usually = fc.integer({ min: 0, max: 3 }).map((n) => n !== 0);
const pageOffset = fc.oneof(fc.constant(0), fc.nat(PAGE - 1), fc.integer({ min: PAGE - 16, max: PAGE - 1 }));
/** A map: 1–12 pages, read-only one time in four. */
const mapArb = fc.record({ pages: fc.integer({ min: 1, max: 12 }), ro: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }) });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ proc, m: mapArb }).map(({ proc: p, m }): Op => ({ kind: 'map', proc: p, ...m })) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('hog' as const), proc, leave: fc.oneof(fc.nat(2), fc.nat(8)) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('unmap' as const), proc, at: fc.nat(), pages: fc.integer({ min: 1, max: 6 }), fit: usually }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('write' as const), proc, at: fc.nat(), off: pageOffset, len: fc.integer({ min: 1, max: 64 }), byte: fc.integer({ min: 1, max: 255 }), wild: rarely, shared: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('read' as const), proc, at: fc.nat(), off: pageOffset, len: fc.integer({ min: 1, max: 64 }), wild: rarely }) },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      proc,
      to: fc.nat(PROCS - 2),
      target: fc.oneof({ weight: 12, arbitrary: fc.constant('mapped' as const) }, { weight: 1, arbitrary: fc.constant('over' as const) }, { weight: 1, arbitrary: fc.constant('wild' as const) }, { weight: 1, arbitrary: fc.constant('ipc' as const) }),
      at: fc.nat(),
      off: fc.oneof({ weight: 2, arbitrary: fc.constant(0) }, { weight: 2, arbitrary: pageOffset }),
      len: fc.oneof({ weight: 1, arbitrary: fc.integer({ min: 1, max: 64 }) }, { weight: 2, arbitrary: fc.integer({ min: 1, max: 8 }).map((n) => n * PAGE) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 8 * PAGE }) }),
      mode: fc.constantFrom<TransferMode>('move', 'share', 'copy'),
      fit: usually,
      how: fc.oneof({ weight: 3, arbitrary: fc.constant('queued' as const) }, { weight: 2, arbitrary: fc.constant('waiting' as const) }, { weight: 2, arbitrary: fc.constant('timeout' as const) }),
      touch: fc.option(fc.record({ off: fc.nat(), byte: fc.integer({ min: 1, max: 255 }) }), { freq: 2 }),
    }),
  },
);

interface Config {
  frames: number;
  /** The endpoints' `maxTransfer` in bytes. */
  limit: number;
  /** What each process maps before the program (so that early sends have memory to send). */
  initial: Array<{ pages: number; ro: boolean }[]>;
}
const configArb: fc.Arbitrary<Config> = fc.record({
  frames: fc.integer({ min: 96, max: 256 }),
  limit: fc.integer({ min: 3 * PAGE, max: 10 * PAGE + PAGE - 1 }),
  initial: fc.array(fc.array(mapArb, { minLength: 1, maxLength: 3 }), { minLength: PROCS, maxLength: PROCS }),
});

// ---------------------------------------------------------------------------------- model

/** A page with an entry: its bytes, whether a write succeeds (directly or by copy-on-write), its frame. */
interface PageModel {
  bytes: Uint8Array;
  writable: boolean;
  frame: number;
}
/** An allocated page of a process: its entry, or null once a Move carried the entry away. */
type Slot = PageModel | null;

class Model {
  readonly procs: Array<Map<number, Slot>> = Array.from({ length: PROCS }, () => new Map<number, Slot>());
  /**
   * Each process's anchor: one page it maps before the program starts (the lowest of the
   * window) and keeps, so that its address map and its first page table exist throughout.
   * No op touches it. Page number and frame.
   */
  readonly anchors: Array<{ page: number; frame: number }> = [];

  keys(p: number): number[] {
    return [...this.procs[p]!.keys()].sort((a, b) => a - b);
  }

  /** Pages mapping each frame, over every process (anchors included). */
  holders(): Map<number, number> {
    const h = new Map<number, number>();
    for (const a of this.anchors) h.set(a.frame, (h.get(a.frame) ?? 0) + 1);
    for (const m of this.procs) for (const s of m.values()) if (s !== null) h.set(s.frame, (h.get(s.frame) ?? 0) + 1);
    return h;
  }

  /** Where `p`'s next range of `pages` pages goes: the lowest free run (the address map is first fit, coalesced). */
  firstFit(p: number, pages: number): number {
    let start = BASE_PAGE;
    for (const u of [this.anchors[p]!.page, ...this.keys(p)]) {
      if (u - start >= pages) return start;
      start = Math.max(start, u + 1);
    }
    return start;
  }

  /** Page tables `p` lacks for `[first, first + pages)`: leaves (1024 pages each) with no page mapped in them. */
  missingTables(p: number, first: number, pages: number): number {
    const m = this.procs[p]!;
    const live = new Set<number>([Math.floor(this.anchors[p]!.page / LEAF_PAGES)]);
    for (const [page, s] of m) if (s !== null) live.add(Math.floor(page / LEAF_PAGES));
    let missing = 0;
    for (let t = Math.floor(first / LEAF_PAGES); t <= Math.floor((first + pages - 1) / LEAF_PAGES); t++) if (!live.has(t)) missing++;
    return missing;
  }
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

/** What a send that waited and timed out may leave changed in a snapshot. */
interface Leeway {
  /** Words of the records to skip (the sender's blocking bookkeeping: last result, block sequence, message shadow). */
  ignore: readonly number[];
  /** Compare the free list as a set: the same frames free, in any order. */
  anyOrder: boolean;
}

/** Two snapshots are equal (but for `leeway`). */
function sameSnapshot(a: Snapshot, b: Snapshot, leeway?: Leeway): boolean {
  if (a.freeFrames !== b.freeFrames) return false;
  const ignore = leeway?.ignore ?? [];
  if (leeway?.anyOrder === true) {
    if (!same(bytesOf(a.frames.slice().sort()), bytesOf(b.frames.slice().sort()))) return false;
  } else if (!same(bytesOf(a.frames), bytesOf(b.frames))) return false;
  if (ignore.length === 0) return same(bytesOf(a.records), bytesOf(b.records));
  const ra = a.records.slice();
  const rb = b.records.slice();
  for (const w of ignore) ra[w] = rb[w] = 0;
  return same(bytesOf(ra), bytesOf(rb));
}

function bytesOf(a: Int32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

/** Snapshot words of process `pid`'s blocking bookkeeping (records start with the process table). */
function blockingWords(pid: number): number[] {
  const at = (pid & 0xffff) * P.SIZE;
  return [at + P.RESULT, at + P.SEQ, ...Array.from({ length: P.SIZE - P.MSG }, (_, i) => at + P.MSG + i)];
}

/** Where two snapshots differ, for a failure message. */
function describeChange(a: Snapshot, b: Snapshot): string {
  const words: string[] = [];
  for (let i = 0; i < Math.max(a.records.length, b.records.length) && words.length < 8; i++) if (a.records[i] !== b.records[i]) words.push(`record word ${i}: ${a.records[i]} → ${b.records[i]}`);
  const stack = same(bytesOf(a.frames), bytesOf(b.frames)) ? 'same free list' : `free list [${a.frames.join(',')}] → [${b.frames.join(',')}]`;
  return `free frames ${a.freeFrames} → ${b.freeFrames}; ${stack}; ${words.join('; ') || 'records equal'}`;
}

/** Pages `[first, first + pages)` and the whole ones among them (indices `[from, to)`), as transfer.ts splits a buffer. */
function span(va: number, length: number): { first: number; pages: number; from: number; to: number } {
  const first = Math.floor(va / PAGE);
  const pages = Math.ceil((va + length) / PAGE) - first;
  const from = va % PAGE === 0 ? 0 : 1;
  let to = (va + length) % PAGE === 0 ? pages : pages - 1;
  if (to < from) to = from;
  return { first, pages, from, to };
}

const PATTERN = Uint8Array.from({ length: PAGE + 255 }, (_, i) => ((i * 31) % 255) + 1);
/** The bytes a fresh writable page is filled with: never 0, different from page to page. */
function pagePattern(page: number): Uint8Array {
  return PATTERN.subarray(page % 255, (page % 255) + PAGE);
}

/** Frames staging a buffer takes: the descriptor, one list frame, and a fresh frame per copied page. */
function stagingFrames(va: number, length: number, mode: TransferMode): number {
  const { pages, from, to } = span(va, length);
  return 2 + (mode === 'copy' ? pages : pages - (to - from));
}

// --------------------------------------------------------------------------------- driver

/** Outcomes seen over the whole property (op kind and mode: code), to prove the programs reach every case. */
const coverage = new Map<string, number>();
function seen(key: string): void {
  coverage.set(key, (coverage.get(key) ?? 0) + 1);
}

class Run {
  readonly clock = new ManualClock();
  readonly k: Kernel;
  readonly model = new Model();
  readonly actors: Actor[] = [];
  readonly procs: Process[] = [];
  readonly eps: CapHandle[] = [];
  readonly chans: CapHandle[][] = [];
  readonly log: string[] = [];
  readonly base: ReturnType<Kernel['stats']>;
  readonly limit: number;

  constructor(cfg: Config) {
    this.k = testKernel({ frames: cfg.frames, clock: this.clock, processes: 8, endpoints: 8, capSlots: 16 });
    this.base = this.k.stats();
    this.limit = cfg.limit;
    for (let i = 0; i < PROCS; i++) {
      this.actors.push(
        new Actor(this.k, `zm${i}`, (p) => {
          this.eps[i] = p.createEndpoint({ name: `zm${i}`, maxTransfer: cfg.limit });
          const va = p.memory.map(PAGE);
          this.model.anchors[i] = { page: va / PAGE, frame: p.memory.frames(va)[0]! };
        }),
      );
    }
  }

  async start(): Promise<void> {
    for (let i = 0; i < PROCS; i++) this.procs[i] = await this.actors[i]!.ready;
    for (let i = 0; i < PROCS; i++) this.chans[i] = this.procs.map((_, j) => (i === j ? -1 : this.procs[i]!.connect(`zm${j}`)));
    for (let i = 0; i < PROCS; i++) if (this.model.anchors[i]!.page !== BASE_PAGE) this.fail(`p${i}'s first page is not the window's first`);
  }

  fail(what: string): never {
    throw new Error(`${what}\n  after: ${this.log.join('; ')}`);
  }

  expectOutcome(r: Outcome<unknown>, code: string | undefined, what: string): void {
    const got = r.ok ? undefined : r.code;
    if (got !== code) this.fail(`${what}: expected ${code ?? 'success'}, got ${got ?? 'success'}`);
  }

  free(): number {
    return this.k.stats().freeFrames;
  }

  /** A failed op changed nothing: the kernel's snapshot, and the touched pages of `p`. */
  unchanged(before: Snapshot, p: number, va: number, pages: number, states: PageState[], what: string, leeway?: Leeway): void {
    const now = this.k.snapshot();
    if (!sameSnapshot(before, now, leeway)) this.fail(`${what}: the kernel snapshot changed (${describeChange(before, now)})`);
    // A faulting access to a lazily mapped page may have installed it first (as hardware
    // would): `present` is then set, nothing else.
    const after = this.procs[p]!.memory.pages(va, pages).map((s, i) => (s.present && !states[i]!.present ? { ...s, present: false } : s));
    expect(after, `${what}: pages of the touched range`).toEqual(states);
  }

  /** A fresh frame: no page of the model (before the op) maps it. */
  fresh(frame: number, held: Map<number, number>, what: string): void {
    if (frame <= 0 || held.has(frame)) this.fail(`${what}: frame ${frame} is not a fresh frame`);
  }

  // ------------------------------------------------------------------------------- ops

  map(p: number, pages: number, ro: boolean, what: string): void {
    const free = this.free();
    const before = this.k.snapshot();
    const held = this.model.holders();
    const first = this.model.firstFit(p, pages);
    const r = attempt(() => this.procs[p]!.memory.map(pages * PAGE, ro ? PagePerm.READ : RW));
    // The pages and any page table the range lacks.
    this.expectOutcome(r, free < pages + this.model.missingTables(p, first, pages) ? 'OutOfMemory' : undefined, what);
    seen(`map: ${r.ok ? 'ok' : r.code}`);
    if (!r.ok) {
      const now = this.k.snapshot();
      if (!sameSnapshot(before, now)) this.fail(`${what}: the kernel snapshot changed (${describeChange(before, now)})`);
      return;
    }
    const va = r.value;
    if (va !== first * PAGE) this.fail(`${what}: mapped at 0x${va.toString(16)}, first fit is 0x${(first * PAGE).toString(16)}`);
    const frames = this.procs[p]!.memory.frames(va, pages);
    const m = this.model.procs[p]!;
    for (let i = 0; i < pages; i++) {
      if (m.has(first + i)) this.fail(`${what}: page 0x${((first + i) * PAGE).toString(16)} was already allocated`);
      this.fresh(frames[i]!, held, what);
      m.set(first + i, { bytes: new Uint8Array(PAGE), writable: !ro, frame: frames[i]! });
      held.set(frames[i]!, 1);
    }
    if (ro) return;
    // Fill writable memory with bytes that are never 0, so that a byte leaking past a
    // buffer's end (or an edge page's zeroes going missing) shows.
    const bytes = new Uint8Array(pages * PAGE);
    for (let i = 0; i < pages; i++) bytes.set(pagePattern(first + i), i * PAGE);
    this.procs[p]!.memory.write(va, bytes);
    for (let i = 0; i < pages; i++) m.get(first + i)!.bytes.set(bytes.subarray(i * PAGE, (i + 1) * PAGE));
  }

  unmap(p: number, at: number, pages: number, fit: boolean, what: string): void {
    const keys = this.model.keys(p);
    const first = keys.length === 0 ? WILD / PAGE : keys[at % keys.length]!;
    const m = this.model.procs[p]!;
    if (fit) {
      let run = 1;
      while (run < pages && m.has(first + run)) run++;
      pages = run;
    }
    let ok = true;
    for (let i = 0; i < pages; i++) ok &&= m.has(first + i);
    const states = this.procs[p]!.memory.pages(first * PAGE, pages);
    const before = this.k.snapshot();
    const r = attempt(() => this.procs[p]!.memory.unmap(first * PAGE, pages * PAGE));
    this.expectOutcome(r, ok ? undefined : 'InvalidArgument', what);
    seen(`unmap: ${r.ok ? 'ok' : r.code}`);
    if (!r.ok) return this.unchanged(before, p, first * PAGE, pages, states, what);
    for (let i = 0; i < pages; i++) m.delete(first + i);
    expect(this.procs[p]!.memory.pages(first * PAGE, pages).every((s) => !s.mapped), `${what}: unmapped`).toBe(true);
  }

  /** The address of byte `off` of the `at`-th allocated page of `p` (or of memory nobody maps). */
  #addr(p: number, at: number, off: number, wild: boolean): number {
    const keys = this.model.keys(p);
    return (wild || keys.length === 0 ? WILD : keys[at % keys.length]! * PAGE) + (off % PAGE);
  }

  write(p: number, va: number, len: number, byte: number, what: string): void {
    const n = Math.min(len, PAGE - (va % PAGE));
    const page = Math.floor(va / PAGE);
    const slot = this.model.procs[p]!.get(page);
    const held = this.model.holders();
    const free = this.free();
    let code: string | undefined;
    if (slot === undefined || slot === null || !slot.writable) code = 'AccessFault';
    else if (held.get(slot.frame)! > 1 && free < COW_FREE) code = 'OutOfMemory';
    const states = this.procs[p]!.memory.pages(va, 1);
    const before = this.k.snapshot();
    const data = new Uint8Array(n).fill(byte);
    const r = attempt(() => this.procs[p]!.memory.write(va, data));
    this.expectOutcome(r, code, what);
    seen(`write: ${r.ok ? (held.get(slot!.frame)! > 1 ? 'copied' : 'ok') : r.code}`);
    if (!r.ok) return this.unchanged(before, p, va, 1, states, what);
    const s = slot!;
    const frame = this.procs[p]!.memory.frames(va)[0]!;
    if (held.get(s.frame)! > 1) this.fresh(frame, held, `${what} (copy-on-write copy)`);
    else if (frame !== s.frame) this.fail(`${what}: the only mapping of frame ${s.frame} moved to ${frame}`);
    s.frame = frame;
    s.bytes.set(data, va % PAGE);
  }

  read(p: number, va: number, len: number, what: string): void {
    const n = Math.min(len, PAGE - (va % PAGE));
    const slot = this.model.procs[p]!.get(Math.floor(va / PAGE));
    const states = this.procs[p]!.memory.pages(va, 1);
    const before = this.k.snapshot();
    const r = attempt(() => this.procs[p]!.memory.read(va, n));
    this.expectOutcome(r, slot === undefined || slot === null ? 'AccessFault' : undefined, what);
    seen(`read: ${r.ok ? 'ok' : r.code}`);
    if (!r.ok) return this.unchanged(before, p, va, 1, states, what);
    if (!same(r.value, slot!.bytes.subarray(va % PAGE, (va % PAGE) + n))) this.fail(`${what}: read bytes differ from the model`);
  }

  /** What the kernel must answer to sending `[va, +len)` of `p` by `mode` (undefined: it is staged). */
  #predictSend(p: number, va: number, len: number, mode: TransferMode): string | undefined {
    if (len > this.limit) return 'MessageTooLarge';
    const { first, pages, from, to } = span(va, len);
    const m = this.model.procs[p]!;
    for (let i = 0; i < pages; i++) if (!m.has(first + i)) return 'AccessFault';
    for (let i = 0; i < pages; i++) {
      const s = m.get(first + i)!;
      if (s === null) return 'AccessFault';
      if (mode === 'move' && i >= from && i < to && !s.writable) return 'PermissionDenied';
    }
    return this.free() < stagingFrames(va, len, mode) ? 'OutOfMemory' : undefined;
  }

  async send(op: Extract<Op, { kind: 'send' }>, what: string): Promise<void> {
    const p = op.proc;
    const q = (p + 1 + op.to) % PROCS;
    const keys = this.model.keys(p);
    let va: number;
    let len = op.len;
    const m = this.model.procs[p]!;
    // A fitting buffer starts in a page with an entry and stays within the pages with entries from there.
    const live = op.fit ? keys.filter((k) => m.get(k) !== null) : keys;
    if (op.target === 'mapped' || op.target === 'over') va = (live.length === 0 ? WILD : live[op.at % live.length]! * PAGE) + op.off;
    else va = (op.target === 'wild' ? WILD : IPC_BUFFER_VA) + op.off;
    if (op.fit && op.target === 'mapped' && live.length > 0) {
      let run = 1;
      while (m.get(Math.floor(va / PAGE) + run) != null) run++;
      len = Math.max(1, Math.min(len, run * PAGE - (va % PAGE)));
    }
    if (op.target === 'over') len = this.limit + 1 + (op.len % PAGE);
    const { first, pages, from, to } = span(va, len);
    const code = this.#predictSend(p, va, len, op.mode);
    const mem = this.procs[p]!.memory;
    const states = mem.pages(first * PAGE, pages);
    const held = this.model.holders();
    const before = this.k.snapshot();
    const message = { type: 1, data: EMPTY, buffer: new SharedBuffer(va, len), transfer: op.mode };
    what = `${what} [0x${va.toString(16)}, +${len}) ${op.mode} p${p}→p${q} ${op.how}`;
    const sender = this.actors[p]!;
    const receiver = this.actors[q]!;
    const ch = this.chans[p]![q]!;
    const ep = this.eps[q]!;

    if (code !== undefined) {
      // Refused before anything changes: it must not even wait (timeout 0 would say Timeout).
      const r = await sender.run((proc) => proc.send(ch, message, { timeout: 0 }));
      this.expectOutcome(r, code, what);
      seen(`send ${op.mode}: ${code}`);
      return this.unchanged(before, p, first * PAGE, pages, states, what);
    }

    // Where the receiver will map it, and whether its page tables can be had then.
    const rfirst = this.model.firstFit(q, pages);
    if (op.how !== 'timeout' && this.free() - stagingFrames(va, len, op.mode) < this.model.missingTables(q, rfirst, pages)) {
      // The receiver may have no room: the kernel refuses such a delivery (tested elsewhere);
      // the model does not predict it, so nothing is sent.
      seen('send: skipped (receiver out of memory)');
      return;
    }
    let staged!: () => void;
    const isStaged = new Promise<void>((r) => (staged = r));
    const startSend = () =>
      sender.run((proc) => {
        const pending = proc.send(ch, message, { timeout: WAIT });
        staged();
        return pending;
      });

    if (op.how === 'timeout') {
      const sent = startSend();
      await isStaged;
      // Parked: the Move's whole pages fault and cannot be unmapped; a Share's or Copy's still read.
      if (to > from) {
        const pva = (first + from) * PAGE;
        const r = attempt(() => mem.read(pva, PAGE));
        if (op.mode === 'move') {
          this.expectOutcome(r, 'AccessFault', `${what}: read of a parked page`);
          this.expectOutcome(
            attempt(() => mem.unmap(pva, PAGE)),
            'InvalidState',
            `${what}: unmap of a parked page`,
          );
        } else if (!r.ok || !same(r.value, this.model.procs[p]!.get(first + from)!.bytes)) this.fail(`${what}: a queued ${op.mode} changed the sender's bytes`);
      }
      this.clock.advance(WAIT);
      this.expectOutcome(await sent, 'Timeout', what);
      seen(`send ${op.mode} ${op.how}: Timeout`);
      // The free list must come back in the very order it had (fresh frames freed last taken first).
      return this.unchanged(before, p, first * PAGE, pages, states, `${what} (timed out)`, { ignore: blockingWords(this.procs[p]!.pid), anyOrder: false });
    }

    let got: Outcome<SharedBuffer | null>;
    let sent: Outcome<void>;
    if (op.how === 'queued') {
      const s = startSend();
      await isStaged;
      got = await receiver.run(async (proc) => (await proc.receive(ep, { timeout: 0 })).buffer);
      sent = await s;
    } else {
      const g = receiver.run(async (proc) => (await proc.receive(ep, { timeout: WAIT })).buffer);
      await settle();
      sent = await startSend();
      got = await g;
    }
    this.expectOutcome(sent, undefined, `${what}: send`);
    this.expectOutcome(got, undefined, `${what}: receive`);
    if (!got.ok || got.value === null) return this.fail(`${what}: the message carried no buffer`);
    const b = got.value;
    expect([b.va % PAGE, b.length], `${what}: received buffer`).toEqual([va % PAGE, len]);
    seen(`send ${op.mode} ${op.how}: ${va % PAGE === 0 && len % PAGE === 0 ? 'ok' : 'ok unaligned'}`);

    // The receiver: a fresh range, mapped lazily, the sender's frames for whole pages of a Move or Share.
    const rm = this.model.procs[q]!;
    if (Math.floor(b.va / PAGE) !== rfirst) this.fail(`${what}: received at 0x${b.va.toString(16)}, first fit is 0x${(rfirst * PAGE).toString(16)}`);
    const rstates = this.procs[q]!.memory.pages(b.va, pages);
    const sm = this.model.procs[p]!;
    for (let i = 0; i < pages; i++) {
      const at = `${what}: receiver page ${i}`;
      if (rm.has(rfirst + i)) this.fail(`${at} landed on allocated memory`);
      const st = rstates[i]!;
      if (!st.mapped || st.present) this.fail(`${at} is not mapped lazily: ${JSON.stringify(st)}`);
      const src = sm.get(first + i)!;
      const whole = i >= from && i < to && op.mode !== 'copy';
      if (whole) {
        if (st.frame !== src.frame) this.fail(`${at}: frame ${st.frame}, the sender's was ${src.frame}`);
      } else this.fresh(st.frame, held, at);
      const writable = whole ? src.writable : true;
      if ((st.writable || st.copyOnWrite) !== writable) this.fail(`${at}: writable ${String(st.writable || st.copyOnWrite)}, expected ${String(writable)}`);
      const bytes = new Uint8Array(PAGE);
      if (whole) bytes.set(src.bytes);
      else {
        const ps = (first + i) * PAGE;
        const lo = Math.max(va, ps) - ps;
        const hi = Math.min(va + len, ps + PAGE) - ps;
        bytes.set(src.bytes.subarray(lo, hi), lo);
      }
      rm.set(rfirst + i, { bytes, writable, frame: st.frame });
    }
    if (new Set(rstates.map((s) => s.frame)).size !== pages) this.fail(`${what}: the receiver maps a frame twice`);

    // The sender: a Move's whole pages gone, a Share's copy-on-write, a Copy's as they were.
    const after = mem.pages(first * PAGE, pages);
    for (let i = 0; i < pages; i++) {
      const at = `${what}: sender page ${i}`;
      const st = after[i]!;
      const was = states[i]!;
      const whole = i >= from && i < to;
      if (op.mode === 'move' && whole) {
        if (st.mapped) this.fail(`${at} is still mapped after a Move`);
        // The moved pages leave the sender's memory: their addresses are free for the next map.
        sm.delete(first + i);
      } else if (op.mode === 'share' && whole) {
        if (st.frame !== was.frame || st.writable || st.copyOnWrite !== sm.get(first + i)!.writable) this.fail(`${at} after a Share: ${JSON.stringify(st)} (was ${JSON.stringify(was)})`);
      } else expect(st, at).toEqual(was);
    }

    if (op.touch !== null) {
      const tva = b.va + (op.touch.off % len);
      this.write(q, tva, Math.min(8, b.va + len - tva), op.touch.byte, `${what}: receiver writes 0x${tva.toString(16)}`);
    }
  }

  // ---------------------------------------------------------------------------- checks

  /** Every page of every process against the model, and every frame's reference count. */
  checkAll(what: string): void {
    const held = this.model.holders();
    for (let p = 0; p < PROCS; p++) {
      const m = this.model.procs[p]!;
      const mem = this.procs[p]!.memory;
      const keys = this.model.keys(p);
      for (let i = 0; i < keys.length; ) {
        const first = keys[i]!;
        const hole = m.get(first) === null;
        let n = 1;
        while (i + n < keys.length && keys[i + n] === first + n && (m.get(first + n) === null) === hole) n++;
        const states = mem.pages(first * PAGE, n);
        if (hole) {
          if (states.some((s) => s.mapped)) this.fail(`${what}: p${p} maps a page a Move carried away`);
          this.expectOutcome(
            attempt(() => mem.read(first * PAGE, 1)),
            'AccessFault',
            `${what}: p${p} reads a page a Move carried away`,
          );
        } else {
          const bytes = mem.read(first * PAGE, n * PAGE);
          for (let j = 0; j < n; j++) {
            const s = m.get(first + j)!;
            const st = states[j]!;
            const at = `${what}: p${p} page 0x${((first + j) * PAGE).toString(16)}`;
            if (!same(bytes.subarray(j * PAGE, (j + 1) * PAGE), s.bytes)) this.fail(`${at}: bytes differ from the model`);
            if (st.frame !== s.frame) this.fail(`${at}: frame ${st.frame}, the model says ${s.frame}`);
            if ((st.writable || st.copyOnWrite) !== s.writable) this.fail(`${at}: writable ${String(st.writable || st.copyOnWrite)}, the model says ${String(s.writable)}`);
            if (held.get(s.frame)! > 1 && st.writable) this.fail(`${at}: frame ${s.frame} is shared yet writable without a copy`);
          }
        }
        i += n;
      }
    }
    const mm = this.k.memory;
    for (let f = 0; f < mm.phys.frameCount; f++) {
      const word = mm.i32[mm.frefBase + f]!;
      if (word !== (held.get(f) ?? 0)) this.fail(`${what}: frame ${f} has reference word ${word}, ${held.get(f) ?? 0} pages map it`);
    }
  }

  async exec(op: Op, n: number): Promise<void> {
    const what = `op ${n} ${op.kind} p${op.proc}`;
    switch (op.kind) {
      case 'map':
        this.map(op.proc, op.pages, op.ro, what);
        break;
      case 'hog': {
        const pages = this.free() - 2 - op.leave;
        if (pages >= 1) this.map(op.proc, pages, false, `${what} ${pages} pages`);
        break;
      }
      case 'unmap':
        this.unmap(op.proc, op.at, op.pages, op.fit, what);
        break;
      case 'write': {
        const held = this.model.holders();
        const shared = this.model.keys(op.proc).filter((page) => (held.get(this.model.procs[op.proc]!.get(page)?.frame ?? -1) ?? 0) > 1);
        const va = op.shared && shared.length > 0 && !op.wild ? shared[op.at % shared.length]! * PAGE + (op.off % PAGE) : this.#addr(op.proc, op.at, op.off, op.wild);
        this.write(op.proc, va, op.len, op.byte, what);
        break;
      }
      case 'read':
        this.read(op.proc, this.#addr(op.proc, op.at, op.off, op.wild), op.len, what);
        break;
      case 'send':
        await this.send(op, what);
        break;
    }
    this.log.push(`${op.kind}`);
    this.checkAll(what);
  }

  async finish(): Promise<void> {
    for (const a of this.actors) a.close();
    const exits = await Promise.all(this.actors.map((a) => a.handle.exited));
    expect(exits.map((e) => e.reason)).toEqual(exits.map(() => 'returned'));
    expect(this.k.stats()).toEqual(this.base);
  }
}

async function program(cfg: Config, ops: Op[]): Promise<void> {
  const run = new Run(cfg);
  let done = false;
  try {
    await run.start();
    const prelude = cfg.initial.flatMap((maps, p) => maps.map((m): Op => ({ kind: 'map', proc: p, ...m })));
    const all = [...prelude, ...ops];
    for (let i = 0; i < all.length; i++) await run.exec(all[i]!, i);
    await run.finish();
    done = true;
  } finally {
    if (!done) await Promise.race([run.k.shutdown(), settle(20)]);
  }
}

describe('zero-copy buffers, model-based', () => {
  it(
    'random programs of map/unmap/write/read/send (Move, Share, Copy; queued, waiting, timing out): every transfer whole or not at all',
    async () => {
      coverage.clear();
      await fc.assert(fc.asyncProperty(configArb, fc.array(opArb, { minLength: 1, maxLength: MAX_OPS }), program), { numRuns: RUNS, seed: SEED });
      if (process.env.ZC_MODEL_STATS !== undefined) console.log([...coverage].sort().map(([key, n]) => `${key} ×${n}`).join('\n'));
      // The programs reach every case (else the property proves little); fewer runs than the default may not.
      // The fixed seed is known to reach every case; another seed may miss a rare one (a copy-on-write write out of memory).
      if (RUNS < 300 || process.env.ZC_MODEL_SEED !== undefined) return;
      const want = ['map: ok', 'map: OutOfMemory', 'unmap: ok', 'unmap: InvalidArgument', 'write: ok', 'write: copied', 'write: AccessFault', 'write: OutOfMemory', 'read: ok', 'read: AccessFault'];
      for (const mode of ['move', 'share', 'copy']) {
        want.push(`send ${mode}: AccessFault`, `send ${mode}: MessageTooLarge`, `send ${mode}: OutOfMemory`, `send ${mode} timeout: Timeout`);
        for (const how of ['queued', 'waiting']) want.push(`send ${mode} ${how}: ok`, `send ${mode} ${how}: ok unaligned`);
      }
      want.push('send move: PermissionDenied');
      expect(want.filter((key) => !coverage.has(key)), 'cases no program reached').toEqual([]);
    },
    600_000,
  );
});
