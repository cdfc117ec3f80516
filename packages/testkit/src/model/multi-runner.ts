/**
 * Runs a random multi-CPU program against a real kernel and the reference model side by side.
 *
 * Four model processes: two cooperative tasks on CPU 0 and two step-executor workers, each on
 * a worker CPU of its own (`src/workers/step-executor.ts`). A director task on CPU 0 executes
 * the program one step at a time and waits for each step's outcome before the next, so the
 * interleaving is the program's, not the OS scheduler's:
 *
 * - a CPU 0 process's non-blocking syscalls (create, derive, grant, revoke, close, reply,
 *   replyError) are issued by the director on its `Process`; its blocking ones (call, send,
 *   receive) run in the process's own task, as in the one-CPU runner;
 * - a worker process gets every syscall as a command in its mailbox (a `SharedArrayBuffer`
 *   outside machine memory) and performs it with `callSync`, `receiveSync`, `send`, `reply`, …;
 *   a blocking one really blocks that CPU until a later step (a receive and reply elsewhere, a
 *   kill) resolves it;
 * - a kill step kills any process with `handle.kill()` — often one blocked in a call or
 *   receive — and respawns an empty process in its place (same CPU kind, new pid).
 *
 * After every step the director waits (bounded wall time, never forever) until every completion
 * the model predicts has been observed and the machine is quiet (no kernel record changes
 * for a few polls: every blocked worker parked), then compares: the step's outcome, every
 * blocked operation it completed (which message, true sender, flags, bytes, capabilities with
 * their rights and objects as the receiver's space has them), capability, endpoint and process
 * counts, and for every failing syscall a byte-identical kernel snapshot before and after. A
 * message ledger checks conservation: every message sent is received exactly once, or its
 * send failed, or its sender died while it was queued. After shutdown the pools must be at
 * their baseline.
 */
import { IPC_ERROR_NUMBERS, IpcError, ManualClock, MessageFlags, Rights, ipcErrorCodeOf, type IpcErrorCode, type Kernel, type KernelOptions, type MessageBuffer, type Process, type ProcessExit, type ProcessHandle } from '@veridian/core';
import { pattern } from '../support/bytes.js';
import { firstDifference, settledNow, type Snapshot } from '../support/harness.js';
import { MB, MbKind, createMailbox, type StepExecutorArgs } from './mailbox.js';
import { ReferenceModel, type Completion, type ModelMessage, type ReplyTarget } from './model.js';
import { MULTI_PLACES, MULTI_PRELUDE, type CapRef, type MultiStep } from './program.js';
import { ModelMismatch } from './runner.js';

const N = MULTI_PLACES.length;
/** Pool sizes small enough that programs hit the endpoint and capability limits. */
// capSlots: 8 for the program plus room for the grant-authority capabilities (2 live, a few dead after kills).
const POOLS = { processes: 10, endpoints: 6, capSlots: 12, frames: 512 } as const;
/**
 * Default wall-clock bound for one step's outcome (a generous polling bound: the property fails,
 * never hangs). Generous because a loaded 2-core machine can keep a worker from parking for
 * seconds; {@link MultiRunOptions.stepBoundMs} overrides it.
 */
export const STEP_BOUND_MS = 20_000;
/** Wall-clock bound for a worker CPU to start (thread start-up and module loading included). */
export const BOOT_BOUND_MS = 20_000;
/** The machine counts as quiet when the kernel records did not change for this long (and at least three polls). */
const QUIET_MS = 3;
/** How long to watch a newly blocked worker for its park before the park word is known. */
const PARK_LEARN_MS = 25;
/** Offset in a process record of the word a worker CPU sets when it parks (learned at run time: testkit knows no record layout). */
let parkWord: number | undefined;
const REPLY_ERRORS: readonly IpcErrorCode[] = ['Filtered', 'NotFound', 'RateLimited', 'InvalidArgument'];

// From source (vitest) the worker is a `.ts` file; from dist, `.js`.
const EXT = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
const STEP_EXECUTOR = new URL(`../workers/step-executor${EXT}`, import.meta.url);

/** A message as its receiver copied it out, with each received capability as the receiver's space has it. */
interface Received {
  type: number;
  sender: number;
  flags: number;
  length: number;
  bytes: number[];
  caps: number[];
  capInfo: { permissions: number; resource: number }[];
}

/** How a blocking syscall ended. */
interface Observation {
  cmd: number;
  proc: number;
  /** Incarnation of the process slot that observed it. */
  inc: number;
  /** Settled before anything else happened (CPU 0: before the process yielded; worker: within its own step). */
  immediate: boolean;
  ok: boolean;
  code?: string;
  msg?: Received;
  /** For an immediate failure: the kernel snapshot was identical before and after. */
  unchanged?: boolean;
}

/** A blocking syscall handed to a CPU 0 process. */
interface MainCommand {
  cmd: number;
  kind: 'call' | 'send' | 'receive';
  handle: number;
  length: number;
  caps: number[];
  type: number;
  timeout: number;
  id: number;
}

/** One model process slot: the live process in it now. */
interface Slot {
  place: 'cpu0' | 'worker';
  inc: number;
  pid: number;
  handle: ProcessHandle;
  exit?: ProcessExit;
  /** CPU 0: the process object and its command queue. */
  proc?: Process;
  inbox: MainCommand[];
  /** Worker: its mailbox and the blocking command it is executing. */
  i32?: Int32Array;
  u32?: Uint32Array;
  seq: number;
  pending?: { cmd: number; seq: number; kind: number; step: number };
}

/** A non-blocking syscall, independent of where it runs. */
type SysOp =
  | { kind: 'create'; capacity: number }
  | { kind: 'derive'; h: number; rights: number }
  | { kind: 'grant'; h: number; pid: number; rights: number }
  | { kind: 'revoke'; h: number }
  | { kind: 'close'; h: number }
  | { kind: 'reply'; pid: number; type: number; length: number; salt: number; caps: number[] }
  | { kind: 'replyError'; pid: number; code: IpcErrorCode };

type SysResult = { ok: true; value?: number; permissions?: number; resource?: number } | { ok: false; code: string };

const sameState = (a: Snapshot, b: Snapshot) => a.freeFrames === b.freeFrames && firstDifference(a.records, b.records) < 0;
const typeOf = (m: ModelMessage) => (m.call ? 0x1000_0000 : 0x3000_0000) + m.id;
const replyTypeOf = (m: ModelMessage) => 0x2000_0000 + m.id;
const idOfType = (type: number) => type & 0x0fff_ffff;

/** Where two snapshots first differ, in words a person can act on. */
function describeDifference(kernel: Kernel, a: Snapshot, b: Snapshot, pids: readonly number[]): string {
  if (a.freeFrames !== b.freeFrames) return `free frames ${a.freeFrames} → ${b.freeFrames}`;
  const w = firstDifference(a.records, b.records);
  const mm = kernel.memory;
  const at = mm.recordsStart + w;
  const procWords = mm.nproc > 1 ? mm.proc(1) - mm.proc(0) : mm.regBase - mm.procBase;
  let where = `record word ${w}`;
  if (at >= mm.procBase && at < mm.procBase + mm.nproc * procWords) {
    const p = Math.floor((at - mm.procBase) / procWords);
    const who = pids.findIndex((pid) => (pid & 0xffff) === p);
    where = `process record ${p}${who >= 0 ? ` (model process ${who})` : ''}, word ${(at - mm.procBase) % procWords}`;
  } else if (at >= mm.regBase && at < mm.slotBase) where = `endpoint registry/records, word ${at - mm.regBase}`;
  else if (at >= mm.slotBase) where = `capability slots, word ${at - mm.slotBase}`;
  return `${where}: ${a.records[w]} → ${b.records[w]}`;
}

/** Options of {@link runMultiProgram}. */
export interface MultiRunOptions {
  /** Called with a short description of each outcome (for coverage checks). */
  onOutcome?: (outcome: string) => void;
  /** Wall-clock bound for one step's outcome, in ms (default {@link STEP_BOUND_MS}). */
  stepBoundMs?: number;
}

/**
 * Runs `steps` (after {@link MULTI_PRELUDE}) on a fresh kernel from `makeKernel`, with
 * processes on CPU 0 and on two worker CPUs, and throws a {@link ModelMismatch} at the first
 * disagreement with the reference model (or when a step does not settle within
 * {@link MultiRunOptions.stepBoundMs}).
 */
export async function runMultiProgram(makeKernel: (options: Partial<KernelOptions>) => Kernel, steps: readonly MultiStep[], options: MultiRunOptions = {}): Promise<void> {
  const clock = new ManualClock();
  const kernel = makeKernel({ ...POOLS, clock });
  try {
    await runOn(kernel, clock, steps, steps.some((s) => s.kind === 'kill'), options.onOutcome, options.stepBoundMs ?? STEP_BOUND_MS);
  } finally {
    await kernel.shutdown();
  }
}

async function runOn(kernel: Kernel, clock: ManualClock, steps: readonly MultiStep[], kills: boolean, onOutcome: ((o: string) => void) | undefined, stepBoundMs: number): Promise<void> {
  const baseline = kernel.stats();
  const gone = kernel.spawn({ name: 'gone' }, () => undefined);
  await gone.exited;
  /** Pids that name no process: the one above, then every killed process's. */
  const deadPids = [gone.pid];

  const model = new ReferenceModel(N, POOLS.endpoints, POOLS.capSlots);
  const slots: Slot[] = [];
  const observations: Observation[] = [];
  let stop = false;
  /** The step that is running, for observations that settle during it. */
  let stepNow = -1;
  let stepBefore: Snapshot | undefined;
  let unexpectedExit: string | undefined;

  const execute = async (slot: Slot, i: number, p: Process, c: MainCommand) => {
    const before = kernel.snapshot();
    const message = { type: c.type, data: pattern(c.length, c.id), caps: c.caps };
    const op: Promise<MessageBuffer | void> =
      c.kind === 'call' ? p.call(c.handle, message, { timeout: c.timeout }) : c.kind === 'send' ? p.send(c.handle, message, { timeout: c.timeout }) : p.receive(c.handle, { timeout: c.timeout });
    const after = kernel.snapshot();
    const now = await settledNow(op);
    const record = (immediate: boolean, value: { ok: true; v: MessageBuffer | void } | { ok: false; e: unknown }) => {
      if (value.ok) {
        const m = value.v;
        const msg = m
          ? {
              type: m.type,
              sender: m.sender,
              flags: m.flags,
              length: m.length,
              bytes: Array.from(m.bytes.subarray(0, m.length)),
              caps: Array.from(m.caps.subarray(0, m.capCount)),
              capInfo: Array.from(m.caps.subarray(0, m.capCount)).map((h) => {
                const k = p.inspect(h);
                return { permissions: k.permissions, resource: k.resource };
              }),
            }
          : undefined;
        observations.push({ cmd: c.cmd, proc: i, inc: slot.inc, immediate, ok: true, ...(msg ? { msg } : {}) });
      } else {
        const code = value.e instanceof IpcError ? value.e.code : `non-IpcError: ${String(value.e)}`;
        observations.push({ cmd: c.cmd, proc: i, inc: slot.inc, immediate, ok: false, code, ...(immediate ? { unchanged: sameState(before, after) } : {}) });
      }
    };
    if (now.state === 'fulfilled') record(true, { ok: true, v: now.value });
    else if (now.state === 'rejected') record(true, { ok: false, e: now.error });
    else {
      try {
        record(false, { ok: true, v: await op });
      } catch (e) {
        record(false, { ok: false, e });
      }
    }
  };

  const watchExit = (slot: Slot, i: number) => {
    void slot.handle.exited.then((exit) => {
      slot.exit = exit;
      if (slots[i] === slot && !stop && exit.reason !== 'killed') unexpectedExit ??= `model process ${i} (${slot.place}, pid ${slot.pid}) exited on its own: ${exit.reason}${exit.error ? ` (${exit.error instanceof Error ? exit.error.message : typeof exit.error === 'string' ? exit.error : JSON.stringify(exit.error)})` : ''}`;
    });
  };

  /** Starts the process of slot `i` (incarnation `inc`); resolves once it runs and can take commands. */
  const start = (i: number, inc: number): Slot => {
    const place = MULTI_PLACES[i]!;
    if (place === 'cpu0') {
      const slot: Slot = { place, inc, pid: 0, handle: undefined as unknown as ProcessHandle, inbox: [], seq: 0 };
      slot.handle = kernel.spawn({ name: `m${i}.${inc}`, priority: 10 }, async (p) => {
        slot.proc = p;
        for (;;) {
          // A killed process's code keeps running in JS: it must not enter the kernel again.
          if (!p.alive) return;
          const c = slot.inbox.shift();
          if (c) await execute(slot, i, p, c);
          else if (stop) return;
          else await p.yield();
        }
      });
      slot.pid = slot.handle.pid;
      watchExit(slot, i);
      return slot;
    }
    const mailbox = createMailbox();
    const slot: Slot = { place, inc, pid: 0, handle: undefined as unknown as ProcessHandle, inbox: [], seq: 0, i32: new Int32Array(mailbox), u32: new Uint32Array(mailbox) };
    slot.handle = kernel.spawnWorker(STEP_EXECUTOR, { name: `w${i}.${inc}`, priority: 10, args: { mailbox } satisfies StepExecutorArgs });
    slot.pid = slot.handle.pid;
    watchExit(slot, i);
    return slot;
  };
  const started = (slot: Slot) => (slot.place === 'cpu0' ? slot.proc !== undefined : Atomics.load(slot.i32!, MB.READY) === 1);

  /** Posts a command to a worker; returns its sequence number. */
  const post = (slot: Slot, kind: number, f: { handle?: number; arg?: number; type?: number; length?: number; salt?: number; caps?: readonly number[] }): number => {
    const u32 = slot.u32!;
    u32[MB.KIND] = kind;
    u32[MB.HANDLE] = f.handle ?? 0;
    u32[MB.ARG] = f.arg ?? 0;
    u32[MB.TYPE] = f.type ?? 0;
    u32[MB.LENGTH] = f.length ?? 0;
    u32[MB.SALT] = f.salt ?? 0;
    const caps = f.caps ?? [];
    u32[MB.NCAPS] = caps.length;
    caps.forEach((h, n) => (u32[MB.CAPS + n] = h));
    u32[MB.STATUS] = 0;
    u32[MB.TEXT_LEN] = 0;
    const seq = ++slot.seq;
    Atomics.store(slot.i32!, MB.CMD, seq);
    Atomics.notify(slot.i32!, MB.CMD);
    return seq;
  };
  const statusOf = (slot: Slot): { ok: true } | { ok: false; code: string } => {
    const status = slot.i32![MB.STATUS]!;
    if (status === 0) return { ok: true };
    if (status > 0) return { ok: false, code: ipcErrorCodeOf(status) ?? `unknown error number ${status}` };
    const text = new TextDecoder().decode(new Uint8Array(slot.i32!.buffer, MB.TEXT * 4, slot.i32![MB.TEXT_LEN]!));
    return { ok: false, code: `non-IpcError: ${text}` };
  };
  const receivedFrom = (slot: Slot): Received => {
    const u32 = slot.u32!;
    const n = u32[MB.RCAPS]!;
    const length = u32[MB.RLENGTH]!;
    return {
      type: u32[MB.RTYPE]!,
      sender: u32[MB.RSENDER]!,
      flags: u32[MB.RFLAGS]!,
      length,
      bytes: Array.from(new Uint8Array(u32.buffer, MB.BYTES * 4, Math.min(64, length))),
      caps: Array.from(u32.subarray(MB.RCAP, MB.RCAP + n)),
      capInfo: Array.from({ length: n }, (_, k) => ({ permissions: u32[MB.RCAP_PERMS + k]!, resource: u32[MB.RCAP_RES + k]! })),
    };
  };
  /** Collects the outcomes of workers' blocking commands that have finished. */
  const pollWorkers = () => {
    for (const [i, slot] of slots.entries()) {
      const pend = slot.pending;
      if (!pend || Atomics.load(slot.i32!, MB.DONE) !== pend.seq) continue;
      slot.pending = undefined;
      const st = statusOf(slot);
      const immediate = pend.step === stepNow;
      if (st.ok) {
        observations.push({ cmd: pend.cmd, proc: i, inc: slot.inc, immediate, ok: true, ...(pend.kind === MbKind.SEND ? {} : { msg: receivedFrom(slot) }) });
      } else {
        observations.push({ cmd: pend.cmd, proc: i, inc: slot.inc, immediate, ok: false, code: st.code, ...(immediate && stepBefore ? { unchanged: sameState(stepBefore, kernel.snapshot()) } : {}) });
      }
    }
  };

  let failure: unknown;
  const director = kernel.spawn({ name: 'director', priority: 10 }, async (d) => {
    try {
      /** Yields until `done()` holds, at most `ms` of wall time; else fails with `what`. */
      const waitFor = async (what: string, done: () => boolean, ms = stepBoundMs) => {
        const until = performance.now() + ms;
        for (;;) {
          await d.yield();
          pollWorkers();
          if (unexpectedExit) throw new ModelMismatch(unexpectedExit);
          if (done()) return;
          if (performance.now() > until) throw new ModelMismatch(`${what} did not happen within ${ms} ms of wall time`);
        }
      };
      /** Waits until `done()` holds and the kernel records stay unchanged for a few polls (every worker parked or idle). */
      const quiesce = async (what: string, done: () => boolean) => {
        let last = kernel.snapshot();
        let since = performance.now();
        let polls = 0;
        await waitFor(what, () => {
          const now = kernel.snapshot();
          if (!sameState(now, last)) {
            last = now;
            since = performance.now();
            polls = 0;
            return false;
          }
          polls++;
          return polls >= 3 && performance.now() - since >= QUIET_MS && done();
        });
      };

      /** The words of process `pid`'s record in a snapshot. */
      const recordOf = (snap: Snapshot, pid: number) => {
        const mm = kernel.memory;
        const words = mm.nproc > 1 ? mm.proc(1) - mm.proc(0) : mm.regBase - mm.procBase;
        const at = mm.proc(pid & 0xffff) - mm.recordsStart;
        return snap.records.subarray(at, at + words);
      };
      /**
       * Waits until a worker blocked in the kernel has parked: after spinning briefly it sets a
       * word of its process record from 0 to 1, on its own time. A step's snapshots must not
       * straddle that write. The word is learned from the first park seen (one word, 0 → 1, with
       * nothing else happening); until then a park that does not show within {@link PARK_LEARN_MS}
       * is taken to have happened already.
       */
      const parked = async (s: Slot) => {
        if (parkWord !== undefined) {
          await waitFor(`the blocked worker (pid ${s.pid}) parking`, () => recordOf(kernel.snapshot(), s.pid)[parkWord!] === 1);
          return;
        }
        const r0 = recordOf(kernel.snapshot(), s.pid).slice();
        const until = performance.now() + PARK_LEARN_MS;
        while (performance.now() < until) {
          await d.yield();
          const r = recordOf(kernel.snapshot(), s.pid);
          const changed = r0.map((v, w) => (v !== r[w] ? w : -1)).filter((w) => w >= 0);
          if (changed.length === 1 && r0[changed[0]!] === 0 && r[changed[0]!] === 1) {
            parkWord = changed[0]!;
            return;
          }
          if (changed.length > 0) return;
        }
      };

      for (let i = 0; i < N; i++) slots[i] = start(i, 0);
      await waitFor('the model processes starting', () => slots.every(started), BOOT_BOUND_MS);
      await quiesce('the machine going quiet after start-up', () => true);
      const pids = slots.map((s) => s.pid);
      /** Handles of the process capabilities minted for grant authority, per model process (live or dead ones: both must stay unforged). */
      const authorityHandles = pids.map(() => new Set<number>());
      // Grant authority between ring neighbours: a process capability (host-minted) each way.
      const authorize = (i: number, t: number) => {
        // A full space cannot take it (the model knows when): no authority then.
        if (model.freeSlots(i) < 1) return;
        authorityHandles[i]!.add(kernel.processCapability(pids[i]!, pids[t]!));
        model.authority[i]!.add(t);
      };
      const neighbours = (i: number) => [(i + 1) % N, (i + N - 1) % N];
      for (let i = 0; i < N; i++) for (const t of neighbours(i)) authorize(i, t);
      const all: MultiStep[] = [...MULTI_PRELUDE, ...steps];
      let cmdCounter = 0;
      let msgCounter = 0;
      /** Message id → fate, for the conservation check. */
      const ledger = new Map<number, 'pending' | 'delivered' | 'failed' | 'dropped'>();
      /** Command → the message it sends (call, send). */
      const cmdMessage = new Map<number, number>();
      /** CPU 0 commands of killed processes: their promise must reject with ProcessNotFound. */
      const killedCommands = new Set<number>();
      const observedDeliveries = new Map<number, number>();

      for (let stepIndex = 0; stepIndex < all.length; stepIndex++) {
        let step = all[stepIndex]!;
        const blocked = model.procs.every((p) => p.wait.kind !== 'idle');
        // With every process blocked, the step becomes the wait for the earliest deadline, or a kill.
        if (step.kind !== 'tick' && step.kind !== 'kill' && blocked) {
          const next = Math.min(...model.procs.map((p) => (p.wait.kind === 'idle' ? Infinity : p.wait.deadline)));
          if (next !== Infinity) step = { kind: 'tick', ns: next - model.now };
          else if (kills) step = { kind: 'kill', who: step.who };
          else {
            onOutcome?.('program: stopped early, every process blocked without a deadline');
            break;
          }
        }
        stepNow = stepIndex;
        const where = `step ${stepIndex} (${JSON.stringify(step)})`;
        const fail: (what: string) => never = (what) => {
          throw new ModelMismatch(`${where}: ${what}`);
        };
        const before = kernel.snapshot();
        stepBefore = before;
        const idle = model.procs.map((p, i) => (p.wait.kind === 'idle' ? i : -1)).filter((i) => i >= 0);
        const answering = idle.filter((s) => model.procs.some((p) => p.wait.kind === 'reply-wait' && p.wait.server === s));
        // A receive usually comes from a process that can take a queued message.
        const mail = idle.filter((r) => [...model.procs[r]!.caps.values()].some((c) => model.live(c) && c.rights & Rights.RECEIVE && model.endpoints[c.ep]!.queue.length > 0));
        const actors =
          step.kind === 'reply' && step.to % 4 !== 3 && answering.length > 0 ? answering : step.kind === 'receive' && step.cap.index % 4 !== 3 && mail.length > 0 ? mail : idle;
        const i = step.kind === 'tick' || step.kind === 'kill' ? -1 : actors[step.who % actors.length]!;
        const slot = slots[i];

        const handleOf = (ref: CapRef, needs = 0, busy?: (ep: number) => boolean): number => {
          const m = model.procs[i]!;
          const held = [...m.caps.keys()];
          if (ref.pick === 'fit') {
            const fit = held.filter((h) => {
              const cap = m.caps.get(h)!;
              return model.live(cap) && (cap.rights & needs) === needs;
            });
            const hot = busy && ref.index % 2 === 0 ? fit.filter((h) => busy(m.caps.get(h)!.ep)) : [];
            if (hot.length > 0) return hot[(ref.index >> 1) % hot.length]!;
            // Messages mostly go to another process's endpoint (a call to one's own endpoint waits for a peer holding RECEIVE).
            const foreign = needs & Rights.SEND && ref.index % 4 !== 3 ? fit.filter((h) => model.endpoints[m.caps.get(h)!.ep]!.owner !== i) : [];
            if (foreign.length > 0) return foreign[ref.index % foreign.length]!;
            if (fit.length > 0) return fit[ref.index % fit.length]!;
          }
          if (ref.pick !== 'closed' && ref.pick !== 'forged' && held.length > 0) return held[ref.index % held.length]!;
          if (ref.pick !== 'forged' && m.closed.length > 0) return m.closed[ref.index % m.closed.length]!;
          // A forged handle must name nothing: steer clear of the grant-authority capabilities
          // the runner minted (the model does not track them as handles).
          const forged = ref.forged >>> 0;
          return authorityHandles[i]!.has(forged) ? (forged ^ 0x80000000) >>> 0 : forged;
        };
        /** A model process, a pid that names no process, or (for replies) the director: alive but never a caller. */
        const targetOf = (to: number, withDirector: boolean): { pid: number; target: ReplyTarget } => {
          const t = to % (N + (withDirector ? 2 : 1));
          if (t < N) return { pid: pids[t]!, target: t };
          return t === N ? { pid: deadPids[(to >> 3) % deadPids.length]!, target: 'gone' } : { pid: d.pid, target: 'other' };
        };

        /** Runs a non-blocking syscall of process `i` where it lives. */
        const runSys = async (op: SysOp): Promise<SysResult> => {
          if (slot!.place === 'cpu0') {
            const p = slot!.proc!;
            try {
              switch (op.kind) {
                case 'create': {
                  const h = p.createEndpoint({ capacity: op.capacity, registerOnly: true });
                  return { ok: true, value: h, ...p.inspect(h) };
                }
                case 'derive': {
                  const h = p.derive(op.h, op.rights);
                  return { ok: true, value: h, ...p.inspect(h) };
                }
                case 'grant':
                  return { ok: true, value: p.grant(op.h, op.pid, op.rights) };
                case 'revoke':
                  p.revoke(op.h);
                  return { ok: true, ...p.inspect(op.h) };
                case 'close':
                  p.close(op.h);
                  return { ok: true };
                case 'reply':
                  p.reply(op.pid, { type: op.type, data: pattern(op.length, op.salt), caps: op.caps });
                  return { ok: true };
                case 'replyError':
                  p.replyError(op.pid, op.code);
                  return { ok: true };
              }
            } catch (e) {
              return { ok: false, code: e instanceof IpcError ? e.code : `non-IpcError: ${String(e)}` };
            }
          }
          const s = slot!;
          const seq =
            op.kind === 'create'
              ? post(s, MbKind.CREATE, { arg: op.capacity })
              : op.kind === 'derive'
                ? post(s, MbKind.DERIVE, { handle: op.h, arg: op.rights })
                : op.kind === 'grant'
                  ? post(s, MbKind.GRANT, { handle: op.h, arg: op.rights, type: op.pid })
                  : op.kind === 'revoke'
                    ? post(s, MbKind.REVOKE, { handle: op.h })
                    : op.kind === 'close'
                      ? post(s, MbKind.CLOSE, { handle: op.h })
                      : op.kind === 'reply'
                        ? post(s, MbKind.REPLY, { handle: op.pid, type: op.type, length: op.length, salt: op.salt, caps: op.caps })
                        : post(s, MbKind.REPLY_ERROR, { handle: op.pid, arg: IPC_ERROR_NUMBERS[op.code] });
          await waitFor(`${where}: the outcome of the worker's ${op.kind}`, () => Atomics.load(s.i32!, MB.DONE) === seq);
          const st = statusOf(s);
          if (!st.ok) return st;
          return { ok: true, value: s.u32![MB.VALUE]!, permissions: s.u32![MB.VPERMS]!, resource: s.u32![MB.VRES]! };
        };
        /** A non-blocking syscall: fails exactly when the model says, with an allowed code and no state change. */
        const syscall = async (expected: Set<IpcErrorCode>, op: SysOp): Promise<(SysResult & { ok: true }) | undefined> => {
          const r = await runSys(op);
          if (!r.ok) {
            onOutcome?.(`${step.kind}: ${r.code}`);
            if (r.code.startsWith('non-IpcError')) fail(`${op.kind} threw something other than an IpcError: ${r.code}`);
            if (expected.size === 0) fail(`kernel failed with ${r.code}; the model expects success`);
            if (!expected.has(r.code as IpcErrorCode)) fail(`kernel failed with ${r.code}; the model allows ${[...expected].join('|')}`);
            const after = kernel.snapshot();
            if (!sameState(after, before)) fail(`failed syscall (${r.code}) changed kernel state: ${describeDifference(kernel, before, after, pids)}`);
            return undefined;
          }
          if (expected.size > 0) fail(`kernel succeeded; the model expects ${[...expected].join('|')}`);
          onOutcome?.(`${step.kind}: ok`);
          return r;
        };
        let completions: Completion[] = [];
        let issued: { cmd: number; expected: Set<IpcErrorCode>; immediate: Completion | undefined; worker: boolean } | undefined;

        switch (step.kind) {
          case 'create': {
            const r = await syscall(model.createErrors(i), { kind: 'create', capacity: step.capacity });
            if (r) {
              if (model.procs[i]!.caps.has(r.value!)) fail(`new handle 0x${r.value!.toString(16)} aliases a live one`);
              model.applyCreate(i, step.capacity, r.value!, r.resource!);
            }
            break;
          }
          case 'derive': {
            const h = handleOf(step.cap, step.rights & 0xff);
            const r = await syscall(model.deriveErrors(i, h, step.rights), { kind: 'derive', h, rights: step.rights });
            if (r) {
              if (model.procs[i]!.caps.has(r.value!)) fail('derived handle aliases a live one');
              if (r.permissions !== step.rights) fail(`derived capability has rights 0x${r.permissions!.toString(16)}, asked 0x${step.rights.toString(16)}`);
              model.applyMint(i, h, i, step.rights, r.value!);
            }
            break;
          }
          case 'grant': {
            const h = handleOf(step.cap, Rights.GRANT);
            const { pid, target } = targetOf(step.to, false);
            const index = typeof target === 'number' ? target : undefined;
            const r = await syscall(model.grantErrors(i, h, index, step.rights), { kind: 'grant', h, pid, rights: step.rights });
            if (r) {
              if (model.procs[index!]!.caps.has(r.value!)) fail('granted handle aliases a live one');
              model.applyMint(i, h, index!, step.rights, r.value!);
            }
            break;
          }
          case 'revoke': {
            const h = handleOf(step.cap, Rights.REVOKE);
            const old = model.procs[i]!.caps.get(h)?.resource;
            const r = await syscall(model.revokeErrors(i, h), { kind: 'revoke', h });
            if (r) {
              if (r.resource === old) fail('revoke kept the registry id');
              model.applyRevoke(i, h, r.resource!);
            }
            break;
          }
          case 'close': {
            const h = handleOf(step.cap);
            if (await syscall(model.closeErrors(i, h), { kind: 'close', h })) model.applyClose(i, h);
            break;
          }
          case 'reply': {
            const pending = model.procs.map((p, t) => (p.wait.kind === 'reply-wait' && p.wait.server === i ? t : -1)).filter((t) => t >= 0);
            const chosen = pending[step.to % Math.max(1, pending.length)];
            const { pid, target } = chosen !== undefined && step.to % 4 !== 3 ? { pid: pids[chosen]!, target: chosen } : targetOf(step.to, true);
            if (step.error) {
              const code = REPLY_ERRORS[step.to % REPLY_ERRORS.length]!;
              if (await syscall(model.replyTargetErrors(i, target), { kind: 'replyError', pid, code })) completions = model.applyReply(i, target as number, code);
            } else {
              const caps = step.caps.map((c) => handleOf(c, Rights.SHARE));
              const reply: ModelMessage = { id: ++msgCounter, from: i, call: false, length: step.length, caps: caps.map((h) => ({ ...model.procs[i]!.caps.get(h)! })) };
              const ok = await syscall(model.replyErrors(i, target, step.length, caps), { kind: 'reply', pid, type: replyTypeOf(reply), length: step.length, salt: reply.id, caps });
              ledger.set(reply.id, ok ? 'pending' : 'failed');
              if (ok) completions = model.applyReply(i, target as number, reply);
            }
            break;
          }
          case 'call':
          case 'send':
          case 'receive': {
            const s = slot!;
            const worker = s.place === 'worker';
            const h =
              step.kind === 'receive'
                ? handleOf(step.cap, Rights.RECEIVE, (ep) => model.endpoints[ep]!.queue.length > 0)
                : handleOf(step.cap, Rights.SEND, (ep) => model.endpoints[ep]!.receivers.length > 0);
            const cmd = ++cmdCounter;
            // Worker CPUs keep real time: their blocking syscalls wait without a timeout, resolved by later steps.
            const deadline = worker ? Infinity : model.now + step.timeout;
            if (step.kind === 'receive') {
              const expected = model.receiveErrors(i, h);
              if (expected.size === 0) completions = model.applyReceive(i, cmd, h, deadline);
              if (worker) s.pending = { cmd, seq: post(s, MbKind.RECEIVE, { handle: h }), kind: MbKind.RECEIVE, step: stepIndex };
              else s.inbox.push({ cmd, kind: 'receive', handle: h, length: 0, caps: [], type: 0, timeout: step.timeout, id: 0 });
              issued = { cmd, expected, immediate: completions.find((c) => c.cmd === cmd), worker };
            } else {
              const caps = step.caps.map((c) => handleOf(c, Rights.SHARE));
              const expected = model.sendErrors(i, h, step.length, caps);
              const msg: ModelMessage = { id: ++msgCounter, from: i, call: step.kind === 'call', length: step.length, caps: expected.size ? [] : caps.map((c) => ({ ...model.procs[i]!.caps.get(c)! })) };
              ledger.set(msg.id, expected.size ? 'failed' : 'pending');
              cmdMessage.set(cmd, msg.id);
              if (expected.size === 0) completions = model.applySend(i, cmd, h, msg, deadline);
              const kind = step.kind === 'call' ? MbKind.CALL : MbKind.SEND;
              if (worker) s.pending = { cmd, seq: post(s, kind, { handle: h, type: typeOf(msg), length: step.length, salt: msg.id, caps }), kind, step: stepIndex };
              else s.inbox.push({ cmd, kind: step.kind, handle: h, length: step.length, caps, type: typeOf(msg), timeout: step.timeout, id: msg.id });
              issued = { cmd, expected, immediate: completions.find((c) => c.cmd === cmd), worker };
            }
            break;
          }
          case 'tick': {
            completions = model.tick(step.ns);
            clock.advance(step.ns);
            break;
          }
          case 'kill': {
            const blockedNow = model.procs.map((p, k) => (p.wait.kind !== 'idle' ? k : -1)).filter((k) => k >= 0);
            const waitedOn = (k: number) =>
              model.procs.some((p) => p.wait.kind === 'reply-wait' && p.wait.server === k) ||
              model.endpoints.some((e) => e.open && e.owner === k && (e.queue.length > 0 || e.receivers.length > 0));
            const servers = model.procs.map((_, k) => (waitedOn(k) ? k : -1)).filter((k) => k >= 0);
            // A third of the time the victim is blocked in a call, send or receive; a third of the time others wait on it.
            const pick = step.who % 3 === 0 ? blockedNow : step.who % 3 === 1 ? servers : [];
            const k = pick.length > 0 ? pick[Math.floor(step.who / 3) % pick.length]! : step.who % N;
            const victim = slots[k]!;
            const w = model.procs[k]!.wait;
            onOutcome?.(`kill: ${victim.place} ${w.kind}${waitedOn(k) ? ', waited on' : ''}`);
            if (w.kind === 'sending') ledger.set(w.msg.id, 'dropped');
            if (w.kind !== 'idle' && victim.place === 'cpu0') killedCommands.add(w.cmd);
            completions = model.kill(k);
            // A killed worker's mailbox is abandoned: whatever its executor still writes there is not an outcome.
            victim.pending = undefined;
            let exit: ProcessExit | undefined;
            void victim.handle.kill().then((e) => (exit = e));
            await waitFor(`${where}: the kill of model process ${k} (${victim.place})`, () => exit !== undefined);
            if (exit!.reason !== 'killed') fail(`killed process exited as ${exit!.reason}`);
            deadPids.push(victim.pid);
            const next = start(k, victim.inc + 1);
            slots[k] = next;
            await waitFor(`${where}: the respawn of model process ${k} (${next.place})`, () => started(next), BOOT_BOUND_MS);
            pids[k] = next.pid;
            if (deadPids.includes(next.pid)) fail(`respawned process got pid ${next.pid} of a dead one`);
            // Its space was emptied: its old authority handles name nothing now.
            authorityHandles[k] = new Set<number>();
            for (const t of neighbours(k)) {
              authorize(t, k);
              authorize(k, t);
            }
            break;
          }
        }

        const awaited = new Set(completions.map((c) => c.cmd));
        if (issued && (issued.expected.size > 0 || issued.immediate)) awaited.add(issued.cmd);
        if (step.kind === 'kill') for (const c of killedCommands) awaited.add(c);
        const workerBlocks = issued && issued.worker && issued.expected.size === 0 && !issued.immediate ? slot! : undefined;
        const seenCmd = (c: number) => observations.some((o) => o.cmd === c);
        await quiesce(`${where}: the outcomes the model predicts (commands ${[...awaited].join(', ') || 'none'})`, () => {
          if (![...awaited].every(seenCmd)) return false;
          // A worker whose syscall must block: it has taken the command and its kernel entry changed state.
          if (workerBlocks && (Atomics.load(workerBlocks.i32!, MB.TAKEN) !== workerBlocks.pending?.seq || sameState(kernel.snapshot(), before))) return workerBlocks.pending === undefined;
          return true;
        });
        if (workerBlocks?.pending) await parked(workerBlocks);
        const seen = observations.splice(0);
        for (const o of seen) if (o.ok && o.msg) observedDeliveries.set(idOfType(o.msg.type), (observedDeliveries.get(idOfType(o.msg.type)) ?? 0) + 1);

        // Killed CPU 0 processes: their blocked syscall rejects with ProcessNotFound, nothing else.
        for (const o of [...seen]) {
          if (o.inc === slots[o.proc]!.inc) continue;
          if (!killedCommands.has(o.cmd)) fail(`a killed process's command ${o.cmd} settled but it was not pending: ${JSON.stringify(o)}`);
          if (o.ok || o.code !== 'ProcessNotFound') fail(`the blocked syscall of killed process ${o.proc} settled with ${o.ok ? 'success' : String(o.code)}, not ProcessNotFound`);
          killedCommands.delete(o.cmd);
          seen.splice(seen.indexOf(o), 1);
        }
        if (step.kind === 'kill' && killedCommands.size > 0) fail(`the blocked syscall of the killed process never settled (commands ${[...killedCommands].join(', ')})`);

        if (issued) {
          const own = seen.find((o) => o.cmd === issued!.cmd);
          if (issued.expected.size > 0) {
            if (!own) fail(`kernel did not fail the syscall; the model expects ${[...issued.expected].join('|')}`);
            if (own.ok) fail(`kernel succeeded; the model expects ${[...issued.expected].join('|')}`);
            if (!own.immediate) fail(`kernel blocked before failing with ${String(own.code)}`);
            if (!issued.expected.has(own.code as IpcErrorCode)) fail(`kernel failed with ${String(own.code)}; the model allows ${[...issued.expected].join('|')}`);
            if (!own.unchanged) fail(`failed syscall (${String(own.code)}) changed kernel state${issued.worker ? `: ${describeDifference(kernel, before, kernel.snapshot(), pids)}` : ''}`);
            seen.splice(seen.indexOf(own), 1);
          } else if (!issued.immediate && own) {
            fail(`kernel ${own.ok ? 'completed' : `failed (${String(own.code)})`} a syscall the model says must block`);
          } else if (issued.immediate && own && !own.immediate) {
            fail('kernel blocked a syscall the model says completes at once');
          }
          onOutcome?.(`${slot!.place} ${step.kind}: ${issued.expected.size ? [...issued.expected].join('|') : issued.immediate ? 'at once' : 'blocks'}`);
        }

        for (const c of completions) {
          const placeOf = slots[c.proc]!.place;
          onOutcome?.(`completion: ${c.kind === 'failed' ? c.code : c.kind}${c.kind === 'delivered' || c.kind === 'replied' ? ` with ${(c.kind === 'delivered' ? c.msg : c.reply).caps.length ? '' : 'no '}capabilities` : ''} on ${placeOf}`);
          const o = seen.find((s) => s.cmd === c.cmd);
          if (!o) fail(`expected ${c.kind}${c.kind === 'failed' ? ` (${c.code})` : ''} for command ${c.cmd} of model process ${c.proc}, kernel did nothing`);
          seen.splice(seen.indexOf(o), 1);
          if (o.proc !== c.proc) fail(`command ${c.cmd} completed on model process ${o.proc}, expected ${c.proc}`);
          const mid = cmdMessage.get(c.cmd);
          if (c.kind === 'failed') {
            if (o.ok || o.code !== c.code) fail(`command ${c.cmd}: kernel ${o.ok ? 'succeeded' : String(o.code)}, expected ${c.code}`);
            if (mid !== undefined && ledger.get(mid) === 'pending') ledger.set(mid, 'failed');
            continue;
          }
          if (!o.ok) fail(`command ${c.cmd}: kernel failed with ${String(o.code)}, expected ${c.kind}`);
          if (c.kind === 'sent') continue;
          const m = o.msg;
          if (!m) fail(`command ${c.cmd}: no message`);
          const sent = c.kind === 'delivered' ? c.msg : c.reply;
          ledger.set(sent.id, 'delivered');
          const want = {
            type: c.kind === 'delivered' ? typeOf(sent) : replyTypeOf(sent),
            sender: pids[sent.from],
            flags: c.kind === 'delivered' ? c.flags : MessageFlags.REPLY,
            length: sent.length,
            bytes: Array.from(pattern(sent.length, sent.id)),
          };
          const got = { type: m.type, sender: m.sender, flags: m.flags, length: m.length, bytes: m.bytes };
          if (JSON.stringify(got) !== JSON.stringify(want)) fail(`command ${c.cmd} on model process ${c.proc}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)} (FIFO, isolation, true sender)`);
          if (m.caps.length !== sent.caps.length) fail(`command ${c.cmd}: ${m.caps.length} capabilities arrived, ${sent.caps.length} sent`);
          const receiver = model.procs[c.proc]!;
          for (const [n, h] of m.caps.entries()) {
            if (receiver.caps.has(h)) fail(`transferred handle 0x${h.toString(16)} aliases a live one`);
            const cap = sent.caps[n]!;
            const k = m.capInfo[n]!;
            if (k.permissions !== cap.rights || k.resource !== cap.resource) {
              fail(`transferred capability ${n}: kernel has rights 0x${k.permissions.toString(16)} on ${k.resource}, model 0x${cap.rights.toString(16)} on ${cap.resource}`);
            }
            receiver.caps.set(h, { ...cap });
          }
        }
        if (seen.length > 0) fail(`kernel completed operations the model did not expect: ${JSON.stringify(seen)}`);

        const invariant = model.checkInvariants();
        if (invariant) fail(`model invariant: ${invariant}`);
        const stats = kernel.stats();
        if (stats.capabilities !== model.capabilityCount()) fail(`kernel holds ${stats.capabilities} capabilities, model ${model.capabilityCount()}`);
        if (stats.endpoints !== model.openEndpoints()) fail(`kernel has ${stats.endpoints} endpoints, model ${model.openEndpoints()}`);
        if (stats.processes !== N + 1) fail(`kernel has ${stats.processes} processes, expected ${N + 1} (the model's and the director)`);
      }

      // Conservation: every message sent was received exactly once, or failed, or its sender died, or it is still queued.
      const queued = new Set(model.endpoints.flatMap((e) => e.queue.map((m) => m.id)));
      for (const [id, fate] of ledger) {
        const n = observedDeliveries.get(id) ?? 0;
        if (fate === 'delivered' && n !== 1) throw new ModelMismatch(`message ${id} was received ${n} times`);
        if (fate !== 'delivered' && n !== 0) throw new ModelMismatch(`message ${id} (${fate}) was received ${n} times`);
        if (fate === 'pending' && !queued.has(id) && !model.procs.some((p) => p.wait.kind === 'reply-wait' && p.wait.msg.id === id)) {
          // A reply that went out is delivered at once; a request still pending is queued or awaiting its reply.
          throw new ModelMismatch(`message ${id} is neither received, failed, dropped nor queued`);
        }
      }
      for (const id of observedDeliveries.keys()) if (!ledger.has(id)) throw new ModelMismatch(`a message with id ${id} was received but never sent`);
    } catch (e) {
      failure = e;
    } finally {
      stop = true;
    }
  });

  await director.exited;
  if (failure) throw failure instanceof Error ? failure : new Error(`the director failed: ${JSON.stringify(failure)}`);
  // Idle workers return normally; the rest (blocked in the kernel) are killed by shutdown.
  for (const slot of slots) if (slot.place === 'worker' && !slot.pending && !slot.exit) post(slot, MbKind.EXIT, {});
  await kernel.shutdown();
  const exits = await Promise.all(slots.map((s) => s.handle.exited));
  for (const [i, e] of exits.entries()) {
    if (e.reason === 'crashed') throw new ModelMismatch(`model process ${i} crashed: ${String(e.error)}`);
  }
  const after = kernel.stats();
  if (JSON.stringify(after) !== JSON.stringify(baseline)) throw new ModelMismatch(`after shutdown the pools are ${JSON.stringify(after)}, not the baseline ${JSON.stringify(baseline)}`);
}
