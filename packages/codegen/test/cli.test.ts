import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { Readable } from 'node:stream';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode, runCli } from '../src/run-cli.ts';
import { PACKAGE_ROOT } from './support/compile-files.ts';

interface Captured {
  stdout: string;
  stderr: string;
}

function io(cwd: string, signal?: AbortSignal, extra: { env?: NodeJS.ProcessEnv; stdoutTTY?: boolean; stderrTTY?: boolean; stdin?: string } = {}) {
  const captured: Captured = { stdout: '', stderr: '' };
  return {
    captured,
    io: {
      stdout: { write: (t: string) => (captured.stdout += t), isTTY: extra.stdoutTTY },
      stderr: { write: (t: string) => (captured.stderr += t), isTTY: extra.stderrTTY },
      cwd,
      env: extra.env ?? { NO_COLOR: '1' },
      signal,
      stdin: extra.stdin === undefined ? undefined : Readable.from([new TextEncoder().encode(extra.stdin)]),
    },
  };
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vidl-cli-'));
  cpSync(join(PACKAGE_ROOT, 'examples'), join(dir, 'examples'), { recursive: true, filter: (src) => !src.includes('generated') });
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function vidl(...args: string[]) {
  const { captured, io: cliIo } = io(dir);
  const code = await runCli(args, cliIo);
  return { code, ...captured };
}

async function vidlWith(extra: Parameters<typeof io>[2], ...args: string[]) {
  const { captured, io: cliIo } = io(dir, undefined, extra);
  const code = await runCli(args, cliIo);
  return { code, ...captured };
}

describe('vidl CLI', () => {
  it('prints help and the version', async () => {
    const help = await vidl('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('vidl gen FILES... --out DIR');
    expect((await vidl('--version')).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it('vidl help [command] and COMMAND --help show one command’s help', async () => {
    const help = await vidl('help');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('vidl help [COMMAND]');
    const gen = await vidl('help', 'gen');
    expect(gen.code).toBe(0);
    expect(gen.stdout).toMatch(/^Usage: vidl gen FILES\.\.\. --out DIR/);
    expect(gen.stdout).not.toContain('vidl layout');
    expect((await vidl('layout', '--help')).stdout).toMatch(/^Usage: vidl layout/);
    expect((await vidl('check', '-h')).stdout).toMatch(/^Usage: vidl check/);
    const unknown = await vidl('help', 'frob');
    expect(unknown.code).toBe(ExitCode.Usage);
    expect(unknown.stderr).toBe("vidl: no help for 'frob' (commands: gen, check, layout); run 'vidl --help' for more\n");
  });

  it.each([
    [[], 'missing command (gen, check, layout or help)', '--help'],
    [['frob', 'x.vidl'], "unknown command 'frob' (commands: gen, check, layout, help)", '--help'],
    [['check'], 'check needs at least one .vidl file', 'help check'],
    [['gen', 'examples/demo.fs.vidl'], 'gen needs --out DIR', 'help gen'],
    [['check', '--out', 'x', 'a.vidl'], '--out only applies to gen', 'help check'],
    [['layout', '--arch', 'mips', 'examples/demo.fs.vidl'], "unknown arch 'mips': no package @veridian/arch-mips or mips is installed and it is no module path", 'help layout'],
    [['check', '--bogus', 'a.vidl'], "unknown option '--bogus'", 'help check'],
    [['gen', 'a.vidl', '--out'], 'option --out needs a value', 'help gen'],
    [['check', '--json=yes', 'a.vidl'], 'option --json takes no value', 'help check'],
    [['gen', '-', '--out', 'o'], "gen reads files, not standard input ('-')", 'help gen'],
    [['check', '--watch', '-'], "--watch cannot watch standard input ('-')", 'help check'],
    [['gen', '--check', '--watch', 'a.vidl', '--out', 'o'], '--check and --watch do not go together', 'help gen'],
  ])('usage error %j: one line naming the problem, exit 2', async (args, message, help) => {
    const r = await vidl(...args);
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toBe(`vidl: ${message}; run 'vidl ${help}' for more\n`);
    expect(r.stdout).toBe('');
  });

  it('check: exit 0 for good files, 1 with diagnostics for bad ones, 2 for a missing file', async () => {
    expect((await vidl('check', 'examples/demo.fs.vidl')).code).toBe(0);
    writeFileSync(join(dir, 'bad.vidl'), 'library bad;\nstruct S { a: Nope; }\n');
    const bad = await vidl('check', 'bad.vidl');
    expect(bad.code).toBe(ExitCode.InputErrors);
    expect(bad.stderr).toContain("error[VIDL0101]: unknown name 'Nope' in library bad\n --> bad.vidl:2:15");
    const missing = await vidl('check', 'nowhere.vidl');
    expect(missing.code).toBe(ExitCode.Usage);
    expect(missing.stderr).toBe('vidl: cannot read nowhere.vidl: no such file\n');
  });

  it('I/O errors are sentences; a directory of .vidl files is accepted, an empty one explained', async () => {
    mkdirSync(join(dir, 'ux'));
    expect(await vidl('check', 'ux')).toMatchObject({ code: 2, stderr: 'vidl: cannot read ux: is a directory with no .vidl files — pass .vidl files or use a glob\n' });
    const all = await vidl('check', 'examples');
    expect(all).toMatchObject({ code: 0, stderr: 'vidl: 4 file(s) checked, no errors\n' });
    writeFileSync(join(dir, 'ux', 'bad.vidl'), 'library ux;\nstruct S { a: Nope; }\n');
    expect((await vidl('check', 'ux')).stderr).toContain(' --> ux/bad.vidl:2:15');
    const nested = await vidl('gen', 'examples/demo.kv.vidl', '--out', 'deep/er/out');
    expect(nested.code).toBe(0);
    expect(existsSync(join(dir, 'deep/er/out/demo.kv.ts'))).toBe(true);
    writeFileSync(join(dir, 'afile'), 'not a directory');
    const outFile = await vidl('gen', 'examples/demo.kv.vidl', '--out', 'afile');
    expect(outFile).toMatchObject({ code: 2, stderr: 'vidl: --out must be a directory: afile is a file\n' });
    expect((await vidl('gen', 'examples/demo.kv.vidl', '--out', 'afile/sub')).stderr).toBe('vidl: --out must be a directory: afile/sub is under afile, which is a file\n');
  });

  it('gen --out under /proc fails at once with a clear message (Node’s recursive mkdir would spin)', () => {
    // In a child process with a deadline: a regression would hang the test runner otherwise.
    const script = `
      import { runCli } from ${JSON.stringify(join(PACKAGE_ROOT, 'src/run-cli.ts'))};
      let err = '';
      const started = performance.now();
      const code = await runCli(['gen', 'examples/demo.kv.vidl', '--out', '/proc/forbidden'], { stdout: { write() {} }, stderr: { write: (t) => (err += t) }, cwd: ${JSON.stringify(dir)}, env: {} });
      console.log(JSON.stringify({ code, err, ms: performance.now() - started }));
    `;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: PACKAGE_ROOT, encoding: 'utf8', timeout: 15_000 });
    expect(child.error).toBeUndefined();
    const outcome = JSON.parse(child.stdout) as { code: number; err: string; ms: number };
    expect(outcome.code).toBe(ExitCode.Usage);
    expect(outcome.err).toBe('vidl: cannot create the output directory /proc/forbidden: the file system does not allow creating it\n');
    expect(outcome.ms).toBeLessThan(1000);
  });

  it('check - reads standard input', async () => {
    const good = await vidlWith({ env: { NO_COLOR: '1' }, stdin: 'library s;\nstruct S { a: u8; }\n' }, 'check', '-');
    expect(good).toMatchObject({ code: 0, stderr: 'vidl: 1 file(s) checked, no errors\n' });
    const bad = await vidlWith({ env: { NO_COLOR: '1' }, stdin: 'library s;\nstruct S { a: Nope; }\n' }, 'check', '-');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(' --> <stdin>:2:15');
  });

  it('escapes control characters from the input: an ESC or BEL in a comment reaches the terminal as text', async () => {
    writeFileSync(join(dir, 'esc.vidl'), 'library esc;\nstruct S { a: Nope; } // \u001b]0;owned\u0007\u001b[2J\n');
    const r = await vidlWith({ env: { FORCE_COLOR: '0' } }, 'check', 'esc.vidl');
    expect(r.code).toBe(1);
    expect(r.stderr).not.toContain('\u001b');
    expect(r.stderr).not.toContain('\u0007');
    expect(r.stderr).toContain('2 | struct S { a: Nope; } // \\x1b]0;owned\\x07\\x1b[2J');
  });

  it('decides colour per stream: stderr on a terminal is coloured even when stdout is not', async () => {
    writeFileSync(join(dir, 'bad.vidl'), 'library bad;\nstruct S { a: Nope; }\n');
    expect((await vidlWith({ env: {}, stderrTTY: true, stdoutTTY: false }, 'check', 'bad.vidl')).stderr).toContain('\u001b[31m');
    expect((await vidlWith({ env: {}, stderrTTY: false, stdoutTTY: true }, 'check', 'bad.vidl')).stderr).not.toContain('\u001b[');
    expect((await vidlWith({ env: { NO_COLOR: '1' }, stderrTTY: true }, 'check', 'bad.vidl')).stderr).not.toContain('\u001b[');
    expect((await vidlWith({ env: { FORCE_COLOR: '1' }, stderrTTY: false }, 'check', 'bad.vidl')).stderr).toContain('\u001b[31m');
  });

  it('shows absolute input paths as given, and checks the same file once however it is named', async () => {
    writeFileSync(join(dir, 'bad.vidl'), 'library bad;\nstruct S { a: Nope; }\n');
    const absolute = join(dir, 'bad.vidl');
    const r = await vidl('check', absolute);
    expect(r.stderr).toContain(` --> ${absolute}:2:15`);
    const twice = await vidl('check', 'bad.vidl', './bad.vidl', absolute);
    expect(twice.stderr.match(/VIDL0101/g)).toHaveLength(1);
    expect(twice.stderr).toContain('1 error, 0 warnings');
    expect((await vidl('check', 'examples/demo.fs.vidl', './examples/demo.fs.vidl', 'examples')).stderr).toBe('vidl: 4 file(s) checked, no errors\n');
  });

  it('check says when a message can exceed what the kernel carries (warning VIDL0406, exit 0)', async () => {
    writeFileSync(join(dir, 'big.vidl'), 'library big;\nprotocol P {\n  get() -> (d: bytes<4194304>);\n}\n');
    const r = await vidl('check', 'big.vidl');
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("warning[VIDL0406]: the reply of P.get can reach 4194308 bytes (4.0 MiB), over the kernel's limit of 1 MiB");
    expect(r.stderr).toContain('vidl: 1 file(s) checked, no errors, 1 warning\n');
    expect((await vidl('layout', 'big.vidl')).stdout).toMatch(/reply +4194308 +4 +0 +too-large +too-large/);
  });

  it('with --json every outcome is one JSON document on stdout whose ok agrees with the exit code', async () => {
    writeFileSync(join(dir, 'bad.vidl'), 'library bad;\nstruct S { a: Nope; }\n');
    writeFileSync(join(dir, 'afile'), '');
    mkdirSync(join(dir, 'empty'));
    expect((await vidl('gen', 'examples/demo.kv.vidl', '--out', 'out')).code).toBe(0);
    writeFileSync(join(dir, 'out/demo.kv.ts'), '// edited\n');
    const runs: Array<[string[], number]> = [
      [['check', '--json', 'examples/demo.fs.vidl'], 0],
      [['check', '--json', 'bad.vidl'], 1],
      [['check', '--json', 'nowhere.vidl'], 2],
      [['check', '--json', 'empty'], 2],
      [['check', '--json', '--bogus', 'x.vidl'], 2],
      [['frob', '--json'], 2],
      [['--json'], 2],
      [['layout', '--json', 'examples/demo.kv.vidl'], 0],
      [['layout', '--json', '--arch', 'mips', 'examples/demo.kv.vidl'], 2],
      [['gen', '--json', 'examples/demo.kv.vidl', '--out', 'afile'], 2],
      [['gen', '--json', '--check', 'examples/demo.kv.vidl', '--out', 'out'], 3],
      [['gen', '--json', 'examples/demo.kv.vidl', '--out', 'out'], 0],
      [['gen', '--json', '--check', 'examples/demo.kv.vidl', '--out', 'out'], 0],
      [['gen', '--json', 'bad.vidl', '--out', 'out2'], 1],
    ];
    for (const [args, code] of runs) {
      const r = await vidl(...args);
      expect(r.code, args.join(' ')).toBe(code);
      expect(r.stderr, args.join(' ')).toBe('');
      const report = JSON.parse(r.stdout) as { ok: boolean; exitCode: number; diagnostics: unknown[]; error?: { kind: string; message: string } };
      expect(report.ok, args.join(' ')).toBe(code === 0);
      expect(report.exitCode).toBe(code);
      expect(Array.isArray(report.diagnostics)).toBe(true);
      if (code === 2) {
        expect(['usage', 'io']).toContain(report.error?.kind);
        expect(report.error?.message).toMatch(/\w/);
      }
    }
    expect((JSON.parse((await vidl('check', '--json', 'nowhere.vidl')).stdout) as { error: unknown }).error).toEqual({ kind: 'io', message: 'cannot read nowhere.vidl: no such file' });
  });

  it('check --json reports diagnostics as JSON on stdout', async () => {
    writeFileSync(join(dir, 'bad.vidl'), 'library bad;\nstruct S { a: Nope; }\n');
    const r = await vidl('check', '--json', 'bad.vidl');
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as { ok: boolean; diagnostics: Array<{ code: string; line: number; col: number }> };
    expect(report.ok).toBe(false);
    expect(report.diagnostics).toMatchObject([{ code: 'VIDL0101', file: 'bad.vidl', line: 2, col: 15 }]);
    expect(r.stderr).toBe('');
  });

  it('gen writes one module per library (imports found next to the importing file), and --check detects drift', async () => {
    const gen = await vidl('gen', 'examples/demo.kv.vidl', '--out', 'out');
    expect(gen.code).toBe(0);
    expect(existsSync(join(dir, 'out/demo.kv.ts'))).toBe(true);
    expect(existsSync(join(dir, 'out/demo.common.ts'))).toBe(true);
    expect(readFileSync(join(dir, 'out/demo.kv.ts'), 'utf8')).toContain('// Source: ../examples/demo.kv.vidl (library demo.kv).');

    expect((await vidl('gen', '--check', 'examples/demo.kv.vidl', '--out', 'out')).code).toBe(ExitCode.Ok);
    writeFileSync(join(dir, 'out/demo.kv.ts'), '// edited by hand\n');
    const drift = await vidl('gen', '--check', 'examples/demo.kv.vidl', '--out', 'out');
    expect(drift.code).toBe(ExitCode.OutOfDate);
    expect(drift.stderr).toContain('out/demo.kv.ts is out of date');
    expect(readFileSync(join(dir, 'out/demo.kv.ts'), 'utf8')).toBe('// edited by hand\n');
    const json = await vidl('gen', '--check', '--json', 'examples/demo.kv.vidl', '--out', 'out');
    expect((JSON.parse(json.stdout) as { files: unknown }).files).toEqual([
      { path: 'out/demo.common.ts', status: 'unchanged' },
      { path: 'out/demo.kv.ts', status: 'out-of-date' },
    ]);
  });

  it('gen --check agrees with the committed examples/generated (the CI drift check)', async () => {
    cpSync(join(PACKAGE_ROOT, 'examples/generated'), join(dir, 'examples/generated'), { recursive: true });
    const files = ['demo.common', 'demo.fs', 'demo.kv', 'demo.shapes'].map((l) => `examples/${l}.vidl`);
    const r = await vidl('gen', '--check', ...files, '--out', 'examples/generated');
    expect(r.stderr).toContain('4 generated file(s) up to date');
    expect(r.code).toBe(0);
  });

  it('layout prints sizes, alignment, capabilities and the path per arch, or JSON', async () => {
    const text = await vidl('layout', 'examples/demo.kv.vidl');
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/Store\.clone +one-way +0x[0-9a-f]{8} +request +4 +4 +1 +fast +fast/);
    const one = await vidl('layout', '--arch', 'aarch64', 'examples/demo.fs.vidl');
    expect(one.stdout).toContain('aarch64');
    expect(one.stdout).not.toContain('x86_64');
    const json = JSON.parse((await vidl('layout', '--json', 'examples/demo.fs.vidl')).stdout) as {
      layout: { libraries: Array<{ methods: Array<{ method: string; request: { maxSize: number | null }; reply: { maxSize: number | null; paths: Record<string, string> } | null }> }> };
    };
    const read = json.layout.libraries[0]!.methods.find((m) => m.method === 'read')!;
    expect(read.request.maxSize).toBe(12);
    expect(read.reply).toMatchObject({ maxSize: 8196, paths: { x86_64: 'large', aarch64: 'large' } });
    expect(json.layout.libraries[0]!.methods.find((m) => m.method === 'stat')!.reply!.maxSize).toBeNull();
  });

  it('--watch on a directory picks up a .vidl file added to it', async () => {
    mkdirSync(join(dir, 'lib'));
    writeFileSync(join(dir, 'lib', 'a.vidl'), 'library a;\nstruct S { a: u8; }\n');
    const controller = new AbortController();
    const { captured, io: cliIo } = io(dir, controller.signal);
    const done = runCli(['check', '--watch', 'lib'], cliIo);
    const waitFor = async (text: string) => {
      while (!captured.stderr.includes(text)) await new Promise((r) => setTimeout(r, 20));
    };
    await waitFor('watching for changes');
    writeFileSync(join(dir, 'lib', 'b.vidl'), 'library b;\nstruct T { b: Nope; }\n');
    await waitFor(' --> lib/b.vidl:2:15');
    controller.abort();
    expect(await done).toBe(0);
  });

  it('--watch runs again when an input changes, until stopped', async () => {
    writeFileSync(join(dir, 'w.vidl'), 'library w;\nstruct S { a: u8; }\n');
    const controller = new AbortController();
    const { captured, io: cliIo } = io(dir, controller.signal);
    const done = runCli(['check', '--watch', 'w.vidl'], cliIo);
    const waitFor = async (text: string) => {
      while (!captured.stderr.includes(text)) await new Promise((r) => setTimeout(r, 20));
    };
    await waitFor('watching for changes');
    writeFileSync(join(dir, 'w.vidl'), 'library w;\nstruct S { a: Nope; }\n');
    await waitFor("unknown name 'Nope'");
    writeFileSync(join(dir, 'w.vidl'), 'library w;\nstruct S { a: u16; }\n');
    while ((captured.stderr.match(/no errors/g) ?? []).length < 2) await new Promise((r) => setTimeout(r, 20));
    controller.abort();
    expect(await done).toBe(0);
  });
});
