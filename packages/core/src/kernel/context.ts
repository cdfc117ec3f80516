import { AsyncBatch } from './ipc/async-batch.js';
import type { Arch } from '../contracts/arch.js';
import type { Clock } from '../contracts/clock.js';
import type { Mmu } from '../contracts/mmu.js';
import { KernelLock } from './sched/kernel-lock.js';
import { FRAME_SIZE } from '../memory/physical-memory.js';
import { IpcMessages } from './ipc/message.js';
import { LargeMessages } from './ipc/large.js';
import { AsyncBuffers } from './ipc/async-buffer.js';
import { AsyncEvents } from './debug/async-events.js';
import { PassiveIpc } from './ipc/passive.js';
import { SyncIpc } from './ipc/sync.js';
import { CallFastPath } from './ipc/fastpath.js';
import { EndpointFastPath } from './ipc/endpoint-fastpath.js';
import { Observer } from './debug/observer.js';
import { Policies } from './policy/policy.js';
import { CapabilitySpace } from './objects/cspace.js';
import { Endpoints } from './objects/endpoint.js';
import { Processes } from './objects/process.js';
import { Registry } from './objects/registry.js';
import { TokenSource } from './objects/token-source.js';
import { WaitQueues } from './objects/wait-queue.js';
import { Rings } from './objects/ring.js';
import { Topics } from './objects/topic.js';
import { AsyncRings } from './ipc/async.js';
import { AsyncHub } from './ipc/async-wait.js';
import { Multicast } from './ipc/multicast.js';
import type { MachineMemory } from './records/machine-memory.js';
import { EndpointTable, ProcessTable, SlotTable } from './records/tables.js';
import type { Platform } from './platform/platform.js';
import { Priority } from './sched/priority.js';
import { Wake, type CpuPort } from './sched/wake.js';
import { Transfers } from './ipc/transfer.js';
import { kernelFaultHandler } from './vm/fault.js';
import { FrameRefs } from './vm/frame-refs.js';
import { ProcessVm } from './vm/process-vm.js';
import { Spaces } from './vm/spaces.js';
import { VaMap } from './vm/va-map.js';
import { Regions } from './objects/region.js';
import { PendingRanges } from './vm/pending.js';
import { RegionMaps } from './vm/region-maps.js';

/**
 * Everything one CPU's kernel needs, over one machine memory: the record accessors, the
 * kernel objects and IPC paths (each in a file of its own), and the big kernel lock. One
 * instance per CPU (thread), all over the same memory. Deliberately thin: logic lives in the
 * objects it wires together.
 */
export class KernelContext {
  readonly mm: MachineMemory;
  readonly i32: Int32Array;
  readonly arch: Arch;
  readonly mmu: Mmu;
  readonly clock: Clock;
  readonly platform: Platform;
  readonly cpu: number;
  readonly procs: ProcessTable;
  readonly eps: EndpointTable;
  readonly slots: SlotTable;
  readonly caps: CapabilitySpace;
  readonly registry: Registry;
  readonly queues: WaitQueues;
  readonly priority: Priority;
  readonly wake: Wake;
  readonly endpoints: Endpoints;
  readonly processes: Processes;
  readonly messages: IpcMessages;
  readonly large: LargeMessages;
  readonly sync: SyncIpc;
  readonly passive: PassiveIpc;
  readonly fastpath: CallFastPath;
  /** Worker CPUs' call and reply-receive under one endpoint's lock (ipc/endpoint-fastpath.ts). */
  readonly endpointPath: EndpointFastPath;
  /** Async channels and topics: ring records (under the lock), their lock-free data paths, and this CPU's promise waiters. */
  readonly rings: Rings;
  readonly topics: Topics;
  readonly async: AsyncRings;
  /** Runs of async messages with one claim of the ring (`sendBatch` / `receiveBatch`). */
  readonly asyncBatch: AsyncBatch;
  readonly asyncBuffers: AsyncBuffers;
  readonly asyncEvents: AsyncEvents;
  readonly multicast: Multicast;
  readonly hub: AsyncHub;
  readonly policies: Policies;
  readonly obs: Observer;
  /** Process memory: frame reference counts, per-process free ranges, this CPU's address-space handles, the memory operations, buffer transfers. */
  readonly refs: FrameRefs;
  readonly va: VaMap;
  readonly spaces: Spaces;
  readonly vm: ProcessVm;
  readonly transfers: Transfers;
  readonly regions: Regions;
  readonly pending: PendingRanges;
  readonly rmaps: RegionMaps;
  port: CpuPort | undefined;
  /** The big kernel lock and the endpoint fast path's shared mode. */
  readonly kernelLock: KernelLock;

  constructor(mm: MachineMemory, arch: Arch, mmu: Mmu, clock: Clock, platform: Platform, cpu: number, seed?: number) {
    this.mm = mm;
    this.i32 = mm.i32;
    this.arch = arch;
    this.mmu = mmu;
    this.clock = clock;
    this.platform = platform;
    this.cpu = cpu;
    this.kernelLock = new KernelLock(mm, cpu);
    this.procs = new ProcessTable(mm);
    this.eps = new EndpointTable(mm);
    this.slots = new SlotTable(mm);
    this.caps = new CapabilitySpace(mm, new TokenSource(seed === undefined ? undefined : seed + cpu * 7919, platform));
    this.registry = new Registry(this);
    this.queues = new WaitQueues(this);
    this.priority = new Priority(this);
    this.wake = new Wake(this);
    this.endpoints = new Endpoints(this);
    this.processes = new Processes(this);
    this.messages = new IpcMessages(this);
    this.large = new LargeMessages(this);
    this.sync = new SyncIpc(this);
    this.passive = new PassiveIpc(this);
    this.fastpath = new CallFastPath(this);
    this.endpointPath = new EndpointFastPath(this);
    this.rings = new Rings(this);
    this.topics = new Topics(this);
    this.async = new AsyncRings(this);
    this.asyncBatch = new AsyncBatch(this.async, this.i32);
    this.asyncBuffers = new AsyncBuffers(this);
    this.asyncEvents = new AsyncEvents(this);
    this.multicast = new Multicast(this.i32, this.async, this.topics.subs);
    this.hub = new AsyncHub(this);
    this.policies = new Policies(this);
    this.obs = new Observer(this);
    this.refs = new FrameRefs(mm);
    this.va = new VaMap(this);
    this.spaces = new Spaces(this);
    this.vm = new ProcessVm(this);
    this.transfers = new Transfers(this);
    this.regions = new Regions(this);
    this.pending = new PendingRanges(this);
    this.rmaps = new RegionMaps(this);
    mmu.onFault(
      kernelFaultHandler(
        mm.phys,
        this.refs,
        (space, va, install) => (this.vm.faulting < 0 ? undefined : (this.pending.install(this.vm.faulting, space, va, install) ?? this.rmaps.install(this.vm.faulting, space, va, install))),
        (va) => this.vm.faulting >= 0 && this.transfers.parkedIn(this.vm.faulting, Math.floor(Number(va) / FRAME_SIZE), 1),
      ),
    );
  }

  /**
   * Takes the big kernel lock (a no-op while only CPU 0 exists; see sched/kernel-lock.ts). A
   * worker CPU first marks itself LOCKING, so the kernel never terminates it while it holds or
   * waits for a ticket; if it is already DOOMED it stops here for good.
   */
  lock(): void {
    this.kernelLock.lock();
  }

  /** Releases the big kernel lock (or leaves the endpoint fast path) if this CPU is inside. */
  unlock(): void {
    const lock = this.kernelLock;
    if (!lock.unlock() && !lock.leaveFast()) return;
    // Wake-ups of this critical section, notified now that the lock is free (sched/wake.ts).
    if (this.wake.owed) this.wake.flush();
    lock.safe();
  }

  /** True while this CPU holds the big kernel lock or is inside an endpoint fast path (wake-ups are then deferred). */
  get locked(): boolean {
    return this.kernelLock.held || this.kernelLock.fast;
  }

  /** Runs `fn` under the lock. */
  withLock<T>(fn: () => T): T {
    this.lock();
    try {
      return fn();
    } finally {
      this.unlock();
    }
  }
}
