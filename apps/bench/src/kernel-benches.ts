import { MessageChannel, Worker } from 'node:worker_threads';
import { createKernel, Rights, type Arch, type Process, type SmallMessage } from '@veridian/core';
import { measureAsync, measureSync, summarize, type Measurement, type SamplerOptions } from './sampler.js';

const worker = (name: string) => new URL(`./workers/${name}.js`, import.meta.url);

/** Runs `body` as a process on the kernel's own CPU and returns what it returns. */
async function inProcess<T>(arch: Arch, body: (proc: Process, kernel: ReturnType<typeof createKernel>) => Promise<T>, setup?: (k: ReturnType<typeof createKernel>) => Promise<void>): Promise<T> {
  const kernel = createKernel({ arch, endpoints: 300, capSlots: 512 });
  if (setup) await setup(kernel);
  let result!: T;
  const h = kernel.spawn({ name: 'bench' }, async (p) => {
    result = await body(p, kernel);
  });
  const exit = await h.exited;
  await kernel.shutdown();
  if (exit.reason !== 'returned') throw exit.error ?? new Error(`bench process ${exit.reason}`);
  return result;
}

/** `registry-lookup`: resolve an endpoint id and validate a capability, over 256 endpoints. */
export function registryLookup(arch: Arch, opts: SamplerOptions): Promise<Measurement> {
  return inProcess(arch, async (p, k) => {
    const handles = Int32Array.from({ length: 256 }, (_, i) => p.createEndpoint({ name: `ep${i}` }));
    const ids = Float64Array.from({ length: 256 }, (_, i) => k.lookupName(`ep${i}`)!);
    let sink = 0;
    const m = measureSync((n) => {
      for (let i = 0; i < n; i++) {
        const j = i & 255;
        if (k.lookupEndpoint(ids[j]!) && p.validate(handles[j]!, Rights.SEND)) sink++;
      }
    }, opts);
    if (sink === 0) throw new Error('lookups failed');
    return m;
  });
}

/** Baseline `map-get`: a `Map` of the same size as the registry. */
export function mapGet(opts: SamplerOptions): Measurement {
  const map = new Map<number, { id: number }>();
  const keys = Float64Array.from({ length: 256 }, (_, i) => (i + 1) * 0x10000 + i);
  for (const key of keys) map.set(key, { id: key });
  let sink = 0;
  const m = measureSync((n) => {
    for (let i = 0; i < n; i++) if (map.get(keys[i & 255]!) !== undefined) sink++;
  }, opts);
  if (sink === 0) throw new Error('map lookups failed');
  return m;
}

/**
 * `small-call-rt`: call + reply on one CPU. With `passive`, the server is a passive server
 * (`serve`): the call switches to its handler directly. Otherwise it is an active server looping
 * on `receive`/`replyReceive`, resumed through the scheduler each time.
 */
export function smallCallOneCpu(arch: Arch, opts: SamplerOptions, passive: boolean): Promise<Measurement> {
  return inProcess(
    arch,
    async (p) => {
      const ch = p.connect('echo');
      const data = new Uint8Array(64);
      const msg = { type: 7, data };
      return measureAsync(async (n) => {
        for (let i = 0; i < n; i++) {
          data[0] = i;
          const r = await p.call(ch, msg);
          if (r.bytes[0] !== (i & 0xff)) throw new Error('corrupt reply');
        }
      }, opts);
    },
    async (k) => {
      k.spawn({ name: 'echo' }, async (p) => {
        const ep = p.createEndpoint({ name: 'echo' });
        const reply: SmallMessage = { type: 0, data: new Uint8Array(0) };
        if (passive) {
          await p.serve(ep, (m) => {
            // Every request carries 64 bytes: echo the buffer itself, allocating nothing.
            reply.type = m.type;
            reply.data = m.bytes;
            return reply;
          });
          return;
        }
        let m = await p.receive(ep);
        for (;;) {
          reply.type = m.type;
          reply.data = m.bytes;
          m = await p.replyReceive(m.sender, reply, ep);
        }
      });
      await k.whenNamed('echo');
    },
  );
}

/** `small-call-rt-xcpu`: call + reply between two worker CPUs (64-byte payload, every reply checked). */
export async function smallCallCrossCpu(arch: Arch, opts: SamplerOptions): Promise<Measurement> {
  const kernel = createKernel({ arch });
  const out = new SharedArrayBuffer(8 * (opts.samples + 1));
  const server = kernel.spawnWorker(worker('echo-server'), { name: 'echo', args: { name: 'echo' } });
  const client = kernel.spawnWorker(worker('caller'), { name: 'caller', args: { name: 'echo', out, warmupMs: opts.warmupMs, samples: opts.samples, sampleMs: opts.sampleMs } });
  const [c, s] = await Promise.all([client.exited, server.exited]);
  if (c.reason !== 'returned' || s.reason !== 'returned') throw new Error(`cross-CPU bench failed: ${String(c.error ?? s.error)}`);
  const values = new Float64Array(out);
  return summarize(Array.from(values.subarray(0, opts.samples)), values[opts.samples]! * opts.samples);
}

/** Baseline `messageport-rt`: a `MessagePort` round trip between two workers. */
export async function messagePortRoundTrip(opts: SamplerOptions): Promise<Measurement> {
  const { port1, port2 } = new MessageChannel();
  const common = { warmupMs: opts.warmupMs, samples: opts.samples, sampleMs: opts.sampleMs };
  const echo = new Worker(worker('message-port-peer'), { workerData: { role: 'echo', port: port1, ...common }, transferList: [port1] });
  const client = new Worker(worker('message-port-peer'), { workerData: { role: 'client', port: port2, ...common }, transferList: [port2] });
  const result = await new Promise<{ perOp: number[]; batch: number }>((resolve, reject) => {
    client.once('message', resolve);
    client.once('error', reject);
  });
  await Promise.all([echo.terminate(), client.terminate()]);
  return summarize(result.perOp, result.batch * result.perOp.length);
}
