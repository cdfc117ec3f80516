/**
 * Every id the bench knows, in one table each: the baselines (floors and peers, measured once per
 * run), the paths (measured once per arch of {@link ARCHS}), the ratios reported and the targets
 * checked. Adding a path or a target is one entry here.
 */
import type { Arch } from '@veridian/core';
import { awaitFloor, callFloor, mapGet, messagePortRoundTrip, spinRoundTrip, wakeFloor } from './floors.js';
import { slotWrite, spinStream } from './stream-floors.js';
import {
  lockContention,
  mainToWorker,
  mainToWorkerPaced,
  mainToWorkerSync,
  registryLookup,
  smallCallCrossCpu,
  smallCallOneCpu,
  smallCallSyncOneCpu,
  type Outcome,
} from './kernel-benches.js';
import { mapUnmap256, translateHit, translateMiss } from './mmu-benches.js';
import { asyncCrossCpu, asyncSend, messagePortStream, publishFanout } from './async-benches.js';
import { comlinkRoundTrip, piscinaPaced, piscinaRoundTrip } from './peers.js';
import { messagePortStream as messagePortStreamMiB, nativeStream, posixStream } from './posix-benches.js';
import type { Measurement, SamplerOptions } from './sampler.js';
import { LARGE_MODES, LARGE_SIZES, largeTransfer, memcpy } from './large-benches.js';

/** What one op of a `large-<mode>-<size>` path is, per mode. */
const LARGE_WHAT: Record<(typeof LARGE_MODES)[number], string> = {
  move: 'by Move (the frames change owner, nothing copied)',
  share: 'by Share (both map the frames copy-on-write; includes unmapping the mapping the receiver replaces)',
  copy: 'by Copy (fresh frames, every byte copied; includes unmapping, i.e. freeing, the copy the receiver replaces)',
};

export interface BaselineDef {
  id: string;
  what: string;
  /** `floor`: the least a path of its kind can cost; `peer`: what Node users use today. */
  kind: 'floor' | 'peer';
  run: (opts: SamplerOptions) => Measurement | Promise<Measurement>;
}

export interface PathDef {
  id: string;
  what: string;
  /** CPUs (threads) the path runs on: 1 = the main thread only. */
  cpus: number;
  /** The floor it is drawn against in the ratio chart (a baseline id, or a path id of the same arch). */
  floor?: string;
  /** The VeridianOS design's own figure for this operation (a reference column, not a bar). */
  design?: string;
  run: (arch: Arch, opts: SamplerOptions) => Outcome | Promise<Outcome>;
}

/** Which statistic a ratio or target compares: the median (= p50) or the 99th percentile. */
export type Stat = 'p50' | 'p99';

export interface RatioDef {
  path: string;
  floor: string;
  stat: Stat;
  /** The ratio must be at most this (a target); no target: reported only. */
  max?: number;
}

export interface AbsoluteTargetDef {
  path: string;
  stat: Stat;
  /** Nanoseconds. */
  maxNs: number;
}

export const BASELINES: readonly BaselineDef[] = [
  { id: 'await-floor', kind: 'floor', what: 'an awaited async function that copies 64 bytes in and 64 out', run: awaitFloor },
  { id: 'call-floor', kind: 'floor', what: 'the same as a plain function', run: callFloor },
  { id: 'spin-rt-64b', kind: 'floor', what: 'two workers in a spin ping-pong over a SharedArrayBuffer, 64 bytes each way', run: spinRoundTrip },
  { id: 'wake-floor', kind: 'floor', what: 'Atomics.notify → a parked Atomics.wait running again (1 ms idle before each)', run: wakeFloor },
  { id: 'slot-write-64b', kind: 'floor', what: 'a 64-byte message written into a ring slot in a SharedArrayBuffer on one thread (payload set, 4 header words, sequence), per message', run: slotWrite },
  { id: 'spin-stream-64b', kind: 'floor', what: '64-byte messages streamed between two workers through a ring of slots in a SharedArrayBuffer, spinning, per message', run: spinStream },
  { id: 'map-get', kind: 'floor', what: 'Map#get over a map of the registry’s size (256)', run: mapGet },
  { id: 'messageport-rt', kind: 'peer', what: 'MessagePort round trip between two workers', run: messagePortRoundTrip },
  { id: 'piscina-rt', kind: 'peer', what: 'piscina task round trip, main thread → pool worker, 64 B each way', run: piscinaRoundTrip },
  { id: 'comlink-rt', kind: 'peer', what: 'comlink call round trip, main thread → worker, 64 B each way', run: comlinkRoundTrip },
  { id: 'piscina-paced', kind: 'peer', what: 'piscina-rt with 1 ms of idle time before each call', run: piscinaPaced },
  { id: 'messageport-stream-1mib', kind: 'peer', what: 'MessagePort stream between two workers, 1 MiB chunks copied, 8 in flight (ns per MiB)', run: messagePortStreamMiB },
  { id: 'messageport-stream', kind: 'peer', what: 'MessagePort stream of 64-byte messages from one worker to another, per message', run: messagePortStream },
  ...LARGE_SIZES.map((s): BaselineDef => ({ id: `memcpy-${s.id}`, kind: 'peer', what: `Uint8Array#set of ${s.label} between two preallocated arrays (a plain copy of the buffer)`, run: (o) => memcpy(s.bytes, o) })),
];

/** `large-<mode>-<size>`: one transfer of a buffer through IPC on one CPU, per mode and size, drawn against `memcpy-<size>`. */
const LARGE_PATHS: PathDef[] = LARGE_MODES.flatMap((mode) =>
  LARGE_SIZES.map(
    (s): PathDef => ({
      id: `large-${mode}-${s.id}`,
      cpus: 1,
      floor: `memcpy-${s.id}`,
      ...(s.id === '1mib' && mode !== 'copy' ? { design: '3.2 µs' } : {}),
      what: `one transfer of a ${s.label} buffer ${LARGE_WHAT[mode]} on one CPU: a call to a passive server that carries the buffer back the same way, per transfer (round trip / 2); nobody touches the pages`,
      run: (a, o) => largeTransfer(a, o, mode, s.bytes),
    }),
  ),
);

export const PATHS: readonly PathDef[] = [
  { id: 'registry-lookup', cpus: 1, floor: 'map-get', design: '15 ns', what: 'resolve an endpoint id and validate a capability (256 endpoints)', run: registryLookup },
  { id: 'small-call-rt', cpus: 1, floor: 'await-floor', design: '0.8 µs', what: 'await proc.call on one CPU to a passive server (the direct switch)', run: (a, o) => smallCallOneCpu(a, o, true) },
  { id: 'small-call-rt-active', cpus: 1, floor: 'await-floor', what: 'the same to an active server looping on receive/replyReceive', run: (a, o) => smallCallOneCpu(a, o, false) },
  { id: 'small-call-rt-sync', cpus: 1, floor: 'call-floor', what: 'proc.callSync on CPU 0 to a passive server, no promise at all', run: smallCallSyncOneCpu },
  { id: 'small-call-rt-xcpu', cpus: 2, floor: 'spin-rt-64b', what: 'callSync between two worker CPUs, 64 B each way, every reply checked', run: smallCallCrossCpu },
  { id: 'main-to-worker-rt', cpus: 2, floor: 'piscina-rt', what: 'await proc.call from CPU 0 (main thread) to a worker-CPU server, steady stream', run: mainToWorker },
  { id: 'main-to-worker-rt-sync', cpus: 2, floor: 'small-call-rt-xcpu', what: 'the same with a blocking callSync from the main thread', run: mainToWorkerSync },
  { id: 'main-to-worker-paced', cpus: 2, floor: 'piscina-paced', what: 'main-to-worker-rt with 1 ms of idle time before each call', run: mainToWorkerPaced },
  { id: 'lock-inspect-1w', cpus: 2, what: 'proc.inspect (a read-only syscall: on a worker CPU it takes the shared mode, no lock word written) from one client worker', run: (a, o) => lockContention(a, o, 'inspect', 1) },
  { id: 'lock-inspect-2w', cpus: 3, floor: 'lock-inspect-1w', what: 'the same from two client workers at once (per-client time; throughput of both)', run: (a, o) => lockContention(a, o, 'inspect', 2) },
  { id: 'lock-call-1w', cpus: 3, what: 'callSync from one client worker to one worker-CPU server', run: (a, o) => lockContention(a, o, 'call', 1) },
  { id: 'lock-call-2w', cpus: 4, floor: 'lock-call-1w', what: 'the same from two client workers at once against the one server', run: (a, o) => lockContention(a, o, 'call', 2) },
  { id: 'lock-call-2pairs', cpus: 5, floor: 'lock-call-1w', what: 'two client workers at once, each calling a worker server of its own (two endpoints: no common lock)', run: (a, o) => lockContention(a, o, 'call', 2, 2) },
  { id: 'async-send', cpus: 1, design: '420 ns', what: 'sendAsync of a 64-byte message on one CPU, not awaited (only the sends are timed; the ring is emptied every 256), per message', run: (a, o) => asyncSend(a, o, false) },
  { id: 'async-send-batch', cpus: 1, what: 'sendBatch of 32 64-byte messages on one CPU (sends timed as above), per message', run: (a, o) => asyncSend(a, o, true) },
  { id: 'async-xcpu-throughput', cpus: 3, floor: 'messageport-stream', what: '64-byte messages from one worker CPU to another (sendSync → receiveSync), per message', run: (a, o) => asyncCrossCpu(a, o, 0) },
  { id: 'async-xcpu-throughput-batch', cpus: 3, floor: 'messageport-stream', what: 'the same in batches of 32 (sendBatch → receiveBatch), per message', run: (a, o) => asyncCrossCpu(a, o, 32) },
  { id: 'publish-fanout-8', cpus: 1, what: 'publish a 64-byte message to a topic with 8 subscribers, each reading it, per message', run: publishFanout },
  { id: 'mmu-translate-hit', cpus: 1, what: 'address translation served by the TLB', run: translateHit },
  { id: 'mmu-translate-miss', cpus: 1, what: 'address translation walking all levels (miss ratio reported)', run: translateMiss },
  { id: 'mmu-map-unmap-256', cpus: 1, what: 'map 256 pages then unmap them', run: mapUnmap256 },
  { id: 'native-stream-throughput', cpus: 2, floor: 'messageport-stream-1mib', what: 'callSync of 1 MiB large messages between two worker CPUs (ns per MiB)', run: nativeStream },
  { id: 'posix-pipe-throughput', cpus: 3, floor: 'native-stream-throughput', what: 'POSIX pipe between two worker CPUs, 1 MiB writes and reads (ns per MiB)', run: (a, o) => posixStream(a, o, 'pipe') },
  { id: 'posix-mq-throughput', cpus: 3, floor: 'native-stream-throughput', what: 'POSIX message queue between two worker CPUs, 512 KiB messages (ns per MiB)', run: (a, o) => posixStream(a, o, 'mq') },
  ...LARGE_PATHS,
  {
    id: 'large-move-1mib-touch',
    cpus: 1,
    floor: 'large-move-1mib',
    what: 'large-move-1mib, but each receiver reads one byte of each of the 256 pages (256 proc.memory.readInto calls, each installing a lazy page) before it uses the buffer: one Move plus one sweep, per transfer',
    run: (a, o) => largeTransfer(a, o, 'move', 1 << 20, true),
  },
];

/** Every ratio reported in `reports/bench.json`; those with `max` are targets (fast-paths issue). */
export const RATIOS: readonly RatioDef[] = [
  { path: 'registry-lookup', floor: 'map-get', stat: 'p50', max: 0.5 },
  { path: 'small-call-rt', floor: 'await-floor', stat: 'p50', max: 1.5 },
  { path: 'small-call-rt-active', floor: 'await-floor', stat: 'p50' },
  { path: 'small-call-rt-sync', floor: 'call-floor', stat: 'p50', max: 2 },
  { path: 'small-call-rt-xcpu', floor: 'spin-rt-64b', stat: 'p50', max: 1.3 },
  { path: 'small-call-rt-xcpu', floor: 'messageport-rt', stat: 'p50' },
  { path: 'main-to-worker-rt', floor: 'piscina-rt', stat: 'p50' },
  { path: 'main-to-worker-rt', floor: 'comlink-rt', stat: 'p50' },
  { path: 'main-to-worker-rt', floor: 'spin-rt-64b', stat: 'p50' },
  { path: 'main-to-worker-rt-sync', floor: 'small-call-rt-xcpu', stat: 'p50', max: 1.5 },
  { path: 'main-to-worker-paced', floor: 'piscina-paced', stat: 'p50', max: 1 },
  { path: 'main-to-worker-paced', floor: 'piscina-paced', stat: 'p99' },
  { path: 'main-to-worker-paced', floor: 'wake-floor', stat: 'p50' },
  { path: 'lock-inspect-2w', floor: 'lock-inspect-1w', stat: 'p50' },
  { path: 'lock-call-2w', floor: 'lock-call-1w', stat: 'p50' },
  { path: 'lock-call-2pairs', floor: 'lock-call-1w', stat: 'p50' },
  { path: 'native-stream-throughput', floor: 'messageport-stream-1mib', stat: 'p50' },
  { path: 'posix-pipe-throughput', floor: 'native-stream-throughput', stat: 'p50' },
  { path: 'posix-pipe-throughput', floor: 'messageport-stream-1mib', stat: 'p50' },
  { path: 'posix-mq-throughput', floor: 'native-stream-throughput', stat: 'p50' },
  { path: 'posix-mq-throughput', floor: 'messageport-stream-1mib', stat: 'p50' },
  // ≥ 20× a MessagePort stream's throughput: ≤ 1/20 of its time per message.
  { path: 'async-xcpu-throughput', floor: 'messageport-stream', stat: 'p50', max: 0.05 },
  { path: 'async-xcpu-throughput-batch', floor: 'messageport-stream', stat: 'p50', max: 0.05 },
  // How close the async paths are to a ring of slots with no kernel on this machine.
  { path: 'async-xcpu-throughput', floor: 'spin-stream-64b', stat: 'p50' },
  { path: 'async-xcpu-throughput-batch', floor: 'spin-stream-64b', stat: 'p50' },
  { path: 'async-send', floor: 'slot-write-64b', stat: 'p50' },
  { path: 'async-send-batch', floor: 'slot-write-64b', stat: 'p50' },
  // Zero-copy transfers beside a plain copy of the same size; the zero-copy issue's bar: a 1 MiB
  // Move and Share ≥ 20× faster than `memcpy-1mib` (≤ 0.05× its time).
  ...LARGE_PATHS.map((p): RatioDef => ({ path: p.id, floor: p.floor!, stat: 'p50', ...(p.id === 'large-move-1mib' || p.id === 'large-share-1mib' ? { max: 0.05 } : {}) })),
  { path: 'large-move-1mib-touch', floor: 'large-move-1mib', stat: 'p50' },
  { path: 'large-move-1mib-touch', floor: 'memcpy-1mib', stat: 'p50' },
];

/** Targets on a path's own time (not a ratio). */
export const ABSOLUTE_TARGETS: readonly AbsoluteTargetDef[] = [
  { path: 'main-to-worker-rt', stat: 'p50', maxNs: 3000 },
  { path: 'async-send', stat: 'p50', maxNs: 100 },
  { path: 'async-send-batch', stat: 'p50', maxNs: 20 },
  // The VeridianOS figure for a 1 MiB zero-copy transfer.
  { path: 'large-move-1mib', stat: 'p50', maxNs: 3200 },
  { path: 'large-share-1mib', stat: 'p50', maxNs: 3200 },
];

/** The VeridianOS design figures the harness does not measure yet (shown as reference only; the 1 MiB Move / Share figure is now the design column of large-move-1mib and large-share-1mib). */
export const DESIGN_ONLY: ReadonlyArray<{ operation: string; design: string }> = [];

/** `path/floor`, with `@p99` when the 99th percentiles are compared. */
export const ratioId = (r: { path: string; floor: string; stat: Stat }) => `${r.path}/${r.floor}${r.stat === 'p99' ? '@p99' : ''}`;
export const absoluteId = (t: AbsoluteTargetDef) => `${t.path}@${t.stat}`;

export const ALL_IDS: readonly string[] = [...BASELINES.map((b) => b.id), ...PATHS.map((p) => p.id)];

/**
 * What to run for a `--filter`: a comma list of substrings of ids (no filter: everything). Every
 * selected path brings its chart floor and the floors of its targets, so they are computed in the
 * run. `unmatched` lists the terms that match no id.
 */
export function select(filter: string | undefined): { baselines: BaselineDef[]; paths: PathDef[]; unmatched: string[] } {
  if (!filter) return { baselines: [...BASELINES], paths: [...PATHS], unmatched: [] };
  const terms = filter
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  const unmatched = terms.filter((t) => !ALL_IDS.some((id) => id.includes(t)));
  const wanted = new Set(ALL_IDS.filter((id) => terms.some((t) => id.includes(t))));
  // Close over floors: the chart floor of a path and the floors of its targets.
  for (let grew = true; grew; ) {
    grew = false;
    for (const id of [...wanted]) {
      const p = PATHS.find((x) => x.id === id);
      if (!p) continue;
      // Its chart floor, the floors of its targets, and the cheap floors (no peer library) of its other ratios.
      const cheap = (f: string) => BASELINES.some((b) => b.id === f && b.kind === 'floor');
      const floors = [p.floor, ...RATIOS.filter((r) => r.path === id && (r.max !== undefined || cheap(r.floor))).map((r) => r.floor)];
      for (const f of floors) {
        if (f && !wanted.has(f)) {
          wanted.add(f);
          grew = true;
        }
      }
    }
  }
  return { baselines: BASELINES.filter((b) => wanted.has(b.id)), paths: PATHS.filter((p) => wanted.has(p.id)), unmatched };
}
