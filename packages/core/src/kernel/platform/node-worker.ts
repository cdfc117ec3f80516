import { parentPort } from 'node:worker_threads';
import { runWorkerCpu } from '../worker-main.js';
import type { CpuThreadData } from './platform.js';
import { nodePlatform } from './node.js';

/**
 * Entry of a worker CPU on Node.js: runs the process and posts the kernel's exit report to
 * the thread that started it (which then stops this thread, even if the module left a timer
 * or a handle open). @internal
 */
export async function runNodeWorker(data: CpuThreadData): Promise<void> {
  const report = await runWorkerCpu(data, nodePlatform);
  parentPort?.postMessage({ veridianExit: true, ...report });
}
