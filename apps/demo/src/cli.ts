/** The demo's command line, parsed with node:util parseArgs; a bad option is one line and exit 2. */
import { parseArgs } from 'node:util';

export const ARCH_NAMES = ['x86_64', 'aarch64', 'riscv64'] as const;
export type ArchName = (typeof ARCH_NAMES)[number];

export interface Options {
  arches: ArchName[];
  quick: boolean;
  out: string;
}

export const USAGE = `usage: pnpm start [-- options]
  --arch x86_64|aarch64|riscv64   run on one arch backend (default: all three)
  --quick                         fewer iterations (a smoke run)
  --out DIR                       where the debugfs snapshots, audit log and trace go (default: out)
  --help                          this text`;

/** Parses argv; returns the options, or a one-line error message (never throws). */
export function parseCli(argv: string[]): Options | { help: true } | { error: string } {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: { arch: { type: 'string' }, quick: { type: 'boolean', default: false }, out: { type: 'string', default: 'out' }, help: { type: 'boolean', short: 'h', default: false } },
    }));
  } catch (e) {
    // parseArgs's messages are already one readable sentence ("Unknown option '--x'. …").
    return { error: (e as Error).message.split('\n')[0]! };
  }
  if (values.help) return { help: true };
  const arch = values.arch;
  if (arch !== undefined && !(ARCH_NAMES as readonly string[]).includes(arch)) return { error: `unknown arch '${arch}' (expected one of ${ARCH_NAMES.join(', ')})` };
  if (values.out === '') return { error: '--out needs a directory' };
  return { arches: arch === undefined ? [...ARCH_NAMES] : [arch as ArchName], quick: values.quick, out: values.out };
}
