/**
 * The published shape: pack every public package, install the tarballs with npm into a fresh
 * project outside the workspace, and import each entry point from plain Node ESM and from a
 * TypeScript file checked by tsc.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const PACKAGES: Record<string, string[]> = {
  '@veridian/core': ['createKernel', 'IpcError', 'Rights', 'PhysicalMemory', 'ManualClock'],
  '@veridian/arch-x86_64': ['x86_64'],
  '@veridian/arch-aarch64': ['aarch64'],
  '@veridian/arch-riscv64': ['riscv64', 'riscv64Sv48'],
  '@veridian/posix': ['errnoOf', 'ERRNO'],
  '@veridian/codegen': ['compile', 'generate', 'parse', 'check', 'runCli'],
  '@veridian/testkit': ['conformance', 'readGolden'],
};
const dirOf = (name: string) => join(root, 'packages', name.replace('@veridian/', ''));
const packageVersion = (name: string) => (JSON.parse(readFileSync(join(dirOf(name), 'package.json'), 'utf8')) as { version: string }).version;

/** The relative link targets of a Markdown text (`[text](target)`), without anchors; web and mail links left out. */
function relativeLinks(markdown: string): string[] {
  const targets = [...markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
  return targets.filter((t) => !/^[a-z][a-z0-9+.-]*:/i.test(t) && !t.startsWith('#')).map((t) => t.replace(/#.*$/, ''));
}

let work: string;
let project: string;
/** The files of each package's tarball (paths inside the package, without `package/`). */
const tarballFiles = new Map<string, string[]>();

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'veridian-install-'));
  const tarballs = join(work, 'tarballs');
  mkdirSync(tarballs);
  for (const name of Object.keys(PACKAGES)) {
    execFileSync('pnpm', ['pack', '--pack-destination', tarballs], { cwd: dirOf(name), stdio: 'pipe' });
  }
  project = join(work, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  const files = readdirSync(tarballs).map((f) => join(tarballs, f));
  expect(files).toHaveLength(Object.keys(PACKAGES).length);
  for (const name of Object.keys(PACKAGES)) {
    const tarball = files.find((f) => f.endsWith(`${name.replace('@', '').replace('/', '-')}-${packageVersion(name)}.tgz`));
    expect(tarball, name).toBeDefined();
    const listing = execFileSync('tar', ['-tzf', tarball!], { encoding: 'utf8' });
    tarballFiles.set(name, listing.split('\n').filter(Boolean).map((f) => f.replace(/^package\//, '')));
  }
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files, 'typescript@6.0.3', '@types/node@^20.19.0', 'vitest@4.1.12'], {
    cwd: project,
    stdio: 'pipe',
  });
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('published packages', () => {
  it.each(Object.keys(PACKAGES))('%s ships LICENSE, README.md and CHANGELOG.md, and its README links resolve inside the tarball', (name) => {
    const files = tarballFiles.get(name)!;
    for (const required of ['LICENSE', 'README.md', 'CHANGELOG.md', 'package.json']) expect(files, `${name} lacks ${required}`).toContain(required);
    const installed = join(project, 'node_modules', ...name.split('/'));
    expect(readFileSync(join(installed, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} VeridianOS IPC SDK contributors/);
    const links = relativeLinks(readFileSync(join(installed, 'README.md'), 'utf8'));
    for (const link of links) {
      const target = posix.normalize(link.replace(/^\.\//, ''));
      const resolves = files.includes(target) || files.some((f) => f.startsWith(`${target.replace(/\/$/, '')}/`));
      expect(resolves, `${name}: README link ${link} does not resolve in the tarball`).toBe(true);
    }
  });

  it.each(Object.keys(PACKAGES))('%s: the installed package.json has the published shape (no internal @veridian/source condition)', (name) => {
    const text = readFileSync(join(project, 'node_modules', ...name.split('/'), 'package.json'), 'utf8');
    expect(text).not.toContain('@veridian/source');
    const pkg = JSON.parse(text) as Record<string, unknown>;
    expect(pkg).toMatchObject({
      license: 'MIT',
      type: 'module',
      homepage: 'https://github.com/veridian-os/ipc-sdk#readme',
      bugs: { url: 'https://github.com/veridian-os/ipc-sdk/issues' },
      repository: { type: 'git', url: 'git+https://github.com/veridian-os/ipc-sdk.git', directory: `packages/${name.replace('@veridian/', '')}` },
      exports: { '.': { types: './dist/index.d.ts', import: './dist/index.js' } },
    });
    expect((pkg.keywords as string[]).length).toBeGreaterThan(0);
  });

  it('import from plain Node ESM with their documented exports', () => {
    const script = Object.entries(PACKAGES)
      .map(([name, names], i) => `import * as m${i} from '${name}';\nfor (const n of ${JSON.stringify(names)}) if (!(n in m${i})) throw new Error('${name} lacks ' + n);\nif (Object.keys(m${i}).length === 0) throw new Error('${name} exports nothing');`)
      .join('\n');
    writeFileSync(join(project, 'check.mjs'), `${script}\nconsole.log('ok');\n`);
    expect(execFileSync('node', ['check.mjs'], { cwd: project, encoding: 'utf8' }).trim()).toBe('ok');
  });

  it('the vidl bin generates stubs that type-check against the installed @veridian/core', () => {
    writeFileSync(
      join(project, 'echo.vidl'),
      `/// An echo service.\nlibrary demo.echo;\n\nprotocol Echo {\n  echo(value: u64) -> (value: u64);\n  oneway ping();\n}\n`,
    );
    const vidl = join(project, 'node_modules', '.bin', 'vidl');
    execFileSync(vidl, ['check', 'echo.vidl'], { cwd: project, encoding: 'utf8' });
    execFileSync(vidl, ['gen', 'echo.vidl', '--out', 'gen'], { cwd: project, encoding: 'utf8' });
    expect(readdirSync(join(project, 'gen'))).toContain('demo.echo.ts');
  });

  it('type-check from a TypeScript consumer under tsc --strict (NodeNext)', () => {
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', noEmit: true, types: ['node'], skipLibCheck: false } }),
    );
    const imports = Object.keys(PACKAGES)
      .map((name, i) => `import * as m${i} from '${name}';\nvoid m${i};`)
      .join('\n');
    writeFileSync(
      join(project, 'consumer.ts'),
      `${imports}
import { createKernel, IpcError, type Process, type Arch } from '@veridian/core';
import { x86_64 } from '@veridian/arch-x86_64';
import { aarch64 } from '@veridian/arch-aarch64';
import { EchoClient } from './gen/demo.echo.js';
export const makeClient = (proc: Process, ch: number) => new EchoClient(proc, ch);
const arches: Arch[] = [x86_64, aarch64];
const kernel = createKernel({ arch: arches[0]!, frames: 64 });
const body = async (proc: Process): Promise<number> => proc.createEndpoint({ name: 'x' });
kernel.spawn({ name: 'p' }, body);
const e: IpcError = new IpcError('Timeout');
const code: 'Timeout' = e.code as 'Timeout';
void code;
`,
    );
    const out = execFileSync(join(project, 'node_modules', '.bin', 'tsc'), ['-p', '.'], { cwd: project, encoding: 'utf8' });
    expect(out).toBe('');
  });
});
