// The endpoint fast path (kernel/ipc/endpoint-fastpath.ts) commits a call or a reply-receive as
// one straight run over the records' words instead of through the general path's steps. This
// test holds it to them: two copies of one machine memory run the same random program of
// syscalls from worker CPUs — one through the fast path wherever it takes the syscall, the
// other through the general path only — and after every step every word of machine memory
// must be the same in both (except each CPU's own line, where the fast path counts its
// entries), as must each syscall's outcome. Both copies are driven from this thread, one
// syscall at a time, so the comparison is exact and the runs are reproducible.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MonotonicClock } from '../src/contracts/clock.ts';
import { IpcError } from '../src/contracts/errors.ts';
import type { MessageBuffer, SmallMessage } from '../src/contracts/message.ts';
import { slotWord } from '../src/contracts/register-frame.ts';
import { Syscall } from '../src/contracts/syscall.ts';
import { KernelContext } from '../src/kernel/context.ts';
import { BLOCKED } from '../src/kernel/ipc/sync.ts';
import { endpointConfig } from '../src/kernel/kernel-options.ts';
import { nodePlatform } from '../src/kernel/platform/node.ts';
import { H, LINE_WORDS, P, PState } from '../src/kernel/records/layout.ts';
import { MachineMemory } from '../src/kernel/records/machine-memory.ts';
import { WorkerCpu } from '../src/kernel/sched/worker-cpu.ts';
import { Syscalls } from '../src/kernel/syscall.ts';
import { testArch } from './support/test-arch.ts';

/** The server's CPU, and each client's (every process has a worker CPU of its own). */
const SERVER_CPU = 1;
const CLIENT_CPUS = [2, 3, 4];
/** Priorities: the server below two of its clients, so calls boost it and replies lower it again. */
const SERVER_PRIO = 3;
const CLIENT_PRIOS = [1, 5, 9];

interface Setup {
  buffer: SharedArrayBuffer;
  server: number;
  serverPid: number;
  ep: number;
  clients: number[];
  clientPids: number[];
  channels: number[];
  /** A capability handle each client may send (a call carrying it leaves the fast path). */
  spare: number[];
}

/** A machine with one server (an endpoint `svc`) and three clients connected to it, all on worker CPUs. */
function setup(): Setup {
  // Few capability slots, so a closed handle's slot is soon filled again (a stale handle then names a live capability with another tag).
  const mm = MachineMemory.create({ frames: 256, processes: 8, endpoints: 8, capSlots: 4, cpus: 8 });
  const mmu = testArch.createMmu(mm.phys, { cpus: 8 });
  mm.u32[H.MMU_SHARED] = mmu.sharedState;
  const k = new KernelContext(mm, testArch, mmu, new MonotonicClock(), nodePlatform, 0, 7);
  const sys = new Syscalls(k);
  const server = k.withLock(() => k.processes.create('server', SERVER_PRIO, SERVER_CPU));
  const serverPid = k.procs.pid(server);
  const ep = sys.createEndpoint(server, serverPid, endpointConfig({ name: 'svc', capacity: 4 }));
  const clients = CLIENT_CPUS.map((cpu, i) => k.withLock(() => k.processes.create(`client${i}`, CLIENT_PRIOS[i]!, cpu)));
  const clientPids = clients.map((c) => k.procs.pid(c));
  const channels = clients.map((c, i) => sys.connect(c, clientPids[i]!, 'svc'));
  // Each client's own endpoint: its owner's capability carries SHARE, so it can travel in a call.
  const spare = clients.map((c, i) => sys.createEndpoint(c, clientPids[i]!, endpointConfig({ name: `own${i}` })));
  return { buffer: mm.buffer, server, serverPid, ep, clients, clientPids, channels, spare };
}

/** A copy of the machine with a kernel context (and its syscall layer) for each worker CPU. */
class World {
  readonly buffer: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly #ctx = new Map<number, { k: KernelContext; sys: Syscalls }>();
  readonly fast: boolean;

  constructor(from: SharedArrayBuffer, s: Setup, fast: boolean) {
    this.fast = fast;
    this.buffer = new SharedArrayBuffer(from.byteLength);
    new Uint8Array(this.buffer).set(new Uint8Array(from));
    this.i32 = new Int32Array(this.buffer);
    const procs = [s.server, ...s.clients];
    for (const p of procs) {
      const mm = MachineMemory.attach(this.buffer);
      const cpu = mm.i32[mm.proc(p) + P.CPU]!;
      const mmu = testArch.createMmu(mm.phys, { cpus: mm.i32[H.NCPU]!, sharedState: mm.u32[H.MMU_SHARED]! });
      // The same seed in both worlds: minted capabilities draw the same tokens.
      const k = new KernelContext(mm, testArch, mmu, new MonotonicClock(), nodePlatform, cpu, 100 + cpu);
      new WorkerCpu(k, p);
      this.#ctx.set(p, { k, sys: new Syscalls(k) });
    }
  }

  /**
   * Process `p` makes IPC syscall `sysno` with `message` (through the fast path if this world
   * may); `poke` then overwrites one word of its frame first, as code holding machine memory can.
   */
  ipc(p: number, pid: number, sysno: number, handle: number, message: SmallMessage, target: number, poke?: [number, number]): string {
    const { k, sys } = this.#ctx.get(p)!;
    const frame = k.mm.frame(p);
    k.arch.fastPath.encode(sysno, handle, message, frame);
    if (poke) frame[poke[0]] = poke[1];
    try {
      if (this.fast && (sysno === Syscall.IpcCall || sysno === Syscall.IpcReplyReceive) && k.endpointPath.enter(p, pid, target, undefined)) return 'blocked (fast)';
      const st = sys.ipc(p, pid, target, 0, undefined, noPassive);
      return st === BLOCKED ? 'blocked' : `status ${st}`;
    } catch (e) {
      if (e instanceof IpcError) return e.code;
      throw e;
    }
  }

  /** Process `p` closes its capability `handle` and connects to `name` again: the new handle (or the error's code). */
  reconnect(p: number, pid: number, handle: number, name: string): string {
    const { sys } = this.#ctx.get(p)!;
    try {
      sys.close(p, pid, handle);
      return String(sys.connect(p, pid, name));
    } catch (e) {
      if (e instanceof IpcError) return e.code;
      throw e;
    }
  }

  state(p: number): number {
    return this.#ctx.get(p)!.k.procs.state(p);
  }

  replyServer(p: number): number {
    return this.#ctx.get(p)!.k.procs.get(p, P.REPLY_SERVER);
  }

  /** Where this world's memory differs from `other`'s (each CPU's own line excepted). */
  diff(other: World): string[] {
    const mm = MachineMemory.attach(this.buffer);
    const cpuLines = [mm.cpuBase, mm.cpuBase + mm.ncpu * LINE_WORDS];
    const out: string[] = [];
    for (let w = 0; w < this.i32.length && out.length < 8; w++) {
      if (w >= cpuLines[0]! && w < cpuLines[1]!) continue;
      if (this.i32[w] !== other.i32[w]) out.push(`word ${w} (${wordName(mm, w)}): ${this.i32[w]} vs ${other.i32[w]}`);
    }
    return out;
  }
}

function wordName(mm: MachineMemory, w: number): string {
  if (w >= mm.procBase && w < mm.procBase + mm.nproc * P.SIZE) {
    const off = w - mm.procBase;
    const field = Object.entries(P).find(([, v]) => v === off % P.SIZE)?.[0] ?? String(off % P.SIZE);
    return `process ${Math.floor(off / P.SIZE)} ${field}`;
  }
  return 'other';
}

const noPassive = (): MessageBuffer => {
  throw new Error('no passive server here');
};

type Step =
  | { op: 'call'; client: number; type: number; len: number; cap: boolean; poke?: [number, number]; stale?: number }
  | { op: 'reconnect'; client: number }
  | { op: 'receive' }
  | { op: 'replyReceive' | 'reply'; pick: number; type: number; len: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('call' as const), client: fc.nat(2), type: fc.nat(0xffff), len: fc.nat(64), cap: fc.nat(6).map((n) => n === 0) }) },
  // A call whose frame was rewritten after encoding: a register word (the syscall number, the
  // handle, the info word — any) set to a small number, a bit of a valid one flipped, or junk.
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('call' as const),
      client: fc.nat(2),
      type: fc.nat(0xffff),
      len: fc.nat(64),
      cap: fc.constant(false),
      poke: fc.tuple(fc.oneof(fc.constantFrom(...frameWords()), fc.nat(63)), fc.oneof(fc.nat(200), fc.integer({ min: -1, max: 0x7fffffff }), fc.constant(0xffffffff | 0))),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ op: 'receive' as const }) },
  // A client closes its channel and connects again; later calls may go through the old handle.
  { weight: 2, arbitrary: fc.record({ op: fc.constant('reconnect' as const), client: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('call' as const), client: fc.nat(2), type: fc.nat(0xffff), len: fc.nat(64), cap: fc.constant(false), stale: fc.nat(7) }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constantFrom('replyReceive' as const, 'reply' as const), pick: fc.nat(2), type: fc.nat(0xffff), len: fc.nat(64) }) },
);

/** The frame words of the syscall number, endpoint handle and info word in the test arch's layout. */
function frameWords(): number[] {
  const L = testArch.fastPath.layout;
  return [L.syscall, L.endpoint, L.info].map(slotWord);
}

function message(type: number, len: number, caps?: number[]): SmallMessage {
  return { type, data: Uint8Array.from({ length: len }, (_, i) => (i * 13 + type) & 0xff), ...(caps ? { caps } : {}) };
}

/** Runs `steps` in both worlds; returns what each step did (the first mismatch fails the test). */
function run(s: Setup, steps: Step[]): string[] {
  const fast = new World(s.buffer, s, true);
  const slow = new World(s.buffer, s, false);
  const log: string[] = [];
  const channels = [...s.channels];
  /** Every handle each client closed (a call may go through any of them). */
  const closed: number[][] = s.channels.map(() => []);
  for (const step of steps) {
    // Who may act is read from the general path's world (the two are equal so far).
    const serverWaits = slow.state(s.server) === PState.BLOCKED_RECV;
    const held = s.clients.filter((c) => slow.state(c) === PState.BLOCKED_REPLY && slow.replyServer(c) === s.server);
    let what: string;
    let a: string;
    let b: string;
    if (step.op === 'call') {
      const c = s.clients[step.client]!;
      const st = slow.state(c);
      if (st === PState.BLOCKED_SEND || st === PState.BLOCKED_REPLY) continue;
      const m = message(step.type, step.len, step.cap ? [s.spare[step.client]!] : undefined);
      const old = closed[step.client]!;
      const ch = step.stale !== undefined && old.length > 0 ? old[step.stale % old.length]! : channels[step.client]!;
      what = `client ${step.client} calls (${step.len} B${step.cap ? ', a capability' : ''}${step.poke ? `, frame word ${step.poke[0]} = ${step.poke[1]}` : ''}${ch !== channels[step.client] ? `, closed handle ${ch}` : ''})`;
      a = fast.ipc(c, s.clientPids[step.client]!, Syscall.IpcCall, ch, m, 0, step.poke);
      b = slow.ipc(c, s.clientPids[step.client]!, Syscall.IpcCall, ch, m, 0, step.poke);
    } else if (step.op === 'reconnect') {
      const c = s.clients[step.client]!;
      const st = slow.state(c);
      if (st === PState.BLOCKED_SEND || st === PState.BLOCKED_REPLY) continue;
      what = `client ${step.client} reconnects`;
      a = fast.reconnect(c, s.clientPids[step.client]!, channels[step.client]!, 'svc');
      b = slow.reconnect(c, s.clientPids[step.client]!, channels[step.client]!, 'svc');
      closed[step.client]!.push(channels[step.client]!);
      if (/^\d+$/.test(b)) channels[step.client] = Number(b);
    } else if (step.op === 'receive') {
      if (serverWaits) continue;
      what = 'server receives';
      a = fast.ipc(s.server, s.serverPid, Syscall.IpcReceive, s.ep, message(0, 0), 0);
      b = slow.ipc(s.server, s.serverPid, Syscall.IpcReceive, s.ep, message(0, 0), 0);
    } else {
      if (serverWaits || held.length === 0) continue;
      const c = held[step.pick % held.length]!;
      const to = s.clientPids[s.clients.indexOf(c)]!;
      const sysno = step.op === 'reply' ? Syscall.IpcReply : Syscall.IpcReplyReceive;
      what = `server ${step.op === 'reply' ? 'replies' : 'replies and receives'} to client ${s.clients.indexOf(c)}`;
      a = fast.ipc(s.server, s.serverPid, sysno, s.ep, message(step.type, step.len), to);
      b = slow.ipc(s.server, s.serverPid, sysno, s.ep, message(step.type, step.len), to);
    }
    log.push(`${what}: ${a}`);
    expect(a.replace(' (fast)', ''), `${log.join('\n')}\n(general path: ${b})`).toBe(b);
    expect(fast.diff(slow), log.join('\n')).toEqual([]);
  }
  return log;
}

describe('the endpoint fast path commits what the general path would', () => {
  it('a call and its reply-receive, step by step, leave the same words in machine memory', () => {
    const s = setup();
    const log = run(s, [{ op: 'receive' }, { op: 'call', client: 0, type: 7, len: 64, cap: false }, { op: 'replyReceive', pick: 0, type: 8, len: 3 }, { op: 'call', client: 1, type: 9, len: 0, cap: false }]);
    // The fast path really ran: the call to the waiting server and the reply-receive took it.
    expect(log.filter((l) => l.endsWith('(fast)'))).toHaveLength(3);
  });

  it('random programs from three clients (priorities above and below the server, queued callers, capabilities, frames rewritten after encoding, calls through closed handles) stay word for word equal', () => {
    const s = setup();
    let fastSteps = 0;
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 10, maxLength: 80 }), (steps) => {
        fastSteps += run(s, steps).filter((l) => l.endsWith('(fast)')).length;
      }),
      { numRuns: 60 },
    );
    // Most programs give the fast path work; a mutation of it cannot hide behind fallbacks.
    expect(fastSteps).toBeGreaterThan(60);
  });
});
