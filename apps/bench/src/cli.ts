import { parseArgs } from 'node:util';

export interface CliOptions {
  quick: boolean;
  strict: boolean;
  filter: string | undefined;
  out: string;
  list: boolean;
  help: boolean;
}

export const USAGE = `Usage: pnpm bench -- [options]     (or, in apps/bench: node dist/main.js [options])

  --quick          short run (a few samples per id), for CI smoke tests
  --filter IDS     run only the ids containing one of these comma-separated substrings
                   (plus the floors their ratios need), e.g. --filter small-call-rt,map-get
  --out FILE       where to write the JSON report (default: <repo>/reports/bench.json);
                   the SVGs go beside it
  --strict         exit 1 when a target is missed or unsupported (default: report only,
                   since the machine is shared and noisy)
  --list           print every id and exit
  --help           print this and exit`;

/** Parses the command line; a bad option is one line in `error`. */
export function parseCli(argv: string[], defaultOut: string): { options: CliOptions } | { error: string } {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        quick: { type: 'boolean', default: false },
        strict: { type: 'boolean', default: false },
        filter: { type: 'string' },
        out: { type: 'string', default: defaultOut },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    // `pnpm bench -- --quick` may hand a lone `--` through: ignore it, refuse anything else.
    const stray = positionals.filter((p) => p !== '--');
    if (stray.length > 0) return { error: `unexpected argument '${stray[0]}' (see --help)` };
    if (values.filter !== undefined && values.filter.trim() === '') return { error: `--filter needs at least one id (see --list)` };
    return { options: { quick: values.quick!, strict: values.strict!, filter: values.filter, out: values.out!, list: values.list!, help: values.help! } };
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n')[0]! : String(e);
    return { error: `${msg.replace(/\. To specify a positional argument.*$/, '')} (see --help)` };
  }
}
