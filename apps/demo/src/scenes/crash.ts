/**
 * A crash: a worker-CPU process registers an endpoint, fills 256 KiB and throws. The kernel
 * reports it on its 'error' event (run.ts prints it) and takes back its endpoint, name and frames.
 */
import type { Scene } from '../scene.js';
import { heading, worker } from '../ui.js';

export async function crashScene(s: Scene): Promise<void> {
  const { kernel } = s;
  heading('a crash on a worker CPU');
  // Not kernel.idle(): the kv server still waits in receive. Frames of earlier scenes may still
  // be on their way back, so `before` is an upper bound and the check is "no more than before".
  const before = kernel.stats();
  const h = kernel.spawnWorker(worker('crasher'), { name: 'crasher' });
  const exit = await h.exited;
  const after = kernel.stats();
  const reason = exit.error instanceof Error ? exit.error.message : String(exit.error);
  console.log(`[kernel] crasher on CPU ${h.cpu} ${exit.reason}: "${reason}"; endpoint "doomed" ${kernel.lookupName('doomed') === undefined ? 'gone' : 'STILL REGISTERED'}, frames in use ${before.usedFrames} -> ${after.usedFrames}`);
  if (exit.reason !== 'crashed') s.fail(`the crasher ${exit.reason}`);
  if (kernel.lookupName('doomed') !== undefined || after.usedFrames > before.usedFrames || after.processes > before.processes) s.fail('the crash leaked');
  s.ran.push('crash');
}
