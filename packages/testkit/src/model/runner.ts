/**
 * Runs a random program against a real kernel and the reference model side by side.
 *
 * Three worker processes (main CPU) execute the blocking syscalls (call, send, receive) in
 * their own context; a director process of the same priority issues the non-blocking ones
 * (create, derive, grant, revoke, close, reply) on the workers' behalf, advances the manual
 * clock, and after every step lets everyone run, then compares what the kernel did with what
 * the model says: the outcome of the step, every blocked operation it completed, capability
 * and endpoint counts, and — for every failing syscall — a byte-identical kernel snapshot.
 */
import { IpcError, ManualClock, MessageFlags, Rights, type IpcErrorCode, type Kernel, type KernelOptions, type MessageBuffer, type Process } from '@veridian/core';
import { pattern } from '../support/bytes.js';
import { firstDifference, settledNow, type Snapshot } from '../support/harness.js';
import { ReferenceModel, type Completion, type ModelMessage, type ReplyTarget } from './model.js';
import { PROGRAM_PRELUDE, type CapRef, type Step } from './program.js';

/** Processes that run syscalls. */
const WORKERS = 3;
/** Pool sizes small enough that programs hit every limit. */
const POOLS = { processes: 6, endpoints: 5, capSlots: 8, frames: 256 } as const;
/** Scheduler turns the director gives the others after each step (two are always enough). */
const TURNS = 3;
const REPLY_ERRORS: readonly IpcErrorCode[] = ['Filtered', 'NotFound', 'RateLimited', 'InvalidArgument'];

/** A blocking syscall handed to a worker. */
interface Command {
  cmd: number;
  kind: 'call' | 'send' | 'receive';
  handle: number;
  length: number;
  caps: number[];
  type: number;
  timeout: number;
  /** Message id (call/send). */
  id: number;
}

/** A message as a worker copied it out of its (reused) buffer. */
interface Received {
  type: number;
  sender: number;
  flags: number;
  length: number;
  bytes: number[];
  caps: number[];
}

/** How a worker's blocking syscall ended. */
interface Observation {
  cmd: number;
  proc: number;
  /** Settled before the worker did anything else (did not block). */
  immediate: boolean;
  ok: boolean;
  code?: string;
  msg?: Received;
  /** For an immediate failure: the kernel snapshot was identical before and after. */
  unchanged?: boolean;
}

/** A program step failed: what the kernel did differs from the model. */
export class ModelMismatch extends Error {
  override readonly name = 'ModelMismatch';
}

const sameState = (a: Snapshot, b: Snapshot) => a.freeFrames === b.freeFrames && firstDifference(a.records, b.records) < 0;
const typeOf = (m: ModelMessage) => (m.call ? 0x1000_0000 : 0x3000_0000) + m.id;
const replyTypeOf = (m: ModelMessage) => 0x2000_0000 + m.id;

function copyOut(m: MessageBuffer): Received {
  return { type: m.type, sender: m.sender, flags: m.flags, length: m.length, bytes: Array.from(m.bytes.subarray(0, m.length)), caps: Array.from(m.caps.subarray(0, m.capCount)) };
}

/**
 * Runs `steps` (after the fixed prelude) on a fresh kernel from `makeKernel` and throws a
 * {@link ModelMismatch} at the first disagreement with the reference model.
 */
export async function runProgram(makeKernel: (options: Partial<KernelOptions>) => Kernel, steps: readonly Step[], onOutcome?: (outcome: string) => void): Promise<void> {
  const clock = new ManualClock();
  const kernel = makeKernel({ ...POOLS, clock });
  const baseline = kernel.stats();
  const gone = kernel.spawn({ name: 'gone' }, () => undefined);
  await gone.exited;
  const deadPid = gone.pid;

  const model = new ReferenceModel(WORKERS, POOLS.endpoints, POOLS.capSlots);
  const procs: Process[] = [];
  const inbox: Command[][] = Array.from({ length: WORKERS }, () => []);
  const observations: Observation[] = [];
  let stop = false;

  const execute = async (i: number, p: Process, c: Command) => {
    const before = kernel.snapshot();
    const message = { type: c.type, data: pattern(c.length, c.id), caps: c.caps };
    const op: Promise<MessageBuffer | void> =
      c.kind === 'call' ? p.call(c.handle, message, { timeout: c.timeout }) : c.kind === 'send' ? p.send(c.handle, message, { timeout: c.timeout }) : p.receive(c.handle, { timeout: c.timeout });
    const after = kernel.snapshot();
    const now = await settledNow(op);
    const record = (immediate: boolean, value: { ok: true; v: MessageBuffer | void } | { ok: false; e: unknown }) => {
      if (value.ok) observations.push({ cmd: c.cmd, proc: i, immediate, ok: true, ...(value.v ? { msg: copyOut(value.v) } : {}) });
      else {
        const code = value.e instanceof IpcError ? value.e.code : `non-IpcError: ${String(value.e)}`;
        observations.push({ cmd: c.cmd, proc: i, immediate, ok: false, code, ...(immediate ? { unchanged: sameState(before, after) } : {}) });
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

  const workers = Array.from({ length: WORKERS }, (_, i) =>
    kernel.spawn({ name: `w${i}`, priority: 10 }, async (p) => {
      procs[i] = p;
      for (;;) {
        const c = inbox[i]!.shift();
        if (c) await execute(i, p, c);
        else if (stop) return;
        else await p.yield();
      }
    }),
  );

  let failure: unknown;
  const director = kernel.spawn({ name: 'director', priority: 10 }, async (d) => {
    try {
      await d.yield();
      const pids = procs.map((p) => p.pid);
      /** Handles of the process capabilities minted for grant authority, per worker. */
      const authorityHandles = pids.map(() => new Set<number>());
      // Grant authority around a ring: each worker may grant into the next one only.
      for (let i = 0; i < WORKERS; i++) {
        authorityHandles[i]!.add(kernel.processCapability(pids[i]!, pids[(i + 1) % WORKERS]!));
        model.authority[i]!.add((i + 1) % WORKERS);
      }
      const all = [...PROGRAM_PRELUDE, ...steps];
      let cmdCounter = 0;
      let msgCounter = 0;
      for (let stepIndex = 0; stepIndex < all.length; stepIndex++) {
        let step = all[stepIndex]!;
        // With every worker blocked, the step becomes the wait for the earliest deadline.
        if (step.kind !== 'tick' && model.procs.every((p) => p.wait.kind !== 'idle')) {
          const next = Math.min(...model.procs.map((p) => (p.wait.kind === 'idle' ? Infinity : p.wait.deadline)));
          step = { kind: 'tick', ns: next - model.now };
        }
        const where = `step ${stepIndex} (${JSON.stringify(step)})`;
        const fail: (what: string) => never = (what) => {
          throw new ModelMismatch(`${where}: ${what}`);
        };
        const idle = model.procs.map((p, i) => (p.wait.kind === 'idle' ? i : -1)).filter((i) => i >= 0);
        // A reply usually comes from a process that has callers waiting on it.
        const answering = idle.filter((s) => model.procs.some((p) => p.wait.kind === 'reply-wait' && p.wait.server === s));
        const actors = step.kind === 'reply' && step.to % 4 !== 3 && answering.length > 0 ? answering : idle;
        const i = step.kind === 'tick' ? -1 : actors[step.who % actors.length]!;
        const proc = procs[i]!;
        /**
         * Resolves a capability reference. `fit` picks a live capability with the `needs` rights;
         * with `busy`, every other time it prefers one whose endpoint has a peer waiting
         * (a receiver for a send, a queued message for a receive), so programs exchange messages often.
         */
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
            if (fit.length > 0) return fit[ref.index % fit.length]!;
          }
          if (ref.pick !== 'closed' && ref.pick !== 'forged' && held.length > 0) return held[ref.index % held.length]!;
          if (ref.pick !== 'forged' && m.closed.length > 0) return m.closed[ref.index % m.closed.length]!;
          // A forged handle must name nothing: steer clear of the grant-authority capabilities
          // the runner minted (the model does not track them as handles).
          const forged = ref.forged >>> 0;
          return authorityHandles[i]!.has(forged) ? (forged ^ 0x80000000) >>> 0 : forged;
        };
        /** A worker, the exited process, or (for replies) the director: alive but never a caller. */
        const targetOf = (to: number, withDirector: boolean): { pid: number; target: ReplyTarget } => {
          const t = to % (WORKERS + (withDirector ? 2 : 1));
          if (t < WORKERS) return { pid: pids[t]!, target: t };
          return t === WORKERS ? { pid: deadPid, target: 'gone' } : { pid: d.pid, target: 'other' };
        };
        /** Runs a non-blocking syscall; checks it fails exactly when the model says, with an allowed code and no state change. */
        const syscall = <T>(expected: Set<IpcErrorCode>, fn: () => T): T | undefined => {
          const before = kernel.snapshot();
          let result: T;
          try {
            result = fn();
          } catch (e) {
            if (!(e instanceof IpcError)) throw e;
            onOutcome?.(`${step.kind}: ${e.code}`);
            if (expected.size === 0) fail(`kernel failed with ${e.code}; the model expects success`);
            if (!expected.has(e.code)) fail(`kernel failed with ${e.code}; the model allows ${[...expected].join('|')}`);
            if (!sameState(kernel.snapshot(), before)) fail(`failed syscall (${e.code}) changed kernel state`);
            return undefined;
          }
          if (expected.size > 0) fail(`kernel succeeded; the model expects ${[...expected].join('|')}`);
          onOutcome?.(`${step.kind}: ok`);
          return result;
        };
        let completions: Completion[] = [];
        let issued: { cmd: number; expected: Set<IpcErrorCode>; immediate: Completion | undefined } | undefined;

        switch (step.kind) {
          case 'create': {
            const h = syscall(model.createErrors(i), () => proc.createEndpoint({ capacity: step.capacity, registerOnly: true }));
            if (h !== undefined) {
              if (model.procs[i]!.caps.has(h)) fail(`new handle 0x${h.toString(16)} aliases a live one`);
              model.applyCreate(i, step.capacity, h, proc.inspect(h).resource);
            }
            break;
          }
          case 'derive': {
            const h = handleOf(step.cap, step.rights & 0xff);
            const got = syscall(model.deriveErrors(i, h, step.rights), () => proc.derive(h, step.rights));
            if (got !== undefined) {
              if (model.procs[i]!.caps.has(got)) fail(`derived handle aliases a live one`);
              model.applyMint(i, h, i, step.rights, got);
            }
            break;
          }
          case 'grant': {
            const h = handleOf(step.cap, Rights.GRANT);
            const { pid, target } = targetOf(step.to, false);
            const index = typeof target === 'number' ? target : undefined;
            const got = syscall(model.grantErrors(i, h, index, step.rights), () => proc.grant(h, pid, step.rights));
            if (got !== undefined) {
              if (model.procs[index!]!.caps.has(got)) fail(`granted handle aliases a live one`);
              model.applyMint(i, h, index!, step.rights, got);
            }
            break;
          }
          case 'revoke': {
            const h = handleOf(step.cap, Rights.REVOKE);
            const old = model.procs[i]!.caps.get(h)?.resource;
            if (syscall(model.revokeErrors(i, h), () => (proc.revoke(h), true))) {
              const resource = proc.inspect(h).resource;
              if (resource === old) fail('revoke kept the registry id');
              model.applyRevoke(i, h, resource);
            }
            break;
          }
          case 'close': {
            const h = handleOf(step.cap);
            if (syscall(model.closeErrors(i, h), () => (proc.close(h), true))) model.applyClose(i, h);
            break;
          }
          case 'reply': {
            const pending = model.procs.map((p, t) => (p.wait.kind === 'reply-wait' && p.wait.server === i ? t : -1)).filter((t) => t >= 0);
            const chosen = pending[step.to % Math.max(1, pending.length)];
            const { pid, target } = chosen !== undefined && step.to % 4 !== 3 ? { pid: pids[chosen]!, target: chosen } : targetOf(step.to, true);
            if (step.error) {
              const code = REPLY_ERRORS[step.to % REPLY_ERRORS.length]!;
              if (syscall(model.replyTargetErrors(i, target), () => (proc.replyError(pid, code), true))) completions = model.applyReply(i, target as number, code);
            } else {
              const caps = step.caps.map((c) => handleOf(c, Rights.SHARE));
              const reply: ModelMessage = { id: ++msgCounter, from: i, call: false, length: step.length, caps: caps.map((h) => ({ ...model.procs[i]!.caps.get(h)! })) };
              const ok = syscall(model.replyErrors(i, target, step.length, caps), () => (proc.reply(pid, { type: replyTypeOf(reply), data: pattern(step.length, reply.id), caps }), true));
              if (ok) completions = model.applyReply(i, target as number, reply);
            }
            break;
          }
          case 'call':
          case 'send':
          case 'receive': {
            const h =
              step.kind === 'receive'
                ? handleOf(step.cap, Rights.RECEIVE, (ep) => model.endpoints[ep]!.queue.length > 0)
                : handleOf(step.cap, Rights.SEND, (ep) => model.endpoints[ep]!.receivers.length > 0);
            const cmd = ++cmdCounter;
            const deadline = model.now + step.timeout;
            if (step.kind === 'receive') {
              const expected = model.receiveErrors(i, h);
              if (expected.size === 0) completions = model.applyReceive(i, cmd, h, deadline);
              inbox[i]!.push({ cmd, kind: 'receive', handle: h, length: 0, caps: [], type: 0, timeout: step.timeout, id: 0 });
              issued = { cmd, expected, immediate: completions.find((c) => c.cmd === cmd) };
            } else {
              const caps = step.caps.map((c) => handleOf(c, Rights.SHARE));
              const expected = model.sendErrors(i, h, step.length, caps);
              const msg: ModelMessage = { id: ++msgCounter, from: i, call: step.kind === 'call', length: step.length, caps: expected.size ? [] : caps.map((c) => ({ ...model.procs[i]!.caps.get(c)! })) };
              if (expected.size === 0) completions = model.applySend(i, cmd, h, msg, deadline);
              inbox[i]!.push({ cmd, kind: step.kind, handle: h, length: step.length, caps, type: typeOf(msg), timeout: step.timeout, id: msg.id });
              issued = { cmd, expected, immediate: completions.find((c) => c.cmd === cmd) };
            }
            break;
          }
          case 'tick': {
            completions = model.tick(step.ns);
            clock.advance(step.ns);
            break;
          }
        }

        for (let t = 0; t < TURNS; t++) await d.yield();
        const seen = observations.splice(0);

        // The issuing worker's own syscall: failed at once (state unchanged), completed at once, or blocked.
        if (issued) {
          const own = seen.find((o) => o.cmd === issued!.cmd);
          if (issued.expected.size > 0) {
            if (!own) fail(`kernel did not fail the syscall; the model expects ${[...issued.expected].join('|')}`);
            if (own.ok) fail(`kernel succeeded; the model expects ${[...issued.expected].join('|')}`);
            if (!own.immediate) fail(`kernel blocked before failing with ${own.code ?? 'no code'}`);
            if (!issued.expected.has(own.code as IpcErrorCode)) fail(`kernel failed with ${own.code ?? 'no code'}; the model allows ${[...issued.expected].join('|')}`);
            if (!own.unchanged) fail(`failed syscall (${own.code ?? 'no code'}) changed kernel state`);
            seen.splice(seen.indexOf(own), 1);
          } else if (!issued.immediate && own) {
            fail(`kernel ${own.ok ? 'completed' : `failed (${own.code ?? 'no code'})`} a syscall the model says must block`);
          } else if (issued.immediate && own && !own.immediate) {
            fail('kernel blocked a syscall the model says completes at once');
          }
        }

        if (issued) onOutcome?.(`${step.kind}: ${issued.expected.size ? [...issued.expected].join('|') : issued.immediate ? 'at once' : 'blocks'}`);
        // Every completion the model predicts happened, exactly once, with the right content; nothing else did.
        for (const c of completions) {
          onOutcome?.(`completion: ${c.kind === 'failed' ? c.code : c.kind}${c.kind === 'delivered' || c.kind === 'replied' ? ` with ${(c.kind === 'delivered' ? c.msg : c.reply).caps.length ? '' : 'no '}capabilities` : ''}`);
          const o = seen.find((s) => s.cmd === c.cmd);
          if (!o) fail(`expected ${c.kind} for command ${c.cmd} of w${c.proc}, kernel did nothing`);
          seen.splice(seen.indexOf(o), 1);
          if (o.proc !== c.proc) fail(`command ${c.cmd} completed on w${o.proc}, expected w${c.proc}`);
          if (c.kind === 'failed') {
            if (o.ok || o.code !== c.code) fail(`command ${c.cmd}: kernel ${o.ok ? 'succeeded' : (o.code ?? 'failed')}, expected ${c.code}`);
            continue;
          }
          if (!o.ok) fail(`command ${c.cmd}: kernel failed with ${o.code ?? 'no code'}, expected ${c.kind}`);
          if (c.kind === 'sent') continue;
          const m = o.msg;
          if (!m) fail(`command ${c.cmd}: no message`);
          const sent = c.kind === 'delivered' ? c.msg : c.reply;
          const want = {
            type: c.kind === 'delivered' ? typeOf(sent) : replyTypeOf(sent),
            sender: pids[sent.from],
            flags: c.kind === 'delivered' ? c.flags : MessageFlags.REPLY,
            length: sent.length,
            bytes: Array.from(pattern(sent.length, sent.id)),
          };
          const got = { type: m.type, sender: m.sender, flags: m.flags, length: m.length, bytes: m.bytes };
          if (JSON.stringify(got) !== JSON.stringify(want)) fail(`command ${c.cmd} on w${c.proc}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)} (FIFO, isolation, true sender)`);
          if (m.caps.length !== sent.caps.length) fail(`command ${c.cmd}: ${m.caps.length} capabilities arrived, ${sent.caps.length} sent`);
          const receiver = model.procs[c.proc]!;
          for (const [n, h] of m.caps.entries()) {
            if (receiver.caps.has(h)) fail(`transferred handle 0x${h.toString(16)} aliases a live one`);
            const cap = sent.caps[n]!;
            const k = procs[c.proc]!.inspect(h);
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
        if (stats.endpoints !== model.endpoints.length) fail(`kernel has ${stats.endpoints} endpoints, model ${model.endpoints.length}`);
      }
    } catch (e) {
      failure = e;
    } finally {
      stop = true;
    }
  });

  await director.exited;
  await kernel.shutdown();
  await Promise.all(workers.map((w) => w.exited));
  if (failure) throw failure instanceof Error ? failure : new Error('the model run failed', { cause: failure });
  const after = kernel.stats();
  if (JSON.stringify(after) !== JSON.stringify(baseline)) throw new ModelMismatch(`after every process exited the pools are ${JSON.stringify(after)}, not the baseline ${JSON.stringify(baseline)}`);
}
