/**
 * The `vidl` command line: argument parsing, file I/O and output. Kept apart from `cli.ts`
 * (the executable) so tests can run it with their own streams and no process exit.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { resolveArches, type ArchLimits } from './arch.js';
import { compile, generate, type CompileResult } from './compiler.js';
import { diagnosticToJson, formatDiagnostics } from './diagnostics.js';
import { formatLayoutReport, layoutReport, layoutReportToJson } from './layout-report.js';
import { diskImportResolver, readSource } from './load-files.js';
import { shouldUseColor } from './terminal.js';
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
}

const USAGE = `Usage:
  vidl gen FILES... --out DIR [--check] [--watch] [--json] [-I DIR]...
  vidl check FILES... [--watch] [--json] [-I DIR]...
  vidl layout FILE... [--arch NAME|all] [--json] [-I DIR]...

Commands:
  gen      check the files and write one TypeScript module per library into DIR
  check    check the files and report every problem
  layout   print each method's maximum message size, alignment, capabilities and path per arch

Options:
  -o, --out DIR       output directory of gen
      --check         gen: write nothing; exit 3 if files in DIR differ from the generated ones
  -w, --watch         run again whenever an input file changes
      --json          machine-readable output on stdout
  -I, --include DIR   where to look for imported libraries (LIB.vidl); the importing file's directory is searched first
      --arch NAME     layout: an arch (riscv64 = @veridian/arch-riscv64), a package or a module path[#export]; or all = every installed @veridian/arch-* (default)
  -h, --help          show this help
  -v, --version       show the version

Exit codes: 0 ok, 1 errors in the input, 2 usage or I/O error, 3 generated files out of date (--check).
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Runs `vidl` with `args` (without the program name); resolves with the exit code. */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
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
    io.stderr.write(`vidl: ${(error as Error).message}\n\n${USAGE}`);
    return ExitCode.Usage;
  }
  const { values, positionals } = parsed;
  if (values.help) {
    io.stdout.write(USAGE);
    return ExitCode.Ok;
  }
  if (values.version) {
    io.stdout.write(`${version()}\n`);
    return ExitCode.Ok;
  }
  const [command, ...files] = positionals;
  const usage = (message: string) => {
    io.stderr.write(`vidl: ${message}\n\n${USAGE}`);
    return ExitCode.Usage;
  };
  if (command !== 'gen' && command !== 'check' && command !== 'layout') return usage(command === undefined ? 'missing command' : `unknown command '${command}'`);
  if (files.length === 0) return usage(`${command} needs at least one .vidl file`);
  if (command === 'gen' && values.out === undefined) return usage('gen needs --out DIR');
  if (command !== 'gen' && values.out !== undefined) return usage('--out only applies to gen');
  if (command !== 'gen' && values.check) return usage('--check only applies to gen');
  if (values.arch !== undefined && command !== 'layout') return usage('--arch only applies to layout');
  let arches: ArchLimits[] = [];
  try {
    if (command === 'layout') arches = await resolveArches(values.arch ?? 'all', io.cwd);
  } catch (e) {
    return usage((e as Error).message);
  }

  const options: RunOptions = {
    command,
    files: files.map((f) => resolve(io.cwd, f)),
    display: (path: string) => relative(io.cwd, path) || path,
    includes: (values.include ?? []).map((d) => resolve(io.cwd, d)),
    out: values.out === undefined ? undefined : resolve(io.cwd, values.out),
    check: values.check === true,
    json: values.json === true,
    arches,
  };
  const first = runOnce(options, io);
  if (!values.watch) return first.code;
  return watchLoop(options, io, first.result);
}

interface RunOptions {
  command: 'gen' | 'check' | 'layout';
  files: string[];
  display: (path: string) => string;
  includes: string[];
  out: string | undefined;
  check: boolean;
  json: boolean;
  arches: ArchLimits[];
}

function runOnce(options: RunOptions, io: CliIo): { code: number; result: CompileResult | undefined } {
  const color = shouldUseColor(io.stderr, io.env);
  const inputs = [];
  for (const file of options.files) {
    try {
      const source = readSource(file);
      inputs.push({ path: options.display(source.path), contents: source.contents });
    } catch (error) {
      io.stderr.write(`vidl: cannot read ${options.display(file)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`);
      return { code: ExitCode.Usage, result: undefined };
    }
  }
  const resolver = diskImportResolver(options.includes);
  const result = compile(inputs, (library, importingFile) => {
    const found = resolver(library, resolve(io.cwd, importingFile));
    return found && { path: options.display(found.path), contents: found.contents };
  });
  const errors = !result.ok;
  const report: { ok: boolean; diagnostics: unknown[]; files?: unknown[]; layout?: unknown } = {
    ok: !errors,
    diagnostics: result.diagnostics.map(diagnosticToJson),
  };
  if (!options.json && result.diagnostics.length > 0) io.stderr.write(`${formatDiagnostics(result.diagnostics, result.sources, { color })}\n`);
  if (errors) {
    if (options.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return { code: ExitCode.InputErrors, result };
  }
  let code: number = ExitCode.Ok;
  if (options.command === 'gen') {
    const outcome = writeModules(result, options, io);
    report.files = outcome.files;
    code = outcome.code;
  } else if (options.command === 'layout') {
    const layout = layoutReport(result.program, options.arches);
    if (options.json) report.layout = layoutReportToJson(layout);
    else io.stdout.write(`${formatLayoutReport(layout)}\n`);
  }
  if (options.json) io.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (options.command === 'check') io.stderr.write(`vidl: ${options.files.length} file(s) checked, no errors\n`);
  return { code, result };
}

function writeModules(result: CompileResult, options: RunOptions, io: CliIo): { code: number; files: Array<{ path: string; status: string }> } {
  const out = options.out!;
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
    const display = options.display(path);
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
    try {
      mkdirSync(out, { recursive: true });
      writeFileSync(path, module.text);
    } catch (error) {
      io.stderr.write(`vidl: cannot write ${display}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`);
      return { code: ExitCode.Usage, files };
    }
    files.push({ path: display, status: 'written' });
    if (!options.json) io.stderr.write(`vidl: wrote ${display}\n`);
  }
  if (options.check && !stale && !options.json) io.stderr.write(`vidl: ${modules.length} generated file(s) up to date\n`);
  return { code: stale ? ExitCode.OutOfDate : ExitCode.Ok, files };
}

function watchLoop(options: RunOptions, io: CliIo, first: CompileResult | undefined): Promise<number> {
  return new Promise((done) => {
    const controller = new AbortController();
    const stop = () => controller.abort();
    io.signal?.addEventListener('abort', stop, { once: true });
    const onSigint = () => stop();
    process.once('SIGINT', onSigint);
    let last = first;
    const watched = () => [...options.files, ...(last ? [...last.sources.keys()].map((p) => resolve(io.cwd, p)) : [])];
    io.stderr.write('vidl: watching for changes (Ctrl-C to stop)\n');
    watchFiles({
      files: watched,
      signal: controller.signal,
      onChange: () => {
        const again = runOnce(options, io);
        last = again.result ?? last;
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
