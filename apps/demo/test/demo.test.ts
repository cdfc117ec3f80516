import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const main = new URL('../dist/main.js', import.meta.url).pathname;
const env = { ...process.env, NO_COLOR: '1' };
/** Runs the demo; a failed run throws with the end of what it printed (a FAILED line goes to stdout). */
const run = (...args: string[]) => {
  const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env, maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`demo ${args.join(' ')} exited with ${String(r.status ?? r.signal)}:\n${r.stdout.split('\n').slice(-30).join('\n')}\n--- stderr\n${r.stderr}`);
  return r.stdout;
};

describe('pnpm start (the demo)', () => {
  let out = '';
  beforeAll(() => {
    out = run();
  }, 180_000);

  it('runs on all three arches, shows the capability checks and the kill, and leaks nothing', () => {
    for (const arch of ['x86_64', 'aarch64', 'riscv64']) expect(out).toContain(`=== ${arch} ===`);
    expect(out.match(/GET motd -> "hello from alice"/g)).toHaveLength(3);
    expect(out.match(/handle without SEND -> PermissionDenied/g)).toHaveLength(3);
    expect(out.match(/forged handle 0x7777 -> InvalidCapability/g)).toHaveLength(3);
    expect(out.match(/2 MiB message -> MessageTooLarge/g)).toHaveLength(3);
    expect(out.match(/GET poem -> 102400 bytes, intact/g)).toHaveLength(3);
    expect(out.match(/carol woke with ChannelClosed/g)).toHaveLength(3);
    expect(out.match(/after the kill the queued Store\.stats -> ChannelClosed/g)).toHaveLength(3);
    expect(out.match(/\(back to baseline\)/g)).toHaveLength(3);
    expect(out).toMatch(/rax\s+= 0x0000000000000002/);
    expect(out).toMatch(/x8\s+= 0x0000000000000002/);
    expect(out).toMatch(/a7\s+= 0x0000000000000002/);
    expect(out).not.toMatch(/LEAK|FAILED/);
  });

  it('per arch: clients on worker CPUs call the store through StoreClient; one hands a shareable channel to the courier, which reads through it', () => {
    expect(out.match(/\[writer[12] CPU \d+\] 50 PUTs then 50 GETs through StoreClient, 50 of 50 values back intact/g)).toHaveLength(6);
    expect(out.match(/\[writer2 CPU \d+\] asked the store for a shareable channel \(Store\.share\) and handed it to the courier/g)).toHaveLength(3);
    expect(out.match(/\[courier CPU \d+\] got a channel to the store it never connected to .*; GET w2\.k0 through it -> "w2 value 0"/g)).toHaveLength(3);
    expect(out.match(/GET missing -> StoreError NOT_FOUND/g)).toHaveLength(3);
    // alice 50 + 2 PUTs, bob 50 + 3 GETs, each writer 50 of each, the courier 1 GET.
    expect(out.match(/Store\.stats -> 152 keys; the server served 152 PUTs and 154 GETs/g)).toHaveLength(3);
    expect(out.match(/Store\.get calls worker CPU -> worker CPU: [\d.]+ µs per round trip/g)).toHaveLength(3);
  });

  it('per arch: a worker crash is reported once on the error event and its endpoint is gone', () => {
    expect(out.match(/process "crasher" crashed: Error: segfault on purpose \(reported on the kernel's 'error' event\)/g)).toHaveLength(3);
    expect(out.match(/crasher on CPU \d+ crashed: "Error: segfault on purpose"; endpoint "doomed" gone/g)).toHaveLength(3);
  });

  it('ends with a summary per arch: calls and p50/p99', () => {
    for (const arch of ['x86_64', 'aarch64', 'riscv64']) expect(out).toMatch(new RegExp(`${arch}\\s+ok\\s+\\d+ timed calls, p50 [\\d.]+ µs, p99 [\\d.]+ µs; ran kv`));
  });
});

describe('the command line', () => {
  it('--arch runs one backend; --help prints the usage', () => {
    const one = run('--arch', 'aarch64', '--quick');
    expect(one).toContain('=== aarch64 ===');
    expect(one).not.toContain('=== x86_64 ===');
    expect(run('--help')).toMatch(/^usage: /);
  });

  it.each([['--bogus'], ['--arch', 'sparc'], ['--arch'], ['stray']])('a bad option (%s) exits 2 with one line on stderr and no stack trace', (...args) => {
    const r = spawnSync(process.execPath, [main, ...args], { encoding: 'utf8', env });
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^demo: /);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});

/** One `--quick --out DIR` run that the scene tests below share. */
const dir = mkdtempSync(join(tmpdir(), 'demo-out-'));
let quick = '';
beforeAll(() => {
  quick = run('--quick', '--out', dir);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the summary of --quick', () => {
  it('per arch: ok, the timed calls, the scenes that ran and the message counts', () => {
    const scenes = 'kv, zero-copy, region, async, security, posix, crash, kill';
    for (const arch of ['x86_64', 'aarch64', 'riscv64']) {
      const lines = quick.slice(quick.indexOf('=== summary ===')).split('\n');
      const at = lines.findIndex((l) => l.startsWith(arch));
      expect(lines[at]).toMatch(new RegExp(`^${arch}\\s+ok\\s+22 timed calls, p50 [\\d.]+ µs, p99 [\\d.]+ µs; ran ${scenes}$`));
      // 10 + 2 PUTs from alice and 10 from each worker-CPU writer; 10 + 3 GETs from bob, 10 per
      // writer and the courier's one; 100 messages each way; 33 of the flood's 100 sends filtered.
      const counts = /^\s+messages: kv PUTs (\d+), kv GETs (\d+), async channel (\d+), topic publications (\d+), RateLimited (\d+), Filtered (\d+), posix pipe bytes (\d+)$/.exec(lines[at + 1]!);
      expect(counts, lines[at + 1]).not.toBeNull();
      const [puts, gets, channel, topic, rateLimited, filtered, pipe] = counts!.slice(1).map(Number);
      expect({ puts, gets, channel, topic, filtered, pipe }).toEqual({ puts: 32, gets: 34, channel: 100, topic: 100, filtered: 33, pipe: 69 });
      expect(rateLimited).toBeGreaterThan(50);
      expect(rateLimited! + filtered!).toBeLessThanOrEqual(100);
    }
    expect(quick).toMatch(/\nfinished in [\d.]+ s\n$/);
  });
});

describe('the zero-copy and region scenes', () => {

  it('per arch: moved frames are the sender\'s, mapped lazily, the sender faults, a CoW write changes one page', () => {
    expect(quick.match(/frames [\d, …]+ are the sender's former frames/g)).toHaveLength(3);
    expect(quick.match(/no page present before the first access; after reading page 5 \(it holds 5\), 1 page present/g)).toHaveLength(3);
    expect(quick.match(/reading the moved memory -> AccessFault/g)).toHaveLength(3);
    expect(quick.match(/one write to page 3 -> 1 page's frame differs/g)).toHaveLength(3);
    expect(quick.match(/my page 3 still reads 5/g)).toHaveLength(3);
  });

  it('per arch: a peer maps the region through a read-only capability and its write faults', () => {
    expect(quick.match(/mapped the region read-only: "written by the owner/g)).toHaveLength(3);
    expect(quick.match(/\[viewer\] writing to it -> AccessFault/g)).toHaveLength(3);
    expect(quick.match(/\(back to baseline\)/g)).toHaveLength(3);
  });
});

describe('the async and POSIX scenes', () => {
  it('per arch: the consumer drains the channel and every subscriber sees the topic in order, each on a worker CPU', () => {
    expect(quick.match(/\[consumer CPU [1-9]\d*\] drained 100 messages \(types sum 5050\); the channel closed behind them/g)).toHaveLength(3);
    // The 1 MiB Move through the channel: the consumer's frames are the ones the producer named, mapped lazily.
    const moves = [...quick.matchAll(/\[producer\] moved 1 MiB \(frames ([\d, ]+), …\) through the same ring; reading it here now -> AccessFault\n/g)].map((m) => m[1]);
    const took = [...quick.matchAll(/\[consumer CPU [1-9]\d*\] took a 1 MiB buffer by Move: frames ([\d, ]+), … are the producer's; 0 pages present before the first read, page 5 reads 5/g)].map((m) => m[1]);
    expect(moves).toHaveLength(3);
    expect(took).toEqual(moves);
    expect(quick.match(/\[sub[0-2] CPU [1-9]\d*\] saw all 100 publications in order \(missed 0\)/g)).toHaveLength(9);
    expect(quick.match(/topic publications 100/g)).toHaveLength(3);
  });

  it('per arch: the POSIX pipeline (pipe | wc, answer on an mq) gives the right count and leaves nothing open', () => {
    expect(quick.match(/wc answered on mq \/wc: "4 12 69"/g)).toHaveLength(3);
    expect(quick.match(/\[posixd\] after the pipeline: 0 open descriptions, 0 queues/g)).toHaveLength(3);
  });
});

describe('the security scene and the records in --out', () => {

  it('per arch: the flood is refused by the filter and the rate limit, and the audit ring shows it', () => {
    const floods = [...quick.matchAll(/\[flooder\] 100 sends -> (.*)/g)].map((m) => m[1]!);
    expect(floods).toHaveLength(3);
    for (const f of floods) {
      expect(f).toContain('Filtered 33');
      expect(Number(/RateLimited (\d+)/.exec(f)![1])).toBeGreaterThan(50);
    }
    expect(quick.match(/from the flooder: RateLimited \d+, Filtered 33/g)).toHaveLength(3);
  });

  it('writes per arch a Chrome trace, audit JSON lines and the debugfs files', () => {
    for (const arch of ['x86_64', 'aarch64', 'riscv64']) {
      const trace = JSON.parse(readFileSync(join(dir, arch, 'trace.json'), 'utf8')) as { traceEvents: Array<{ ph: string }> };
      expect(trace.traceEvents.length).toBeGreaterThan(100);
      expect(trace.traceEvents.some((e) => e.ph === 'X')).toBe(true);
      const audit = readFileSync(join(dir, arch, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; result: string });
      expect(audit.length).toBeGreaterThan(100);
      expect(audit.every((e) => typeof e.kind === 'string' && typeof e.result === 'string')).toBe(true);
      expect(readFileSync(join(dir, arch, 'debugfs-channels.txt'), 'utf8')).toMatch(/guarded/);
      expect(readFileSync(join(dir, arch, 'debugfs-trace.txt'), 'utf8').trim()).toBe('1');
    }
  });

  it('per arch: the trace has one flow per traced message (send or call → its receive) and one per answered call (→ its reply)', () => {
    interface TraceEvent { name: string; ph: string; id?: number; ts?: number; tid: number }
    for (const arch of ['x86_64', 'aarch64', 'riscv64']) {
      const { traceEvents: events } = JSON.parse(readFileSync(join(dir, arch, 'trace.json'), 'utf8')) as { traceEvents: TraceEvent[] };
      const slices = (name: string) => events.filter((e) => e.ph === 'X' && e.name === name).length;
      // Each flow id has exactly one start and one end, the end not before the start.
      const flows = new Map<number, { name: string; s: TraceEvent[]; f: TraceEvent[] }>();
      for (const e of events) {
        if (e.ph !== 's' && e.ph !== 'f') continue;
        const flow = flows.get(e.id!) ?? { name: e.name, s: [], f: [] };
        flows.set(e.id!, flow);
        expect(e.name).toBe(flow.name);
        flow[e.ph].push(e);
      }
      for (const [id, flow] of flows) {
        expect([id, flow.s.length, flow.f.length]).toEqual([id, 1, 1]);
        expect(flow.f[0]!.ts!).toBeGreaterThanOrEqual(flow.s[0]!.ts!);
      }
      const named = (name: string) => [...flows.values()].filter((f) => f.name === name);
      // The whole --quick run fits the trace ring (nothing dropped), so the counts are exact:
      // every message sent (send or call that the kernel took) has its flow to its receive...
      const messages = slices('send') + slices('call');
      expect(messages).toBeGreaterThan(90);
      expect(named('message')).toHaveLength(messages);
      expect(slices('receive')).toBe(messages);
      // ...and every reply closes the flow of its call (Store.hold's call is never answered).
      expect(named('call→reply')).toHaveLength(slices('reply') + slices('reply-error NotFound'));
      expect(slices('call')).toBe(slices('reply') + 1);
      // A call from the kernel's CPU answered on a worker CPU, and one between two worker CPUs.
      const answered = named('call→reply').map((f) => [f.s[0]!.tid, f.f[0]!.tid] as const);
      expect(answered.some(([from, to]) => from === 0 && to !== 0)).toBe(true);
      expect(answered.some(([from, to]) => from !== 0 && to !== 0 && from !== to)).toBe(true);
    }
  });
});
