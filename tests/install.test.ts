/**
 * The published shape: pack every public package, install the tarballs with npm into a fresh
 * project outside the workspace, and import each entry point from plain Node ESM and from a
 * TypeScript file checked by tsc.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

let work: string;
let project: string;

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
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', ...files, 'typescript@6.0.3', '@types/node@^20.19.0', 'vitest@4.1.12'], {
    cwd: project,
    stdio: 'pipe',
  });
});

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('published packages', () => {
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
