import { mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitCode, runCli } from '../src/run-cli.ts';
import { PACKAGE_ROOT } from './support/compile-files.ts';

interface Captured {
  stdout: string;
  stderr: string;
}

function io(cwd: string, signal?: AbortSignal) {
  const captured: Captured = { stdout: '', stderr: '' };
  return {
    captured,
    io: {
      stdout: { write: (t: string) => (captured.stdout += t) },
      stderr: { write: (t: string) => (captured.stderr += t) },
      cwd,
      env: { NO_COLOR: '1' },
      signal,
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

describe('vidl CLI', () => {
  it('prints help and the version', async () => {
    expect(await vidl('--help')).toMatchObject({ code: 0, stdout: expect.stringContaining('vidl gen FILES... --out DIR') });
    expect((await vidl('--version')).stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });

  it.each([
    [[], 'missing command'],
    [['frob', 'x.vidl'], "unknown command 'frob'"],
    [['check'], 'check needs at least one .vidl file'],
    [['gen', 'examples/demo.fs.vidl'], 'gen needs --out DIR'],
    [['check', '--out', 'x', 'a.vidl'], '--out only applies to gen'],
    [['layout', '--arch', 'mips', 'examples/demo.fs.vidl'], "unknown arch 'mips'"],
    [['check', '--bogus', 'a.vidl'], "Unknown option '--bogus'"],
  ])('usage error %j exits 2', async (args, message) => {
    const r = await vidl(...args);
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toContain(message);
  });

  it('check: exit 0 for good files, 1 with diagnostics for bad ones, 2 for a missing file', async () => {
    expect((await vidl('check', 'examples/demo.fs.vidl')).code).toBe(0);
    writeFileSync(join(dir, 'bad.vidl'), 'library bad;\nstruct S { a: Nope; }\n');
    const bad = await vidl('check', 'bad.vidl');
    expect(bad.code).toBe(ExitCode.InputErrors);
    expect(bad.stderr).toContain("error[VIDL0101]: unknown name 'Nope'\n --> bad.vidl:2:15");
    const missing = await vidl('check', 'nowhere.vidl');
    expect(missing.code).toBe(ExitCode.Usage);
    expect(missing.stderr).toContain('cannot read nowhere.vidl: ENOENT');
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
    expect(JSON.parse(json.stdout).files).toEqual([
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
