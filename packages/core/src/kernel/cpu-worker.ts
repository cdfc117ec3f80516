import { parentPort } from 'node:worker_threads';
import type { Arch } from '../contracts/arch.js';
import { MonotonicClock } from '../contracts/clock.js';
import { IpcError } from '../contracts/errors.js';
import { H, P } from './layout.js';
import { KernelCore } from './kernel-core.js';
import { MachineMemory } from './machine-memory.js';
import { Process } from './process.js';
import { WorkerCpu } from './worker-cpu.js';

/** What the kernel hands a worker CPU. @internal */
export interface WorkerCpuData {
  buffer: SharedArrayBuffer;
  p: number;
  cpu: number;
  module: string;
  archUrl: string;
  archExport: string;
  args: unknown;
}

/**
 * Entry of a worker CPU: attaches to machine memory, loads the arch and the process's module,
 * runs it, and cleans the process up when it returns, throws or is killed. @internal
 */
export async function runWorkerCpu(data: WorkerCpuData): Promise<void> {
  const mm = MachineMemory.attach(data.buffer);
  const arch = (await import(data.archUrl))[data.archExport] as Arch;
  const mmu = arch.createMmu(mm.phys, { cpus: mm.i32[H.NCPU]!, sharedState: mm.u32[H.MMU_SHARED]! });
  const core = new KernelCore(mm, arch, mmu, new MonotonicClock(), data.cpu);
  const cpu = new WorkerCpu(core);
  const proc = new Process(cpu, data.p);
  let reason: 'returned' | 'crashed' | 'killed' = 'returned';
  let error: string | undefined;
  try {
    const mod = (await import(data.module)) as { default?: unknown };
    if (typeof mod.default !== 'function') throw new IpcError('InvalidArgument', `${data.module} has no default export function`);
    await (mod.default as (p: Process, a: unknown) => unknown)(proc, data.args);
  } catch (e) {
    reason = Atomics.load(mm.i32, mm.proc(data.p) + P.KILL) !== 0 ? 'killed' : 'crashed';
    if (reason === 'crashed') error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }
  core.lock();
  try {
    if (core.resolvePid(proc.pid) === data.p) core.destroyProcess(data.p);
  } finally {
    core.unlock();
  }
  parentPort?.postMessage(error === undefined ? { veridianExit: true, reason } : { veridianExit: true, reason, error });
}
