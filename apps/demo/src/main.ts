/**
 * `pnpm start`: a small VeridianOS system, run once on each arch backend. A key-value server runs
 * on its own worker CPU; client processes with different priorities call it from the kernel's
 * CPU through the register fast path; the demo shows the real register frame of a call, the
 * capability checks, a worker-to-worker round trip, and what happens when the server is killed.
 */
import { createKernel, type IpcError, Rights, Syscall, createRegisterFrame, messagePayload, readRegister, type Arch, type Process } from '@veridian/core';
import { aarch64 } from '@veridian/arch-aarch64';
import { riscv64 } from '@veridian/arch-riscv64';
import { x86_64 } from '@veridian/arch-x86_64';
import { styleText } from 'node:util';
import { Op, encodeEntry, text } from './protocol.js';

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (style: Parameters<typeof styleText>[0], s: string) => (color ? styleText(style, s) : s);
const worker = (name: string) => new URL(`./workers/${name}.js`, import.meta.url);
const us = (ns: number) => `${(ns / 1000).toFixed(1)} µs`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function runOn(arch: Arch): Promise<void> {
  console.log(paint('bold', `\n=== ${arch.name} ===`));
  const kernel = createKernel({ arch });
  const baseline = kernel.stats();
  console.log(`machine memory: ${(baseline.memoryBytes / 2 ** 20).toFixed(1)} MiB, ${baseline.freeFrames} free frames; page sizes ${arch.pageSizes.map((s) => (s >= 2 ** 30 ? `${s / 2 ** 30}G` : s >= 2 ** 20 ? `${s / 2 ** 20}M` : `${s / 1024}K`)).join(' ')}`);

  const server = kernel.spawnWorker(worker('kv-server'), { name: 'kv', priority: 10, args: { name: 'kv' } });
  await kernel.whenNamed('kv');
  console.log(`[kernel] kv server is pid 0x${server.pid.toString(16)} on CPU ${server.cpu} (a worker thread); endpoint "kv" registered`);

  const latencies: number[] = [];
  const timed = async (p: Process, ch: number, type: number, data: Uint8Array) => {
    const t0 = process.hrtime.bigint();
    const r = await p.call(ch, { type, data });
    latencies.push(Number(process.hrtime.bigint() - t0));
    return text(r.bytes.subarray(0, r.length));
  };

  const client = (name: string, priority: number, body: (p: Process, ch: number) => Promise<void>) =>
    kernel.spawn({ name, priority }, async (p) => body(p, p.connect('kv')));

  const alice = client('alice', 12, async (p, ch) => {
    await timed(p, ch, Op.PUT, encodeEntry('motd', 'hello from alice'));
    console.log(`[alice  prio 12] PUT motd = "hello from alice"`);
    const frame = createRegisterFrame(arch.fastPath.registerCount);
    arch.fastPath.encode(Syscall.IpcCall, ch, { type: Op.GET, data: encodeEntry('motd') }, frame);
    const L = arch.fastPath.layout;
    const meaning = new Map<number, string>([[L.syscall.reg, 'syscall number (IpcCall)'], [L.endpoint.reg, 'endpoint capability'], [L.info.reg, 'message info: type | caps | length'], [L.caps[0].reg, 'capability slots'], [L.caps[2].reg, 'capability slots']]);
    L.data.forEach((r, i) => meaning.set(r, `data bytes ${i * 8}–${i * 8 + 7}`));
    console.log(`[alice  prio 12] her GET travels in these ${arch.name} registers:`);
    for (const [reg, what] of [...meaning].sort((a, b) => a[0] - b[0])) {
      const v = readRegister(frame, reg);
      if (v !== 0n || reg === L.syscall.reg) console.log(`    ${arch.fastPath.registerNames[reg]!.padEnd(4)} = 0x${v.toString(16).padStart(16, '0')}   ${what}`);
    }
    for (let i = 0; i < 50; i++) await timed(p, ch, Op.PUT, encodeEntry(`k${i}`, `value ${i}`));
    const poem = Uint8Array.from({ length: 100 * 1024 }, (_, i) => 32 + (i % 95));
    await p.call(ch, { type: Op.PUT, data: encodeEntry('poem', poem) });
    console.log(`[alice  prio 12] PUT poem = 100 KiB (a large message: frames in machine memory change owner)`);
  });
  const bob = client('bob', 8, async (p, ch) => {
    await alice.exited;
    const motd = await timed(p, ch, Op.GET, encodeEntry('motd'));
    console.log(`[bob    prio  8] GET motd -> "${motd}"`);
    for (let i = 0; i < 50; i++) await timed(p, ch, Op.GET, encodeEntry(`k${i}`));
    const poem = await p.call(ch, { type: Op.GET, data: encodeEntry('poem') });
    const intact = messagePayload(poem).every((b, i) => b === 32 + (i % 95));
    console.log(`[bob    prio  8] GET poem -> ${poem.length} bytes${intact ? ', intact' : ', CORRUPT'}`);
    if (!intact) process.exitCode = 1;
    try {
      await p.call(ch, { type: Op.GET, data: encodeEntry('missing') });
    } catch (e) {
      console.log(`[bob    prio  8] GET missing -> ${(e as IpcError).code} (the server's error reply)`);
    }
  });
  const mallory = client('mallory', 5, async (p, ch) => {
    await bob.exited;
    const readOnly = p.derive(ch, Rights.NONE);
    for (const [what, handle] of [
      ['a handle without SEND', readOnly],
      ['a forged handle 0x7777', 0x7777],
    ] as const) {
      try {
        await p.call(handle, { type: Op.DEL, data: encodeEntry('motd') });
        console.log(`[mallory prio 5] ${what}: accepted?!`);
      } catch (e) {
        console.log(`[mallory prio 5] DEL motd with ${what} -> ${(e as IpcError).code}`);
      }
    }
    try {
      await p.call(ch, { type: Op.PUT, data: new Uint8Array(2 << 20) });
    } catch (e) {
      console.log(`[mallory prio 5] a 2 MiB message -> ${(e as IpcError).code} (a large message carries up to 1 MiB)`);
    }
  });
  for (const h of [alice, bob, mallory]) {
    const exit = await h.exited;
    if (exit.reason !== 'returned') throw exit.error;
  }
  latencies.sort((a, b) => a - b);
  console.log(`[kernel] ${latencies.length} calls from the kernel's CPU to the worker CPU: p50 ${us(percentile(latencies, 50))}, p99 ${us(percentile(latencies, 99))} (the kernel's CPU polls briefly for the reply, then waits in its event loop)`);

  const out = new SharedArrayBuffer(8);
  const fast = kernel.spawnWorker(worker('kv-bench-client'), { name: 'reader', args: { name: 'kv', count: 50_000, out } });
  const fastExit = await fast.exited;
  if (fastExit.reason !== 'returned') throw fastExit.error;
  console.log(`[reader  CPU ${fast.cpu}] 50 000 GETs worker CPU -> worker CPU: ${us(new Float64Array(out)[0]!)} per round trip (both CPUs block in the kernel, no event loop involved)`);

  const carol = kernel.spawn({ name: 'carol', priority: 9 }, async (p) => {
    const ch = p.connect('kv');
    const pending = p.call(ch, { type: Op.HOLD, data: encodeEntry('motd') });
    await p.call(ch, { type: Op.GET, data: encodeEntry('motd') }).catch((e: IpcError) => console.log(`[carol  prio  9] a second call while one is pending -> ${e.code}`));
    return pending;
  });
  // The server holds carol's call without answering; kill it with the call pending.
  await new Promise((r) => setTimeout(r, 5));
  const killed = await server.kill();
  const carolExit = await carol.exited;
  console.log(`[kernel] server ${killed.reason}; carol ${carolExit.reason === 'returned' ? 'got her reply before the kill' : `woke with ${(carolExit.error as IpcError).code}`}`);
  await kernel.idle();
  const after = kernel.stats();
  const same = JSON.stringify(after) === JSON.stringify(baseline);
  console.log(`[kernel] pools after exit: ${after.processes} processes, ${after.endpoints} endpoints, ${after.capabilities} capabilities, ${after.usedFrames} frames in use ${same ? paint('green', '(back to baseline)') : paint('red', '(LEAK)')}`);
  if (!same) process.exitCode = 1;
}

console.log(paint('bold', 'VeridianOS IPC SDK demo') + ' — one kernel, two architectures');
for (const arch of [x86_64, aarch64, riscv64]) await runOn(arch);
