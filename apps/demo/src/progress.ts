/**
 * Progress while the demo runs, on a terminal only: one bar (cli-progress) under the scenes'
 * output, which goes above it. When stdout is not a terminal (CI, a pipe, the tests) nothing
 * is drawn and output is plain lines.
 */
import { format } from 'node:util';
import cliProgress from 'cli-progress';

export interface Progress {
  /** One step done (`step`: what runs next, shown beside the bar). */
  tick(step: string): void;
  stop(): void;
}

const QUIET: Progress = { tick() {}, stop() {} };

/** A bar of `total` steps when stdout is a terminal, else a progress that prints nothing. */
export function startProgress(total: number): Progress {
  if (!process.stdout.isTTY) return QUIET;
  const bars = new cliProgress.MultiBar({ format: '  {bar} {value}/{total}  {step}', hideCursor: true, clearOnComplete: true, stream: process.stdout }, cliProgress.Presets.shades_classic);
  const bar = bars.create(total, 0, { step: '' });
  // The scenes print with console.log: their lines go above the bar instead of through it.
  const log = console.log;
  console.log = (...args: unknown[]) => bars.log(`${format(...args)}\n`);
  return {
    tick(step) {
      bar.increment(1, { step });
    },
    stop() {
      bars.stop();
      console.log = log;
    },
  };
}
