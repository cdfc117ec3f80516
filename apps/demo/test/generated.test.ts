// The demo's interfaces (idl/*.vidl) and the stubs generated from them (src/generated/), which
// are committed: regenerating into a temporary directory must give the same files byte for
// byte, as protobuf-es checks its generated code. The build regenerates them; this catches a
// commit of an .vidl change without its output (or a hand edit of the output).
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const vidl = join(dirname(createRequire(import.meta.url).resolve('@veridian/codegen/package.json')), 'dist', 'cli.js');
const committed = join(root, 'src', 'generated');
// The same layout as the package (idl/ and src/generated/), so the headers name the sources alike.
const tmp = mkdtempSync(join(tmpdir(), 'demo-vidl-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('generated stubs (src/generated) from idl/', () => {
  it('regenerating them into a temporary directory gives the committed files, byte for byte', () => {
    cpSync(join(root, 'idl'), join(tmp, 'idl'), { recursive: true });
    mkdirSync(join(tmp, 'src', 'generated'), { recursive: true });
    execFileSync(process.execPath, [vidl, 'gen', 'idl', '--out', 'src/generated'], { cwd: tmp, encoding: 'utf8' });
    const fresh = join(tmp, 'src', 'generated');
    const names = readdirSync(fresh).sort();
    expect(names).toEqual(['demo.kv.ts']);
    expect(readdirSync(committed).sort()).toEqual(names);
    for (const name of names) {
      expect(readFileSync(join(committed, name), 'utf8'), `${name} drifted from idl/: run \`pnpm -C apps/demo generate\``).toBe(readFileSync(join(fresh, name), 'utf8'));
    }
  });

  it('the generated code imports only @veridian/core', () => {
    for (const name of readdirSync(committed)) {
      const specifiers = [...readFileSync(join(committed, name), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => m[1]);
      expect(specifiers.length).toBeGreaterThan(0);
      expect(new Set(specifiers)).toEqual(new Set(['@veridian/core']));
    }
  });
});
