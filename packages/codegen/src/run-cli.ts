/**
 * The `vidl` command line: argument parsing, file I/O and output. Kept apart from `cli.ts`
 * (the executable) so tests can run it with their own streams and no process exit.
 */
import { mkdirSync, readdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveArches, type ArchLimits } from './arch.js';
import { compile, generate, type CompileResult, type SourceInput } from './compiler.js';
import { diagnosticToJson, formatDiagnostics } from './diagnostics.js';
import { formatLayoutReport, layoutReport, layoutReportToJson } from './layout-report.js';
import { diskImportResolver, readSource } from './load-files.js';
import { escapeControls, shouldUseColor } from './terminal.js';
import { watchFiles } from './watch.js';

/** Exit codes of `vidl` (IDL.md lists them too). */
export const ExitCode = {
  /** Success (warnings allowed). */
  Ok: 0,
  /** The input has errors (diagnostics were printed). */
  InputErrors: 1,
  /** Bad command line, or a file could not be read or written. */
  Usage: 2,
  /** `--check`: the generated files on disk differ from what would be generated. */
  OutOfDate: 3,
} as const;

/** Where the CLI writes and what it runs in. */
export interface CliIo {
  readonly stdout: { write(text: string): unknown; isTTY?: boolean };
  readonly stderr: { write(text: string): unknown; isTTY?: boolean };
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  /** Ends `--watch` (the CLI itself stops on SIGINT). */
  readonly signal?: AbortSignal;
  /** Standard input, read when a file is given as `-` (`vidl check -`). */
  readonly stdin?: AsyncIterable<Uint8Array | string>;
}

type Command = 'gen' | 'check' | 'layout';
const COMMANDS: readonly Command[] = ['gen', 'check', 'layout'];

const OPTIONS = `Options:
  -o, --out DIR       output directory of gen (created if missing)
      --check         gen: write nothing; exit 3 if files in DIR differ from the generated ones
  -w, --watch         run again whenever an input file changes
      --json          every outcome as JSON on stdout (diagnostics, files, layout, errors)
  -I, --include DIR   where to look for imported libraries (LIB.vidl); the importing file's directory is searched first
      --arch NAME     layout: an arch (riscv64 = @veridian/arch-riscv64), a package or a module path[#export]; or all = every installed @veridian/arch-* (default)
  -h, --help          show this help (vidl help COMMAND: one command's)
  -v, --version       show the version`;

const INPUTS = `FILES are .vidl files, directories (their .vidl files), or - for standard input (check, layout).`;

const EXIT_CODES = `Exit codes: 0 ok, 1 errors in the input, 2 usage or I/O error, 3 generated files out of date (--check).`;

const USAGE = `Usage:
  vidl gen FILES... --out DIR [--check] [--watch] [--json] [-I DIR]...
  vidl check FILES... [--watch] [--json] [-I DIR]...
  vidl layout FILES... [--arch NAME|all] [--json] [-I DIR]...
  vidl help [COMMAND]

Commands:
  gen      check the files and write one TypeScript module per library into DIR
  check    check the files and report every problem
  layout   print each method's maximum message size, alignment, capabilities and path per arch
  help     show this help, or one command's

${INPUTS}

${OPTIONS}

${EXIT_CODES}
`;

const COMMAND_HELP: Record<Command, string> = {
  gen: `Usage: vidl gen FILES... --out DIR [--check] [--watch] [--json] [-I DIR]...

Checks the files and writes one TypeScript module per library (imported libraries too) into
DIR, creating it if needed. With --check nothing is written: the command exits 3 when a file in
DIR is missing or differs from what would be generated (run it in CI).

FILES are .vidl files or directories (their .vidl files).

Options:
  -o, --out DIR       the output directory (required)
      --check         write nothing; exit 3 if DIR is out of date
  -w, --watch         run again whenever an input file changes
      --json          the outcome as JSON on stdout: { ok, exitCode, diagnostics, files }
  -I, --include DIR   where to look for imported libraries

${EXIT_CODES}
`,
  check: `Usage: vidl check FILES... [--watch] [--json] [-I DIR]...

Checks the files and reports every problem (errors and warnings) with its code, location and
a code frame.

${INPUTS}

Options:
  -w, --watch         run again whenever an input file changes (not with -)
      --json          the outcome as JSON on stdout: { ok, exitCode, diagnostics }
  -I, --include DIR   where to look for imported libraries

${EXIT_CODES}
`,
  layout: `Usage: vidl layout FILES... [--arch NAME|all] [--json] [-I DIR]...

Prints, per method, each message's maximum size, alignment and capability count, and its
path on each arch: fast (registers), large (machine-memory frames) or too-large (its bounds
allow more than the kernel's 1 MiB and 64 capabilities).

${INPUTS}

Options:
      --arch NAME     an arch (riscv64 = @veridian/arch-riscv64), a package or a module path[#export]; or all = every installed @veridian/arch-* (default)
      --json          the outcome as JSON on stdout: { ok, exitCode, diagnostics, layout }
  -I, --include DIR   where to look for imported libraries

${EXIT_CODES}
`,
};

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** A problem that ends the run before or instead of compiling: a usage error or an I/O error. */
class CliFailure extends Error {
  readonly kind: 'usage' | 'io';
  /** `vidl help COMMAND` names this command. */
  readonly command: Command | undefined;

  constructor(kind: 'usage' | 'io', message: string, command?: Command) {
    super(message);
    this.kind = kind;
    this.command = command;
  }
}

/** The `--json` report: the same shape for every outcome. */
interface JsonReport {
  ok: boolean;
  exitCode: number;
  diagnostics: unknown[];
  files?: Array<{ path: string; status: string }>;
  layout?: unknown;
  error?: { kind: 'usage' | 'io'; message: string };
}

const writeJson = (io: CliIo, report: JsonReport) => io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);

/** Reports a usage or I/O failure: one line on stderr, or a JSON report with `--json`. */
function reportFailure(io: CliIo, json: boolean, failure: CliFailure): number {
  const code = ExitCode.Usage;
  if (json) writeJson(io, { ok: false, exitCode: code, diagnostics: [], error: { kind: failure.kind, message: failure.message } });
  else if (failure.kind === 'usage') io.stderr.write(`vidl: ${escapeControls(failure.message)}; run 'vidl ${failure.command ? `help ${failure.command}` : '--help'}' for more\n`);
  else io.stderr.write(`vidl: ${escapeControls(failure.message)}\n`);
  return code;
}

/** parseArgs' wording ("Unknown option '--x'. To specify a positional argument …") as one short clause. */
function describeParseError(error: unknown): string {
  const { code, message } = error as { code?: string; message: string };
  const option = /'([^']+)'/.exec(message)?.[1];
  const long = option?.match(/--[\w-]+/)?.[0] ?? option;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option '${option ?? '?'}'`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return message.includes('does not take an argument') ? `option ${long ?? '?'} takes no value` : `option ${long ?? '?'} needs a value`;
    default:
      return message.replace(/\.$/, '').replace(/^./, (c) => c.toLowerCase());
  }
}

/** Runs `vidl` with `args` (without the program name); resolves with the exit code. */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  const end = args.indexOf('--');
  const json = (end === -1 ? args : args.slice(0, end)).includes('--json');
  try {
    return await run(args, io);
  } catch (error) {
    if (error instanceof CliFailure) return reportFailure(io, json, error);
    throw error;
  }
}

async function run(args: readonly string[], io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      strict: true,
      options: {
        out: { type: 'string', short: 'o' },
        check: { type: 'boolean' },
        watch: { type: 'boolean', short: 'w' },
        json: { type: 'boolean' },
        include: { type: 'string', short: 'I', multiple: true },
        arch: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    const first = args.find((a) => !a.startsWith('-'));
    throw new CliFailure('usage', describeParseError(error), COMMANDS.find((c) => c === first));
  }
  const { values, positionals } = parsed;
  const [command, ...files] = positionals;
  const known = COMMANDS.find((c) => c === command);
  if (command === 'help' || values.help) {
    const topic = command === 'help' ? files[0] : command;
    if (topic === undefined) io.stdout.write(USAGE);
    else {
      const about = COMMANDS.find((c) => c === topic);
      if (!about) throw new CliFailure('usage', `no help for '${topic}' (commands: ${COMMANDS.join(', ')})`);
      io.stdout.write(COMMAND_HELP[about]);
    }
    return ExitCode.Ok;
  }
  if (values.version) {
    io.stdout.write(`${version()}\n`);
    return ExitCode.Ok;
  }
  const usage = (message: string) => new CliFailure('usage', message, known);
  if (command === undefined) throw usage(`missing command (${COMMANDS.join(', ')} or help)`);
  if (!known) throw usage(`unknown command '${command}' (commands: ${COMMANDS.join(', ')}, help)`);
  if (files.length === 0) throw usage(`${known} needs at least one .vidl file`);
  if (known === 'gen' && values.out === undefined) throw usage('gen needs --out DIR');
  if (known !== 'gen' && values.out !== undefined) throw usage('--out only applies to gen');
  if (known !== 'gen' && values.check) throw usage('--check only applies to gen');
  if (values.check && values.watch) throw usage('--check and --watch do not go together');
  const stdinCount = files.filter((f) => f === '-').length;
  if (stdinCount > 0 && known === 'gen') throw usage("gen reads files, not standard input ('-')");
  if (stdinCount > 1) throw usage("standard input ('-') can be given once");
  if (stdinCount > 0 && values.watch) throw usage("--watch cannot watch standard input ('-')");
  if (values.arch !== undefined && known !== 'layout') throw usage('--arch only applies to layout');
  let arches: ArchLimits[] = [];
  if (known === 'layout') {
    try {
      arches = await resolveArches(values.arch ?? 'all', io.cwd);
    } catch (e) {
      throw usage((e as Error).message);
    }
  }

  const options: RunOptions = {
    command: known,
    args: files,
    stdin: stdinCount > 0 ? await readStdin(io) : undefined,
    includes: (values.include ?? []).map((d) => resolve(io.cwd, d)),
    out: values.out,
    check: values.check === true,
    json: values.json === true,
    arches,
  };
  const first = runOnce(options, io);
  if (!values.watch) return first.code;
  // A file that cannot be read yet is still watched: creating or fixing it runs again.
  const initial = first.watched.length > 0 ? first.watched : files.map((f) => resolve(io.cwd, f));
  return watchLoop(options, io, initial, first.directories);
}

interface RunOptions {
  command: Command;
  /** The FILES arguments as given. */
  args: readonly string[];
  /** Standard input's contents when a file is `-`. */
  stdin: Uint8Array | undefined;
  includes: string[];
  /** `--out` as given. */
  out: string | undefined;
  check: boolean;
  json: boolean;
  arches: ArchLimits[];
}

/** The display name of standard input in diagnostics. */
const STDIN_NAME = '<stdin>';

async function readStdin(io: CliIo): Promise<Uint8Array> {
  if (!io.stdin) throw new CliFailure('io', 'cannot read standard input: there is none');
  const chunks: Uint8Array[] = [];
  try {
    for await (const chunk of io.stdin) chunks.push(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk);
  } catch (error) {
    throw new CliFailure('io', `cannot read standard input: ${ioProblem(error)}`);
  }
  return Buffer.concat(chunks);
}

/** An I/O error as the end of a sentence ("cannot read x.vidl: no such file"). */
function ioProblem(error: unknown): string {
  const { code, message } = error as NodeJS.ErrnoException;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EISDIR':
      return 'is a directory — pass .vidl files or use a glob';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a directory';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EMFILE':
    case 'ENFILE':
      return 'too many open files';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    default:
      return message.replace(/^[A-Z]+: /, '');
  }
}

/** How a path is shown: as the user wrote it when absolute, else relative to the cwd. */
function displayPath(io: CliIo, absolute: string, givenAbsolute: boolean): string {
  return givenAbsolute ? absolute : relative(io.cwd, absolute) || absolute;
}

/**
 * The input files of one run, from the FILES arguments: files as they are, a directory as its
 * `.vidl` files (sorted), `-` as standard input; each file once, however it was named.
 */
function collectInputs(options: RunOptions, io: CliIo, directories: string[]): SourceInput[] {
  const inputs: SourceInput[] = [];
  const seen = new Set<string>();
  directories.length = 0;
  const add = (absolute: string, display: string) => {
    let key = absolute;
    try {
      key = realpathSync(absolute);
    } catch {
      // Reported when it is read.
    }
    if (seen.has(key)) return;
    seen.add(key);
    try {
      inputs.push({ path: display, contents: readSource(absolute).contents });
    } catch (error) {
      throw new CliFailure('io', `cannot read ${display}: ${ioProblem(error)}`);
    }
  };
  for (const arg of options.args) {
    if (arg === '-') {
      if (!seen.has(STDIN_NAME)) inputs.push({ path: STDIN_NAME, contents: options.stdin ?? new Uint8Array(0) });
      seen.add(STDIN_NAME);
      continue;
    }
    const absolute = resolve(io.cwd, arg);
    const display = displayPath(io, absolute, isAbsolute(arg));
    let isDirectory = false;
    try {
      isDirectory = statSync(absolute).isDirectory();
    } catch (error) {
      throw new CliFailure('io', `cannot read ${display}: ${ioProblem(error)}`);
    }
    if (!isDirectory) {
      add(absolute, display);
      continue;
    }
    directories.push(absolute);
    let names: string[];
    try {
      names = readdirSync(absolute).filter((n) => n.endsWith('.vidl')).sort();
    } catch (error) {
      throw new CliFailure('io', `cannot read directory ${display}: ${ioProblem(error)}`);
    }
    if (names.length === 0) throw new CliFailure('io', `cannot read ${display}: is a directory with no .vidl files — pass .vidl files or use a glob`);
    for (const name of names) add(join(absolute, name), displayPath(io, join(absolute, name), isAbsolute(arg)));
  }
  return inputs;
}

interface RunOutcome {
  code: number;
  result: CompileResult | undefined;
  /** Absolute paths of the files read (watched by --watch). */
  watched: string[];
  /** Directory arguments, whose new `.vidl` files --watch picks up too. */
  directories: string[];
}

function runOnce(options: RunOptions, io: CliIo): RunOutcome {
  try {
    return compileAndReport(options, io);
  } catch (error) {
    if (!(error instanceof CliFailure)) throw error;
    return { code: reportFailure(io, options.json, error), result: undefined, watched: [], directories: [] };
  }
}

function compileAndReport(options: RunOptions, io: CliIo): RunOutcome {
  const color = shouldUseColor(io.stderr, io.env);
  const directories: string[] = [];
  const inputs = collectInputs(options, io, directories);
  const absoluteOf = (display: string) => (display === STDIN_NAME ? resolve(io.cwd, STDIN_NAME) : resolve(io.cwd, display));
  const resolver = diskImportResolver(options.includes);
  const result = compile(inputs, (library, importingFile) => {
    const found = resolver(library, absoluteOf(importingFile));
    // An imported file is shown the way the file importing it is.
    return found && { path: displayPath(io, found.path, isAbsolute(importingFile)), contents: found.contents };
  });
  const watched = [...result.sources.keys()].filter((p) => p !== STDIN_NAME).map(absoluteOf);
  const report: JsonReport = { ok: result.ok, exitCode: ExitCode.Ok, diagnostics: result.diagnostics.map(diagnosticToJson) };
  if (!options.json && result.diagnostics.length > 0) io.stderr.write(`${formatDiagnostics(result.diagnostics, result.sources, { color })}\n`);
  let code: number = ExitCode.Ok;
  if (!result.ok) code = ExitCode.InputErrors;
  else if (options.command === 'gen') {
    const outcome = writeModules(result, options, io);
    report.files = outcome.files;
    code = outcome.code;
  } else if (options.command === 'layout') {
    const layout = layoutReport(result.program, options.arches);
    if (options.json) report.layout = layoutReportToJson(layout);
    else io.stdout.write(`${formatLayoutReport(layout)}\n`);
  }
  if (options.json) writeJson(io, { ...report, ok: code === ExitCode.Ok, exitCode: code });
  else if (options.command === 'check' && result.ok) {
    const warnings = result.diagnostics.length;
    io.stderr.write(`vidl: ${inputs.length} file(s) checked, no errors${warnings > 0 ? `, ${warnings} warning${warnings === 1 ? '' : 's'}` : ''}\n`);
  }
  return { code, result, watched, directories };
}

/**
 * Makes sure `out` is a directory, creating it and any missing parents one level at a time.
 * (Node's recursive `mkdirSync` never returns on some file systems, e.g. under /proc, where
 * `mkdir` fails with ENOENT although the parent exists.)
 */
function ensureDirectory(out: string, show: (path: string) => string, create: boolean): void {
  const display = show(out);
  const missing: string[] = [];
  for (let dir = out; ; dir = dirname(dir)) {
    let stats;
    try {
      stats = statSync(dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new CliFailure('io', `cannot use --out ${display}: ${ioProblem(error)}`);
      if (dirname(dir) === dir) throw new CliFailure('io', `cannot use --out ${display}: no such file`);
      missing.push(dir);
      continue;
    }
    if (!stats.isDirectory()) {
      throw new CliFailure('io', dir === out ? `--out must be a directory: ${display} is a file` : `--out must be a directory: ${display} is under ${show(dir)}, which is a file`);
    }
    break;
  }
  if (!create) return;
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'the file system does not allow creating it' : ioProblem(error);
      throw new CliFailure('io', `cannot create the output directory ${display}: ${why}`);
    }
  }
}

function writeModules(result: CompileResult, options: RunOptions, io: CliIo): { code: number; files: Array<{ path: string; status: string }> } {
  const given = options.out!;
  const out = resolve(io.cwd, given);
  const show = (path: string) => displayPath(io, path, isAbsolute(given));
  ensureDirectory(out, show, false);
  // The header names sources relative to the output directory, so it does not depend on the cwd.
  const modules = generate(result, { sourceLabel: (file) => relative(out, resolve(io.cwd, file)).split(sep).join('/') });
  const files: Array<{ path: string; status: string }> = [];
  let stale = false;
  for (const module of modules) {
    const path = join(out, module.fileName);
    let existing: string | undefined;
    try {
      existing = readFileSync(path, 'utf8');
    } catch {
      existing = undefined;
    }
    const display = show(path);
    if (existing === module.text) {
      files.push({ path: display, status: 'unchanged' });
      continue;
    }
    if (options.check) {
      stale = true;
      files.push({ path: display, status: existing === undefined ? 'missing' : 'out-of-date' });
      if (!options.json) io.stderr.write(`vidl: ${display} is ${existing === undefined ? 'missing' : 'out of date'}; run vidl gen to update it\n`);
      continue;
    }
    ensureDirectory(out, show, true);
    try {
      writeFileSync(path, module.text);
    } catch (error) {
      throw new CliFailure('io', `cannot write ${display}: ${ioProblem(error)}`);
    }
    files.push({ path: display, status: 'written' });
    if (!options.json) io.stderr.write(`vidl: wrote ${display}\n`);
  }
  if (options.check && !stale && !options.json) io.stderr.write(`vidl: ${modules.length} generated file(s) up to date\n`);
  return { code: stale ? ExitCode.OutOfDate : ExitCode.Ok, files };
}

function watchLoop(options: RunOptions, io: CliIo, initial: string[], initialDirectories: string[]): Promise<number> {
  return new Promise((done) => {
    const controller = new AbortController();
    const stop = () => controller.abort();
    io.signal?.addEventListener('abort', stop, { once: true });
    const onSigint = () => stop();
    process.once('SIGINT', onSigint);
    let watched = initial;
    let directories = initialDirectories;
    io.stderr.write('vidl: watching for changes (Ctrl-C to stop)\n');
    watchFiles({
      files: () => watched,
      directories: () => directories,
      signal: controller.signal,
      onChange: () => {
        const again = runOnce(options, io);
        if (again.watched.length > 0) {
          watched = again.watched;
          directories = again.directories;
        }
        io.stderr.write('vidl: watching for changes (Ctrl-C to stop)\n');
      },
    });
    controller.signal.addEventListener(
      'abort',
      () => {
        process.removeListener('SIGINT', onSigint);
        done(ExitCode.Ok);
      },
      { once: true },
    );
  });
}
