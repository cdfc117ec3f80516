import { IpcError } from '@veridian/core';
import { testKernel } from './kernel.ts';

export type PassiveSyscall = 'none' | 'inspect' | 'close' | 'derive' | 'connect' | 'lookupName' | 'spawn';

/**
 * Defect 1 scenario (run on a thread of its own by `runIsolated`): a worker CPU is attached (an
 * echo server), and a passive CPU-0 server's handler makes `syscall` while serving a CPU-0 call.
 * Returns what the client got and whether everything shut down; never returns if CPU 0 deadlocks.
 */
export default async function passiveSyscall(args: { syscall: PassiveSyscall }): Promise<{ reply: number | string; handler: string; echoExit: string }> {
  const k = testKernel({ cpus: 2 });
  const w = k.spawnWorker(new URL('./echo-worker.ts', import.meta.url), { name: 'echo', args: { name: 'echo' } });
  await k.whenNamed('echo');
  let handler = 'not run';
  k.spawn({ name: 'server' }, (p) => {
    const ep = p.createEndpoint({ name: 's' });
    return p.serve(ep, (m) => {
      try {
        switch (args.syscall) {
          case 'none':
            break;
          case 'inspect':
            p.inspect(ep);
            break;
          case 'close':
            p.close(p.derive(ep, 1));
            break;
          case 'derive':
            p.derive(ep, 1);
            break;
          case 'connect':
            p.connect('echo');
            break;
          case 'lookupName':
            k.lookupName('echo');
            break;
          case 'spawn':
            k.spawn({ name: 'child' }, () => {});
            break;
        }
        handler = 'ok';
      } catch (e) {
        handler = e instanceof IpcError ? e.code : String(e);
      }
      return { type: m.type + 1, data: new Uint8Array() };
    });
  });
  await k.whenNamed('s');
  let reply: number | string = 'none';
  const c = k.spawn({ name: 'client' }, async (p) => {
    try {
      reply = (await p.call(p.connect('s'), { type: 1, data: new Uint8Array() })).type;
    } catch (e) {
      reply = e instanceof IpcError ? e.code : String(e);
    }
    await p.call(p.connect('echo'), { type: 0xffffffff, data: new Uint8Array() });
  });
  await c.exited;
  const echoExit = (await w.exited).reason;
  await k.shutdown();
  return { reply, handler, echoExit };
}
