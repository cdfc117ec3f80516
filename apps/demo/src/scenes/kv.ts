/**
 * The key-value scene: a server alone on a worker CPU, clients of different priorities calling
 * it from CPU 0 through the register fast path, the register frame of one call in the arch's
 * real syscall ABI, the capability checks, and a worker-to-worker round trip.
 */
import { createKernel, type IpcError, Rights, Syscall, createRegisterFrame, messagePayload, readRegister, type Process, type ProcessHandle } from '@veridian/core';
import { Op, encodeEntry, text } from '../protocol.js';
import type { Scene } from '../scene.js';
import { hex, heading, percentile, us, worker } from '../ui.js';

/** Runs the scene; returns the server (the kill scene ends it later). */
export async function kvScene(s: Scene): Promise<ProcessHandle> {
  const { kernel, arch, latencies } = s;
  heading('key-value server on a worker CPU');
  const server = kernel.spawnWorker(worker('kv-server'), { name: 'kv', priority: 10, args: { name: 'kv' } });
  await kernel.whenNamed('kv');
  console.log(`[kernel] kv server is pid ${hex(server.pid)} on CPU ${server.cpu} (a worker thread); endpoint "kv" registered`);

  const timed = async (p: Process, ch: number, type: number, data: Uint8Array) => {
    const t0 = process.hrtime.bigint();
    const r = await p.call(ch, { type, data });
    latencies.push(Number(process.hrtime.bigint() - t0));
    return text(r.bytes.subarray(0, r.length));
  };
  const client = (name: string, priority: number, body: (p: Process, ch: number) => Promise<void>) => kernel.spawn({ name, priority }, async (p) => body(p, p.connect('kv')));
  const n = s.quick ? 10 : 50;

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
    for (let i = 0; i < n; i++) await timed(p, ch, Op.PUT, encodeEntry(`k${i}`, `value ${i}`));
    const poem = Uint8Array.from({ length: 100 * 1024 }, (_, i) => 32 + (i % 95));
    await p.call(ch, { type: Op.PUT, data: encodeEntry('poem', poem) });
    console.log(`[alice  prio 12] PUT poem = 100 KiB (a large message: frames in machine memory change owner)`);
  });
  const bob = client('bob', 8, async (p, ch) => {
    await alice.exited;
    const motd = await timed(p, ch, Op.GET, encodeEntry('motd'));
    console.log(`[bob    prio  8] GET motd -> "${motd}"`);
    for (let i = 0; i < n; i++) await timed(p, ch, Op.GET, encodeEntry(`k${i}`));
    const poem = await p.call(ch, { type: Op.GET, data: encodeEntry('poem') });
    const intact = messagePayload(poem).every((b, i) => b === 32 + (i % 95));
    console.log(`[bob    prio  8] GET poem -> ${poem.length} bytes${intact ? ', intact' : ', CORRUPT'}`);
    if (!intact) s.fail('the poem came back corrupt');
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
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(`[kernel] ${sorted.length} calls from the kernel's CPU to the worker CPU: p50 ${us(percentile(sorted, 50))}, p99 ${us(percentile(sorted, 99))} (the kernel's CPU polls briefly for the reply, then waits in its event loop)`);

  // The worker-to-worker bench runs on a kernel of its own without the audit ring: recording
  // every call and reply (the main kernel does, for the security scene) makes a round trip
  // tens of times slower, and this line is about the fast path itself.
  const count = s.quick ? 5_000 : 50_000;
  const out = new SharedArrayBuffer(8);
  const bench = createKernel({ arch });
  try {
    bench.spawnWorker(worker('kv-server'), { name: 'kv', args: { name: 'kv' } });
    await bench.whenNamed('kv');
    const fast = bench.spawnWorker(worker('kv-bench-client'), { name: 'reader', args: { name: 'kv', count, out } });
    const fastExit = await fast.exited;
    if (fastExit.reason !== 'returned') throw fastExit.error;
    console.log(`[reader  CPU ${fast.cpu}] ${count.toLocaleString('en').replace(/,/g, ' ')} GETs worker CPU -> worker CPU: ${us(new Float64Array(out)[0]!)} per round trip (both CPUs block in the kernel, no event loop involved; a kernel without the audit ring)`);
  } finally {
    await bench.shutdown();
  }
  s.ran.push('kv');
  return server;
}
