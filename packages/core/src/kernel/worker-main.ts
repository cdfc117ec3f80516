import type { Arch } from '../contracts/arch.js';
import { MonotonicClock } from '../contracts/clock.js';
import { IpcError } from '../contracts/errors.js';
import { KernelContext } from './context.js';
import type { CpuThreadData, Platform } from './platform/platform.js';
import { Process } from './process.js';
import { H, P } from './records/layout.js';
import { MachineMemory } from './records/machine-memory.js';
import { WorkerCpu } from './sched/worker-cpu.js';
import { Syscalls } from './syscall.js';

/** How a worker CPU's process ended. @internal */
export interface WorkerReport {
  reason: 'returned' | 'crashed' | 'killed';
  error?: string;
}

/** The arch a worker CPU runs: the export `Arch.exportName` of `Arch.moduleUrl`, checked to be CPU 0's backend. */
async function loadArch(data: CpuThreadData): Promise<Arch> {
  const archModule = (await import(data.archUrl)) as Record<string, unknown>;
  const arch = archModule[data.archExport] as Partial<Arch> | undefined;
  if (typeof arch !== 'object' || arch === null || typeof arch.createMmu !== 'function') {
    throw new IpcError('InvalidArgument', `${data.archUrl} has no Arch export named "${data.archExport}" (Arch.moduleUrl / Arch.exportName)`);
  }
  if (arch.name !== data.archName) throw new IpcError('InvalidArgument', `export "${data.archExport}" of ${data.archUrl} is arch "${String(arch.name)}", CPU 0 runs "${data.archName}"`);
  return arch as Arch;
}

/**
 * A worker CPU, host-neutral: attaches to machine memory, loads the arch and the process's
 * module, runs it, and cleans the process up when it returns, throws or is killed. @internal
 */
export async function runWorkerCpu(data: CpuThreadData, platform: Platform): Promise<WorkerReport> {
  const mm = MachineMemory.attach(data.buffer);
  let arch: Arch;
  try {
    arch = await loadArch(data);
  } catch (e) {
    // CPU 0 tears the process down when this thread exits (it never ran).
    return { reason: 'crashed', error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
  const mmu = arch.createMmu(mm.phys, { cpus: mm.i32[H.NCPU]!, sharedState: mm.u32[H.MMU_SHARED]! });
  const k = new KernelContext(mm, arch, mmu, new MonotonicClock(), platform, data.cpu);
  const cpu = new WorkerCpu(k, data.p);
  const proc = new Process(cpu, new Syscalls(k), data.p);
  let reason: WorkerReport['reason'] = 'returned';
  let error: string | undefined;
  try {
    const mod = (await import(data.module)) as { default?: unknown };
    if (typeof mod.default !== 'function') throw new IpcError('InvalidArgument', `${data.module} has no default export function`);
    await (mod.default as (p: Process, a: unknown) => unknown)(proc, data.args);
  } catch (e) {
    reason = Atomics.load(mm.i32, k.procs.word(data.p, P.KILL)) !== 0 ? 'killed' : 'crashed';
    if (reason === 'crashed') error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }
  if (reason === 'returned' && Atomics.load(mm.i32, k.procs.word(data.p, P.KILL)) !== 0) reason = 'killed';
  k.withLock(() => {
    if (k.registry.resolvePid(proc.pid) === data.p) k.processes.destroy(data.p);
  });
  return error === undefined ? { reason } : { reason, error };
}
