import { describe, expect, it } from 'vitest';
import { ApplicationError, createKernel, FrameworkErrorReason, ReplyStatus, Rights, WireReader, type Arch, type CapHandle, type Kernel, type Process } from '@veridian/core';
// The arch backends are not dependencies of codegen; the test reaches them by path, as
// core's own tests reach their minimal test arch.
import { aarch64 } from '@veridian/arch-aarch64';
import { x86_64 } from '@veridian/arch-x86_64';
import { testArch } from '@veridian/core/testing';
import { Access, Failure, type Version } from '../examples/generated/demo.common.ts';
import { FileClient, FileError, Mode, Status, serveFile, type Stat } from '../examples/generated/demo.fs.ts';
import { StoreClient, StoreError, StoreProtocol, serveStore, type StoreServer, type StoreServerHandle } from '../examples/generated/demo.kv.ts';

/** One store's data, shared by every channel that serves it. */
class Data {
  readonly values = new Map<string, { value: bigint; version: Version }>();
  reads = 0n;
  writes = 0n;
  touched: string[] = [];
  epoch = 1;
}

interface World {
  kernel: Kernel;
  servers: Array<{ kill(): unknown }>;
  handles: StoreServerHandle[];
}

/** A Store implementation over `data`, limited to `access`, serving more channels from child processes. */
function storeImpl(world: World, proc: Process, data: Data, access: number): StoreServer {
  /** Serves `endpoint` (a handle in `proc`'s space) from a new process, so `proc` keeps serving its own. */
  const serveElsewhere = (endpoint: CapHandle, childAccess: number) => {
    let grant!: (handle: CapHandle) => void;
    const granted = new Promise<CapHandle>((resolve) => (grant = resolve));
    const child = world.kernel.spawn({ name: 'kv-child' }, async (childProc) => {
      const handle = serveStore(childProc, await granted, storeImpl(world, childProc, data, childAccess));
      world.handles.push(handle);
      await handle.closed;
    });
    world.servers.push(child);
    // The parent spawned the child, so the host gives it authority over it (a process capability).
    world.kernel.processCapability(proc.pid, child.pid);
    grant(proc.grant(endpoint, child.pid, Rights.RECEIVE));
  };
  let handle: StoreServerHandle | undefined;
  const impl: StoreServer & { bind(h: StoreServerHandle): void } = {
    bind(h) {
      handle = h;
    },
    get(key) {
      data.reads++;
      const entry = data.values.get(key);
      if (!entry) throw new StoreError(Failure.NOT_FOUND);
      return { value: entry.value, version: entry.version };
    },
    put(key, value) {
      if (!(access & Access.WRITE)) throw new StoreError(Failure.READ_ONLY);
      data.writes++;
      const previous = data.values.get(key)?.version.counter ?? 0;
      const version = { epoch: data.epoch, counter: previous + 1 };
      data.values.set(key, { value, version });
      handle?.changed(key, value);
      return { version };
    },
    remove(key) {
      if (!(access & Access.WRITE)) throw new StoreError(Failure.READ_ONLY);
      if (!data.values.delete(key)) throw new StoreError(Failure.NOT_FOUND);
    },
    touch(key) {
      data.touched.push(key);
    },
    clone(target) {
      serveElsewhere(target, access);
    },
    open(requested) {
      if (requested & ~access) throw new StoreError(Failure.READ_ONLY);
      const endpoint = proc.createEndpoint();
      serveElsewhere(endpoint, requested);
      const send = proc.derive(endpoint, Rights.SEND | Rights.SHARE);
      return { store: send };
    },
    attach(stores, extra) {
      for (const h of stores) proc.close(h);
      if (extra !== undefined) proc.close(extra);
      return { count: stores.length + (extra === undefined ? 0 : 1) };
    },
    stats() {
      return { stats: { keys: data.values.size, reads: data.reads, writes: data.writes } };
    },
  };
  return impl;
}

function startStore(world: World, name: string, data: Data): void {
  const server = world.kernel.spawn({ name: 'kv' }, async (proc) => {
    const endpoint = proc.createEndpoint({ name });
    const impl = storeImpl(world, proc, data, Access.READ | Access.WRITE) as StoreServer & { bind(h: StoreServerHandle): void };
    const handle = serveStore(proc, endpoint, impl);
    impl.bind(handle);
    world.handles.push(handle);
    await handle.closed;
  });
  world.servers.push(server);
}

async function runClient(kernel: Kernel, body: (proc: Process) => Promise<void>): Promise<void> {
  const exit = await kernel.spawn({ name: 'client' }, body).exited;
  if (exit.reason !== 'returned') throw exit.error instanceof Error ? exit.error : new Error(`client ${exit.reason}: ${String(exit.error)}`);
}

const arches: Array<[string, Arch]> = [
  ['x86_64', x86_64],
  ['aarch64', aarch64],
  ['core test arch', testArch],
];

describe.each(arches)('generated client against generated server through the kernel (%s)', (_name, arch) => {
  const setup = () => {
    const world: World = { kernel: createKernel({ arch, frames: 512, processes: 16, endpoints: 32, capSlots: 64, seed: 7 }), servers: [], handles: [] };
    const data = new Data();
    startStore(world, 'kv', data);
    return { world, data };
  };
  const teardown = async (world: World) => {
    for (const s of world.servers) await s.kill();
    // Every process, endpoint and capability is back in the kernel's pools.
    expect(world.kernel.stats()).toMatchObject({ processes: 0, endpoints: 0, capabilities: 0 });
  };

  it('calls, one-way sends, typed errors and capability passing (clone, open, attach)', async () => {
    const { world, data } = setup();
    await runClient(world.kernel, async (proc) => {
      const store = new StoreClient(proc, proc.connect('kv'));
      expect(await store.put('alpha', 1n)).toEqual({ version: { epoch: 1, counter: 1 } });
      expect(await store.put('alpha', 2n)).toEqual({ version: { epoch: 1, counter: 2 } });
      expect(await store.get('alpha')).toEqual({ value: 2n, version: { epoch: 1, counter: 2 } });

      const missing = await store.get('nope').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(missing).toBeInstanceOf(StoreError);
      expect(missing).toBeInstanceOf(ApplicationError);
      expect((missing as StoreError).value).toBe(Failure.NOT_FOUND);
      expect((missing as Error).message).toContain('demo.kv/Store.get');

      await store.touch('alpha');
      expect(await store.remove('alpha')).toEqual({});
      await expect(store.remove('alpha')).rejects.toMatchObject({ value: Failure.NOT_FOUND });
      expect(data.touched).toEqual(['alpha']);

      // open: the server mints a new channel and sends a capability back.
      const readOnly = await store.open(Access.READ);
      const reader = new StoreClient(proc, readOnly.store);
      await store.put('beta', 42n);
      expect(await reader.get('beta')).toMatchObject({ value: 42n });
      await expect(reader.put('beta', 1n)).rejects.toMatchObject({ value: Failure.READ_ONLY });

      // clone: we pass the receiving end of a fresh endpoint; the server serves it.
      const endpoint = proc.createEndpoint();
      await store.clone(endpoint);
      const cloned = new StoreClient(proc, endpoint);
      expect(await cloned.get('beta')).toMatchObject({ value: 42n });

      // attach: a vector of capabilities and an optional one, all in one message.
      const a = proc.derive(readOnly.store, Rights.SEND | Rights.SHARE);
      const b = proc.derive(readOnly.store, Rights.SEND | Rights.SHARE);
      expect(await store.attach([a, b], endpoint)).toEqual({ count: 3 });
      expect(await store.attach([], undefined)).toEqual({ count: 0 });

      expect(await store.stats()).toEqual({ stats: { keys: 1, reads: 4n, writes: 3n } });
    });
    await teardown(world);
  });

  it('delivers events after calls and through next()', async () => {
    const { world } = setup();
    startStore(world, 'kv2', new Data());
    await runClient(world.kernel, async (proc) => {
      const store = new StoreClient(proc, proc.connect('kv'));
      const seen: string[] = [];
      const unsubscribe = store.onChanged((key, value) => seen.push(`${key}=${value}`));
      await unsubscribe.ready;
      await store.put('k', 1n);
      // The event the put caused is delivered before the put's promise settles.
      expect(seen).toEqual(['k=1']);
      await store.put('k', 2n);
      await store.put('j', 3n);
      expect(seen).toEqual(['k=1', 'k=2', 'j=3']);
      unsubscribe();
      await store.put('k', 4n);
      expect(seen).toEqual(['k=1', 'k=2', 'j=3']);
    });
    // A second client changes the store while the first waits in next().
    const seen: string[] = [];
    let waiting!: () => void;
    const subscribed = new Promise<void>((resolve) => (waiting = resolve));
    const listener = runClient(world.kernel, async (proc) => {
      const store = new StoreClient(proc, proc.connect('kv'));
      const unsubscribe = store.onChanged((key, value) => seen.push(`${key}=${value}`));
      await unsubscribe.ready;
      waiting();
      await unsubscribe.next();
      unsubscribe();
    });
    await subscribed;
    await runClient(world.kernel, async (proc) => {
      await new StoreClient(proc, proc.connect('kv')).put('x', 9n);
    });
    await listener;
    expect(seen).toEqual(['x=9']);
    await teardown(world);
  });

  it('unknown methods and undecodable requests get framework errors, and the server keeps serving', async () => {
    const { world } = setup();
    await runClient(world.kernel, async (proc) => {
      const ch = proc.connect('kv');
      const reason = async (type: number, data: Uint8Array) => {
        const reply = await proc.call(ch, { type, data });
        expect(reply.type & 0xff).toBe(ReplyStatus.FrameworkError);
        const reader = WireReader.fromMessage(reply);
        const value = reader.u32();
        reader.end();
        return value;
      };
      expect(await reason(0x12345678, new Uint8Array(0))).toBe(FrameworkErrorReason.UnknownMethod);
      // A get whose string length says 200 bytes: over the bound of 16.
      expect(await reason(StoreProtocol.methods.get.type, Uint8Array.of(200, 0, 0, 0))).toBe(FrameworkErrorReason.InvalidRequest);
      const store = new StoreClient(proc, ch);
      expect(await store.stats()).toMatchObject({ stats: { keys: 0 } });
    });
    await teardown(world);
  });

  it('a handler that throws something else gives the client an InternalError, and onError sees it', async () => {
    const kernel = createKernel({ arch, frames: 256, processes: 8, endpoints: 8, capSlots: 16, seed: 3 });
    const seen: unknown[] = [];
    const server = kernel.spawn({ name: 'broken' }, async (proc) => {
      const impl = { stats: () => { throw new Error('boom'); } } as unknown as StoreServer;
      await serveStore(proc, proc.createEndpoint({ name: 'broken' }), impl, { onError: (e) => seen.push(e) }).closed;
    });
    await runClient(kernel, async (proc) => {
      const store = new StoreClient(proc, proc.connect('broken'));
      await expect(store.stats()).rejects.toMatchObject({ name: 'FrameworkError', code: 'InvalidState', reason: FrameworkErrorReason.InternalError });
    });
    expect(seen).toMatchObject([{ message: 'boom' }]);
    await server.kill();
  });

  it('runs the issue example (demo.fs), its large messages included', async () => {
    const kernel = createKernel({ arch, frames: 256, processes: 8, endpoints: 8, capSlots: 16, seed: 5 });
    const file = new Uint8Array(8192);
    const log: string[] = [];
    const reported: unknown[] = [];
    const server = kernel.spawn({ name: 'fs' }, async (proc) => {
      const stat: Stat = { size: 32n, mode: Mode.READ, name: 'f', tags: ['t'] };
      let handle: ReturnType<typeof serveFile> | undefined = undefined;
      handle = serveFile(proc, proc.createEndpoint({ name: 'fs' }), {
        read(offset, count) {
          if (offset >= BigInt(file.length)) throw new FileError(Status.NOT_FOUND);
          return { data: file.slice(Number(offset), Number(offset) + count) };
        },
        write(offset, data) {
          file.set(data, Number(offset));
          handle?.changed({ ...stat, parent: { ...stat, name: 'dir', tags: [] } });
          return { written: BigInt(data.length) };
        },
        stat: () => ({ stat }),
        close: () => void log.push('close'),
        clone: () => void log.push('clone'),
        open: () => {
          throw new FileError(Status.DENIED);
        },
        sync: () => void log.push('sync'),
      }, { onError: (e) => reported.push(e) });
      await handle.closed;
    });
    await runClient(kernel, async (proc) => {
      const fs = new FileClient(proc, proc.connect('fs'));
      const changes: Stat[] = [];
      const unsubscribe = fs.onChanged((stat) => changes.push(stat));
      await unsubscribe.ready;
      expect(await fs.write(4n, Uint8Array.of(1, 2, 3))).toEqual({ written: 3n });
      // The changed event (a Stat with a parent) encodes to 65 bytes: one over the register
      // message, so it travels as a large message.
      expect(changes).toMatchObject([{ size: 32n, parent: { name: 'dir' } }]);
      expect(reported).toEqual([]);
      expect(Array.from((await fs.read(3n, 5)).data)).toEqual([0, 1, 2, 3, 0]);
      await expect(fs.read(99_999n, 1)).rejects.toMatchObject({ value: Status.NOT_FOUND });
      await expect(fs.open('/etc')).rejects.toMatchObject({ value: Status.DENIED });
      expect(await fs.stat()).toEqual({ stat: { size: 32n, mode: Mode.READ, name: 'f', tags: ['t'] } });
      expect(await fs.sync()).toEqual({});
      await fs.close();
      // write's request and read's response are on the large path: 5000 bytes each way.
      const big = Uint8Array.from({ length: 5000 }, (_, i) => (i * 13) & 0xff);
      expect(await fs.write(0n, big)).toEqual({ written: 5000n });
      expect((await fs.read(0n, 5000)).data).toEqual(big);
    });
    expect(log).toEqual(['sync', 'close']);
    await server.kill();
  });

  it('a bytes argument that is a view of the caller\'s memory travels by Move: 2 MiB, over the 1 MiB copy limit, no byte staged', async () => {
    const kernel = createKernel({ arch, frames: 2048, processes: 8, endpoints: 8, capSlots: 16, seed: 6 });
    const size = 2 << 20;
    let got: Uint8Array | undefined;
    const server = kernel.spawn({ name: 'fs' }, async (proc) => {
      const handle = serveFile(proc, proc.createEndpoint({ name: 'fs-move' }), {
        read: () => ({ data: new Uint8Array(0) }),
        write(_offset, data) {
          got = data;
          return { written: BigInt(data.length) };
        },
        stat: () => ({ stat: { size: 0n, mode: Mode.READ, name: '', tags: [] } }),
        close: () => {},
        clone: () => {},
        open: () => {
          throw new FileError(Status.DENIED);
        },
        sync: () => {},
      });
      await handle.closed;
    });
    await runClient(kernel, async (proc) => {
      const fs = new FileClient(proc, proc.connect('fs-move'));
      const va = proc.memory.map(size);
      const views = proc.memory.views(va, size, { write: true });
      for (const v of views) for (let i = 0; i < v.length; i += 4096) v[i] = (i >> 12) & 0xff;
      // A fresh kernel hands out frames in order: the memory is one contiguous run, one view.
      expect(views.length).toBe(1);
      expect(await fs.write(0n, views[0]!)).toEqual({ written: BigInt(size) });
      expect(() => proc.memory.read(va, 1)).toThrow(expect.objectContaining({ code: 'AccessFault' }));
      // A plain array over 1 MiB cannot travel as a copied large message.
      await expect(fs.write(0n, new Uint8Array(size))).rejects.toMatchObject({ code: 'MessageTooLarge' });
    });
    expect(got?.length).toBe(size);
    expect([got![0], got![4096], got![4096 * 300]]).toEqual([0, 1, 300 & 0xff]);
    await server.kill();
  });

  it('close() ends the serve loop after the next request', async () => {
    const { world } = setup();
    await runClient(world.kernel, async (proc) => {
      const store = new StoreClient(proc, proc.connect('kv'));
      await store.put('a', 1n);
      world.handles[0]!.close();
      expect(await store.get('a')).toMatchObject({ value: 1n });
      await world.handles[0]!.closed;
    });
    await teardown(world);
  });
});
