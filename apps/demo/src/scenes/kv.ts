/**
 * The key-value scene: the Store of idl/demo.kv.vidl served on a worker CPU through the
 * generated `serveStore`; clients of different priorities calling it from CPU 0 and clients on
 * worker CPUs, all through the generated `StoreClient`; one of them hands a channel onward to a
 * courier that calls through it; the register frame of one call in the arch's real syscall
 * ABI; the capability checks; and a worker-to-worker round trip.
 */
import { createKernel, type IpcError, Rights, Syscall, WireWriter, createRegisterFrame, readRegister, type Process, type ProcessHandle } from '@veridian/core';
import { Failure, StoreClient, StoreError, StoreProtocol, encodeStoreGetRequest } from '../generated/demo.kv.js';
import { readReport, reportBuffer } from '../report.js';
import type { Scene } from '../scene.js';
import { hex, heading, percentile, us, worker } from '../ui.js';
import type { KvClientArgs } from '../workers/kv-client.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Throws what a process died of, unless it returned. */
async function returned(h: ProcessHandle): Promise<void> {
  const exit = await h.exited;
  if (exit.reason !== 'returned') throw exit.error instanceof Error ? exit.error : new Error(`${exit.name} ${exit.reason}: ${String(exit.error)}`);
}

/** Runs the scene; returns the server (the kill scene ends it later). */
export async function kvScene(s: Scene): Promise<ProcessHandle> {
  const { kernel, arch, latencies } = s;
  heading('key-value server on a worker CPU (generated stubs: idl/demo.kv.vidl)');
  const server = kernel.spawnWorker(worker('kv-server'), { name: 'kv', priority: 10, args: { name: 'kv' } });
  await kernel.whenNamed('kv');
  console.log(`[kernel] kv server is pid ${hex(server.pid)} on CPU ${server.cpu} (a worker thread) running serveStore; endpoint "kv" registered`);

  const timed = async <T>(call: Promise<T>): Promise<T> => {
    const t0 = process.hrtime.bigint();
    const r = await call;
    latencies.push(Number(process.hrtime.bigint() - t0));
    return r;
  };
  const client = (name: string, priority: number, body: (p: Process, store: StoreClient, ch: number) => Promise<void>) =>
    kernel.spawn({ name, priority }, async (p) => {
      const ch = p.connect('kv');
      await body(p, new StoreClient(p, ch), ch);
    });
  const n = s.quick ? 10 : 50;

  // Clients on worker CPUs, at the same time as the ones on CPU 0; the second hands a channel
  // to the store onward to the courier (also on a worker CPU), which calls through it.
  const courierReport = reportBuffer();
  const courier = kernel.spawnWorker(worker('courier'), { name: 'courier', args: { name: 'courier', report: courierReport } });
  await kernel.whenNamed('courier');
  const writers = [1, 2].map((i) => {
    const args: KvClientArgs = { store: 'kv', prefix: `w${i}`, count: n, report: reportBuffer(), ...(i === 2 ? { courier: 'courier' } : {}) };
    return { args, handle: kernel.spawnWorker(worker('kv-client'), { name: `writer${i}`, args }) };
  });

  const alice = client('alice', 12, async (_p, store, ch) => {
    await timed(store.put('motd', encoder.encode('hello from alice')));
    console.log(`[alice  prio 12] PUT motd = "hello from alice" (StoreClient.put)`);
    // The same Store.get the generated client sends, encoded by its generated encoder, placed in
    // this arch's registers by the fast-path ABI.
    const w = new WireWriter();
    encodeStoreGetRequest(w, { key: 'motd' });
    const frame = createRegisterFrame(arch.fastPath.registerCount);
    arch.fastPath.encode(Syscall.IpcCall, ch, { type: StoreProtocol.methods.get.type, data: w.finish() }, frame);
    const L = arch.fastPath.layout;
    const meaning = new Map<number, string>([[L.syscall.reg, 'syscall number (IpcCall)'], [L.endpoint.reg, 'endpoint capability'], [L.info.reg, 'message info: type (Store.get) | caps | length'], [L.caps[0].reg, 'capability slots'], [L.caps[2].reg, 'capability slots']]);
    L.data.forEach((r, i) => meaning.set(r, `data bytes ${i * 8}–${i * 8 + 7}`));
    console.log(`[alice  prio 12] her GET travels in these ${arch.name} registers:`);
    for (const [reg, what] of [...meaning].sort((a, b) => a[0] - b[0])) {
      const v = readRegister(frame, reg);
      if (v !== 0n || reg === L.syscall.reg) console.log(`    ${arch.fastPath.registerNames[reg]!.padEnd(4)} = 0x${v.toString(16).padStart(16, '0')}   ${what}`);
    }
    for (let i = 0; i < n; i++) await timed(store.put(`k${i}`, encoder.encode(`value ${i}`)));
    const poem = Uint8Array.from({ length: 100 * 1024 }, (_, i) => 32 + (i % 95));
    await store.put('poem', poem);
    console.log(`[alice  prio 12] PUT poem = 100 KiB (a large message: frames in machine memory change owner)`);
  });
  const bob = client('bob', 8, async (_p, store) => {
    await alice.exited;
    const motd = decoder.decode((await timed(store.get('motd'))).value);
    console.log(`[bob    prio  8] GET motd -> "${motd}"`);
    for (let i = 0; i < n; i++) await timed(store.get(`k${i}`));
    const poem = (await store.get('poem')).value;
    const intact = poem.every((b, i) => b === 32 + (i % 95));
    console.log(`[bob    prio  8] GET poem -> ${poem.length} bytes${intact ? ', intact' : ', CORRUPT'}`);
    if (!intact) s.fail('the poem came back corrupt');
    try {
      await store.get('missing');
    } catch (e) {
      if (!(e instanceof StoreError) || e.value !== Failure.NOT_FOUND) throw e;
      console.log(`[bob    prio  8] GET missing -> StoreError NOT_FOUND (the server's typed error reply)`);
    }
  });
  const mallory = client('mallory', 5, async (p, store, ch) => {
    await bob.exited;
    const readOnly = p.derive(ch, Rights.NONE);
    for (const [what, handle] of [
      ['a handle without SEND', readOnly],
      ['a forged handle 0x7777', 0x7777],
    ] as const) {
      try {
        await new StoreClient(p, handle).remove('motd');
        console.log(`[mallory prio 5] ${what}: accepted?!`);
      } catch (e) {
        console.log(`[mallory prio 5] DEL motd with ${what} -> ${(e as IpcError).code}`);
      }
    }
    try {
      await store.put('huge', new Uint8Array(2 << 20));
    } catch (e) {
      console.log(`[mallory prio 5] a 2 MiB message -> ${(e as IpcError).code} (a large message carries up to 1 MiB)`);
    }
  });
  for (const h of [alice, bob, mallory]) await returned(h);
  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(`[kernel] ${sorted.length} calls from the kernel's CPU to the worker CPU: p50 ${us(percentile(sorted, 50))}, p99 ${us(percentile(sorted, 99))} (the kernel's CPU polls briefly for the reply, then waits in its event loop)`);

  for (const { args, handle } of writers) {
    await returned(handle);
    for (const line of readReport(args.report)) console.log(`[${handle.name} CPU ${handle.cpu}] ${line}`);
  }
  await returned(courier);
  for (const line of readReport(courierReport)) console.log(`[courier CPU ${courier.cpu}] ${line}`);

  const stats = kernel.spawn({ name: 'auditor', priority: 10 }, async (p) => {
    const st = await new StoreClient(p, p.connect('kv')).stats();
    console.log(`[auditor] Store.stats -> ${st.keys} keys; the server served ${st.writes} PUTs and ${st.reads} GETs`);
    s.counts['kv PUTs'] = st.writes;
    s.counts['kv GETs'] = st.reads;
  });
  await returned(stats);

  // The worker-to-worker bench runs on a kernel of its own without the audit ring: recording
  // every call and reply (the main kernel does, for the security scene) makes a round trip
  // tens of times slower, and this line is about the fast path itself.
  const count = s.quick ? 5_000 : 20_000; // a round trip takes tens of µs on an idle machine, hundreds on a busy one
  const out = new SharedArrayBuffer(8);
  const bench = createKernel({ arch });
  try {
    bench.spawnWorker(worker('kv-server'), { name: 'kv', args: { name: 'kv' } });
    await bench.whenNamed('kv');
    const fast = bench.spawnWorker(worker('kv-bench-client'), { name: 'reader', args: { name: 'kv', count, out } });
    await returned(fast);
    console.log(`[reader  CPU ${fast.cpu}] ${count.toLocaleString('en').replace(/,/g, ' ')} Store.get calls worker CPU -> worker CPU: ${us(new Float64Array(out)[0]!)} per round trip (callSync against serveStore; a kernel without the audit ring)`);
  } finally {
    await bench.shutdown();
  }
  s.ran.push('kv');
  return server;
}
