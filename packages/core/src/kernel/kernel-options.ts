import { MonotonicClock, type Clock } from '../contracts/clock.js';
import { IpcError } from '../contracts/errors.js';
import type { Arch } from '../contracts/arch.js';
import type { Mmu } from '../contracts/mmu.js';
import { checkInt, checkOptions } from './args.js';
import { FRAME_SIZE } from '../memory/physical-memory.js';
import type { EndpointOptions, KernelOptions, SpawnOptions } from './kernel-types.js';
import type { EndpointSpec } from './objects/endpoint.js';
import { MAX_PRIORITY, MIN_PRIORITY } from './objects/process.js';
import { nodePlatform } from './platform/node.js';
import type { Platform } from './platform/platform.js';
import { checkName } from './records/names.js';
import type { MachineMemory } from './records/machine-memory.js';

/** The wait policies by their code in a process record (`P.WAIT`, sched/futex.ts `WaitCode`). */
export const WAIT_POLICIES: readonly NonNullable<SpawnOptions['wait']>[] = ['adaptive', 'spin', 'park'];

/** {@link KernelOptions} checked, with every default filled in (nothing is created yet). */
export interface KernelConfig {
  readonly arch: Arch;
  readonly clock: Clock;
  readonly platform: Platform;
  readonly cpus: number;
  readonly memory: Parameters<typeof MachineMemory.create>[0];
  readonly maxTransfer: number;
  readonly fastPath: boolean;
  readonly seed: number | undefined;
}

/** Checks every kernel option (also from plain JavaScript) before anything is allocated. */
export function kernelConfig(options: KernelOptions): KernelConfig {
  const o = checkOptions<KernelOptions>(options, 'kernel options');
  checkArch(o.arch);
  const cpus = o.cpus === undefined ? 8 : checkInt(o.cpus, 'cpus', 1, 64);
  const audit = o.audit === undefined ? 0 : checkInt(checkOptions<{ records: number }>(o.audit, 'options.audit').records, 'audit.records', 1, 1 << 20);
  const trace = o.trace === undefined ? undefined : checkOptions<{ records: number }>(o.trace, 'options.trace').records;
  const nodes = numaNodes(o.numaNodes, o.frames);
  if (o.fastPath !== undefined && typeof o.fastPath !== 'boolean') throw new IpcError('InvalidArgument', 'options.fastPath must be a boolean');
  return {
    arch: o.arch,
    clock: o.clock ?? new MonotonicClock(),
    platform: o.platform ?? nodePlatform,
    cpus,
    memory: {
      numaNodes: nodes,
      frames: nodes ? nodes.reduce((a, b) => a + b, 1) : (o.frames ?? 4096),
      processes: o.processes ?? 64,
      endpoints: o.endpoints ?? 256,
      capSlots: o.capSlots ?? 256,
      cpus,
      policies: o.policies === undefined ? 16 : checkInt(o.policies, 'policies', 1, 1024),
      auditRecords: audit,
      traceRecords: trace === undefined ? 1024 : checkInt(trace, 'trace.records', 1, 1 << 20),
      rings: o.rings,
      ringSlots: o.ringSlots,
      subscribers: o.subscribers,
    },
    maxTransfer: o.maxTransfer === undefined ? 64 << 20 : checkInt(o.maxTransfer, 'maxTransfer', 1, 1 << 30),
    fastPath: o.fastPath !== false,
    seed: o.seed,
  };
}

/**
 * Checks the parts of an {@link Arch} the kernel relies on before it builds anything, so a
 * backend that breaks the contract (also one written in plain JavaScript) is one clear
 * `InvalidArgument`, not a `TypeError` or a failure at a process's first page.
 */
export function checkArch(arch: unknown): asserts arch is Arch {
  const bad = (what: string): never => {
    throw new IpcError('InvalidArgument', `options.arch ${what} (see the Arch contract in @veridian/core)`);
  };
  if (typeof arch !== 'object' || arch === null) bad('must be an Arch backend object');
  const a = arch as Partial<Record<keyof Arch, unknown>>;
  if (typeof a.createMmu !== 'function') bad('must have createMmu(phys, options)');
  if (typeof a.name !== 'string' || a.name === '') bad('must have a non-empty name');
  const sizes = a.pageSizes;
  if (!Array.isArray(sizes) || sizes.length === 0 || !sizes.every((n, i) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0 && (i === 0 || n > (sizes[i - 1] as number)))) {
    bad('pageSizes must list powers of two, smallest first');
  }
  if ((sizes as number[])[0] !== FRAME_SIZE) bad(`pageSizes must start with ${FRAME_SIZE}: the kernel's frame size, in which it maps every page`);
  const as = a.addressSpace as Partial<Record<string, unknown>> | undefined;
  if (typeof as !== 'object' || as === null) bad('must have an addressSpace layout { vaBits, userTop, tableAddressMask }');
  const space = as as Partial<Record<string, unknown>>;
  if (!Number.isInteger(space.vaBits) || (space.vaBits as number) < 13 || (space.vaBits as number) > 64) bad('addressSpace.vaBits must be an integer in [13, 64]');
  if (typeof space.userTop !== 'bigint' || space.userTop <= 0n) bad('addressSpace.userTop must be a positive bigint');
  if (typeof space.tableAddressMask !== 'bigint') bad('addressSpace.tableAddressMask must be a bigint');
  const fp = a.fastPath as Partial<Record<string, unknown>> | undefined;
  if (typeof fp !== 'object' || fp === null || typeof fp.encode !== 'function' || typeof fp.decode !== 'function' || typeof fp.layout !== 'object' || fp.layout === null) {
    bad('must have a fastPath { layout, encode, decode }');
  }
}

/** One address space (ASID) per live process, held for its whole life: no more process records than the MMU has. */
export function checkSpaces(mmu: Mmu, processes: number, arch: string): void {
  const spaces = mmu.maxAddressSpaces;
  if (spaces !== undefined && processes > spaces) throw new IpcError('InvalidArgument', `processes (${processes}) must not exceed the ${spaces} address spaces the ${arch} MMU holds at once`);
}

/** A worker CPU loads the arch again: it needs the module and the export to load it from. */
export function checkWorkerArch(arch: Arch): void {
  if (typeof arch.moduleUrl !== 'string' || typeof arch.exportName !== 'string' || arch.exportName === '') {
    throw new IpcError('InvalidArgument', `arch ${arch.name} cannot run on worker CPUs: it needs moduleUrl and exportName (the module and export a worker loads it from)`);
  }
}

/** Frame counts of `options.numaNodes` (checked), or undefined without NUMA. */
function numaNodes(nodes: unknown, frames: number | undefined): number[] | undefined {
  if (nodes === undefined) return undefined;
  if (!Array.isArray(nodes) || nodes.length < 1 || nodes.length > 8) throw new IpcError('InvalidArgument', 'numaNodes must list 1 to 8 nodes { frames }');
  const sizes = nodes.map((n: unknown, i) => checkInt(checkOptions<{ frames: number }>(n, `numaNodes[${i}]`).frames, `numaNodes[${i}].frames`, 1, 1 << 20));
  const total = sizes.reduce((a, b) => a + b, 1);
  if (frames !== undefined && frames !== total) throw new IpcError('InvalidArgument', `frames (${frames}) must be the nodes' frames + 1 (${total}) when numaNodes is given`);
  return sizes;
}

/** {@link SpawnOptions} checked: the name, the priority (default 10) and the wait policy's code. */
export function spawnConfig(options: SpawnOptions): { name: string; priority: number; wait: number } {
  const o = checkOptions<SpawnOptions>(options, 'spawn options');
  if (options === undefined) throw new IpcError('InvalidArgument', 'spawn options { name, priority? } are required');
  const wait = o.wait === undefined ? 0 : WAIT_POLICIES.indexOf(o.wait);
  if (wait < 0) throw new IpcError('InvalidArgument', `wait must be one of ${WAIT_POLICIES.map((w) => `'${w}'`).join(', ')}`);
  return { name: checkName(o.name, 'process name'), priority: o.priority === undefined ? 10 : checkInt(o.priority, 'priority', MIN_PRIORITY, MAX_PRIORITY), wait };
}

/** {@link EndpointOptions} checked, with defaults: what `objects/endpoint.ts` creates. */
export function endpointConfig(options: EndpointOptions | undefined): EndpointSpec {
  const o = checkOptions<EndpointOptions>(options);
  const spec = {
    name: o.name === undefined ? undefined : checkName(o.name, 'endpoint name'),
    capacity: o.capacity === undefined ? 64 : checkInt(o.capacity, 'capacity', 1, 0xffff),
    timeoutNs: o.timeout === undefined ? 0 : checkInt(o.timeout, 'timeout', 0, Number.MAX_SAFE_INTEGER),
    registerOnly: o.registerOnly === undefined ? false : o.registerOnly === true,
    maxTransfer: o.maxTransfer === undefined ? 0 : checkInt(o.maxTransfer, 'maxTransfer', 1, 1 << 30),
  };
  if (o.registerOnly !== undefined && typeof o.registerOnly !== 'boolean') throw new IpcError('InvalidArgument', 'registerOnly must be a boolean');
  return spec;
}
